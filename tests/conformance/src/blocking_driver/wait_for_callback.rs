//! Suite `wait_for_callback` (requirements 7-1 .. 7-15) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, StepContext, StepError};
use serde_json::Value;

use crate::{every_second, Approval, ServiceError};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "wfc_basic" => run(basic),
        "wfc_named" => run(named),
        "wfc_unnamed" => run(unnamed),
        "wfc_failure" => run(basic),
        "wfc_timeout" => run(timeout),
        "wfc_failure_caught" => run(failure_caught),
        "wfc_submitter_fails" => run(submitter_fails),
        "wfc_in_child" => run(in_child),
        "wfc_sequential" => run(sequential),
        "wfc_after_wait_and_step" => run(after_wait_and_step),
        "wfc_json_payload" => run(json_payload),
        "wfc_heartbeat_timeout" => run(heartbeat_timeout),
        "wfc_heartbeat_kept_alive" => run(heartbeat_kept_alive),
        "wfc_timeout_caught" => run(timeout_caught),
        "wfc_empty_payload" => run(empty_payload),
        _ => return None,
    })
}

const SECOND: Duration = Duration::from_secs(1);

/// The submitter: registers the callback id with the external system (here: nothing
/// durable, the runner finds the callback by itself).
fn submit(callback_id: &str, _: &StepContext) -> Result<(), StepError> {
    let _ = callback_id;
    Ok(())
}

/// 7-1, 7-4: one wait_for_callback named by the input; returns (or fails with) what the
/// external system sends.
fn basic(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit).run()
}

/// 7-2: the static name "approval".
fn named(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback("approval", submit).run()
}

/// 7-3: an inline submitter and no meaningful name (the SDK's operations always take one).
fn unnamed(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback("wait_for_callback", |_, _| Ok(()))
        .run()
}

/// 7-5: a 3 s timeout nobody beats: the execution fails.
fn timeout(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit)
        .timeout(3 * SECOND)
        .run()
}

/// 7-6: the external failure is caught; the handler recovers.
fn failure_caught(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    match ctx.wait_for_callback::<String, _>(&name, submit).run() {
        Err(DurableError::CallbackFailed(_)) => Ok("recovered".to_owned()),
        other => other,
    }
}

/// 7-7: the submitter always fails; 2 attempts 1 s apart, then the operation fails.
fn submitter_fails(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, |_, s| {
        Err(ServiceError(format!("submitter attempt {} failed", s.attempt())).into())
    })
    .retry(every_second(2))
    .run()
}

/// 7-8: inside a child context named "wrapper".
fn in_child(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("wrapper", |c| c.wait_for_callback(&name, submit).run())
}

/// 7-9: "first", then "second"; returns the second result.
fn sequential(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let _first: String = ctx.wait_for_callback("first", submit).run()?;
    ctx.wait_for_callback("second", submit).run()
}

/// 7-10: a 1 s wait, a top-level step, then the wait_for_callback.
fn after_wait_and_step(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait("pause", SECOND)?;
    let _data: String = ctx
        .step("fetch_data", |_| Ok("fixed data".to_owned()))
        .run()?;
    ctx.wait_for_callback(&name, submit).run()
}

/// 7-11: the payload is read as a JSON object; returns its `status`.
fn json_payload(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let approval: Approval = ctx.wait_for_callback(&name, submit).run()?;
    Ok(approval.status)
}

/// 7-12: a 5 s heartbeat timeout and no heartbeat: the execution fails.
fn heartbeat_timeout(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit)
        .heartbeat_timeout(5 * SECOND)
        .run()
}

/// 7-13: a 10 s heartbeat timeout; a heartbeat, then success.
fn heartbeat_kept_alive(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit)
        .heartbeat_timeout(10 * SECOND)
        .run()
}

/// 7-14: a 3 s timeout, caught.
fn timeout_caught(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    match ctx
        .wait_for_callback::<String, _>(&name, submit)
        .timeout(3 * SECOND)
        .run()
    {
        Err(DurableError::CallbackTimedOut(_)) => Ok("timed-out-handled".to_owned()),
        other => other,
    }
}

/// 7-15: success without a payload: the result is null.
fn empty_payload(name: String, ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.wait_for_callback(&name, submit).run()
}
