//! Suite `wait_for_callback` (requirements 7-1 .. 7-15) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, StepContext, StepError};
use serde_json::Value;

use crate::{every_second, Approval, ServiceError};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "wfc_basic" => run(basic).await,
        "wfc_named" => run(named).await,
        "wfc_unnamed" => run(unnamed).await,
        "wfc_failure" => run(basic).await,
        "wfc_timeout" => run(timeout).await,
        "wfc_failure_caught" => run(failure_caught).await,
        "wfc_submitter_fails" => run(submitter_fails).await,
        "wfc_in_child" => run(in_child).await,
        "wfc_sequential" => run(sequential).await,
        "wfc_after_wait_and_step" => run(after_wait_and_step).await,
        "wfc_json_payload" => run(json_payload).await,
        "wfc_heartbeat_timeout" => run(heartbeat_timeout).await,
        "wfc_heartbeat_kept_alive" => run(heartbeat_kept_alive).await,
        "wfc_timeout_caught" => run(timeout_caught).await,
        "wfc_empty_payload" => run(empty_payload).await,
        _ => return None,
    })
}

const SECOND: Duration = Duration::from_secs(1);

/// The submitter: registers the callback id with the external system (here: nothing
/// durable, the runner finds the callback by itself).
async fn submit(callback_id: String, _: StepContext) -> Result<(), StepError> {
    let _ = callback_id;
    Ok(())
}

/// 7-1, 7-4: one wait_for_callback named by the input; returns (or fails with) what the
/// external system sends.
async fn basic(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit).await
}

/// 7-2: the static name "approval".
async fn named(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback("approval", submit).await
}

/// 7-3: an inline submitter and no meaningful name (the SDK's operations always take one).
async fn unnamed(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback("wait_for_callback", |_, _| async { Ok(()) })
        .await
}

/// 7-5: a 3 s timeout nobody beats: the execution fails.
async fn timeout(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit)
        .timeout(3 * SECOND)
        .await
}

/// 7-6: the external failure is caught; the handler recovers.
async fn failure_caught(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    match ctx.wait_for_callback::<String, _, _>(&name, submit).await {
        Err(DurableError::CallbackFailed(_)) => Ok("recovered".to_owned()),
        other => other,
    }
}

/// 7-7: the submitter always fails; 2 attempts 1 s apart, then the operation fails.
async fn submitter_fails(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, |_, s| async move {
        Err(ServiceError(format!("submitter attempt {} failed", s.attempt())).into())
    })
    .retry(every_second(2))
    .await
}

/// 7-8: inside a child context named "wrapper".
async fn in_child(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.run_in_child_context("wrapper", |c| async move {
        c.wait_for_callback(&name, submit).await
    })
    .await
}

/// 7-9: "first", then "second"; returns the second result.
async fn sequential(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let _first: String = ctx.wait_for_callback("first", submit).await?;
    ctx.wait_for_callback("second", submit).await
}

/// 7-10: a 1 s wait, a top-level step, then the wait_for_callback.
async fn after_wait_and_step(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait("pause", SECOND).await?;
    let _data: String = ctx
        .step("fetch_data", |_| async { Ok("fixed data".to_owned()) })
        .await?;
    ctx.wait_for_callback(&name, submit).await
}

/// 7-11: the payload is read as a JSON object; returns its `status`.
async fn json_payload(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let approval: Approval = ctx.wait_for_callback(&name, submit).await?;
    Ok(approval.status)
}

/// 7-12: a 5 s heartbeat timeout and no heartbeat: the execution fails.
async fn heartbeat_timeout(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit)
        .heartbeat_timeout(5 * SECOND)
        .await
}

/// 7-13: a 10 s heartbeat timeout; a heartbeat, then success.
async fn heartbeat_kept_alive(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.wait_for_callback(&name, submit)
        .heartbeat_timeout(10 * SECOND)
        .await
}

/// 7-14: a 3 s timeout, caught.
async fn timeout_caught(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    match ctx
        .wait_for_callback::<String, _, _>(&name, submit)
        .timeout(3 * SECOND)
        .await
    {
        Err(DurableError::CallbackTimedOut(_)) => Ok("timed-out-handled".to_owned()),
        other => other,
    }
}

/// 7-15: success without a payload: the result is null.
async fn empty_payload(name: String, ctx: DurableContext) -> Result<Value, DurableError> {
    ctx.wait_for_callback(&name, submit).await
}
