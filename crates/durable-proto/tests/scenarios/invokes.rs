//! Chained invokes in the engine: START with the target and input, suspension until the
//! target ends, the recorded outcome on replay, and non-determinism when the code changes.

use super::*;

fn invoke_program(ctx: &mut Ctx<'_>) -> Result<String, Stop> {
    let request = InvokeRequest {
        name: Some("charge"),
        function_name: "payments:live",
        payload: "{\"cents\":1299}",
        tenant_id: None,
        trace_header: None,
    };
    match ctx
        .exec
        .begin_invoke(ctx.context, request)
        .map_err(Stop::Fatal)?
    {
        InvokeStart::Blocked { op } => {
            ctx.exec.activate(op);
            Err(Stop::Suspended)
        }
        InvokeStart::Done { result, .. } => match result {
            Ok(v) => Ok(v.unwrap_or_default()),
            Err(f) => Ok(format!("\"{:?}:{}\"", f.kind, f.error.type_name())),
        },
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invoke_suspends_until_the_target_ends_and_replays_its_outcome() {
    let mut svc = FakeService::new("{}");
    let first = invoke(&mut svc, ExecutionConfig::default(), &invoke_program);
    assert_eq!(first.output().status, InvocationStatus::Pending);
    let start = &svc.calls[0][0];
    assert_eq!(start.operation_type, OperationType::ChainedInvoke);
    assert_eq!(start.sub_type.as_deref(), Some(INVOKE_SUB_TYPE));
    assert_eq!(start.payload.as_deref(), Some("{\"cents\":1299}"));
    assert_eq!(
        start
            .chained_invoke_options
            .as_ref()
            .map(|o| o.function_name.as_str()),
        Some("payments:live")
    );
    svc.complete_invoke(
        "1",
        durable_service::ChainedInvokeEnd::TimedOut(ErrorObject::new("Lambda.Timeout", "slow")),
    );
    let second = invoke(&mut svc, ExecutionConfig::default(), &invoke_program);
    assert_eq!(
        second.output().result.as_deref(),
        Some("\"TimedOut:Lambda.Timeout\"")
    );
    assert_eq!(svc.calls.len(), 1, "the replay did not invoke again");
}

#[test]
fn a_step_where_an_invoke_was_recorded_is_non_determinism() {
    let mut svc = FakeService::new("{}");
    invoke(&mut svc, ExecutionConfig::default(), &invoke_program);
    let changed = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "charge",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Ok("1".into()),
        )?;
        user_error(r)
    });
    let out = changed.output();
    assert_eq!(out.status, InvocationStatus::Failed);
    assert_eq!(
        out.error.as_ref().map(|e| e.type_name()),
        Some("NonDeterministicExecutionError")
    );
}
