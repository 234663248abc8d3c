//! Suite `callback` (requirements 4-1 .. 4-19) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError};
use serde_json::{json, Value};

use crate::{Counted, MessageSerdes, NumberSerdes};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "callback_basic" => run(basic),
        "callback_named" => run(named),
        "callback_timeout" => run(timeout),
        "callback_heartbeat_timeout" => run(heartbeat_timeout),
        "callback_heartbeat_kept_alive" => run(heartbeat_kept_alive),
        "callback_failure" => run(failure),
        "callback_step_then_failure" => run(step_then_result),
        "callback_step_then_timeout" => run(step_then_timeout),
        "callback_wait_then_success" => run(wait_then_result),
        "callback_wait_then_failure" => run(wait_then_result),
        "callback_timeout_during_wait" => run(timeout_during_wait),
        "callback_then_wait" => run(then_wait),
        "callback_failure_caught" => run(failure_caught),
        "callback_timeout_caught" => run(timeout_caught),
        "callback_typed_payload" => run(typed_payload),
        "callback_number_payload" => run(number_payload),
        "callback_sequential" => run(sequential),
        "callback_both_await_in_order" => run(both_await_in_order),
        "callback_both_await_reversed" => run(both_await_reversed),
        _ => return None,
    })
}

const SECOND: Duration = Duration::from_secs(1);

/// 4-1: a callback named by the input; returns what the external system sends.
fn basic(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name).run()?.result()
}

/// 4-2: a callback named "approval".
fn named(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>("approval").run()?.result()
}

/// 4-3: a 5 s timeout nobody beats: the execution fails with the timeout.
fn timeout(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name)
        .timeout(5 * SECOND)
        .run()?
        .result()
}

/// 4-4: a 5 s heartbeat timeout and no heartbeat: the execution fails with it.
fn heartbeat_timeout(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name)
        .heartbeat_timeout(5 * SECOND)
        .run()?
        .result()
}

/// 4-5: a 10 s heartbeat timeout; the external system heartbeats, then succeeds.
fn heartbeat_kept_alive(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name)
        .heartbeat_timeout(10 * SECOND)
        .run()?
        .result()
}

/// 4-6: the external system reports a failure; not caught, so the execution fails.
fn failure(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name).run()?.result()
}

/// Hands the callback id over in a step (checkpointed, so it is sent once).
fn hand_over(ctx: &DurableContext, id: &str) -> Result<String, DurableError> {
    ctx.step("send_callback_id", |_| Ok(format!("sent {id}")))
        .run()
}

/// 4-7: create, run a step, then await; the external system reports a failure.
fn step_then_result(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let callback = ctx.create_callback::<String>(&name).run()?;
    hand_over(ctx, callback.id())?;
    callback.result()
}

/// 4-8: create with a 5 s timeout, run a step, then await; nobody answers.
fn step_then_timeout(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<String>(&name)
        .timeout(5 * SECOND)
        .run()?;
    hand_over(ctx, callback.id())?;
    callback.result()
}

/// 4-9, 4-10: create, wait 5 s, then await; the answer (success or failure) comes during
/// the wait.
fn wait_then_result(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let callback = ctx.create_callback::<String>(&name).run()?;
    ctx.wait("pause", 5 * SECOND)?;
    callback.result()
}

/// 4-11: a 3 s timeout, a 6 s wait, then await: the timeout falls during the wait.
fn timeout_during_wait(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<String>(&name)
        .timeout(3 * SECOND)
        .run()?;
    ctx.wait("pause", 6 * SECOND)?;
    callback.result()
}

/// 4-12: await the callback, then a 2 s wait, then return the callback's result.
fn then_wait(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let value = ctx.create_callback::<String>(&name).run()?.result()?;
    ctx.wait("pause", 2 * SECOND)?;
    Ok(value)
}

/// 4-13: the failure is caught and its message kept; a 2 s wait; return the message.
fn failure_caught(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let message = match ctx.create_callback::<String>(&name).run()?.result() {
        Ok(value) => value,
        Err(DurableError::CallbackFailed(failure)) => {
            format!("callback failed: {}", failure.message())
        }
        Err(other) => return Err(other),
    };
    ctx.wait("pause", 2 * SECOND)?;
    Ok(message)
}

/// 4-14: a 3 s timeout, caught; a 2 s wait; the execution succeeds.
fn timeout_caught(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<String>(&name)
        .timeout(3 * SECOND)
        .run()?;
    let message = match callback.result() {
        Ok(value) => value,
        Err(DurableError::CallbackTimedOut(_)) => "callback timed out".to_owned(),
        Err(other) => return Err(other),
    };
    ctx.wait("pause", 2 * SECOND)?;
    Ok(message)
}

/// 4-15: a custom deserializer reads the payload into a typed message, its RFC 3339
/// timestamp as epoch seconds.
fn typed_payload(name: String, ctx: &DurableContext) -> Result<Value, DurableError> {
    let message = ctx
        .create_callback(&name)
        .serdes(MessageSerdes)
        .run()?
        .result()?;
    Ok(json!({ "received": message }))
}

/// 4-16: a custom deserializer reads the payload as a number.
fn number_payload(name: String, ctx: &DurableContext) -> Result<Counted, DurableError> {
    let count = ctx
        .create_callback(&name)
        .serdes(NumberSerdes)
        .run()?
        .result()?;
    Ok(Counted {
        count,
        doubled: count * 2,
    })
}

/// 4-17: create A, await A, then create B, await B.
fn sequential(names: [String; 2], ctx: &DurableContext) -> Result<[String; 2], DurableError> {
    let a = ctx.create_callback::<String>(&names[0]).run()?.result()?;
    let b = ctx.create_callback::<String>(&names[1]).run()?.result()?;
    Ok([a, b])
}

/// 4-18: create A and B, then await A, then B.
fn both_await_in_order(
    names: [String; 2],
    ctx: &DurableContext,
) -> Result<[String; 2], DurableError> {
    let a = ctx.create_callback::<String>(&names[0]).run()?;
    let b = ctx.create_callback::<String>(&names[1]).run()?;
    let a = a.result()?;
    Ok([a, b.result()?])
}

/// 4-19: create A and B, then await B, then A.
fn both_await_reversed(
    names: [String; 2],
    ctx: &DurableContext,
) -> Result<[String; 2], DurableError> {
    let a = ctx.create_callback::<String>(&names[0]).run()?;
    let b = ctx.create_callback::<String>(&names[1]).run()?;
    let b = b.result()?;
    Ok([a.result()?, b])
}
