//! Suite `wait_for_condition` (requirements 6-1 .. 6-13) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, StepError, WaitStrategy};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{until_at_least, ServiceError, TaggedState, POLL};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "condition_counter" => run(counter),
        "condition_already_met" => run(already_met),
        "condition_named" => run(named),
        "condition_initial_state" => run(initial_state),
        "condition_fixed_delay" => run(fixed_delay),
        "condition_exhausted" => run(exhausted),
        "condition_check_fails" => run(check_fails),
        "condition_check_fails_caught" => run(check_fails_caught),
        "condition_object_state" => run(object_state),
        "condition_null_state" => run(null_state),
        "condition_custom_serdes" => run(custom_serdes),
        "condition_then_step" => run(then_step),
        "condition_chained" => run(chained),
        _ => return None,
    })
}

/// Counts up from `from` until `threshold`, one check per invocation.
fn count_to(ctx: &DurableContext, from: i64, threshold: i64) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(from, |n, _| Ok(n + 1))
        .strategy(until_at_least(threshold))
        .run()
}

/// 6-1: a counter from 0 up to the input.
fn counter(threshold: i64, ctx: &DurableContext) -> Result<i64, DurableError> {
    count_to(ctx, 0, threshold)
}

/// 6-2: the condition holds on the first check.
fn already_met(threshold: i64, ctx: &DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(5i64, |n, _| Ok(n))
        .strategy(until_at_least(threshold))
        .run()
}

/// 6-3: named "poll-status".
fn named(threshold: i64, ctx: &DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition("poll-status", 0i64, |n, _| Ok(n + 1))
        .strategy(until_at_least(threshold))
        .run()
}

/// 6-4: from an initial state of 5 up to the input.
fn initial_state(threshold: i64, ctx: &DurableContext) -> Result<i64, DurableError> {
    count_to(ctx, 5, threshold)
}

/// 6-5: a fixed two-second delay between checks.
fn fixed_delay(threshold: i64, ctx: &DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(0i64, |n, _| Ok(n + 1))
        .strategy(WaitStrategy::until(move |n: &i64| *n >= threshold).fixed(Duration::from_secs(2)))
        .run()
}

/// 6-6: never satisfied; three attempts, then the strategy gives up.
fn exhausted(_: Value, ctx: &DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(0i64, |n, _| Ok(n + 1))
        .strategy(
            WaitStrategy::until(|_: &i64| false)
                .fixed(POLL)
                .max_attempts(3),
        )
        .run()
}

/// A check that fails at once.
fn failing_check(_: i64) -> Result<i64, StepError> {
    Err(ServiceError("the check failed".into()).into())
}

/// 6-7: the check fails; no retry, the error fails the execution.
fn check_fails(_: Value, ctx: &DurableContext) -> Result<i64, DurableError> {
    ctx.wait_for_condition_unnamed(0i64, |n, _| failing_check(n))
        .strategy(until_at_least(1))
        .run()
}

/// 6-8: the failing check's error is caught.
fn check_fails_caught(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let outcome = ctx
        .wait_for_condition_unnamed(0i64, |n, _| failing_check(n))
        .strategy(until_at_least(1))
        .run();
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
fn object_state(_: Value, ctx: &DurableContext) -> Result<Job, DurableError> {
    let initial = Job {
        status: "PENDING".into(),
        attempts: 0,
    };
    ctx.wait_for_condition_unnamed(initial, |job, _| {
        let attempts = job.attempts + 1;
        let status = if attempts >= 2 { "DONE" } else { "PENDING" };
        Ok(Job {
            status: status.into(),
            attempts,
        })
    })
    .strategy(WaitStrategy::until(|j: &Job| j.status != "PENDING").fixed(POLL))
    .run()
}

/// 6-10: the check returns null; the strategy stops at once.
fn null_state(_: Value, ctx: &DurableContext) -> Result<Option<i64>, DurableError> {
    ctx.wait_for_condition_unnamed(Some(0i64), |_, _| Ok(None))
        .strategy(WaitStrategy::until(|s: &Option<i64>| s.is_none()).fixed(POLL))
        .run()
}

/// 6-11: a string state through a custom serializer.
fn custom_serdes(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_condition_unnamed(String::new(), |s, _| Ok(s + "x"))
        .serdes(TaggedState)
        .strategy(WaitStrategy::until(|s: &String| s.len() >= 2).fixed(POLL))
        .run()
}

/// 6-12: the final state feeds a step.
fn then_step(threshold: i64, ctx: &DurableContext) -> Result<i64, DurableError> {
    let n = count_to(ctx, 0, threshold)?;
    ctx.step("multiply", |_| Ok(n * 10)).run()
}

/// 6-13: two waits back to back, the second from the first's result.
fn chained(_: Value, ctx: &DurableContext) -> Result<i64, DurableError> {
    let first = count_to(ctx, 0, 2)?;
    count_to(ctx, first, 4)
}
