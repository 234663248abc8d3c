//! Lambda bootstrap running the e2e scenarios on durable-tokio; `_HANDLER` picks one.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, RetryPolicy};
use e2e_scenarios::{
    all_three, approval, batches, echo, every_second, grouped, handler_name, retry_exhausted,
    retry_twice, wait_then_step, PaymentDeclined,
};
use serde_json::{json, Value};

async fn step_ok(event: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let name = event["name"].as_str().unwrap_or("world").to_owned();
    let greeting: String = ctx
        .step("greet", |_| async move { Ok(format!("hello {name}")) })
        .await?;
    Ok(json!({ "greeting": greeting }))
}

async fn at_most_once_crash(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let charged: String = ctx
        .step("charge", |s| async move {
            if s.attempt() == 1 {
                // The process dies mid-body, as a Lambda timeout or OOM would kill it.
                std::process::exit(3);
            }
            Ok(format!("charged on attempt {}", s.attempt()))
        })
        .at_most_once()
        .retry(every_second(2))
        .await?;
    Ok(json!(charged))
}

async fn concurrent(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let slow = ctx.step("slow", |_| async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok("slow".to_owned())
    });
    let fast = ctx
        .step("fast", |s| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if s.attempt() == 1 {
                Err(PaymentDeclined("first try".into()).into())
            } else {
                Ok("fast".to_owned())
            }
        })
        .retry(every_second(2));
    let (a, b): (Result<String, _>, Result<String, _>) = tokio::join!(slow, fast);
    Ok(json!([a?, b?]))
}

async fn no_retry(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let v: u32 = ctx
        .step("once", |_| async {
            Err::<u32, durable_tokio::StepError>(PaymentDeclined("no".into()).into())
        })
        .retry(RetryPolicy::none())
        .await?;
    Ok(json!(v))
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    match handler_name().as_str() {
        "step_ok" => durable_tokio::run(step_ok).await,
        "retry_twice" => durable_tokio::run(retry_twice).await,
        "retry_exhausted" => durable_tokio::run(retry_exhausted).await,
        "wait_then_step" => durable_tokio::run(wait_then_step).await,
        "grouped" => durable_tokio::run(grouped).await,
        "batches" => durable_tokio::run(batches).await,
        "all_three" => durable_tokio::run(all_three).await,
        "echo" => durable_tokio::run(echo).await,
        "approval" => durable_tokio::run(approval).await,
        "at_most_once_crash" => durable_tokio::run(at_most_once_crash).await,
        "concurrent" => durable_tokio::run(concurrent).await,
        "no_retry" => durable_tokio::run(no_retry).await,
        other => Err(format!("unknown handler {other:?}").into()),
    }
}
