//! Suite `wait_for_condition` (requirements 6-1 .. 6-13) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, StepError, WaitStrategy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{until_at_least, ServiceError, TaggedState, POLL};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "condition_counter" => run(counter).await,
        "condition_already_met" => run(already_met).await,
        "condition_named" => run(named).await,
        "condition_initial_state" => run(initial_state).await,
        "condition_fixed_delay" => run(fixed_delay).await,
        "condition_exhausted" => run(exhausted).await,
        "condition_check_fails" => run(check_fails).await,
        "condition_check_fails_caught" => run(check_fails_caught).await,
        "condition_object_state" => run(object_state).await,
        "condition_null_state" => run(null_state).await,
        "condition_custom_serdes" => run(custom_serdes).await,
        "condition_then_step" => run(then_step).await,
        "condition_chained" => run(chained).await,
        _ => return None,
    })
}

/// Counts up from `from` until `threshold`, one check per invocation.
async fn count_to(ctx: &DurableContext, from: i64, threshold: i64) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(from, |n, _| async move { Ok(n + 1) })
        .strategy(until_at_least(threshold))
        .await
}

/// 6-1: a counter from 0 up to the input.
async fn counter(threshold: i64, ctx: DurableContext) -> Result<i64, DurableError> {
    count_to(&ctx, 0, threshold).await
}

/// 6-2: the condition holds on the first check.
async fn already_met(threshold: i64, ctx: DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(5i64, |n, _| async move { Ok(n) })
        .strategy(until_at_least(threshold))
        .await
}

/// 6-3: named "poll-status".
async fn named(threshold: i64, ctx: DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition("poll-status", 0i64, |n, _| async move { Ok(n + 1) })
        .strategy(until_at_least(threshold))
        .await
}

/// 6-4: from an initial state of 5 up to the input.
async fn initial_state(threshold: i64, ctx: DurableContext) -> Result<i64, DurableError> {
    count_to(&ctx, 5, threshold).await
}

/// 6-5: a fixed two-second delay between checks.
async fn fixed_delay(threshold: i64, ctx: DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(0i64, |n, _| async move { Ok(n + 1) })
        .strategy(WaitStrategy::until(move |n: &i64| *n >= threshold).fixed(Duration::from_secs(2)))
        .await
}

/// 6-6: never satisfied; three attempts, then the strategy gives up.
async fn exhausted(_: Value, ctx: DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(0i64, |n, _| async move { Ok(n + 1) })
        .strategy(
            WaitStrategy::until(|_: &i64| false)
                .fixed(POLL)
                .max_attempts(3),
        )
        .await
}

/// A check that fails at once.
async fn failing_check(n: i64) -> Result<i64, StepError> {
    let _ = n;
    Err(ServiceError("the check failed".into()).into())
}

/// 6-7: the check fails; no retry, the error fails the execution.
async fn check_fails(_: Value, ctx: DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(0i64, |n, _| failing_check(n))
        .strategy(until_at_least(1))
        .await
}

/// 6-8: the failing check's error is caught.
async fn check_fails_caught(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let outcome = ctx
        .wait_for_condition_unnamed(0i64, |n, _| failing_check(n))
        .strategy(until_at_least(1))
        .await;
    match outcome {
        Err(DurableError::ConditionFailed(_)) => Ok("recovered".to_owned()),
        Err(other) => Err(other),
        Ok(n) => Ok(n.to_string()),
    }
}

/// The state of requirement 6-9.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    status: String,
    attempts: u32,
}

/// 6-9: a structured state.
async fn object_state(_: Value, ctx: DurableContext) -> Result<Job, DurableError> {
    let initial = Job {
        status: "PENDING".into(),
        attempts: 0,
    };
    ctx.wait_for_condition_unnamed(initial, |job, _| async move {
        let attempts = job.attempts + 1;
        let status = if attempts >= 2 { "DONE" } else { "PENDING" };
        Ok(Job {
            status: status.into(),
            attempts,
        })
    })
    .strategy(WaitStrategy::until(|j: &Job| j.status != "PENDING").fixed(POLL))
    .await
}

/// 6-10: the check returns null; the strategy stops at once.
async fn null_state(_: Value, ctx: DurableContext) -> Result<Option<i64>, DurableError> {
    ctx.wait_for_condition_unnamed(Some(0i64), |_, _| async move { Ok(None) })
        .strategy(WaitStrategy::until(|s: &Option<i64>| s.is_none()).fixed(POLL))
        .await
}

/// 6-11: a string state through a custom serializer.
async fn custom_serdes(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_condition_unnamed(String::new(), |s, _| async move { Ok(s + "x") })
        .serdes(TaggedState)
        .strategy(WaitStrategy::until(|s: &String| s.len() >= 2).fixed(POLL))
        .await
}

/// 6-12: the final state feeds a step.
async fn then_step(threshold: i64, ctx: DurableContext) -> Result<i64, DurableError> {
    let n = count_to(&ctx, 0, threshold).await?;
    ctx.step("multiply", move |_| async move { Ok(n * 10) })
        .await
}

/// 6-13: two waits back to back, the second from the first's result.
async fn chained(_: Value, ctx: DurableContext) -> Result<i64, DurableError> {
    let first = count_to(&ctx, 0, 2).await?;
    count_to(&ctx, first, 4).await
}
