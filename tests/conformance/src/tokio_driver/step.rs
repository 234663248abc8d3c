//! Suite `step` (requirements 1-1 .. 1-20) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{serdes_fn, DurableContext, DurableError, Jitter, RetryPolicy, StepError};
use serde_json::Value;

use crate::{crash_runtime, NoRetryOnTransient, Person, Profile, ServiceError, TransientError};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "step_basic" => run(basic).await,
        "step_named" => run(named).await,
        "step_sequential" => run(sequential).await,
        "step_complex_object" => run(complex_object).await,
        "step_null_result" => run(null_result).await,
        "step_custom_serdes" => run(custom_serdes).await,
        "step_context_logger" => run(context_logger).await,
        "step_and_wait" => run(step_and_wait).await,
        "step_replay_skips_succeeded" => run(replay_skips_succeeded).await,
        "step_replay_rethrows_failed" => run(replay_rethrows_failed).await,
        "step_retry_then_succeed" => run(retry_then_succeed).await,
        "step_retry_exhausted" => run(retry_exhausted).await,
        "step_default_retry" => run(default_retry).await,
        "step_custom_backoff" => run(custom_backoff).await,
        "step_retry_transient" => run(retry_transient).await,
        "step_no_retry_transient" => run(no_retry_transient).await,
        "step_at_most_once_no_retry" => run(at_most_once_no_retry).await,
        "step_at_most_once_retry" => run(at_most_once_retry).await,
        "step_fails_permanently" => run(fails_permanently).await,
        "step_error_caught" => run(error_caught).await,
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

/// 1-1: a single step that takes the input and returns a greeting.
async fn basic(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("greet", |_| async move { Ok(format!("Hello, {name}!")) })
        .await
}

/// 1-2: the same with an explicit step name.
async fn named(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("custom_step_name", |_| async move {
        Ok(format!("Hello, {name}!"))
    })
    .await
}

/// 1-3: the second step uses the first one's result.
async fn sequential(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let first: String = ctx
        .step("step_one", |_| async { Ok("first".to_owned()) })
        .await?;
    ctx.step("step_two", |_| async move { Ok(format!("{first}_second")) })
        .await
}

/// 1-4: a step returning a nested object with arrays and mixed types.
async fn complex_object(person: Person, ctx: DurableContext) -> Result<Profile, DurableError> {
    ctx.step("build_response", |_| async move { Ok(Profile::of(person)) })
        .await
}

/// 1-5: a step returning nothing (`null`).
async fn null_result(_: Value, ctx: DurableContext) -> Result<(), DurableError> {
    ctx.step("do_nothing", |_| async { Ok::<(), StepError>(()) })
        .await
}

/// 1-6: a per-step serializer that upper-cases the string it checkpoints.
async fn custom_serdes(text: String, ctx: DurableContext) -> Result<String, DurableError> {
    let uppercase = serdes_fn(
        |s: &String| serde_json::to_string(&s.to_uppercase()).map_err(|e| e.to_string()),
        |t: &str| serde_json::from_str(t).map_err(|e| e.to_string()),
    );
    ctx.step("return_input", |_| async move { Ok(text) })
        .serdes(uppercase)
        .await
}

/// 1-7: the step logs through the durable logger when it starts and when it finishes.
async fn context_logger(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    ctx.step("greet", |_| async move {
        log.info(format!("Greeting step started for: {name}"));
        let greeting = format!("Hello, {name}!");
        log.info(format!("Greeting step completed with: {greeting}"));
        Ok(greeting)
    })
    .await
}

/// 1-8: a step, then a 2 s wait; the replay skips the finished step.
async fn step_and_wait(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let value: String = ctx
        .step("compute", |_| async { Ok("computed".to_owned()) })
        .await?;
    ctx.wait("pause", Duration::from_secs(2)).await?;
    Ok(value)
}

/// 1-9: the replay returns the checkpointed value without running the step again.
async fn replay_skips_succeeded(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    let value: String = ctx
        .step("compute", |_| async move {
            log.info("step executed");
            Ok("cached_value".to_owned())
        })
        .await?;
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(value)
}

/// 1-10: a step that fails for good is caught; the replay hands back the same error without
/// running the step again.
async fn replay_rethrows_failed(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    let outcome = ctx
        .step("fail_once", |_| async move {
            log.info("step executed");
            Err::<String, StepError>(ServiceError("permanent failure".into()).into())
        })
        .retry(RetryPolicy::none())
        .await;
    let caught = match outcome {
        Ok(value) => value,
        Err(DurableError::StepFailed(failure)) => format!("caught {}", failure.error_type()),
        Err(other) => return Err(other),
    };
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(caught)
}

/// 1-11: fails on the first attempt, succeeds on the retry.
async fn retry_then_succeed(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("unreliable", |s| async move {
        if s.attempt() == 1 {
            Err(ServiceError("first attempt fails".into()).into())
        } else {
            Ok("Operation succeeded".to_owned())
        }
    })
    .retry(every_second(3))
    .await
}

/// 1-12: always fails; 4 attempts in all, 1 s apart.
async fn retry_exhausted(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("always_fail", |s| async move {
        Err::<String, StepError>(ServiceError(format!("attempt {} failed", s.attempt())).into())
    })
    .retry(every_second(4))
    .await
}

/// 1-13: fails twice, then succeeds, with the SDK's default retry strategy.
async fn default_retry(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("unreliable", |s| async move {
        if s.attempt() <= 2 {
            Err(ServiceError(format!("attempt {} failed", s.attempt())).into())
        } else {
            Ok(format!("succeeded on attempt {}", s.attempt()))
        }
    })
    .await
}

/// 1-14: fails twice, then succeeds; 5 attempts, 2 s initial delay, ×3 backoff, no jitter.
async fn custom_backoff(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let policy =
        RetryPolicy::try_exponential(5, Duration::from_secs(2), Duration::from_secs(60), 3.0)
            .expect("a valid retry policy")
            .with_jitter(Jitter::None);
    ctx.step("unreliable", |s| async move {
        if s.attempt() <= 2 {
            Err(ServiceError(format!("attempt {} failed", s.attempt())).into())
        } else {
            Ok(format!("succeeded on attempt {}", s.attempt()))
        }
    })
    .retry(policy)
    .await
}

/// 1-15: retries only `TransientError`s; the first attempt throws one.
async fn retry_transient(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("flaky", |s| async move {
        if s.attempt() == 1 {
            Err(TransientError("connection reset".into()).into())
        } else {
            Ok("recovered".to_owned())
        }
    })
    .retry(every_second(3).retry_if_error_type("TransientError"))
    .await
}

/// 1-16: the strategy declines to retry a `TransientError`, so the step fails at once.
async fn no_retry_transient(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("flaky", |_| async {
        Err::<String, StepError>(TransientError("connection reset".into()).into())
    })
    .retry(NoRetryOnTransient)
    .await
}

/// 1-17: at-most-once, no retry; the body logs the input and crashes the runtime. The replay
/// finds the attempt interrupted and fails the step without running it again.
async fn at_most_once_no_retry(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    ctx.step::<String, _, _>("at_most_once_flaky_step", |_| async move {
        log.info(format!("processing {input}"));
        crash_runtime()
    })
    .at_most_once()
    .retry(RetryPolicy::none())
    .await
}

/// 1-18: at-most-once with retries; the first attempt crashes the runtime, the retry succeeds.
async fn at_most_once_retry(input: String, ctx: DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    ctx.step("at_most_once_step", |s| async move {
        log.info(format!("attempt {} processing {input}", s.attempt()));
        if s.attempt() == 1 {
            crash_runtime();
        }
        Ok("succeeded on second attempt".to_owned())
    })
    .at_most_once()
    .retry(every_second(3))
    .await
}

/// 1-19: a step that always fails, with no retries: the execution fails.
async fn fails_permanently(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("failing", |_| async {
        Err::<String, StepError>(ServiceError("always fails".into()).into())
    })
    .retry(RetryPolicy::none())
    .await
}

/// 1-20: the failure is caught, user code falls back, and a second step runs.
async fn error_caught(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let primary = ctx
        .step("primary", |_| async {
            Err::<String, StepError>(ServiceError("primary unavailable".into()).into())
        })
        .retry(RetryPolicy::none())
        .await;
    let value = match primary {
        Ok(value) => value,
        Err(DurableError::StepFailed(_)) => "fallback".to_owned(),
        Err(other) => return Err(other),
    };
    ctx.step("finish", |_| async move { Ok(format!("{value}_result")) })
        .await
}
