//! Lambda bootstrap running the e2e scenarios on durable-blocking; `_HANDLER` picks one.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, RetryPolicy};
use e2e_scenarios::{every_second, handler_name, PaymentDeclined};
use serde_json::{json, Value};

fn step_ok(event: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let name = event["name"].as_str().unwrap_or("world").to_owned();
    let greeting: String = ctx.step("greet", |_| Ok(format!("hello {name}"))).run()?;
    Ok(json!({ "greeting": greeting }))
}

fn retry_twice(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let attempt: u32 = ctx
        .step("flaky", |s| {
            if s.attempt() <= 2 {
                Err(PaymentDeclined(format!("attempt {}", s.attempt())).into())
            } else {
                Ok(s.attempt())
            }
        })
        .retry(every_second(3))
        .run()?;
    Ok(json!({ "succeeded_on": attempt }))
}

fn retry_exhausted(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let never: u32 = ctx
        .step("doomed", |s| {
            Err(PaymentDeclined(format!("attempt {}", s.attempt())).into())
        })
        .retry(every_second(2))
        .run()?;
    Ok(json!(never))
}

fn wait_then_step(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.wait("pause", Duration::from_secs(2))?;
    let after: String = ctx.step("after", |_| Ok("done".to_owned())).run()?;
    Ok(json!(after))
}

fn at_most_once_crash(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let charged: String = ctx
        .step("charge", |s| {
            if s.attempt() == 1 {
                std::process::exit(3);
            }
            Ok(format!("charged on attempt {}", s.attempt()))
        })
        .at_most_once()
        .retry(every_second(2))
        .run()?;
    Ok(json!(charged))
}

/// The blocking API has no concurrency until `parallel`/`map` land: the same two steps
/// run one after the other, with the ids and histories the async scenario checks.
fn concurrent(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let slow: String = ctx
        .step("slow", |_| {
            std::thread::sleep(Duration::from_millis(300));
            Ok("slow".to_owned())
        })
        .run()?;
    let fast: String = ctx
        .step("fast", |s| {
            if s.attempt() == 1 {
                Err(PaymentDeclined("first try".into()).into())
            } else {
                Ok("fast".to_owned())
            }
        })
        .retry(every_second(2))
        .run()?;
    Ok(json!([slow, fast]))
}

fn no_retry(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let v: u32 = ctx
        .step("once", |_| Err(PaymentDeclined("no".into()).into()))
        .retry(RetryPolicy::none())
        .run()?;
    Ok(json!(v))
}

fn main() -> Result<(), lambda_runtime::Error> {
    match handler_name().as_str() {
        "step_ok" => durable_blocking::run(step_ok),
        "retry_twice" => durable_blocking::run(retry_twice),
        "retry_exhausted" => durable_blocking::run(retry_exhausted),
        "wait_then_step" => durable_blocking::run(wait_then_step),
        "at_most_once_crash" => durable_blocking::run(at_most_once_crash),
        "concurrent" => durable_blocking::run(concurrent),
        "no_retry" => durable_blocking::run(no_retry),
        other => Err(format!("unknown handler {other:?}").into()),
    }
}
