//! Callbacks through both drivers on the local service: the id reaches user code before
//! the invocation suspends, the same id on every replay, and success, failure, timeout and
//! heartbeat timeout each reach user code as their own typed result.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner, TestExecution};
use durable_proto::ErrorObject;
use durable_tokio::{DurableContext, DurableError};

type Ids = Arc<Mutex<Vec<String>>>;

/// Starts an execution of `function` and runs its first invocation only (driving on would
/// jump virtual time to the callback's timeout).
async fn first_invocation(runner: &LocalRunner, function: &str) -> (String, TestExecution) {
    let arn = runner.start(function, ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    let execution = runner.execution(&arn).unwrap();
    (arn, execution)
}

/// Creates a callback, records its id in a step (as a submitter would), awaits it and
/// reports how it ended.
async fn approval(
    ids: Ids,
    timeout: Option<u64>,
    heartbeat: Option<u64>,
    ctx: DurableContext,
) -> Result<String, DurableError> {
    let mut create = ctx.create_callback::<bool>("approval");
    if let Some(t) = timeout {
        create = create.timeout(Duration::from_secs(t));
    }
    if let Some(h) = heartbeat {
        create = create.heartbeat_timeout(Duration::from_secs(h));
    }
    let callback = create.await?;
    ids.lock().unwrap().push(callback.id().to_owned());
    let id = callback.id().to_owned();
    let sent: String = ctx
        .step("notify", move |_| async move { Ok(format!("sent {id}")) })
        .await?;
    assert!(sent.starts_with("sent "));
    Ok(match callback.await {
        Ok(approved) => format!("approved: {approved}"),
        Err(DurableError::CallbackFailed(f)) => format!("failed: {}", f.error_type()),
        Err(DurableError::CallbackTimedOut(f)) => format!("timed out: {}", f.error_type()),
        Err(DurableError::CallbackHeartbeatTimedOut(f)) => {
            format!("heartbeat timed out: {}", f.error_type())
        }
        Err(e) => return Err(e),
    })
}

fn runner(ids: &Ids, timeout: Option<u64>, heartbeat: Option<u64>) -> LocalRunner {
    let mut runner = LocalRunner::new();
    let ids = ids.clone();
    runner.register("approval", move |_: (), ctx: DurableContext| {
        approval(ids.clone(), timeout, heartbeat, ctx)
    });
    runner
}

/// The runner stopped because only the callback can move the execution on.
fn suspended_on_callback(execution: &TestExecution, ids: &Ids) -> String {
    assert_eq!(execution.status(), ExecutionStatus::Running);
    let id = execution
        .callback_id("approval")
        .expect("the service recorded the callback")
        .to_owned();
    assert_eq!(
        *ids.lock().unwrap(),
        vec![id.clone()],
        "user code saw the service's id"
    );
    id
}

#[tokio::test]
async fn a_callback_id_reaches_user_code_and_the_result_arrives_on_a_later_invocation() {
    let ids: Ids = Arc::default();
    let runner = runner(&ids, Some(3_600), None);
    // One invocation only: driving on would jump virtual time to the callback's timeout.
    let (arn, execution) = first_invocation(&runner, "approval").await;
    let id = suspended_on_callback(&execution, &ids);
    // The START carried the timeout; the service records it on the history event.
    let started = execution.events_of("approval");
    let recorded = started.iter().find_map(|e| match &e.details {
        durable_local::EventDetails::CallbackStarted(d) => Some((d.timeout, d.callback_id.clone())),
        _ => None,
    });
    assert_eq!(recorded, Some((Some(3_600), id.clone())), "{started:?}");
    runner
        .send_callback_success(&id, Some("true".into()))
        .unwrap();
    let execution = runner.resume(&arn).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.result::<String>().unwrap(), "approved: true");
    // Replay handed user code the same id.
    assert_eq!(*ids.lock().unwrap(), vec![id.clone(), id]);
    assert_eq!(execution.invocations().len(), 2);
}

#[tokio::test]
async fn a_failure_sent_by_the_external_system_is_callback_failed() {
    let ids: Ids = Arc::default();
    let runner = runner(&ids, None, None);
    let execution = runner.run("approval", ()).await.unwrap();
    let id = suspended_on_callback(&execution, &ids);
    runner
        .send_callback_failure(&id, ErrorObject::new("Rejected", "the approver said no"))
        .unwrap();
    let execution = runner.resume(execution.arn()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "failed: Rejected");
}

#[tokio::test]
async fn the_timeout_and_the_heartbeat_timeout_are_distinct_errors() {
    let ids: Ids = Arc::default();
    let runner = runner(&ids, Some(60), None);
    let execution = runner.run("approval", ()).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "the timer fired on virtual time"
    );
    assert_eq!(
        execution.result::<String>().unwrap(),
        "timed out: Callback.Timeout"
    );

    let ids: Ids = Arc::default();
    let runner = runner_with_heartbeat(&ids);
    let execution = runner.run("approval", ()).await.unwrap();
    assert_eq!(
        execution.result::<String>().unwrap(),
        "heartbeat timed out: Callback.Heartbeat"
    );
}

fn runner_with_heartbeat(ids: &Ids) -> LocalRunner {
    runner(ids, Some(3_600), Some(30))
}

#[tokio::test]
async fn a_zero_timeout_is_refused_before_anything_is_checkpointed() {
    let mut runner = LocalRunner::new();
    runner.register("bad", |_: (), ctx: DurableContext| async move {
        let refused = ctx
            .create_callback::<bool>("approval")
            .timeout(Duration::ZERO)
            .await
            .unwrap_err();
        let DurableError::InvalidArgument(e) = &refused else {
            panic!("expected an invalid argument, got {refused:?}");
        };
        assert!(e.to_string().contains("callback timeout"), "{e}");
        Ok::<_, DurableError>("refused".to_owned())
    });
    let execution = runner.run("bad", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "refused");
    assert!(execution.callback_id("approval").is_none());
}

#[tokio::test]
async fn the_blocking_driver_creates_and_awaits_callbacks_the_same_way() {
    let ids: Ids = Arc::default();
    let mut runner = LocalRunner::new();
    let seen = ids.clone();
    runner.register_blocking(
        "approval",
        move |_: (), ctx: &durable_blocking::DurableContext| {
            let callback = ctx
                .create_callback::<bool>("approval")
                .timeout(Duration::from_secs(3_600))
                .run()?;
            seen.lock().unwrap().push(callback.id().to_owned());
            let approved = callback.result()?;
            Ok::<_, DurableError>(format!("approved: {approved}"))
        },
    );
    let (arn, execution) = first_invocation(&runner, "approval").await;
    let id = suspended_on_callback(&execution, &ids);
    runner
        .send_callback_success(&id, Some("false".into()))
        .unwrap();
    let execution = runner.resume(&arn).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "approved: false");
    assert_eq!(*ids.lock().unwrap(), vec![id.clone(), id]);
}

type Count = Arc<std::sync::atomic::AtomicU32>;

fn submitted(count: &Count) -> u32 {
    count.load(std::sync::atomic::Ordering::SeqCst)
}

async fn approval_via_wait_for_callback(
    submits: Count,
    fail_submit: bool,
    ctx: DurableContext,
) -> Result<String, DurableError> {
    let result = ctx
        .wait_for_callback::<bool, _, _>("approval", move |id, _| async move {
            submits.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert!(!id.is_empty());
            if fail_submit {
                return Err(durable_tokio::StepError::new(
                    "MailboxFull",
                    "cannot deliver",
                ));
            }
            Ok(())
        })
        .retry(durable_tokio::RetryPolicy::none())
        .timeout(Duration::from_secs(3_600))
        .await;
    let outcome = match result {
        Ok(approved) => format!("approved: {approved}"),
        Err(DurableError::CallbackFailed(f)) => format!("failed: {}", f.error_type()),
        Err(DurableError::CallbackTimedOut(f)) => format!("timed out: {}", f.error_type()),
        Err(e) => return Err(e),
    };
    // One more invocation, so that the outcome is also read back from the records.
    ctx.wait("after", Duration::from_secs(1)).await?;
    Ok(outcome)
}

fn wfc_runner(submits: &Count, fail_submit: bool) -> LocalRunner {
    let mut runner = LocalRunner::new();
    let submits = submits.clone();
    runner.register("approval", move |_: (), ctx: DurableContext| {
        approval_via_wait_for_callback(submits.clone(), fail_submit, ctx)
    });
    runner
}

/// The id of the callback inside the `approval` wait_for_callback context.
fn wfc_callback_id(execution: &TestExecution) -> String {
    execution
        .callback_id("approval create callback id")
        .expect("the callback was created")
        .to_owned()
}

/// The shape the service and the conformance suite expect: a WaitForCallback context
/// holding the callback and the submitter step.
fn assert_wait_for_callback_shape(execution: &TestExecution) {
    let context = execution.operation("approval").expect("the context");
    assert_eq!(context.sub_type.as_deref(), Some("WaitForCallback"));
    let callback = execution
        .operation("approval create callback id")
        .expect("the callback");
    assert_eq!(callback.parent_id.as_deref(), Some(context.id.as_str()));
    let submitter = execution.operation("approval submitter").expect("the step");
    assert_eq!(submitter.parent_id.as_deref(), Some(context.id.as_str()));
}

#[tokio::test]
async fn wait_for_callback_runs_the_submitter_once_and_returns_the_result() {
    let submits: Count = Arc::default();
    let runner = wfc_runner(&submits, false);
    let (arn, execution) = first_invocation(&runner, "approval").await;
    assert_eq!(execution.status(), ExecutionStatus::Running);
    assert_wait_for_callback_shape(&execution);
    let id = wfc_callback_id(&execution);
    runner
        .send_callback_success(&id, Some("true".into()))
        .unwrap();
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "approved: true");
    assert_eq!(submitted(&submits), 1, "replay does not submit again");
}

#[tokio::test]
async fn wait_for_callback_failures_are_typed_on_the_run_that_decides_them_and_on_replay() {
    // The external system's failure: the invocation after it decides the context's failure.
    let submits: Count = Arc::default();
    let runner = wfc_runner(&submits, false);
    let (arn, execution) = first_invocation(&runner, "approval").await;
    let id = wfc_callback_id(&execution);
    runner
        .send_callback_failure(&id, ErrorObject::new("Rejected", "no"))
        .unwrap();
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "failed: Rejected");

    // Nobody answers: the timeout fires on virtual time.
    let runner = wfc_runner(&Count::default(), false);
    let execution = runner.run("approval", ()).await.unwrap();
    assert_eq!(
        execution.result::<String>().unwrap(),
        "timed out: Callback.Timeout"
    );

    // The submitter fails for good: the callback is never awaited, and the failure carries
    // the submitter's error.
    let submits: Count = Arc::default();
    let runner = wfc_runner(&submits, true);
    let execution = runner.run("approval", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "failed: MailboxFull");
    assert_eq!(submitted(&submits), 1);
}

#[tokio::test]
async fn the_blocking_wait_for_callback_has_the_same_shape_and_result() {
    let submits: Count = Arc::default();
    let mut runner = LocalRunner::new();
    let count = submits.clone();
    runner.register_blocking(
        "approval",
        move |_: (), ctx: &durable_blocking::DurableContext| {
            let approved: bool = ctx
                .wait_for_callback("approval", |id, _| {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert!(!id.is_empty());
                    Ok(())
                })
                .timeout(Duration::from_secs(3_600))
                .run()?;
            Ok::<_, DurableError>(format!("approved: {approved}"))
        },
    );
    let (arn, execution) = first_invocation(&runner, "approval").await;
    assert_wait_for_callback_shape(&execution);
    let id = wfc_callback_id(&execution);
    runner
        .send_callback_success(&id, Some("false".into()))
        .unwrap();
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "approved: false");
    assert_eq!(submitted(&submits), 1);
}

#[tokio::test]
async fn a_callback_result_of_the_wrong_type_is_a_serialization_error() {
    let mut runner = LocalRunner::new();
    runner.register("typed", |_: (), ctx: DurableContext| async move {
        let callback = ctx.create_callback::<bool>("approval").await?;
        Ok::<_, DurableError>(match callback.await {
            Err(DurableError::Serialization { message, .. }) => {
                assert!(
                    message.contains("approval") && message.contains("bool"),
                    "{message}"
                );
                "unreadable".to_owned()
            }
            other => format!("{other:?}"),
        })
    });
    let (arn, execution) = first_invocation(&runner, "typed").await;
    let id = execution.callback_id("approval").unwrap().to_owned();
    runner
        .send_callback_success(&id, Some("not json".into()))
        .unwrap();
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "unreadable");
}

#[tokio::test]
async fn callback_awaits_one_round_trip() {
    // The same invocation with and without a callback: creating it costs exactly one
    // checkpoint call (its START, awaited for the id); everything else shares a batch.
    let mut runner = LocalRunner::new();
    runner.register("plain", |_: (), ctx: DurableContext| async move {
        ctx.step("work", |_| async { Ok(1u8) }).await?;
        ctx.wait("later", Duration::from_secs(60)).await?;
        Ok::<_, DurableError>(())
    });
    runner.register("with-callback", |_: (), ctx: DurableContext| async move {
        let callback = ctx.create_callback::<bool>("approval").await?;
        ctx.step("work", |_| async { Ok(1u8) }).await?;
        ctx.wait("later", Duration::from_secs(60)).await?;
        drop(callback);
        Ok::<_, DurableError>(())
    });
    let mut calls = Vec::new();
    for name in ["plain", "with-callback"] {
        let arn = runner.start(name, ()).unwrap();
        let invocation = runner.run_one_invocation(&arn).await.unwrap();
        calls.push(invocation.checkpoint_calls);
    }
    assert_eq!(calls[1], calls[0] + 1, "{calls:?}");
}
