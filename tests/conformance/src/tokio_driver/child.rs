//! Suite `child` (requirements 3-1 .. 3-18) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, RetryPolicy, StepError};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    crash_runtime, every_second, first_time_for, ServiceError, UppercaseText, CRASH_AFTER,
};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "child_basic" => run(basic).await,
        "child_named" => run(named).await,
        "child_sequential_steps" => run(sequential_steps).await,
        "child_step_fails" => run(step_fails).await,
        "child_error_caught" => run(error_caught).await,
        "child_nested" => run(nested).await,
        "child_step_retry" => run(step_retry).await,
        "child_retry_exhausted" => run(retry_exhausted).await,
        "child_replay_cached" => run(replay_cached).await,
        "child_step_and_wait" => run(step_and_wait).await,
        "child_large_result" => {
            // Its child logs with plain `tracing`, kept on replay (the requirement expects the
            // rebuilding re-run's line too).
            durable_tokio::init_logging_with(durable_tokio::ReplayMode::Keep);
            run(large_result).await
        }
        "child_interrupted" => run(interrupted).await,
        "child_wait_only" => run(wait_only).await,
        "child_custom_serdes" => run(custom_serdes).await,
        "child_error_direct" => run(error_direct).await,
        "child_returns_null" => run(returns_null).await,
        "child_logger_only" => run(logger_only).await,
        "child_mixed_replays" => run(mixed_replays).await,
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
async fn echo_step(c: &DurableContext, name: &str, value: String) -> Result<String, DurableError> {
    c.step(name, |_| async move { Ok(value) }).await
}

/// A step in `c` that fails at once, not retried.
async fn failing_step(c: &DurableContext) -> Result<String, DurableError> {
    c.step("failing_step", |_| async {
        Err::<String, StepError>(ServiceError("child step failed".into()).into())
    })
    .retry(RetryPolicy::none())
    .await
}

/// 3-1: a child context with one step returning the input.
async fn basic(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context(
        "child",
        |c| async move { echo_step(&c, "echo", input).await },
    )
    .await
}

/// 3-2: the child context is named by the input.
async fn named(input: NamedInput, ctx: DurableContext) -> Result<String, DurableError> {
    let value = input.value;
    ctx.run_in_child_context(&input.name, |c| async move {
        echo_step(&c, "echo", value).await
    })
    .await
}

/// 3-3: two steps, the second gets the first one's result.
async fn sequential_steps(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("sequential", |c| async move {
        let first = echo_step(&c, "first", input).await?;
        echo_step(&c, "second", first).await
    })
    .await
}

/// 3-4: the child's step fails (no retry); the error fails the execution.
async fn step_fails(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("failing_child", |c| async move { failing_step(&c).await })
        .await
}

/// 3-5: the failed child context is caught; a recovery step returns the input.
async fn error_caught(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let outcome: Result<String, DurableError> = ctx
        .run_in_child_context("failing_child", |c| async move { failing_step(&c).await })
        .await;
    match outcome {
        Err(DurableError::ChildContextFailed(_)) => echo_step(&ctx, "recovery", input).await,
        other => other,
    }
}

/// 3-6: a child context holding a step and a nested child context with its own step.
async fn nested(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("outer", |outer| async move {
        echo_step(&outer, "outer_step", input.clone()).await?;
        outer
            .run_in_child_context("inner", |inner| async move {
                echo_step(&inner, "inner_step", input).await
            })
            .await
    })
    .await
}

/// 3-7: the child's step fails once and succeeds on the retry.
async fn step_retry(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("retrying_child", |c| async move {
        c.step("flaky", |s| async move {
            if s.attempt() == 1 {
                Err(ServiceError("first attempt fails".into()).into())
            } else {
                Ok(input)
            }
        })
        .retry(every_second(2))
        .await
    })
    .await
}

/// 3-8: the child's step always fails; two attempts, then the child fails.
async fn retry_exhausted(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("exhausted_child", |c| async move {
        c.step("always_fails", |s| async move {
            Err::<String, StepError>(ServiceError(format!("attempt {} failed", s.attempt())).into())
        })
        .retry(every_second(2))
        .await
    })
    .await
}

/// 3-9: a child context, then a wait; the replay returns the child's recorded result.
async fn replay_cached(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let value: String = ctx
        .run_in_child_context("cached_child", |c| async move {
            echo_step(&c, "echo", input).await
        })
        .await?;
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(value)
}

/// 3-10: a step and a wait inside the child context.
async fn step_and_wait(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("step_and_wait", |c| async move {
        let value = echo_step(&c, "echo", input).await?;
        c.wait("pause", Duration::from_secs(1)).await?;
        Ok::<_, DurableError>(value)
    })
    .await
}

/// 3-11: the child logs the input (not replay-aware, so a re-run shows), runs a step with
/// a small result, and builds a result over 256 KiB from it; then a wait. The replay runs
/// the child again to rebuild the result (`ReplayChildren`).
async fn large_result(input: String, ctx: DurableContext) -> Result<usize, DurableError> {
    let big: String = ctx
        .run_in_child_context("large_child", |c| async move {
            tracing::info!(execution_arn = %c.execution_arn(), "building a large result for {input}");
            let piece = echo_step(&c, "small", input).await?;
            Ok::<_, DurableError>(piece.repeat(300 * 1024 / piece.len().max(1) + 1))
        })
        .await?;
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(big.len())
}

/// 3-12: the child's step crashes the runtime the first time, half a second into its work
/// (the SDK pipelines the at-least-once START, so a crash at the very first instruction
/// could beat the checkpoint the requirement expects on record); the re-run succeeds.
async fn interrupted(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let arn = ctx.execution_arn().to_owned();
    ctx.run_in_child_context("interrupted_child", |c| async move {
        c.step("crash_once", |_| async move {
            if first_time_for(&arn, "child-crash") {
                tokio::time::sleep(CRASH_AFTER).await;
                crash_runtime();
            }
            Ok(input)
        })
        .await
    })
    .await
}

/// 3-13: a child context holding only a wait, then a step outside it.
async fn wait_only(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let value: String = ctx
        .run_in_child_context("waiting_child", |c| async move {
            c.wait("pause", Duration::from_secs(1)).await?;
            Ok::<_, DurableError>(input)
        })
        .await?;
    echo_step(&ctx, "after_child", value).await
}

/// 3-14: the child's result is checkpointed through an upper-casing serializer.
async fn custom_serdes(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("uppercase_child", |c| async move {
        echo_step(&c, "echo", input).await
    })
    .serdes(UppercaseText)
    .await
}

/// 3-15: the child's function fails without running any operation.
async fn error_direct(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("throwing_child", |_| async {
        Err::<String, _>(ServiceError("thrown in the child body".into()))
    })
    .await
}

/// 3-16: the child's function returns null without running any operation.
async fn returns_null(_: Value, ctx: DurableContext) -> Result<(), DurableError> {
    ctx.run_in_child_context("null_child", |_| async { Ok::<(), DurableError>(()) })
        .await
}

/// 3-17: the child only logs (not replay-aware) and returns the input; then a wait. The
/// replay must not run the child again, so the line appears once.
async fn logger_only(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let value: String = ctx
        .run_in_child_context("logging_child", |c| async move {
            tracing::info!(execution_arn = %c.execution_arn(), "child saw {input}");
            Ok::<_, DurableError>(input)
        })
        .await?;
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(value)
}

/// 3-18: a step and a wait inside the child, then a step and a wait after it.
async fn mixed_replays(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let value: String = ctx
        .run_in_child_context("mixed_child", |c| async move {
            let value = echo_step(&c, "inner_step", input).await?;
            c.wait("inner_wait", Duration::from_secs(1)).await?;
            Ok::<_, DurableError>(value)
        })
        .await?;
    let value = echo_step(&ctx, "outer_step", value).await?;
    ctx.wait("outer_wait", Duration::from_secs(1)).await?;
    Ok(value)
}
