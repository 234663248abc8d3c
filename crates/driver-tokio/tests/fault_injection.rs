//! Checkpoint-API faults through a client wrapper: every kind of failure ends the way the
//! protocol requires — transient ones fail the invocation (Lambda retries it and the
//! execution completes with nothing lost), permanent ones fail the execution — with a message
//! naming the cause.

use durable_local::{EventType, ExecutionStatus, InvocationResult, LocalRunner, TestExecution};
use durable_proto::{ApiFailure, ExecutionConfig};
use durable_tokio::{DurableContext, DurableError};

async fn three_steps(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
    let mut sum = 0;
    for i in 1..=3u32 {
        sum += ctx
            .step(&format!("s{i}"), move |_| async move { Ok(i) })
            .await?;
    }
    Ok(sum)
}

async fn run_with_fault(failure: ApiFailure) -> TestExecution {
    let mut runner = LocalRunner::new();
    runner.register("three", three_steps);
    runner.client().fail_next_checkpoints(1, failure);
    runner
        .run("three", ())
        .await
        .expect("the runner drives the execution to its end")
}

fn assert_retried_and_complete(execution: &TestExecution, cause: &str) {
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert_eq!(execution.result::<u32>().unwrap(), 6);
    let first = &execution.invocations()[0];
    assert_eq!(
        first.result,
        Some(InvocationResult::Errored),
        "the invocation fails, not the execution"
    );
    let message = first
        .error
        .as_ref()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        message.contains(cause),
        "the error names the cause {cause:?}: {message}"
    );
    // Nothing was lost: every step succeeded exactly once in the service's history.
    for name in ["s1", "s2", "s3"] {
        let succeeded = execution
            .events_of(name)
            .iter()
            .filter(|e| e.event_type == EventType::StepSucceeded)
            .count();
        assert_eq!(succeeded, 1, "{name}: {:?}", execution.event_types());
    }
}

fn assert_execution_failed(execution: &TestExecution, error_type: &str, cause: &str) {
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    let error = execution.error().expect("an error");
    assert_eq!(error.type_name(), error_type);
    assert!(error.message().contains(cause), "{error}");
    assert_eq!(
        execution.invocation_count(),
        1,
        "a permanent failure is not retried"
    );
}

#[tokio::test]
async fn throttling_retries_the_invocation() {
    let e = run_with_fault(ApiFailure::new(
        Some(429),
        Some("TooManyRequestsException"),
        "Rate exceeded",
    ))
    .await;
    assert_retried_and_complete(&e, "TooManyRequestsException");
}

#[tokio::test]
async fn server_errors_retry_the_invocation() {
    let e = run_with_fault(ApiFailure::new(
        Some(500),
        Some("ServiceException"),
        "internal",
    ))
    .await;
    assert_retried_and_complete(&e, "ServiceException");
    let e = run_with_fault(ApiFailure::new(Some(503), None, "unavailable")).await;
    assert_retried_and_complete(&e, "HTTP 503");
}

#[tokio::test]
async fn timeouts_and_connection_resets_retry_the_invocation() {
    let e = run_with_fault(ApiFailure::new(None, None, "operation timed out after 10s")).await;
    assert_retried_and_complete(&e, "timed out");
    let e = run_with_fault(ApiFailure::new(None, None, "connection reset by peer")).await;
    assert_retried_and_complete(&e, "connection reset");
}

#[tokio::test]
async fn a_stale_token_retries_the_invocation() {
    let e = run_with_fault(ApiFailure::new(
        Some(400),
        Some("InvalidParameterValueException"),
        "Invalid checkpoint token",
    ))
    .await;
    assert_retried_and_complete(&e, "Invalid checkpoint token");
}

#[tokio::test]
async fn validation_errors_fail_the_execution() {
    let e = run_with_fault(ApiFailure::new(
        Some(400),
        Some("InvalidParameterValueException"),
        "Invalid parent operation id.",
    ))
    .await;
    assert_execution_failed(
        &e,
        "InvalidParameterValueException",
        "Invalid parent operation id.",
    );
}

#[tokio::test]
async fn kms_errors_fail_the_execution() {
    let e = run_with_fault(ApiFailure::new(
        Some(502),
        Some("KMSAccessDeniedException"),
        "key access denied",
    ))
    .await;
    assert_execution_failed(&e, "KMSAccessDeniedException", "key access denied");
}

#[tokio::test]
async fn an_oversize_payload_rejected_by_the_service_fails_the_execution() {
    // The engine's own limit is raised above the service's, so the service sees the payload.
    let mut config = ExecutionConfig::default();
    config.max_operation_payload_bytes = 1 << 20;
    let mut runner = LocalRunner::builder()
        .payload_limits(1024, 6 << 20)
        .execution_config(config)
        .build();
    runner.register("big", |_: (), ctx: DurableContext| async move {
        let v: String = ctx.step("big", |_| async { Ok("x".repeat(4096)) }).await?;
        Ok::<_, DurableError>(v.len())
    });
    let e = runner.run("big", ()).await.unwrap();
    assert_eq!(e.status(), ExecutionStatus::Failed);
    let error = e.error().unwrap();
    assert_eq!(
        error.type_name(),
        "InvalidParameterValueException",
        "{error}"
    );
    assert_eq!(
        e.invocation_count(),
        1,
        "retrying an oversize payload would loop forever"
    );
}
