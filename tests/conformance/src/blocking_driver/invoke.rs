//! Suite `invoke` (requirements 5-1 .. 5-16) on `durable-blocking`, and the durable target
//! functions they call (named by the template's `TARGET_*` variables; the requirements
//! expect the target's `DurableExecutionArn`, so the targets are durable functions).

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    target, ServiceError, UppercaseRaw, UppercaseStrings, LARGE_PAYLOAD_BYTES, TARGET_LATENCY,
};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "invoke_basic" | "invoke_complex" | "invoke_null" => run(basic),
        "invoke_named" => run(named),
        "invoke_target_fails" => run(target_fails),
        "invoke_failure_caught" => run(failure_caught),
        "invoke_large_payload" => run(large_payload),
        "invoke_tenant" => run(tenant),
        "invoke_then_wait" => run(then_wait),
        "invoke_failure_then_wait" => run(failure_then_wait),
        "invoke_after_step" => run(after_step),
        "invoke_then_step" => run(then_step),
        "invoke_in_child" => run(in_child),
        "invoke_sequential" => run(sequential),
        "invoke_payload_serdes" => run(payload_serdes),
        "invoke_result_serdes" => run(result_serdes),
        "target_echo" => run(target_echo),
        "target_failing" => run(target_failing),
        "target_measure" => run(target_measure),
        _ => return None,
    })
}

/// The input of requirement 5-2.
#[derive(Debug, Deserialize)]
struct NamedInput {
    name: String,
    payload: Value,
}

/// The input of requirement 5-8.
#[derive(Debug, Deserialize)]
struct TenantInput {
    #[serde(rename = "tenantId")]
    tenant_id: String,
    payload: Value,
}

/// Invokes the echo target with `input`.
fn echo(ctx: &DurableContext, name: &str, input: &Value) -> Result<Value, DurableError> {
    ctx.invoke(name, &target("TARGET_ECHO"), input).run()
}

/// Invokes the failing target.
fn failing(ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.invoke("invoke_failing", &target("TARGET_FAILING"), &Value::Null)
        .run()
}

/// 5-1, 5-3, 5-4: the echo target gets the input (a string, a nested object, null) and
/// returns it.
fn basic(input: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    echo(ctx, "invoke_echo", &input)
}

/// 5-2: the invoke is named by the input.
fn named(input: NamedInput, ctx: &DurableContext) -> Result<Value, DurableError> {
    echo(ctx, &input.name, &input.payload)
}

/// 5-5: the target fails; not caught, so the execution fails.
fn target_fails(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    failing(ctx)
}

/// 5-6: the target's failure is caught; the handler returns a fallback.
fn failure_caught(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    match failing(ctx) {
        Err(DurableError::InvokeFailed(failure)) => Ok(Value::String(format!(
            "fallback after {}",
            failure.error_type()
        ))),
        other => other,
    }
}

/// 5-7: a payload near the operation payload limit; the target reports its size.
fn large_payload(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let payload = "x".repeat(LARGE_PAYLOAD_BYTES);
    ctx.invoke("invoke_large", &target("TARGET_MEASURE"), &payload)
        .run()
}

/// 5-8: the invoke carries the input's tenant id.
fn tenant(input: TenantInput, ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.invoke("invoke_tenant", &target("TARGET_ECHO"), &input.payload)
        .tenant_id(input.tenant_id)
        .run()
}

/// 5-9: an invoke, then a 1 s wait; the replay returns the recorded result.
fn then_wait(input: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let result = echo(ctx, "invoke_echo", &input)?;
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(result)
}

/// 5-10: a failed invoke is caught, then a 1 s wait; the replay catches it again.
fn failure_then_wait(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let caught = match failing(ctx) {
        Ok(_) => "target succeeded".to_owned(),
        Err(DurableError::InvokeFailed(failure)) => format!("caught {}", failure.error_type()),
        Err(other) => return Err(other),
    };
    ctx.wait("pause", Duration::from_secs(1))?;
    Ok(caught)
}

/// 5-11: a step, then an invoke with the step's result.
fn after_step(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let value: Value = ctx
        .step("prepare", |_| Ok(Value::String("prepared".into())))
        .run()?;
    echo(ctx, "invoke_echo", &value)
}

/// 5-12: an invoke, then a step that processes its result.
fn then_step(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    let result = echo(ctx, "invoke_echo", &Value::String("from target".into()))?;
    ctx.step("process", |_| Ok(format!("processed {result}")))
        .run()
}

/// 5-13: an invoke inside a child context, which returns its result.
fn in_child(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.run_in_child_context("invoke_child", |c| {
        echo(c, "invoke_echo", &Value::String("in child".into()))
    })
}

/// 5-14: two invokes in sequence: the echo target, then the measuring one with its result.
fn sequential(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let first = echo(ctx, "invoke_first", &Value::String("first".into()))?;
    ctx.invoke("invoke_second", &target("TARGET_MEASURE"), &first)
        .run()
}

/// 5-15: the outgoing payload goes through a custom serializer that upper-cases strings.
fn payload_serdes(input: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.invoke(
        "invoke_upper",
        &target("TARGET_ECHO"),
        &UppercaseStrings(&input),
    )
    .run()
}

/// 5-16: the result is read through a custom deserializer that upper-cases it.
fn result_serdes(input: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.invoke("invoke_echo", &target("TARGET_ECHO"), &input)
        .serdes(UppercaseRaw)
        .run()
}

/// Target: returns whatever it receives.
fn target_echo(input: Value, _: &DurableContext) -> Result<Value, DurableError> {
    std::thread::sleep(TARGET_LATENCY);
    Ok(input)
}

/// Target: always fails.
fn target_failing(_: Value, _: &DurableContext) -> Result<Value, ServiceError> {
    std::thread::sleep(TARGET_LATENCY);
    Err(ServiceError("target function failed".into()))
}

/// Target: reports the size of the string it received (requirement 5-7's large payload).
fn target_measure(input: Value, _: &DurableContext) -> Result<Value, DurableError> {
    std::thread::sleep(TARGET_LATENCY);
    let bytes = input.as_str().map_or(0, str::len);
    Ok(serde_json::json!({ "receivedBytes": bytes }))
}
