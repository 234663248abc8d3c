//! Lambda bootstrap running the e2e scenarios on durable-blocking; `_HANDLER` picks one.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, RetryPolicy, StepConfig};
use e2e_scenarios::{every_second, handler_name, PaymentDeclined};
use serde_json::{json, Value};

fn step_ok(event: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let name = event["name"].as_str().unwrap_or("world").to_owned();
    let greeting: String = ctx.step("greet", |_| {
        Ok::<_, PaymentDeclined>(format!("hello {name}"))
    })?;
    Ok(json!({ "greeting": greeting }))
}

fn retry_twice(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let attempt: u32 = ctx.step_with("flaky", StepConfig::new().retry(every_second(3)), |s| {
        if s.attempt() <= 2 {
            Err(PaymentDeclined(format!("attempt {}", s.attempt())))
        } else {
            Ok(s.attempt())
        }
    })?;
    Ok(json!({ "succeeded_on": attempt }))
}

fn retry_exhausted(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let never: u32 = ctx.step_with("doomed", StepConfig::new().retry(every_second(2)), |s| {
        Err(PaymentDeclined(format!("attempt {}", s.attempt())))
    })?;
    Ok(json!(never))
}

fn wait_then_step(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.wait("pause", Duration::from_secs(2))?;
    let after: String = ctx.step("after", |_| Ok::<_, PaymentDeclined>("done".to_owned()))?;
    Ok(json!(after))
}

fn at_most_once_crash(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let charged: String = ctx.step_with(
        "charge",
        StepConfig::new().at_most_once().retry(every_second(2)),
        |s| {
            if s.attempt() == 1 {
                std::process::exit(3);
            }
            Ok::<_, PaymentDeclined>(format!("charged on attempt {}", s.attempt()))
        },
    )?;
    Ok(json!(charged))
}

fn concurrent(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let results = ctx.step_all(
        vec![
            ("slow".to_owned(), StepConfig::new()),
            ("fast".to_owned(), StepConfig::new().retry(every_second(2))),
        ],
        |i, s| {
            if i == 0 {
                std::thread::sleep(Duration::from_millis(300));
                Ok("slow".to_owned())
            } else if s.attempt() == 1 {
                Err(PaymentDeclined("first try".into()))
            } else {
                Ok("fast".to_owned())
            }
        },
    )?;
    let values: Vec<String> = results.into_iter().collect::<Result<_, _>>()?;
    Ok(json!(values))
}

fn no_retry(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let v: u32 = ctx.step_with("once", StepConfig::new().retry(RetryPolicy::none()), |_| {
        Err(PaymentDeclined("no".into()))
    })?;
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
