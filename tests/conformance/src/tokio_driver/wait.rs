//! Suite `wait` (requirements 2-1 .. 2-5) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError};
use serde_json::Value;

use crate::WaitsDone;

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "wait_basic" => run(basic).await,
        "wait_named" => run(named).await,
        "wait_sequential" => run(sequential).await,
        "wait_minutes" => run(minutes).await,
        "wait_hours" => run(hours).await,
        _ => return None,
    })
}

/// 2-1: one 2 s wait.
async fn basic(_: Value, ctx: DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("wait", Duration::from_secs(2)).await?;
    Ok("waited")
}

/// 2-2: one 2 s wait with an explicit name.
async fn named(_: Value, ctx: DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("custom_wait_name", Duration::from_secs(2)).await?;
    Ok("waited")
}

/// 2-3: two 2 s waits, each suspending the execution.
async fn sequential(_: Value, ctx: DurableContext) -> Result<WaitsDone, DurableError> {
    ctx.wait("wait-1", Duration::from_secs(2)).await?;
    ctx.wait("wait-2", Duration::from_secs(2)).await?;
    Ok(WaitsDone { completed_waits: 2 })
}

/// 2-4: a wait given in minutes (checkpointed as 60 s).
async fn minutes(_: Value, ctx: DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("one_minute", Duration::from_mins(1)).await?;
    Ok("waited")
}

/// 2-5: a wait given in hours (checkpointed as 3600 s).
async fn hours(_: Value, ctx: DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("one_hour", Duration::from_hours(1)).await?;
    Ok("waited")
}
