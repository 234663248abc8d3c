//! Every fault-injection knob, each changing the outcome.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::faults;
use durable_local::{EventType, ExecutionStatus, InvocationResult, LocalRunner, CRASH_ERROR_TYPE};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};

/// Registers a handler running one step named "work" whose body counts its runs.
fn one_step(runner: &mut LocalRunner, runs: &Arc<AtomicU32>) {
    let runs = runs.clone();
    runner.register("one", move |_: (), ctx: DurableContext| {
        let runs = runs.clone();
        async move {
            ctx.step("work", move |_| async move {
                Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
            })
            .await
        }
    });
}

#[tokio::test]
async fn throttled_checkpoints_retry_the_invocation_which_then_completes() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    one_step(&mut runner, &runs);
    runner
        .client()
        .fail_next_checkpoints(1, faults::throttled());
    let execution = runner.run("one", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.invocation_count(), 2);
    let first = &execution.invocations()[0];
    assert_eq!(first.result, Some(InvocationResult::Errored));
    let error = first.error.as_ref().unwrap();
    assert!(
        error.message().contains("TooManyRequestsException"),
        "{error:?}"
    );
    // At least once: the body ran again in the retried invocation.
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(execution.result::<u32>().unwrap(), 2);
    assert_eq!(runner.client().injected_failures(), 1);
    // The injected call never reached the service.
    assert_eq!(
        runner.client().checkpoint_calls(),
        execution.checkpoint_calls() + 1
    );
}

#[tokio::test]
async fn server_errors_and_lost_state_reads_are_transient_too() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::builder().page_size(1).build();
    one_step(&mut runner, &runs);
    runner.register("waits", |_: (), ctx: DurableContext| async move {
        ctx.wait("a", Duration::from_secs(5)).await?;
        ctx.wait("b", Duration::from_secs(5)).await?;
        Ok::<_, DurableError>("done")
    });
    runner
        .client()
        .fail_next_checkpoints(2, faults::service_unavailable());
    let execution = runner.run("one", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.invocation_count(), 3);

    // With page size 1 the second invocation must read state; lose that read once.
    let arn = runner.start("waits", ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    runner.advance_to_next_timer(&arn);
    runner
        .client()
        .fail_next_state_reads(1, faults::no_response());
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let results: Vec<_> = execution
        .invocations()
        .iter()
        .map(|i| i.result.unwrap())
        .collect();
    use InvocationResult::*;
    assert_eq!(results, [Pending, Errored, Pending, Succeeded]);
}

#[tokio::test]
async fn a_validation_error_fails_the_execution() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    one_step(&mut runner, &runs);
    runner
        .client()
        .fail_next_checkpoints(1, faults::validation("Payload is malformed."));
    let execution = runner.run("one", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    assert_eq!(execution.invocation_count(), 1);
    let error = execution.error().unwrap();
    assert_eq!(error.type_name(), "InvalidParameterValueException");
    assert!(
        error.message().contains("Payload is malformed."),
        "{error:?}"
    );
}

#[tokio::test]
async fn stale_tokens_retry_the_invocation() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    one_step(&mut runner, &runs);
    // The service itself rejects an already-used token...
    runner.client().send_stale_token_next(1);
    let execution = runner.run("one", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.invocation_count(), 2);
    let error = execution.invocations()[0].error.clone().unwrap();
    assert!(
        error.message().contains("Invalid checkpoint token"),
        "{error:?}"
    );

    // ...and an injected stale-token answer is treated the same way.
    runner
        .client()
        .fail_next_checkpoints(1, faults::stale_token());
    let execution = runner.run("one", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.invocation_count(), 2);
}

#[tokio::test]
async fn a_dropped_step_start_is_accepted_by_default_and_rejected_when_strict() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    one_step(&mut runner, &runs);
    runner.client().drop_next_start();
    let execution = runner.run("one", ()).await.unwrap();
    assert_eq!(runner.client().dropped_starts(), 1);
    // Like the emulator, the service accepts the SUCCEED of a step it never saw start.
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.step_attempts("work"), Some(1));
    use EventType::*;
    assert_eq!(
        execution.event_types(),
        [
            ExecutionStarted,
            StepSucceeded,
            InvocationCompleted,
            ExecutionSucceeded
        ]
    );

    let mut strict = LocalRunner::builder().require_start(true).build();
    one_step(&mut strict, &runs);
    strict.client().drop_next_start_named("work");
    let execution = strict.run("one", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    let error = execution.error().unwrap();
    assert_eq!(error.type_name(), "InvalidParameterValueException");
    assert!(
        error
            .message()
            .contains("Invalid current STEP state to close."),
        "{error:?}"
    );
}

/// The service acknowledges a WAIT START but loses it. PENDING would leave nothing pending
/// (the service would fail the execution), so the invocation ends instead and is retried;
/// the retried invocation starts the wait again.
#[tokio::test]
async fn a_dropped_wait_start_ends_the_invocation_and_the_retry_records_it() {
    let mut runner = LocalRunner::new();
    runner.register("nap", |_: (), ctx: DurableContext| async move {
        ctx.wait("nap", Duration::from_secs(60)).await?;
        Ok::<_, DurableError>(())
    });
    runner.client().drop_next_start_named("nap");
    let execution = runner.run("nap", ()).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert_ne!(
        execution.invocations()[0].result,
        Some(InvocationResult::Pending),
        "the first invocation must not return PENDING with nothing recorded"
    );
    assert_eq!(
        execution.operation("nap").map(|o| o.status.clone()),
        Some(durable_proto::OperationStatus::Succeeded)
    );
}

/// A handler with one step whose first run never finishes (the invocation crashes under
/// it); later runs succeed.
fn crashing_step(
    runner: &mut LocalRunner,
    runs: &Arc<AtomicU32>,
    at_most_once: bool,
    policy: RetryPolicy,
) {
    let runs = runs.clone();
    runner.register("crashy", move |_: (), ctx: DurableContext| {
        let runs = runs.clone();
        let policy = policy.clone();
        async move {
            let step = ctx
                .step("charge", move |_| async move {
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        std::future::pending::<()>().await;
                    }
                    Ok("charged".to_owned())
                })
                .retry(policy);
            if at_most_once {
                step.at_most_once().await
            } else {
                step.await
            }
        }
    });
}

#[tokio::test]
async fn a_crash_re_runs_an_at_least_once_step() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    crashing_step(&mut runner, &runs, false, RetryPolicy::none());
    runner.crash_after_checkpoints(1);
    let execution = runner.run("crashy", ()).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{}",
        execution.timeline()
    );
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the interrupted body ran again"
    );
    assert_eq!(
        execution.step_attempts("charge"),
        Some(1),
        "a crash is not an attempt"
    );
    use EventType::*;
    assert_eq!(
        execution.event_types(),
        [
            ExecutionStarted,
            StepStarted,
            InvocationCompleted,
            StepSucceeded,
            InvocationCompleted,
            ExecutionSucceeded
        ]
    );
    let crash = execution.events_of_type(InvocationCompleted)[0]
        .error()
        .unwrap();
    assert_eq!(crash.type_name(), CRASH_ERROR_TYPE);
}

// Multi-threaded, so the handler may be mid-poll on another worker when the crash lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_interrupts_an_at_most_once_step_which_is_never_re_run() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    crashing_step(&mut runner, &runs, true, RetryPolicy::none());
    runner.crash_after_checkpoints(1);
    let execution = runner.run("crashy", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the body never ran");
    let error = execution.error().unwrap();
    assert_eq!(error.type_name(), "StepInterruptedError");
    assert_eq!(execution.step_attempts("charge"), Some(1));

    // With a retry policy the interrupted attempt counts as failed and the next one runs.
    let runs = Arc::new(AtomicU32::new(1));
    let mut runner = LocalRunner::new();
    let policy =
        RetryPolicy::try_exponential(3, Duration::from_secs(2), Duration::from_secs(2), 1.0)
            .unwrap()
            .with_jitter(Jitter::None);
    crashing_step(&mut runner, &runs, true, policy);
    runner.crash_after_checkpoints(1);
    let execution = runner.run("crashy", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "only the second attempt ran the body"
    );
    assert_eq!(execution.step_attempts("charge"), Some(2));
    let failed = execution.events_of_type(EventType::StepFailed);
    assert_eq!(
        failed[0].error().unwrap().type_name(),
        "StepInterruptedError"
    );
    let retry = failed[0].retry_details().unwrap();
    assert_eq!(
        (retry.current_attempt, retry.next_attempt_delay_seconds),
        (1, Some(2))
    );
}

#[tokio::test]
async fn crashes_count_toward_invocation_retries() {
    let runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::builder().max_invocation_retries(0).build();
    crashing_step(&mut runner, &runs, false, RetryPolicy::none());
    runner.crash_after_checkpoints(1);
    let execution = runner.run("crashy", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    assert_eq!(execution.error().unwrap().type_name(), CRASH_ERROR_TYPE);
    assert_eq!(execution.invocation_count(), 1);
}
