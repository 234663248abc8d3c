use super::*;

fn one_step(ctx: &mut Ctx<'_>) -> Result<String, Stop> {
    let r = ctx.step(
        "a",
        StepSemantics::AtLeastOncePerRetry,
        &RetryPolicy::none(),
        |_| Ok("1".into()),
    )?;
    user_error(r)
}

#[test]
fn a_large_result_is_checkpointed_on_the_execution_operation() {
    let mut svc = FakeService::new("{}");
    let cfg = config(|c| {
        c.max_inline_result_bytes = 10;
    });
    let inv = invoke(&mut svc, cfg, &|ctx| {
        one_step(ctx)?;
        Ok(format!("\"{}\"", "r".repeat(20)))
    });
    assert_eq!(inv.output().status, InvocationStatus::Succeeded);
    assert_eq!(inv.output().result.as_deref(), Some(""));
    let last = svc.calls.last().unwrap().last().unwrap();
    assert_eq!(last.operation_type, OperationType::Execution);
    assert_eq!(last.id, svc.exec_id);
    assert_eq!(last.action, OperationAction::Succeed);
    assert_eq!(last.payload.as_ref().unwrap().len(), 22);
    assert_eq!(svc.execution_op().status, OperationStatus::Succeeded);
}

#[test]
fn a_result_too_large_to_record_fails_with_a_typed_error() {
    let mut svc = FakeService::new("{}");
    let cfg = config(|c| {
        c.max_inline_result_bytes = 10;
        c.max_execution_result_bytes = 20;
    });
    let inv = invoke(&mut svc, cfg, &|_| Ok("y".repeat(21)));
    assert_eq!(inv.output().status, InvocationStatus::Failed);
    assert_eq!(
        inv.output().error.as_ref().unwrap().type_name(),
        "ResultTooLarge"
    );
}

#[test]
fn pending_with_nothing_pending_is_an_internal_error_not_an_output() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        one_step(ctx)?;
        Err(Stop::Suspended)
    });
    match inv.outcome {
        InvocationOutcome::Failure(f) => assert_eq!(f.error_type, "DurableSdkInternalError"),
        other => panic!("expected an invocation failure, got {other:?}"),
    }
}

#[test]
fn every_state_page_is_loaded_before_user_code_runs() {
    let mut svc = FakeService::with_page_size("{\"k\":1}", 1);
    invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        for i in 0..5 {
            let r = ctx.step(
                &format!("s{i}"),
                StepSemantics::AtLeastOncePerRetry,
                &RetryPolicy::none(),
                |_| Ok(i.to_string()),
            )?;
            r.map_err(Stop::Failed)?;
        }
        ctx.wait("w", 5)?;
        Ok("0".into())
    });
    svc.fire_timers();
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        assert_eq!(ctx.exec.input_payload().as_deref(), Some("{\"k\":1}"));
        let mut sum = 0;
        for i in 0..5 {
            let r = ctx.step(
                &format!("s{i}"),
                StepSemantics::AtLeastOncePerRetry,
                &RetryPolicy::none(),
                |_| panic!("replayed"),
            )?;
            sum += r.unwrap().unwrap().parse::<i32>().unwrap();
        }
        ctx.wait("w", 5)?;
        Ok(sum.to_string())
    });
    assert_eq!(inv.output().result.as_deref(), Some("10"));
}

#[test]
fn an_envelope_without_its_execution_operation_fails_clearly() {
    let input = InvocationInput {
        durable_execution_arn: "fn/other".into(),
        checkpoint_token: "t".into(),
        initial_execution_state: ExecutionState::default(),
        updated_operation_ids: vec![],
    };
    let mut exec = Execution::new(input, ExecutionConfig::default());
    assert!(!exec.is_ready());
    let Some(InvocationOutcome::Output(out)) = exec.poll_output() else {
        panic!()
    };
    assert_eq!(out.status, InvocationStatus::Failed);
    assert!(out.error.unwrap().message().contains("\"other\""));
}

fn started_with_one_pending_update() -> Execution {
    let mut svc = FakeService::new("{}");
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    exec.begin_wait(ContextRef::ROOT, None, std::time::Duration::from_secs(5))
        .unwrap();
    exec
}

#[test]
fn api_failures_are_classified_and_never_reach_user_code() {
    // Transient: the invocation fails so Lambda retries it.
    let mut exec = started_with_one_pending_update();
    assert!(matches!(
        exec.poll_request(),
        Some(ServiceRequest::Checkpoint { .. })
    ));
    exec.handle_request_failure(ApiFailure::new(
        Some(429),
        Some("TooManyRequestsException"),
        "slow down",
    ));
    assert!(exec.is_closing());
    assert_eq!(
        exec.begin_wait(ContextRef::ROOT, None, std::time::Duration::from_secs(5)),
        Err(ExecutionError::Closed)
    );
    match exec.poll_output() {
        Some(InvocationOutcome::Failure(f)) => {
            assert!(f.message.contains("slow down"), "{}", f.message)
        }
        other => panic!("{other:?}"),
    }
    // Permanent: the execution fails with the service's error.
    let mut exec = started_with_one_pending_update();
    exec.poll_request().unwrap();
    exec.handle_request_failure(ApiFailure::new(
        Some(400),
        Some("InvalidParameterValueException"),
        "Payload too large",
    ));
    match exec.poll_output() {
        Some(InvocationOutcome::Output(out)) => {
            assert_eq!(out.status, InvocationStatus::Failed);
            assert_eq!(
                out.error.as_ref().unwrap().type_name(),
                "InvalidParameterValueException"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_response_without_a_token_ends_the_invocation_when_more_must_be_sent() {
    let mut exec = started_with_one_pending_update();
    exec.poll_request().unwrap();
    exec.begin_wait(ContextRef::ROOT, None, std::time::Duration::from_secs(5))
        .unwrap();
    exec.handle_checkpoint_response(CheckpointResponse::default())
        .unwrap();
    assert!(exec.poll_request().is_none());
    assert!(matches!(
        exec.poll_output(),
        Some(InvocationOutcome::Failure(_))
    ));
}

#[test]
fn unrequested_responses_are_misuse_not_panics() {
    let mut exec = started_with_one_pending_update();
    let err = exec
        .handle_checkpoint_response(CheckpointResponse::default())
        .unwrap_err();
    assert_eq!(err.code(), "DP-X006");
    let err = exec
        .handle_state_page(ExecutionState::default())
        .unwrap_err();
    assert_eq!(err.code(), "DP-X006");
}

/// Found by fuzzing (F2): a permanent failure arriving after the outcome was handed out must
/// not produce a second outcome.
#[test]
fn a_late_failure_after_the_outcome_changes_nothing() {
    let mut svc = FakeService::new("{}");
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    // An at-most-once step's START must be acknowledged before its body runs: it goes in
    // flight while the step waits for that acknowledgement, not for the service, so nothing
    // is blocked.
    let request = StepRequest {
        name: Some("pay"),
        semantics: StepSemantics::AtMostOncePerRetry,
    };
    let start = exec
        .begin_step(ContextRef::ROOT, request, &RetryPolicy::none())
        .unwrap();
    assert!(
        matches!(
            start,
            StepStart::Run {
                wait_for: Some(_),
                ..
            }
        ),
        "{start:?}"
    );
    let mut outcomes = Vec::new();
    let mut late_failures = 0;
    while let Some(request) = exec.poll_request() {
        assert!(
            matches!(request, ServiceRequest::Checkpoint { .. }),
            "{request:?}"
        );
        // While the checkpoint is in flight, user code suspends with nothing blocked: the
        // invocation fails at once and its outcome is handed out.
        exec.suspend();
        outcomes.extend(exec.poll_output());
        assert_eq!(outcomes.len(), 1, "the outcome is handed out at once");
        // Then the reply to the in-flight checkpoint arrives, as a permanent failure.
        exec.handle_request_failure(ApiFailure::new(Some(413), None, "late"));
        late_failures += 1;
        outcomes.extend(exec.poll_output());
    }
    assert_eq!(late_failures, 1, "one checkpoint was in flight");
    exec.handle_request_failure(ApiFailure::new(Some(413), None, "too late"));
    outcomes.extend(exec.poll_output());
    assert!(exec.poll_request().is_none());
    match outcomes.as_slice() {
        [InvocationOutcome::Failure(f)] => assert_eq!(f.error_type, "DurableSdkInternalError"),
        other => panic!("an invocation ends exactly once, got {other:?}"),
    }
}
