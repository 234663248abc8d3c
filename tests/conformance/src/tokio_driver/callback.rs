//! Suite `callback` (requirements 4-1 .. 4-19) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError};
use serde_json::{json, Value};

use crate::{Counted, MessageSerdes, NumberSerdes};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "callback_basic" => run(basic).await,
        "callback_named" => run(named).await,
        "callback_timeout" => run(timeout).await,
        "callback_heartbeat_timeout" => run(heartbeat_timeout).await,
        "callback_heartbeat_kept_alive" => run(heartbeat_kept_alive).await,
        "callback_failure" => run(failure).await,
        "callback_step_then_failure" => run(step_then_result).await,
        "callback_step_then_timeout" => run(step_then_timeout).await,
        "callback_wait_then_success" => run(wait_then_result).await,
        "callback_wait_then_failure" => run(wait_then_result).await,
        "callback_timeout_during_wait" => run(timeout_during_wait).await,
        "callback_then_wait" => run(then_wait).await,
        "callback_failure_caught" => run(failure_caught).await,
        "callback_timeout_caught" => run(timeout_caught).await,
        "callback_typed_payload" => run(typed_payload).await,
        "callback_number_payload" => run(number_payload).await,
        "callback_sequential" => run(sequential).await,
        "callback_both_await_in_order" => run(both_await_in_order).await,
        "callback_both_await_reversed" => run(both_await_reversed).await,
        _ => return None,
    })
}

const SECOND: Duration = Duration::from_secs(1);

/// 4-1: a callback named by the input; returns what the external system sends.
async fn basic(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name).await?.await
}

/// 4-2: a callback named "approval".
async fn named(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>("approval").await?.await
}

/// 4-3: a 5 s timeout nobody beats: the execution fails with the timeout.
async fn timeout(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name)
        .timeout(5 * SECOND)
        .await?
        .await
}

/// 4-4: a 5 s heartbeat timeout and no heartbeat: the execution fails with it.
async fn heartbeat_timeout(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name)
        .heartbeat_timeout(5 * SECOND)
        .await?
        .await
}

/// 4-5: a 10 s heartbeat timeout; the external system heartbeats, then succeeds.
async fn heartbeat_kept_alive(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name)
        .heartbeat_timeout(10 * SECOND)
        .await?
        .await
}

/// 4-6: the external system reports a failure; not caught, so the execution fails.
async fn failure(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.create_callback::<String>(&name).await?.await
}

/// Hands the callback id over in a step (checkpointed, so it is sent once).
async fn hand_over(ctx: &DurableContext, id: &str) -> Result<String, DurableError> {
    let id = id.to_owned();
    ctx.step(
        "send_callback_id",
        |_| async move { Ok(format!("sent {id}")) },
    )
    .await
}

/// 4-7: create, run a step, then await; the external system reports a failure.
async fn step_then_result(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let callback = ctx.create_callback::<String>(&name).await?;
    hand_over(&ctx, callback.id()).await?;
    callback.await
}

/// 4-8: create with a 5 s timeout, run a step, then await; nobody answers.
async fn step_then_timeout(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<String>(&name)
        .timeout(5 * SECOND)
        .await?;
    hand_over(&ctx, callback.id()).await?;
    callback.await
}

/// 4-9, 4-10: create, wait 5 s, then await; the answer (success or failure) comes during
/// the wait.
async fn wait_then_result(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let callback = ctx.create_callback::<String>(&name).await?;
    ctx.wait("pause", 5 * SECOND).await?;
    callback.await
}

/// 4-11: a 3 s timeout, a 6 s wait, then await: the timeout falls during the wait.
async fn timeout_during_wait(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<String>(&name)
        .timeout(3 * SECOND)
        .await?;
    ctx.wait("pause", 6 * SECOND).await?;
    callback.await
}

/// 4-12: await the callback, then a 2 s wait, then return the callback's result.
async fn then_wait(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let value = ctx.create_callback::<String>(&name).await?.await?;
    ctx.wait("pause", 2 * SECOND).await?;
    Ok(value)
}

/// 4-13: the failure is caught and its message kept; a 2 s wait; return the message.
async fn failure_caught(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let message = match ctx.create_callback::<String>(&name).await?.await {
        Ok(value) => value,
        Err(DurableError::CallbackFailed(failure)) => {
            format!("callback failed: {}", failure.message())
        }
        Err(other) => return Err(other),
    };
    ctx.wait("pause", 2 * SECOND).await?;
    Ok(message)
}

/// 4-14: a 3 s timeout, caught; a 2 s wait; the execution succeeds.
async fn timeout_caught(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<String>(&name)
        .timeout(3 * SECOND)
        .await?;
    let message = match callback.await {
        Ok(value) => value,
        Err(DurableError::CallbackTimedOut(_)) => "callback timed out".to_owned(),
        Err(other) => return Err(other),
    };
    ctx.wait("pause", 2 * SECOND).await?;
    Ok(message)
}

/// 4-15: a custom deserializer reads the payload into a typed message, its RFC 3339
/// timestamp as epoch seconds.
async fn typed_payload(name: String, ctx: DurableContext) -> Result<Value, DurableError> {
    let message = ctx
        .create_callback(&name)
        .serdes(MessageSerdes)
        .await?
        .await?;
    Ok(json!({ "received": message }))
}

/// 4-16: a custom deserializer reads the payload as a number.
async fn number_payload(name: String, ctx: DurableContext) -> Result<Counted, DurableError> {
    let count = ctx
        .create_callback(&name)
        .serdes(NumberSerdes)
        .await?
        .await?;
    Ok(Counted {
        count,
        doubled: count * 2,
    })
}

/// 4-17: create A, await A, then create B, await B.
async fn sequential(names: [String; 2], ctx: DurableContext) -> Result<[String; 2], DurableError> {
    let a = ctx.create_callback::<String>(&names[0]).await?.await?;
    let b = ctx.create_callback::<String>(&names[1]).await?.await?;
    Ok([a, b])
}

/// 4-18: create A and B, then await A, then B.
async fn both_await_in_order(
    names: [String; 2],
    ctx: DurableContext,
) -> Result<[String; 2], DurableError> {
    let a = ctx.create_callback::<String>(&names[0]).await?;
    let b = ctx.create_callback::<String>(&names[1]).await?;
    let a = a.await?;
    Ok([a, b.await?])
}

/// 4-19: create A and B, then await B, then A.
async fn both_await_reversed(
    names: [String; 2],
    ctx: DurableContext,
) -> Result<[String; 2], DurableError> {
    let a = ctx.create_callback::<String>(&names[0]).await?;
    let b = ctx.create_callback::<String>(&names[1]).await?;
    let b = b.await?;
    Ok([a.await?, b])
}
