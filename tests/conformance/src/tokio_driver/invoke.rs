//! Suite `invoke` (requirements 5-1 .. 5-16) on `durable-tokio`, and the durable target
//! functions they call (named by the template's `TARGET_*` variables; the requirements
//! expect the target's `DurableExecutionArn`, so the targets are durable functions).

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError};
use serde::Deserialize;
use serde_json::Value;

use crate::{
    target, ServiceError, UppercaseRaw, UppercaseStrings, LARGE_PAYLOAD_BYTES, TARGET_LATENCY,
};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "invoke_basic" | "invoke_complex" | "invoke_null" => run(basic).await,
        "invoke_named" => run(named).await,
        "invoke_target_fails" => run(target_fails).await,
        "invoke_failure_caught" => run(failure_caught).await,
        "invoke_large_payload" => run(large_payload).await,
        "invoke_tenant" => run(tenant).await,
        "invoke_then_wait" => run(then_wait).await,
        "invoke_failure_then_wait" => run(failure_then_wait).await,
        "invoke_after_step" => run(after_step).await,
        "invoke_then_step" => run(then_step).await,
        "invoke_in_child" => run(in_child).await,
        "invoke_sequential" => run(sequential).await,
        "invoke_payload_serdes" => run(payload_serdes).await,
        "invoke_result_serdes" => run(result_serdes).await,
        "target_echo" => run(target_echo).await,
        "target_failing" => run(target_failing).await,
        "target_measure" => run(target_measure).await,
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
async fn echo(ctx: &DurableContext, name: &str, input: &Value) -> Result<Value, DurableError> {
    ctx.invoke(name, &target("TARGET_ECHO"), input).await
}

/// Invokes the failing target.
async fn failing(ctx: &DurableContext) -> Result<Value, DurableError> {
    ctx.invoke("invoke_failing", &target("TARGET_FAILING"), &Value::Null)
        .await
}

/// 5-1, 5-3, 5-4: the echo target gets the input (a string, a nested object, null) and
/// returns it.
async fn basic(input: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    echo(&ctx, "invoke_echo", &input).await
}

/// 5-2: the invoke is named by the input.
async fn named(input: NamedInput, ctx: DurableContext) -> Result<Value, DurableError> {
    echo(&ctx, &input.name, &input.payload).await
}

/// 5-5: the target fails; not caught, so the execution fails.
async fn target_fails(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    failing(&ctx).await
}

/// 5-6: the target's failure is caught; the handler returns a fallback.
async fn failure_caught(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    match failing(&ctx).await {
        Err(DurableError::InvokeFailed(failure)) => Ok(Value::String(format!(
            "fallback after {}",
            failure.error_type()
        ))),
        other => other,
    }
}

/// 5-7: a payload near the operation payload limit; the target reports its size.
async fn large_payload(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let payload = "x".repeat(LARGE_PAYLOAD_BYTES);
    ctx.invoke("invoke_large", &target("TARGET_MEASURE"), &payload)
        .await
}

/// 5-8: the invoke carries the input's tenant id.
async fn tenant(input: TenantInput, ctx: DurableContext) -> Result<Value, DurableError> {
    ctx.invoke("invoke_tenant", &target("TARGET_ECHO"), &input.payload)
        .tenant_id(input.tenant_id)
        .await
}

/// 5-9: an invoke, then a 1 s wait; the replay returns the recorded result.
async fn then_wait(input: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let result = echo(&ctx, "invoke_echo", &input).await?;
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(result)
}

/// 5-10: a failed invoke is caught, then a 1 s wait; the replay catches it again.
async fn failure_then_wait(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let caught = match failing(&ctx).await {
        Ok(_) => "target succeeded".to_owned(),
        Err(DurableError::InvokeFailed(failure)) => format!("caught {}", failure.error_type()),
        Err(other) => return Err(other),
    };
    ctx.wait("pause", Duration::from_secs(1)).await?;
    Ok(caught)
}

/// 5-11: a step, then an invoke with the step's result.
async fn after_step(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let value: Value = ctx
        .step("prepare", |_| async {
            Ok(Value::String("prepared".into()))
        })
        .await?;
    echo(&ctx, "invoke_echo", &value).await
}

/// 5-12: an invoke, then a step that processes its result.
async fn then_step(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    let result = echo(&ctx, "invoke_echo", &Value::String("from target".into())).await?;
    ctx.step(
        "process",
        |_| async move { Ok(format!("processed {result}")) },
    )
    .await
}

/// 5-13: an invoke inside a child context, which returns its result.
async fn in_child(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    ctx.run_in_child_context("invoke_child", |c| async move {
        echo(&c, "invoke_echo", &Value::String("in child".into())).await
    })
    .await
}

/// 5-14: two invokes in sequence: the echo target, then the measuring one with its result.
async fn sequential(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let first = echo(&ctx, "invoke_first", &Value::String("first".into())).await?;
    ctx.invoke("invoke_second", &target("TARGET_MEASURE"), &first)
        .await
}

/// 5-15: the outgoing payload goes through a custom serializer that upper-cases strings.
async fn payload_serdes(input: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    ctx.invoke(
        "invoke_upper",
        &target("TARGET_ECHO"),
        &UppercaseStrings(&input),
    )
    .await
}

/// 5-16: the result is read through a custom deserializer that upper-cases it.
async fn result_serdes(input: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.invoke("invoke_echo", &target("TARGET_ECHO"), &input)
        .serdes(UppercaseRaw)
        .await
}

/// Target: returns whatever it receives.
async fn target_echo(input: Value, _: DurableContext) -> Result<Value, DurableError> {
    tokio::time::sleep(TARGET_LATENCY).await;
    Ok(input)
}

/// Target: always fails.
async fn target_failing(_: Value, _: DurableContext) -> Result<Value, ServiceError> {
    tokio::time::sleep(TARGET_LATENCY).await;
    Err(ServiceError("target function failed".into()))
}

/// Target: reports the size of the string it received (requirement 5-7's large payload).
async fn target_measure(input: Value, _: DurableContext) -> Result<Value, DurableError> {
    tokio::time::sleep(TARGET_LATENCY).await;
    let bytes = input.as_str().map_or(0, str::len);
    Ok(serde_json::json!({ "receivedBytes": bytes }))
}
