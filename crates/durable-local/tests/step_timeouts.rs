//! Per-attempt step timeouts in both drivers: a slow attempt fails with `StepTimedOut`
//! through the retry strategy, and its late result is recorded nowhere.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_proto::{Jitter, OperationStatus, RetryPolicy, STEP_TIMED_OUT_ERROR_TYPE};
use durable_tokio::{DurableContext, DurableError};

fn once_a_second(attempts: u32) -> RetryPolicy {
    let s = Duration::from_secs(1);
    RetryPolicy::try_linear(attempts, s, Duration::ZERO, s)
        .unwrap()
        .with_jitter(Jitter::None)
}

#[tokio::test]
async fn a_slow_first_attempt_times_out_and_the_retry_succeeds_in_both_drivers() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        ctx.step("slow once", |s| async move {
            if s.attempt() == 1 {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            Ok(s.attempt())
        })
        .timeout(Duration::from_millis(100))
        .retry(once_a_second(2))
        .await
    });
    runner.register_blocking(
        "blocking",
        |_: (), ctx: &durable_blocking::DurableContext| {
            ctx.step("slow once", |s| {
                if s.attempt() == 1 {
                    std::thread::sleep(Duration::from_secs(2));
                }
                Ok(s.attempt())
            })
            .retry(once_a_second(2))
            .timeout(Duration::from_millis(100))
            .run()
        },
    );
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(execution.result::<u32>().unwrap(), 2, "{function}");
        assert_eq!(execution.step_attempts("slow once"), Some(2), "{function}");
        // The first attempt's failure is the timeout, as the history records it.
        let failed: Vec<_> = execution
            .events_of("slow once")
            .into_iter()
            .filter_map(|e| serde_json::to_value(e).ok())
            .filter(|v| v.to_string().contains(STEP_TIMED_OUT_ERROR_TYPE))
            .collect();
        assert!(
            !failed.is_empty(),
            "{function}: {}",
            execution.history_json()
        );
    }
}

#[tokio::test]
async fn an_attempt_that_always_times_out_fails_the_step_with_a_typed_error() {
    let late = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::new();
    let seen = late.clone();
    runner.register_blocking(
        "blocking",
        move |_: (), ctx: &durable_blocking::DurableContext| {
            let seen = seen.clone();
            let outcome = ctx
                .step("too slow", move |_| {
                    std::thread::sleep(Duration::from_millis(400));
                    seen.fetch_add(1, Ordering::SeqCst);
                    Ok(1u8)
                })
                .retry(RetryPolicy::none())
                .timeout(Duration::from_millis(50))
                .run();
            match outcome {
                Err(DurableError::StepTimedOut(f)) => {
                    Ok::<_, DurableError>(f.error_type().to_owned())
                }
                other => panic!("{other:?}"),
            }
        },
    );
    let execution = runner.run("blocking", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(
        execution.result::<String>().unwrap(),
        STEP_TIMED_OUT_ERROR_TYPE
    );
    assert_eq!(
        execution.operation("too slow").unwrap().status,
        OperationStatus::Failed
    );
    // The abandoned body finishes later; nothing of it reaches the history.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(late.load(Ordering::SeqCst), 1);
    let after = runner.execution(execution.arn()).unwrap();
    assert_eq!(after.history().len(), execution.history().len());
    assert_eq!(
        after.operation("too slow").unwrap().status,
        OperationStatus::Failed
    );
}
