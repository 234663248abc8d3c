//! Scenario handlers shared by the two bootstrap binaries.

use std::fmt;
use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};
use serde_json::{json, Value};

/// A business error with a recognisable type name in the history.
#[derive(Debug)]
pub struct PaymentDeclined(pub String);

impl fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment declined: {}", self.0)
    }
}

impl std::error::Error for PaymentDeclined {}

/// `max_attempts` attempts, one second apart, no jitter (so the history is predictable).
pub fn every_second(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::try_exponential(
        max_attempts,
        Duration::from_secs(1),
        Duration::from_secs(1),
        1.0,
    )
    .expect("valid policy")
    .with_jitter(Jitter::None)
}

/// A step failing on attempts 1 and 2 and succeeding on the third, one second apart.
///
/// Shared by the `e2e-tokio` bootstrap (`RetryTwice`) and the local-vs-emulator parity test
/// (`tests/parity.rs`), which runs it on `durable_local::LocalRunner` too.
pub async fn retry_twice(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let attempt: u32 = ctx
        .step("flaky", |s| async move {
            if s.attempt() <= 2 {
                Err(PaymentDeclined(format!("attempt {}", s.attempt())).into())
            } else {
                Ok(s.attempt())
            }
        })
        .retry(every_second(3))
        .await?;
    Ok(json!({ "succeeded_on": attempt }))
}

/// A step failing on both of its two attempts, one second apart: the execution fails with
/// the step's `PaymentDeclined` error. Shared by the `e2e-tokio` bootstrap
/// (`RetryExhausted`) and `tests/remote.rs`, which runs it on the local runner too.
pub async fn retry_exhausted(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let never: u32 = ctx
        .step("doomed", |s| async move {
            Err::<u32, durable_tokio::StepError>(
                PaymentDeclined(format!("attempt {}", s.attempt())).into(),
            )
        })
        .retry(every_second(2))
        .await?;
    Ok(json!(never))
}

/// A callback named `approval` (heartbeat timeout one minute, timeout five), whose result
/// a step then records. Shared like [`retry_exhausted`] (`Approval`).
pub async fn approval(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let callback = ctx
        .create_callback::<String>("approval")
        .heartbeat_timeout(Duration::from_secs(60))
        .timeout(Duration::from_secs(300))
        .await?;
    let decision = callback.await?;
    let recorded: String = ctx
        .step("record", move |_| async move {
            Ok(format!("recorded {decision}"))
        })
        .await?;
    Ok(json!(recorded))
}

/// A two-second wait, then a step. Shared like [`retry_twice`] (`WaitThenStep`).
pub async fn wait_then_step(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    ctx.wait("pause", Duration::from_secs(2)).await?;
    let after: String = ctx
        .step("after", |_| async { Ok("done".to_owned()) })
        .await?;
    Ok(json!(after))
}

/// A child context holding a step and a one-second wait, then a step outside it. Shared
/// like [`retry_twice`] (`Grouped`).
pub async fn grouped(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let inner: u32 = ctx
        .run_in_child_context("group", |c| async move {
            let n: u32 = c.step("inner", |_| async { Ok(20) }).await?;
            c.wait("pause", Duration::from_secs(1)).await?;
            Ok::<_, DurableError>(n + 1)
        })
        .await?;
    let outer: u32 = ctx
        .step("outer", move |_| async move { Ok(inner * 2) })
        .await?;
    Ok(json!(outer))
}

/// A child context, a callback the test completes with `"yes"`, then a chained invoke of
/// the durable [`echo`] target. Shared like [`retry_twice`] (`AllThree`, target `Echo`).
pub async fn all_three(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let grouped: u32 = ctx
        .run_in_child_context("group", |c| async move {
            c.step("inner", |_| async { Ok(20u32) }).await
        })
        .await?;
    let approval = ctx.create_callback::<String>("approval").await?;
    let approved = approval.await?;
    let echoed: Value = ctx
        .invoke("call", "Echo:$LATEST", &json!({ "n": grouped }))
        .await?;
    Ok(json!({ "grouped": grouped, "approved": approved, "echoed": echoed }))
}

/// A map of three items, one at a time (so both services record the same event order),
/// each one step; a parallel whose second branch
/// waits a second; then a wait-for-condition that counts to two, a second between checks.
/// Shared like [`retry_twice`] (`Batches`).
pub async fn batches(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    use durable_tokio::{Branch, WaitStrategy};
    let squares = ctx
        .map("squares", vec![1u32, 2, 3], |c, n, _| async move {
            Ok(c.step("square", move |_| async move { Ok(n * n) }).await?)
        })
        .max_concurrency(1)
        .await?
        .into_values();
    let branches = ctx
        .parallel(
            "branches",
            vec![
                Branch::named("now", |_| async { Ok(1u32) }),
                Branch::named("later", |c| async move {
                    c.wait("pause", Duration::from_secs(1)).await?;
                    Ok(2u32)
                }),
            ],
        )
        .await?
        .into_values();
    let polled: u32 = ctx
        .wait_for_condition("poll", 0u32, |n, _| async move { Ok(n + 1) })
        .strategy(WaitStrategy::until(|n: &u32| *n >= 2).fixed(Duration::from_secs(1)))
        .await?;
    Ok(json!({ "squares": squares, "branches": branches, "polled": polled }))
}

/// A durable target that returns its input.
pub async fn echo(input: Value, _ctx: DurableContext) -> Result<Value, DurableError> {
    Ok(input)
}

/// The handler name Lambda passes in `_HANDLER`.
pub fn handler_name() -> String {
    std::env::var("_HANDLER").unwrap_or_default()
}

/// The README's code samples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
