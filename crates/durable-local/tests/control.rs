//! The control-plane calls (stop, pause, resume, delete) on the runner and the service
//! model, asserted on what the service shows: status, history and error names.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{
    lock_service, EventDetails, EventType, ExecutionStatus, InvocationEnd, LocalRunner,
    LocalService, ServiceConfig, ServiceError,
};
use durable_proto::{ErrorObject, OperationAction, OperationType, OperationUpdate};
use durable_tokio::{DurableContext, DurableError};

const DAY: Duration = Duration::from_secs(24 * 3600);

async fn with_wait(n: u32, ctx: DurableContext) -> Result<u32, DurableError> {
    let a: u32 = ctx.step("a", move |_| async move { Ok(n + 1) }).await?;
    ctx.wait("settle", DAY).await?;
    Ok(a * 2)
}

fn position(types: &[EventType], wanted: EventType) -> usize {
    types
        .iter()
        .position(|t| *t == wanted)
        .unwrap_or_else(|| panic!("no {wanted} in {types:?}"))
}

#[tokio::test]
async fn a_suspended_execution_pauses_at_once_and_resumes_where_it_was() {
    let mut runner = LocalRunner::new();
    runner.register("orders", with_wait);
    let arn = runner.start("orders", 20).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();

    runner
        .pause_execution(&arn, Some("supplier outage"), false)
        .unwrap();
    let paused = runner.drive(&arn).await.unwrap();
    assert_eq!(paused.status(), ExecutionStatus::Paused);
    let event = paused.events_of_type(EventType::ExecutionPaused)[0].clone();
    match &event.details {
        EventDetails::ExecutionPaused(d) => {
            assert!(!d.execution_timeout_paused);
            assert_eq!(
                d.reason.as_ref().and_then(|r| r.payload.as_deref()),
                Some("supplier outage")
            );
        }
        other => panic!("unexpected details {other:?}"),
    }

    // Timers still fire while paused, but nothing is invoked.
    runner.advance_time(2 * DAY);
    let still = runner.execution(&arn).unwrap();
    assert_eq!(still.status(), ExecutionStatus::Paused);
    assert_eq!(still.invocation_count(), 1);
    assert_eq!(still.events_of_type(EventType::WaitSucceeded).len(), 1);

    runner
        .resume_execution(&arn, Some("supplier back"))
        .unwrap();
    let done = runner.drive(&arn).await.unwrap();
    assert_eq!(done.status(), ExecutionStatus::Succeeded);
    assert_eq!(done.result::<u32>().unwrap(), 42);
    assert_eq!(done.invocation_count(), 2);
    let types = done.event_types();
    let paused_at = position(&types, EventType::ExecutionPaused);
    assert!(position(&types, EventType::InvocationCompleted) < paused_at);
    assert!(paused_at < position(&types, EventType::WaitSucceeded));
    assert!(
        position(&types, EventType::WaitSucceeded) < position(&types, EventType::ExecutionResumed)
    );
    assert_eq!(types.last(), Some(&EventType::ExecutionSucceeded));
}

#[tokio::test]
async fn a_pause_during_an_invocation_takes_effect_at_its_next_checkpoint() {
    let mut runner = LocalRunner::new();
    let service = runner.service().clone();
    let paused_once = Arc::new(AtomicBool::new(false));
    runner.register("orders", move |n: u32, ctx: DurableContext| {
        let service = service.clone();
        let paused_once = paused_once.clone();
        async move {
            let arn = ctx.execution_arn().to_owned();
            let a: u32 = ctx
                .step("pause-here", move |_| async move {
                    if !paused_once.swap(true, Ordering::SeqCst) {
                        lock_service(&service).pause_execution(&arn, None, false)?;
                    }
                    Ok(n + 1)
                })
                .await?;
            ctx.wait("settle", DAY).await?;
            Ok::<u32, DurableError>(a * 2)
        }
    });
    let arn = runner.start("orders", 20).unwrap();
    // The checkpoint that carried the step's result paused the execution; the response had
    // no token, so the invocation could checkpoint no more and ended.
    runner.run_one_invocation(&arn).await.unwrap();
    let paused = runner.execution(&arn).unwrap();
    assert_eq!(paused.status(), ExecutionStatus::Paused);
    let types = paused.event_types();
    assert!(
        position(&types, EventType::StepSucceeded) < position(&types, EventType::ExecutionPaused)
    );
    assert!(
        position(&types, EventType::ExecutionPaused)
            < position(&types, EventType::InvocationCompleted)
    );
    assert_eq!(paused.step_attempts("pause-here"), Some(1));

    runner.resume_execution(&arn, None).unwrap();
    let done = runner.drive(&arn).await.unwrap();
    assert_eq!(done.status(), ExecutionStatus::Succeeded);
    assert_eq!(done.result::<u32>().unwrap(), 42);
    assert_eq!(done.events_of_type(EventType::ExecutionResumed).len(), 1);
}

#[tokio::test]
async fn stop_then_delete_removes_the_execution() {
    let mut runner = LocalRunner::new();
    runner.register("orders", with_wait);
    let arn = runner.start("orders", 1).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();

    let refused = runner.delete_execution(&arn).unwrap_err();
    assert_eq!(refused.error_name(), "ResourceConflictException");

    runner
        .stop_execution(&arn, Some(ErrorObject::new("Operator", "not needed")))
        .unwrap();
    let stopped = runner.execution(&arn).unwrap();
    assert_eq!(stopped.status(), ExecutionStatus::Stopped);
    assert_eq!(
        stopped.event_types().last(),
        Some(&EventType::ExecutionStopped)
    );

    runner.delete_execution(&arn).unwrap();
    let deleting = runner.execution(&arn).unwrap();
    assert_eq!(deleting.status(), ExecutionStatus::Deleting);
    assert!(deleting.history().is_empty());
    assert!(deleting.operations().is_empty());
    assert_eq!(
        runner.delete_execution(&arn).unwrap_err().error_name(),
        "ResourceConflictException"
    );

    runner.advance_time(Duration::from_secs(1));
    let gone = runner.execution(&arn).unwrap_err();
    assert!(
        gone.to_string().contains("ResourceNotFoundException"),
        "{gone}"
    );
    assert!(runner.executions().is_empty());
}

#[test]
fn pausing_the_execution_timeout_keeps_a_paused_execution_alive() {
    let mut config = ServiceConfig::default();
    config.execution_timeout = Some(Duration::from_secs(3600));
    let mut svc = LocalService::new(config);
    let held = svc.start_execution("orders", "{}").unwrap();
    let running = svc.start_execution("orders", "{}").unwrap();
    svc.pause_execution(&held, None, true).unwrap();
    svc.pause_execution(&running, None, false).unwrap();
    svc.advance_by(Duration::from_secs(2 * 3600));
    assert_eq!(
        svc.execution(&held).unwrap().status(),
        ExecutionStatus::Paused
    );
    assert_eq!(
        svc.execution(&running).unwrap().status(),
        ExecutionStatus::TimedOut
    );

    // The hour left when it paused starts again on resume.
    svc.resume_execution(&held, None).unwrap();
    svc.advance_by(Duration::from_secs(3599));
    assert_eq!(
        svc.execution(&held).unwrap().status(),
        ExecutionStatus::Running
    );
    svc.advance_by(Duration::from_secs(2));
    assert_eq!(
        svc.execution(&held).unwrap().status(),
        ExecutionStatus::TimedOut
    );
}

#[test]
fn a_pausing_execution_keeps_its_checkpoint_and_loses_its_token() {
    let mut svc = LocalService::default();
    let arn = svc.start_execution("orders", "{}").unwrap();
    let envelope = svc.begin_invocation(&arn).unwrap();
    svc.pause_execution(&arn, None, false).unwrap();
    assert_eq!(
        svc.execution(&arn).unwrap().status(),
        ExecutionStatus::Pausing
    );
    assert_eq!(
        svc.pause_execution(&arn, None, false)
            .unwrap_err()
            .error_name(),
        "ResourceConflictException"
    );

    let step = OperationUpdate::new("s1", OperationType::Step, OperationAction::Start);
    let response = svc
        .checkpoint(&arn, &envelope.checkpoint_token, vec![step])
        .unwrap();
    assert_eq!(response.checkpoint_token, None);
    let record = svc.execution(&arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::Paused);
    assert!(record.operation("s1").is_some(), "the batch was applied");

    let end = InvocationEnd::Errored(ErrorObject::new("CheckpointUnavailable", "no token"));
    svc.complete_invocation(&arn, end).unwrap();
    assert_eq!(
        svc.execution(&arn).unwrap().status(),
        ExecutionStatus::Paused
    );
    assert_eq!(
        svc.begin_invocation(&arn).unwrap_err().error_name(),
        "ResourceConflictException"
    );

    svc.resume_execution(&arn, None).unwrap();
    let record = svc.execution(&arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::Running);
    assert!(
        record.needs_invocation(),
        "the interrupted invocation is run again"
    );
}

#[test]
fn resuming_a_pausing_execution_cancels_the_pause() {
    let mut svc = LocalService::default();
    let arn = svc.start_execution("orders", "{}").unwrap();
    let envelope = svc.begin_invocation(&arn).unwrap();
    svc.pause_execution(&arn, None, false).unwrap();
    svc.resume_execution(&arn, None).unwrap();
    let response = svc
        .checkpoint(&arn, &envelope.checkpoint_token, vec![])
        .unwrap();
    assert!(response.checkpoint_token.is_some());
    let record = svc.execution(&arn).unwrap();
    assert_eq!(record.status(), ExecutionStatus::Running);
    assert_eq!(record.events_of_type(EventType::ExecutionPaused).count(), 0);
}

#[test]
fn bad_control_requests_get_the_service_errors() {
    let mut svc = LocalService::default();
    let arn = svc.start_execution("orders", "{}").unwrap();
    let e = svc.resume_execution(&arn, None).unwrap_err();
    assert_eq!(e.error_name(), "ResourceConflictException");
    let e = svc
        .pause_execution(&arn, Some("x".repeat(1025)), false)
        .unwrap_err();
    assert!(
        matches!(e, ServiceError::InvalidParameterValue { .. }),
        "{e}"
    );
    let e = svc.pause_execution("arn:nope", None, false).unwrap_err();
    assert_eq!(e.http_status(), 404);
    svc.stop_execution(&arn, None).unwrap();
    let e = svc.pause_execution(&arn, None, false).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ResourceConflictException: The execution has already ended (STOPPED)."
    );
}

/// The history's step events have the shape AWS's emulator writes (and the conformance
/// suites expect, e.g. step 1-17): every final step event names its attempt, and payloads
/// and errors say whether they were truncated.
#[test]
fn a_first_attempt_failure_names_its_attempt() {
    let mut svc = LocalService::default();
    let arn = svc.start_execution("orders", "{}").unwrap();
    let envelope = svc.begin_invocation(&arn).unwrap();
    let start = OperationUpdate::new("s1", OperationType::Step, OperationAction::Start);
    let mut fail = OperationUpdate::new("s1", OperationType::Step, OperationAction::Fail);
    fail.error = Some(ErrorObject::new("Boom", "no"));
    svc.checkpoint(&arn, &envelope.checkpoint_token, vec![start, fail])
        .unwrap();
    let record = svc.execution(&arn).unwrap();
    let failed = record.events_of_type(EventType::StepFailed).next().unwrap();
    let retry = failed.retry_details().unwrap();
    assert_eq!(
        (retry.current_attempt, retry.next_attempt_delay_seconds),
        (1, None)
    );
    let json = durable_local::history_to_json(record.events());
    assert!(
        json.contains(
            r#""Error":{"Payload":{"ErrorType":"Boom","ErrorMessage":"no"},"Truncated":false}"#
        ),
        "{json}"
    );
    assert!(
        json.contains(r#""Input":{"Payload":"{}","Truncated":false}"#),
        "{json}"
    );
}
