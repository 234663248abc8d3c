//! Suite `child` (requirements 3-1 .. 3-18) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, RetryPolicy, StepError};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    crash_runtime, every_second, first_time_for, ServiceError, UppercaseText, CRASH_AFTER,
};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "child_basic" => run(basic),
        "child_named" => run(named),
        "child_sequential_steps" => run(sequential_steps),
        "child_step_fails" => run(step_fails),
        "child_error_caught" => run(error_caught),
        "child_nested" => run(nested),
        "child_step_retry" => run(step_retry),
        "child_retry_exhausted" => run(retry_exhausted),
        "child_replay_cached" => run(replay_cached),
        "child_step_and_wait" => run(step_and_wait),
        "child_large_result" => {
            // Its child logs with plain `tracing`, kept on replay (the requirement expects the
            // rebuilding re-run's line too).
            durable_blocking::init_logging_with(durable_blocking::ReplayMode::Keep);
            run(large_result)
        }
        "child_interrupted" => run(interrupted),
        "child_wait_only" => run(wait_only),
        "child_custom_serdes" => run(custom_serdes),
        "child_error_direct" => run(error_direct),
        "child_returns_null" => run(returns_null),
        "child_logger_only" => run(logger_only),
        "child_mixed_replays" => run(mixed_replays),
        _ => return None,
    })
}

/// The input of requirement 3-2.
#[derive(Debug, Deserialize)]
struct NamedInput {
    name: String,
    value: String,
}

/// A step in `c` that returns `value`.
fn echo_step(c: &DurableContext, name: &str, value: String) -> Result<String, DurableError> {
    c.step(name, |_| Ok(value)).run()
}

/// A step in `c` that fails at once, not retried.
fn failing_step(c: &DurableContext) -> Result<String, DurableError> {
    c.step("failing_step", |_| {
        Err::<String, StepError>(ServiceError("child step failed".into()).into())
    })
    .retry(RetryPolicy::none())
    .run()
}

/// 3-1: a child context with one step returning the input.
fn basic(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("child", |c| echo_step(c, "echo", input))
}

/// 3-2: the child context is named by the input.
fn named(input: NamedInput, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context(&input.name, |c| echo_step(c, "echo", input.value))
}

/// 3-3: two steps, the second gets the first one's result.
fn sequential_steps(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("sequential", |c| {
        let first = echo_step(c, "first", input)?;
        echo_step(c, "second", first)
    })
}

/// 3-4: the child's step fails (no retry); the error fails the execution.
fn step_fails(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("failing_child", failing_step)
}

/// 3-5: the failed child context is caught; a recovery step returns the input.
fn error_caught(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    match ctx.run_in_child_context("failing_child", failing_step) {
        Err(DurableError::ChildContextFailed(_)) => echo_step(ctx, "recovery", input),
        other => other,
    }
}

/// 3-6: a child context holding a step and a nested child context with its own step.
fn nested(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("outer", |outer| {
        echo_step(outer, "outer_step", input.clone())?;
        outer.run_in_child_context("inner", |inner| echo_step(inner, "inner_step", input))
    })
}

/// 3-7: the child's step fails once and succeeds on the retry.
fn step_retry(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("retrying_child", |c| {
        c.step("flaky", |s| {
            if s.attempt() == 1 {
                Err(ServiceError("first attempt fails".into()).into())
            } else {
                Ok(input)
            }
        })
        .retry(every_second(2))
        .run()
    })
}

/// 3-8: the child's step always fails; two attempts, then the child fails.
fn retry_exhausted(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("exhausted_child", |c| {
        c.step("always_fails", |s| {
            Err::<String, StepError>(ServiceError(format!("attempt {} failed", s.attempt())).into())
        })
        .retry(every_second(2))
        .run()
    })
}

/// 3-9: a child context, then a wait; the replay returns the child's recorded result.
fn replay_cached(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let value = ctx.run_in_child_context("cached_child", |c| echo_step(c, "echo", input))?;
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(value)
}

/// 3-10: a step and a wait inside the child context.
fn step_and_wait(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("step_and_wait", |c| {
        let value = echo_step(c, "echo", input)?;
        c.wait("pause", Duration::from_secs(1))?;
        Ok::<_, DurableError>(value)
    })
}

/// 3-11: the child logs the input (not replay-aware, so a re-run shows), runs a step with
/// a small result, and builds a result over 256 KiB from it; then a wait. The replay runs
/// the child again to rebuild the result (`ReplayChildren`).
fn large_result(input: String, ctx: &DurableContext) -> Result<usize, DurableError> {
    let big: String = ctx.run_in_child_context("large_child", |c| {
        tracing::info!(execution_arn = %c.execution_arn(), "building a large result for {input}");
        let piece = echo_step(c, "small", input)?;
        Ok::<_, DurableError>(piece.repeat(300 * 1024 / piece.len().max(1) + 1))
    })?;
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(big.len())
}

/// 3-12: the child's step crashes the runtime the first time, half a second into its work
/// (the SDK pipelines the at-least-once START, so a crash at the very first instruction
/// could beat the checkpoint the requirement expects on record); the re-run succeeds.
fn interrupted(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let arn = ctx.execution_arn().to_owned();
    ctx.run_in_child_context("interrupted_child", |c| {
        c.step("crash_once", |_| {
            if first_time_for(&arn, "child-crash") {
                std::thread::sleep(CRASH_AFTER);
                crash_runtime();
            }
            Ok(input)
        })
        .run()
    })
}

/// 3-13: a child context holding only a wait, then a step outside it.
fn wait_only(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let value = ctx.run_in_child_context("waiting_child", |c| {
        c.wait("pause", Duration::from_secs(1))?;
        Ok::<_, DurableError>(input)
    })?;
    echo_step(ctx, "after_child", value)
}

/// 3-14: the child's result is checkpointed through an upper-casing serializer.
fn custom_serdes(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context_with_serdes("uppercase_child", UppercaseText, |c| {
        echo_step(c, "echo", input)
    })
}

/// 3-15: the child's function fails without running any operation.
fn error_direct(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("throwing_child", |_| {
        Err::<String, _>(ServiceError("thrown in the child body".into()))
    })
}

/// 3-16: the child's function returns null without running any operation.
fn returns_null(_: Value, ctx: &DurableContext) -> Result<(), DurableError> {
    ctx.run_in_child_context("null_child", |_| Ok::<(), DurableError>(()))
}

/// 3-17: the child only logs (not replay-aware) and returns the input; then a wait. The
/// replay must not run the child again, so the line appears once.
fn logger_only(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let value = ctx.run_in_child_context("logging_child", |c| {
        tracing::info!(execution_arn = %c.execution_arn(), "child saw {input}");
        Ok::<_, DurableError>(input)
    })?;
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(value)
}

/// 3-18: a step and a wait inside the child, then a step and a wait after it.
fn mixed_replays(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let value = ctx.run_in_child_context("mixed_child", |c| {
        let value = echo_step(c, "inner_step", input)?;
        c.wait("inner_wait", Duration::from_secs(1))?;
        Ok::<_, DurableError>(value)
    })?;
    let value = echo_step(ctx, "outer_step", value)?;
    ctx.wait("outer_wait", Duration::from_secs(1))?;
    Ok(value)
}
