//! Suite `step` (requirements 1-1 .. 1-20) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{
    DurableContext, DurableError, Jitter, RetryPolicy, Serdes, StepContext, StepError,
};
use serde_json::Value;

use crate::{crash_runtime, NoRetryOnTransient, Person, Profile, ServiceError, TransientError};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "step_basic" => run(basic),
        "step_named" => run(named),
        "step_sequential" => run(sequential),
        "step_complex_object" => run(complex_object),
        "step_null_result" => run(null_result),
        "step_custom_serdes" => run(custom_serdes),
        "step_context_logger" => run(context_logger),
        "step_and_wait" => run(step_and_wait),
        "step_replay_skips_succeeded" => run(replay_skips_succeeded),
        "step_replay_rethrows_failed" => run(replay_rethrows_failed),
        "step_retry_then_succeed" => run(retry_then_succeed),
        "step_retry_exhausted" => run(retry_exhausted),
        "step_default_retry" => run(default_retry),
        "step_custom_backoff" => run(custom_backoff),
        "step_retry_transient" => run(retry_transient),
        "step_no_retry_transient" => run(no_retry_transient),
        "step_at_most_once_no_retry" => run(at_most_once_no_retry),
        "step_at_most_once_retry" => run(at_most_once_retry),
        "step_fails_permanently" => run(fails_permanently),
        "step_error_caught" => run(error_caught),
        _ => return None,
    })
}

/// `attempts` attempts in all, a fixed second apart.
fn every_second(attempts: u32) -> RetryPolicy {
    let second = Duration::from_secs(1);
    RetryPolicy::try_linear(attempts, second, Duration::ZERO, second)
        .expect("a valid retry policy")
        .with_jitter(Jitter::None)
}

/// Checkpoints strings upper-cased (requirement 1-6).
struct Uppercase;

impl Serdes<String> for Uppercase {
    fn serialize(&self, value: &String) -> Result<String, String> {
        serde_json::to_string(&value.to_uppercase()).map_err(|e| e.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

/// 1-1: a single step that takes the input and returns a greeting.
fn basic(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("greet", |_| Ok(format!("Hello, {name}!"))).run()
}

/// 1-2: the same with an explicit step name.
fn named(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("custom_step_name", |_| Ok(format!("Hello, {name}!")))
        .run()
}

/// 1-3: the second step uses the first one's result.
fn sequential(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let first: String = ctx.step("step_one", |_| Ok("first".to_owned())).run()?;
    ctx.step("step_two", |_| Ok(format!("{first}_second")))
        .run()
}

/// 1-4: a step returning a nested object with arrays and mixed types.
fn complex_object(person: Person, ctx: &DurableContext) -> Result<Profile, DurableError> {
    ctx.step("build_response", |_| Ok(Profile::of(person)))
        .run()
}

/// 1-5: a step returning nothing (`null`).
fn null_result(_: Value, ctx: &DurableContext) -> Result<(), DurableError> {
    ctx.step("do_nothing", |_| Ok::<(), StepError>(())).run()
}

/// 1-6: a per-step serializer that upper-cases the string it checkpoints.
fn custom_serdes(text: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("return_input", |_| Ok(text))
        .serdes(Uppercase)
        .run()
}

/// 1-7: the step logs through the durable logger when it starts and when it finishes.
fn context_logger(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("greet", |_| {
        ctx.logger()
            .info(format!("Greeting step started for: {name}"));
        let greeting = format!("Hello, {name}!");
        ctx.logger()
            .info(format!("Greeting step completed with: {greeting}"));
        Ok(greeting)
    })
    .run()
}

/// 1-8: a step, then a 2 s wait; the replay skips the finished step.
fn step_and_wait(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let value: String = ctx.step("compute", |_| Ok("computed".to_owned())).run()?;
    ctx.wait("pause", Duration::from_secs(2))?;
    Ok(value)
}

/// 1-9: the replay returns the checkpointed value without running the step again.
fn replay_skips_succeeded(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let value: String = ctx
        .step("compute", |_| {
            ctx.logger().info("step executed");
            Ok("cached_value".to_owned())
        })
        .run()?;
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(value)
}

/// 1-10: a step that fails for good is caught; the replay hands back the same error without
/// running the step again.
fn replay_rethrows_failed(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let outcome: Result<String, _> = ctx
        .step("fail_once", |_| {
            ctx.logger().info("step executed");
            Err(ServiceError("permanent failure".into()).into())
        })
        .retry(RetryPolicy::none())
        .run();
    let caught = match outcome {
        Ok(value) => value,
        Err(DurableError::StepFailed(failure)) => format!("caught {}", failure.error_type()),
        Err(other) => return Err(other),
    };
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(caught)
}

/// Fails the first `failures` attempts.
fn fail_first(failures: u32, step: &StepContext) -> Result<String, StepError> {
    if step.attempt() <= failures {
        Err(ServiceError(format!("attempt {} failed", step.attempt())).into())
    } else {
        Ok(format!("succeeded on attempt {}", step.attempt()))
    }
}

/// 1-11: fails on the first attempt, succeeds on the retry.
fn retry_then_succeed(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("unreliable", |s| {
        fail_first(1, s).map(|_| "Operation succeeded".to_owned())
    })
    .retry(every_second(3))
    .run()
}

/// 1-12: always fails; 4 attempts in all, 1 s apart.
fn retry_exhausted(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("always_fail", |s| fail_first(u32::MAX, s))
        .retry(every_second(4))
        .run()
}

/// 1-13: fails twice, then succeeds, with the SDK's default retry strategy.
fn default_retry(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("unreliable", |s| fail_first(2, s)).run()
}

/// 1-14: fails twice, then succeeds; 5 attempts, 2 s initial delay, ×3 backoff, no jitter.
fn custom_backoff(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let policy =
        RetryPolicy::try_exponential(5, Duration::from_secs(2), Duration::from_secs(60), 3.0)
            .expect("a valid retry policy")
            .with_jitter(Jitter::None);
    ctx.step("unreliable", |s| fail_first(2, s))
        .retry(policy)
        .run()
}

/// 1-15: retries only `TransientError`s; the first attempt throws one.
fn retry_transient(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let policy = every_second(3).retry_if_error_type("TransientError");
    ctx.step("flaky", |s| {
        if s.attempt() == 1 {
            Err(TransientError("connection reset".into()).into())
        } else {
            Ok("recovered".to_owned())
        }
    })
    .retry(policy)
    .run()
}

/// 1-16: the strategy declines to retry a `TransientError`, so the step fails at once.
fn no_retry_transient(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("flaky", |_| {
        Err::<String, StepError>(TransientError("connection reset".into()).into())
    })
    .retry(NoRetryOnTransient)
    .run()
}

/// 1-17: at-most-once, no retry; the body logs the input and crashes the runtime. The replay
/// finds the attempt interrupted and fails the step without running it again.
fn at_most_once_no_retry(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step(
        "at_most_once_flaky_step",
        |_| -> Result<String, StepError> {
            ctx.logger().info(format!("processing {input}"));
            crash_runtime()
        },
    )
    .at_most_once()
    .retry(RetryPolicy::none())
    .run()
}

/// 1-18: at-most-once with retries; the first attempt crashes the runtime, the retry succeeds.
fn at_most_once_retry(input: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("at_most_once_step", |s| {
        ctx.logger()
            .info(format!("attempt {} processing {input}", s.attempt()));
        if s.attempt() == 1 {
            crash_runtime();
        }
        Ok("succeeded on second attempt".to_owned())
    })
    .at_most_once()
    .retry(every_second(3))
    .run()
}

/// 1-19: a step that always fails, with no retries: the execution fails.
fn fails_permanently(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("failing", |_| {
        Err::<String, StepError>(ServiceError("always fails".into()).into())
    })
    .retry(RetryPolicy::none())
    .run()
}

/// 1-20: the failure is caught, user code falls back, and a second step runs.
fn error_caught(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let primary: Result<String, _> = ctx
        .step("primary", |_| {
            Err(ServiceError("primary unavailable".into()).into())
        })
        .retry(RetryPolicy::none())
        .run();
    let value = match primary {
        Ok(value) => value,
        Err(DurableError::StepFailed(_)) => "fallback".to_owned(),
        Err(other) => return Err(other),
    };
    ctx.step("finish", |_| Ok(format!("{value}_result"))).run()
}
