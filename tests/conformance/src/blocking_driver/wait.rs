//! Suite `wait` (requirements 2-1 .. 2-5) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError};
use serde_json::Value;

use crate::WaitsDone;

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "wait_basic" => run(basic),
        "wait_named" => run(named),
        "wait_sequential" => run(sequential),
        "wait_minutes" => run(minutes),
        "wait_hours" => run(hours),
        _ => return None,
    })
}

/// 2-1: one 2 s wait.
fn basic(_: Value, ctx: &DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("wait", Duration::from_secs(2))?;
    Ok("waited")
}

/// 2-2: one 2 s wait with an explicit name.
fn named(_: Value, ctx: &DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("custom_wait_name", Duration::from_secs(2))?;
    Ok("waited")
}

/// 2-3: two 2 s waits, each suspending the execution.
fn sequential(_: Value, ctx: &DurableContext) -> Result<WaitsDone, DurableError> {
    ctx.wait("wait-1", Duration::from_secs(2))?;
    ctx.wait("wait-2", Duration::from_secs(2))?;
    Ok(WaitsDone { completed_waits: 2 })
}

/// 2-4: a wait given in minutes (checkpointed as 60 s).
fn minutes(_: Value, ctx: &DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("one_minute", Duration::from_mins(1))?;
    Ok("waited")
}

/// 2-5: a wait given in hours (checkpointed as 3600 s).
fn hours(_: Value, ctx: &DurableContext) -> Result<&'static str, DurableError> {
    ctx.wait("one_hour", Duration::from_hours(1))?;
    Ok("waited")
}
