//! Service state: attempts, timers, pagination, visibility, callbacks, invocation outputs.

mod common;

use std::time::Duration;

use common::*;
use durable_local::{
    EventDetails, EventType, ExecutionStatus, InvocationEnd, InvocationResult, LocalService,
    ServiceConfig, TimerKind, CALLBACK_HEARTBEAT_ERROR, CALLBACK_TIMEOUT_ERROR,
    PENDING_WITHOUT_PENDING_OPERATIONS,
};
use durable_proto::{
    CallbackOptions, ChainedInvokeOptions, ErrorObject, InvocationOutput, OperationAction as A,
    OperationType as T,
};

fn event_types(f: &Fixture) -> Vec<EventType> {
    let record = f.svc.execution(&f.arn).unwrap();
    record.events().iter().map(|e| e.event_type).collect()
}

#[test]
fn execution_start_shape() {
    let mut svc = LocalService::default();
    let arn = svc
        .start_named_execution("orders", "run-1", "{\"a\":1}")
        .unwrap();
    assert!(arn.starts_with(
        "arn:aws:lambda:us-east-1:123456789012:function:orders:$LATEST/durable-execution/run-1/"
    ));
    let record = svc.execution(&arn).unwrap();
    let exec_id = arn.rsplit('/').next().unwrap();
    assert_eq!(record.execution_id(), exec_id);
    let op = &record.operations()[0];
    assert_eq!(op.id, exec_id);
    assert_eq!(op.operation_type, T::Execution);
    assert_eq!(
        op.execution_details
            .as_ref()
            .unwrap()
            .input_payload
            .as_deref(),
        Some("{\"a\":1}")
    );
    assert_eq!(record.events()[0].event_type, EventType::ExecutionStarted);
    assert!(record.needs_invocation());
    // Same seed, same ids: runs are reproducible.
    let mut other = LocalService::default();
    assert_eq!(
        other
            .start_named_execution("orders", "run-1", "{\"a\":1}")
            .unwrap(),
        arn
    );
    let err = svc.start_execution("bad name", "{}").unwrap_err();
    assert_eq!(err.error_name(), "InvalidParameterValueException");
}

#[test]
fn attempts_count_finished_attempts_and_retry_timers_fire() {
    let mut f = Fixture::new();
    f.checkpoint(vec![step("s", A::Start)]).unwrap();
    assert_eq!(f.attempt("s"), 0);
    let before = f.svc.now();
    f.checkpoint(vec![step_retry("s", 5)]).unwrap();
    assert_eq!((f.status("s"), f.attempt("s")), ("PENDING".into(), 1));
    let record = f.svc.execution(&f.arn).unwrap();
    let details = record.operation("s").unwrap().step_details.clone().unwrap();
    assert_eq!(details.next_attempt_timestamp, Some(before.plus_seconds(5)));
    assert_eq!(details.error.unwrap().type_name(), "Boom");
    let timer = record.next_timer().unwrap();
    assert_eq!(
        (timer.kind, timer.due),
        (TimerKind::StepRetry, before.plus_seconds(5))
    );

    f.svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(InvocationOutput::pending()))
        .unwrap();
    assert!(!f.svc.execution(&f.arn).unwrap().needs_invocation());
    f.svc.advance_by(Duration::from_secs(4));
    assert_eq!(f.status("s"), "PENDING");
    assert_eq!(
        f.svc.advance_to_next_timer(&f.arn),
        Some(before.plus_seconds(5))
    );
    assert_eq!((f.status("s"), f.attempt("s")), ("READY".into(), 1));
    assert!(f.svc.execution(&f.arn).unwrap().needs_invocation());

    let input = f.svc.begin_invocation(&f.arn).unwrap();
    assert_eq!(input.updated_operation_ids, vec!["s".to_owned()]);
    f.token = input.checkpoint_token;
    f.checkpoint(vec![step("s", A::Start)]).unwrap();
    assert_eq!((f.status("s"), f.attempt("s")), ("STARTED".into(), 1));
    f.checkpoint(vec![step_succeed("s", "\"ok\"")]).unwrap();
    assert_eq!((f.status("s"), f.attempt("s")), ("SUCCEEDED".into(), 2));

    let record = f.svc.execution(&f.arn).unwrap();
    let steps: Vec<_> = record
        .events()
        .iter()
        .filter(|e| e.id.as_deref() == Some("s"))
        .collect();
    let types: Vec<_> = steps.iter().map(|e| e.event_type).collect();
    use EventType::*;
    assert_eq!(types, [StepStarted, StepFailed, StepStarted, StepSucceeded]);
    let retry = steps[1].retry_details().unwrap();
    assert_eq!(
        (retry.current_attempt, retry.next_attempt_delay_seconds),
        (1, Some(5))
    );
    let done = steps[3].retry_details().unwrap();
    assert_eq!(
        (done.current_attempt, done.next_attempt_delay_seconds),
        (2, None)
    );
    assert_eq!(steps[3].result(), Some("\"ok\""));
    assert_eq!(steps[0].sub_type.as_deref(), Some("Step"));
    assert_eq!(steps[0].name.as_deref(), Some("op-s"));
}

#[test]
fn checkpoint_responses_carry_changed_operations() {
    let mut f = Fixture::new();
    let mut callback = update("cb", T::Callback, A::Start);
    callback.callback_options = Some(CallbackOptions {
        timeout_seconds: Some(30),
        heartbeat_timeout_seconds: None,
    });
    let response = f
        .svc
        .checkpoint(
            &f.arn,
            &f.token,
            vec![
                step("s", A::Start),
                step_succeed("s", "1"),
                wait_start("w", 60),
                callback,
            ],
        )
        .unwrap();
    let ops = &response.new_execution_state.operations;
    let ids: Vec<_> = ops.iter().map(|o| o.id.as_str()).collect();
    assert_eq!(ids, ["s", "w", "cb"]);
    assert_eq!(ops[0].status.as_str(), "SUCCEEDED");
    let end = ops[1]
        .wait_details
        .as_ref()
        .unwrap()
        .scheduled_end_timestamp
        .unwrap();
    assert_eq!(end, f.svc.now().plus_seconds(60));
    let callback_id = ops[2]
        .callback_details
        .as_ref()
        .unwrap()
        .callback_id
        .clone()
        .unwrap();
    assert!(!callback_id.is_empty());
    let record = f.svc.execution(&f.arn).unwrap();
    let started = record
        .events_of_type(EventType::CallbackStarted)
        .next()
        .unwrap();
    match &started.details {
        EventDetails::CallbackStarted(d) => {
            assert_eq!(
                (d.callback_id.as_str(), d.timeout),
                (callback_id.as_str(), Some(30))
            );
        }
        other => panic!("{other:?}"),
    }
    let wait = record
        .events_of_type(EventType::WaitStarted)
        .next()
        .unwrap();
    assert!(matches!(&wait.details, EventDetails::WaitStarted(d) if d.duration == 60));
}

#[test]
fn state_pages_through_every_operation_with_page_size_one() {
    let mut config = ServiceConfig::default();
    config.page_size = 1;
    let mut svc = LocalService::new(config);
    let arn = svc.start_execution("f", "{}").unwrap();
    let token = svc.begin_invocation(&arn).unwrap().checkpoint_token;
    let ids = ["a", "b", "c"];
    let updates = ids.iter().map(|id| step(id, A::Start)).collect();
    let response = svc.checkpoint(&arn, &token, updates).unwrap();
    let token = response.checkpoint_token.unwrap();
    // The response is paged too: one operation and a marker for the rest.
    let state = response.new_execution_state;
    assert_eq!(state.operations.len(), 1);
    let mut seen = vec![state.operations[0].id.clone()];
    let mut marker = state.next_marker;
    while let Some(m) = marker {
        let page = svc.get_state(&arn, &token, Some(&m), None).unwrap();
        assert!(page.operations.len() <= 1);
        seen.extend(page.operations.iter().map(|o| o.id.clone()));
        marker = page.next_marker;
    }
    assert_eq!(seen, ids);

    // A fresh listing: the EXECUTION operation then a, b, c, one per page.
    let mut listed = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = svc
            .get_state(&arn, &token, marker.as_deref(), None)
            .unwrap();
        listed.extend(page.operations.iter().map(|o| o.id.clone()));
        match page.next_marker {
            Some(m) => marker = Some(m),
            None => break,
        }
    }
    assert_eq!(listed.len(), 4);
    assert_eq!(&listed[1..], ids);
    let page = svc.get_state(&arn, &token, None, Some(10)).unwrap();
    assert_eq!((page.operations.len(), page.next_marker), (4, None));
    let err = svc
        .get_state(&arn, &token, Some("bogus"), None)
        .unwrap_err();
    assert_eq!(err.message(), "Invalid marker.");
    // 2 pages of the response, 4 of the listing, 1 with MaxItems, 1 rejected.
    assert_eq!(svc.execution(&arn).unwrap().state_call_count(), 8);
}

#[test]
fn children_of_completed_contexts_are_hidden_unless_replayed() {
    let mut f = Fixture::new();
    f.checkpoint(vec![
        context("c", A::Start),
        child(context("c-1", A::Start), "c"),
        child(step("c-1-1", A::Start), "c-1"),
        context("r", A::Start),
        child(step("r-1", A::Start), "r"),
    ])
    .unwrap();
    f.checkpoint(vec![
        child(step_succeed("c-1-1", "1"), "c-1"),
        child(context_succeed("c-1", false), "c"),
        context_succeed("c", false),
        child(step_succeed("r-1", "1"), "r"),
        context_succeed("r", true),
    ])
    .unwrap();
    let page = f.svc.get_state(&f.arn, &f.token, None, None).unwrap();
    let ids: Vec<_> = page
        .operations
        .iter()
        .skip(1)
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(ids, ["c", "r", "r-1"]);
    f.svc
        .complete_invocation(
            &f.arn,
            InvocationEnd::Errored(ErrorObject::new("X", "retry")),
        )
        .unwrap();
    let envelope = f.svc.begin_invocation(&f.arn).unwrap();
    let ids: Vec<_> = envelope
        .initial_execution_state
        .operations
        .iter()
        .skip(1)
        .map(|o| o.id.as_str())
        .collect();
    assert_eq!(ids, ["c", "r", "r-1"]);
}

#[test]
fn waits_succeed_when_their_time_comes() {
    let mut f = Fixture::new();
    f.checkpoint(vec![wait_start("w", 60)]).unwrap();
    f.svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(InvocationOutput::pending()))
        .unwrap();
    f.svc.advance_by(Duration::from_secs(59));
    assert_eq!(f.status("w"), "STARTED");
    f.svc.advance_by(Duration::from_secs(1));
    assert_eq!(f.status("w"), "SUCCEEDED");
    let record = f.svc.execution(&f.arn).unwrap();
    let done = record
        .events_of_type(EventType::WaitSucceeded)
        .next()
        .unwrap();
    assert!(matches!(&done.details, EventDetails::WaitSucceeded(d) if d.duration == Some(60)));
    assert_eq!(
        done.event_timestamp,
        record.start_timestamp().plus_seconds(60)
    );
    assert!(record.needs_invocation());
    let input = f.svc.begin_invocation(&f.arn).unwrap();
    assert_eq!(input.updated_operation_ids, ["w"]);
}

fn start_callback(f: &mut Fixture, id: &str, timeout: u32, heartbeat: u32) -> String {
    let mut cb = update(id, T::Callback, A::Start);
    cb.callback_options = Some(CallbackOptions {
        timeout_seconds: Some(timeout),
        heartbeat_timeout_seconds: Some(heartbeat),
    });
    let response = f.svc.checkpoint(&f.arn, &f.token, vec![cb]).unwrap();
    f.token = response.checkpoint_token.unwrap();
    let op = &response.new_execution_state.operations[0];
    op.callback_details
        .as_ref()
        .unwrap()
        .callback_id
        .clone()
        .unwrap()
}

#[test]
fn callbacks_complete_fail_heartbeat_and_time_out() {
    let mut f = Fixture::new();
    let ok = start_callback(&mut f, "ok", 0, 0);
    let bad = start_callback(&mut f, "bad", 0, 0);
    let slow = start_callback(&mut f, "slow", 100, 0);
    let quiet = start_callback(&mut f, "quiet", 0, 10);
    f.svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(InvocationOutput::pending()))
        .unwrap();
    assert!(!f.svc.execution(&f.arn).unwrap().needs_invocation());

    f.svc
        .send_callback_success(&ok, Some("\"approved\"".into()))
        .unwrap();
    assert_eq!(f.status("ok"), "SUCCEEDED");
    assert!(f.svc.execution(&f.arn).unwrap().needs_invocation());
    f.svc
        .send_callback_failure(&bad, ErrorObject::new("Denied", "no"))
        .unwrap();
    assert_eq!(f.status("bad"), "FAILED");
    let again = f.svc.send_callback_success(&ok, None).unwrap_err();
    assert_eq!(again.error_name(), "CallbackTimeoutException");
    let unknown = f.svc.send_callback_heartbeat("bm9wZQ==").unwrap_err();
    assert_eq!(unknown.error_name(), "ResourceNotFoundException");

    // Heartbeats push the heartbeat deadline; silence times the callback out.
    f.svc.advance_by(Duration::from_secs(8));
    f.svc.send_callback_heartbeat(&quiet).unwrap();
    f.svc.advance_by(Duration::from_secs(8));
    assert_eq!(f.status("quiet"), "STARTED");
    f.svc.advance_by(Duration::from_secs(2));
    assert_eq!(f.status("quiet"), "TIMED_OUT");
    f.svc.advance_to_next_timer(&f.arn);
    assert_eq!(f.status("slow"), "TIMED_OUT");
    let late = f.svc.send_callback_success(&slow, None).unwrap_err();
    assert_eq!(late.error_name(), "CallbackTimeoutException");

    let record = f.svc.execution(&f.arn).unwrap();
    let errors: Vec<_> = record
        .events_of_type(EventType::CallbackTimedOut)
        .map(|e| e.error().unwrap().type_name().to_owned())
        .collect();
    assert_eq!(errors, [CALLBACK_HEARTBEAT_ERROR, CALLBACK_TIMEOUT_ERROR]);
    let ok_op = record.operation("ok").unwrap();
    assert_eq!(
        ok_op.callback_details.as_ref().unwrap().result.as_deref(),
        Some("\"approved\"")
    );
    let input = f.svc.begin_invocation(&f.arn).unwrap();
    assert_eq!(input.updated_operation_ids, ["ok", "bad", "quiet", "slow"]);
}

#[test]
fn chained_invokes_complete_from_outside() {
    let mut f = Fixture::new();
    let mut invoke = update("i", T::ChainedInvoke, A::Start);
    invoke.payload = Some("{\"n\":1}".into());
    invoke.chained_invoke_options = Some(ChainedInvokeOptions {
        function_name: "pricing:live".into(),
        tenant_id: None,
        x_amzn_trace_id: None,
    });
    f.checkpoint(vec![invoke]).unwrap();
    f.svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(InvocationOutput::pending()))
        .unwrap();
    f.svc
        .complete_chained_invoke(
            &f.arn,
            "i",
            durable_local::ChainedInvokeEnd::Succeeded(Some("9".into())),
        )
        .unwrap();
    assert_eq!(f.status("i"), "SUCCEEDED");
    assert!(f.svc.execution(&f.arn).unwrap().needs_invocation());
    let err = f
        .svc
        .complete_chained_invoke(
            &f.arn,
            "i",
            durable_local::ChainedInvokeEnd::Succeeded(None),
        )
        .unwrap_err();
    assert_eq!(err.error_name(), "ResourceConflictException");
    use EventType::*;
    assert_eq!(
        event_types(&f),
        [
            ExecutionStarted,
            ChainedInvokeStarted,
            InvocationCompleted,
            ChainedInvokeSucceeded
        ]
    );
}

#[test]
fn pending_with_nothing_pending_fails_the_execution() {
    let mut f = Fixture::new();
    f.checkpoint(vec![step("s", A::Start), step_succeed("s", "1")])
        .unwrap();
    let result = f
        .svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(InvocationOutput::pending()))
        .unwrap();
    assert_eq!(result, InvocationResult::Pending);
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::Failed);
    let error = record.error().unwrap();
    assert_eq!(error.type_name(), "InvalidParameterValueException");
    assert_eq!(error.message(), PENDING_WITHOUT_PENDING_OPERATIONS);
    use EventType::*;
    assert_eq!(
        event_types(&f),
        [
            ExecutionStarted,
            StepStarted,
            StepSucceeded,
            InvocationCompleted,
            ExecutionFailed
        ]
    );
    let err = f.svc.begin_invocation(&f.arn).unwrap_err();
    assert_eq!(err.error_name(), "ResourceConflictException");
}

#[test]
fn outputs_end_the_execution_and_invalid_ones_fail_it() {
    let mut f = Fixture::new();
    f.svc
        .complete_invocation(
            &f.arn,
            InvocationEnd::Returned(InvocationOutput::succeeded(Some("7".into()))),
        )
        .unwrap();
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(
        (record.status(), record.result()),
        (ExecutionStatus::Succeeded, Some("7"))
    );
    let last = record.events().last().unwrap();
    assert_eq!(
        (last.event_type, last.result()),
        (EventType::ExecutionSucceeded, Some("7"))
    );

    let mut f = Fixture::new();
    let mut output = InvocationOutput::succeeded(Some("1".into()));
    output.error = Some(ErrorObject::new("E", "m"));
    f.svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(output))
        .unwrap();
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::Failed);
    assert_eq!(
        record.error().unwrap().message(),
        "Cannot provide an Error for SUCCEEDED status."
    );

    // A result checkpointed through an EXECUTION update survives the empty output.
    let mut f = Fixture::new();
    let mut exec = execution_update("x", A::Succeed);
    exec.payload = Some("\"big\"".into());
    f.checkpoint(vec![exec]).unwrap();
    f.svc
        .complete_invocation(
            &f.arn,
            InvocationEnd::Returned(InvocationOutput::succeeded(Some(String::new()))),
        )
        .unwrap();
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.result(), Some("\"big\""));
    assert_eq!(
        record.events_of_type(EventType::ExecutionSucceeded).count(),
        1
    );
}

#[test]
fn errored_invocations_are_retried_then_fail_the_execution() {
    let mut config = ServiceConfig::default();
    config.max_invocation_retries = 2;
    let mut f = Fixture::with_config(config);
    for attempt in 1..=3 {
        if attempt > 1 {
            assert!(f.svc.execution(&f.arn).unwrap().needs_invocation());
            f.svc.begin_invocation(&f.arn).unwrap();
        }
        let err = ErrorObject::new("Runtime.ExitError", format!("crash {attempt}"));
        f.svc
            .complete_invocation(&f.arn, InvocationEnd::Errored(err))
            .unwrap();
    }
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::Failed);
    assert_eq!(record.error().unwrap().message(), "crash 3");
    assert_eq!(record.invocation_count(), 3);
    let completed: Vec<_> = record
        .events_of_type(EventType::InvocationCompleted)
        .map(|e| e.error().unwrap().message().to_owned())
        .collect();
    assert_eq!(completed, ["crash 1", "crash 2", "crash 3"]);
}

#[test]
fn execution_timeout_and_stop() {
    let mut config = ServiceConfig::default();
    config.execution_timeout = Some(Duration::from_secs(300));
    let mut f = Fixture::with_config(config);
    f.checkpoint(vec![wait_start("w", 3600)]).unwrap();
    f.svc
        .complete_invocation(&f.arn, InvocationEnd::Returned(InvocationOutput::pending()))
        .unwrap();
    let timer = f.svc.next_timer(&f.arn).unwrap();
    assert_eq!(timer.kind, TimerKind::ExecutionTimeout);
    f.svc.advance_to_next_timer(&f.arn);
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::TimedOut);
    assert_eq!(
        record.events().last().unwrap().event_type,
        EventType::ExecutionTimedOut
    );
    assert_eq!(f.svc.next_timer(&f.arn), None);

    let mut f = Fixture::new();
    f.svc.stop_execution(&f.arn, None).unwrap();
    assert_eq!(
        f.svc.execution(&f.arn).unwrap().status(),
        ExecutionStatus::Stopped
    );
    let err = f.svc.checkpoint(&f.arn, &f.token, vec![]).unwrap_err();
    assert_eq!(err.message(), "Invalid checkpoint token");
}

#[test]
fn one_invocation_at_a_time() {
    let mut f = Fixture::new();
    let err = f.svc.begin_invocation(&f.arn).unwrap_err();
    assert_eq!(err.error_name(), "ResourceConflictException");
    // An empty checkpoint is a poll: a new token, nothing changed.
    let response = f.svc.checkpoint(&f.arn, &f.token, vec![]).unwrap();
    assert!(response.new_execution_state.operations.is_empty());
    assert_ne!(response.checkpoint_token.as_deref(), Some(f.token.as_str()));
}
