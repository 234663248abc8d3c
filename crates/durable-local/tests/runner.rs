//! The runner driving real `durable_tokio` handlers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_local::{EventType, ExecutionStatus, InvocationResult, LocalRunner, RunnerError};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};

fn fixed_delay(max_attempts: u32, delay: Duration) -> RetryPolicy {
    RetryPolicy::try_linear(max_attempts, delay, Duration::ZERO, delay)
        .unwrap()
        .with_jitter(Jitter::None)
}

/// A step body that fails its first `failures` runs, then returns the run count.
fn flaky(
    runs: &Arc<AtomicU32>,
    failures: u32,
) -> impl FnOnce(durable_tokio::StepContext) -> std::future::Ready<Result<u32, durable_tokio::StepError>>
{
    let runs = runs.clone();
    move |_| {
        let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
        std::future::ready(if n <= failures {
            Err(durable_tokio::StepError::msg(format!(
                "transient failure {n}"
            )))
        } else {
            Ok(n)
        })
    }
}

#[tokio::test]
async fn a_step_succeeds() {
    async fn handler(order: u32, ctx: DurableContext) -> Result<String, DurableError> {
        let total = ctx
            .step("price", move |_| async move { Ok(order * 3) })
            .await?;
        Ok(format!("total {total}"))
    }
    let mut runner = LocalRunner::new();
    runner.register("orders", handler);
    let execution = runner.run("orders", 14).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.result::<String>().unwrap(), "total 42");
    assert_eq!(execution.invocation_count(), 1);
    assert_eq!(execution.step_attempts("price"), Some(1));
    let op = execution.operation("price").unwrap();
    assert_eq!(
        op.step_details.as_ref().unwrap().result.as_deref(),
        Some("42")
    );
    assert_eq!(execution.operation_at(0).unwrap().id, op.id);
    assert_eq!(
        execution.operation_by_id(&op.id).unwrap().name.as_deref(),
        Some("price")
    );
    use EventType::*;
    assert_eq!(
        execution.event_types(),
        [
            ExecutionStarted,
            StepStarted,
            StepSucceeded,
            InvocationCompleted,
            ExecutionSucceeded
        ]
    );
    assert!(execution.checkpoint_calls() >= 1);
    assert!(execution
        .history_json()
        .starts_with("{\"Events\":[{\"EventType\":\"ExecutionStarted\""));
}

#[tokio::test]
async fn a_step_failing_twice_then_succeeding_is_retried() {
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let mut runner = LocalRunner::new();
    runner.register("flaky", move |_: (), ctx: DurableContext| {
        let counter = counter.clone();
        async move {
            let policy = RetryPolicy::try_exponential(
                5,
                Duration::from_secs(5),
                Duration::from_secs(60),
                2.0,
            )
            .unwrap()
            .with_jitter(Jitter::None);
            ctx.step("call", flaky(&counter, 2)).retry(policy).await
        }
    });
    let execution = runner.run("flaky", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.result::<u32>().unwrap(), 3);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(execution.step_attempts("call"), Some(3));
    assert_eq!(execution.invocation_count(), 3);

    let events = execution.events_of("call");
    use EventType::*;
    let types: Vec<_> = events.iter().map(|e| e.event_type).collect();
    assert_eq!(
        types,
        [
            StepStarted,
            StepFailed,
            StepStarted,
            StepFailed,
            StepStarted,
            StepSucceeded
        ]
    );
    let retries: Vec<_> = events
        .iter()
        .filter_map(|e| e.retry_details())
        .map(|r| (r.current_attempt, r.next_attempt_delay_seconds))
        .collect();
    assert_eq!(retries, [(1, Some(5)), (2, Some(10)), (3, None)]);
    assert_eq!(events[1].error().unwrap().message(), "transient failure 1");
    // Virtual time moved exactly by the two delays.
    assert_eq!(execution.elapsed_millis(), 15_000);
}

#[derive(Debug)]
struct PaymentDeclined(&'static str);

impl std::fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "card declined: {}", self.0)
    }
}

#[tokio::test]
async fn exhausted_retries_fail_the_execution_with_the_original_error() {
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let mut runner = LocalRunner::new();
    runner.register("pay", move |_: (), ctx: DurableContext| {
        let counter = counter.clone();
        async move {
            ctx.step("charge", move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                async {
                    Err::<(), durable_tokio::StepError>(
                        PaymentDeclined("insufficient funds").into(),
                    )
                }
            })
            .retry(fixed_delay(3, Duration::from_secs(1)))
            .await
        }
    });
    let execution = runner.run("pay", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(execution.step_attempts("charge"), Some(3));
    let error = execution.error().unwrap();
    assert!(error.type_name().ends_with("PaymentDeclined"), "{error:?}");
    assert_eq!(error.message(), "card declined: insufficient funds");
    let failed = execution.events_of_type(EventType::StepFailed);
    assert_eq!(failed.len(), 3);
    let last = failed[2].retry_details().unwrap();
    assert_eq!(
        (last.current_attempt, last.next_attempt_delay_seconds),
        (3, None)
    );
    let result = execution.result::<()>().unwrap_err();
    assert_eq!(result.code(), "DL-R005");
    assert_eq!(
        execution.events_of_type(EventType::ExecutionFailed).len(),
        1
    );
}

#[tokio::test]
async fn a_day_long_wait_and_ten_retries_take_no_wall_time() {
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let mut runner = LocalRunner::new();
    runner.register("slow", move |_: (), ctx: DurableContext| {
        let counter = counter.clone();
        async move {
            ctx.wait("overnight", Duration::from_secs(24 * 3600))
                .await?;
            ctx.step("poll", flaky(&counter, 10))
                .retry(fixed_delay(11, Duration::from_secs(600)))
                .await
        }
    });
    let wall = Instant::now();
    let execution = runner.run("slow", ()).await.unwrap();
    let wall = wall.elapsed();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{}",
        execution.timeline()
    );
    assert!(wall < Duration::from_secs(1), "took {wall:?}");
    assert_eq!(execution.step_attempts("poll"), Some(11));
    assert_eq!(execution.events_of_type(EventType::StepFailed).len(), 10);
    assert_eq!(execution.invocation_count(), 12);
    assert_eq!(execution.elapsed_millis(), (24 * 3600 + 10 * 600) * 1000);
    let wait = execution.events_of_type(EventType::WaitSucceeded)[0];
    assert_eq!(
        wait.event_timestamp,
        execution.record().start_timestamp().plus_seconds(24 * 3600)
    );
}

async fn many_steps(n: u32, ctx: DurableContext) -> Result<Vec<u32>, DurableError> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(
            ctx.step(&format!("s{i}"), move |_| async move { Ok(i * i) })
                .await?,
        );
        if i % 3 == 2 {
            ctx.wait(&format!("w{i}"), Duration::from_secs(60)).await?;
        }
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_size_one_still_replays_everything() {
    let mut paged = LocalRunner::builder().page_size(1).build();
    paged.register("many", many_steps);
    let mut whole = LocalRunner::new();
    whole.register("many", many_steps);
    let a = paged.run("many", 8).await.unwrap();
    let b = whole.run("many", 8).await.unwrap();
    assert_eq!(a.status(), ExecutionStatus::Succeeded, "{}", a.timeline());
    let expected: Vec<u32> = (0..8).map(|i| i * i).collect();
    assert_eq!(a.result::<Vec<u32>>().unwrap(), expected);
    assert_eq!(b.result::<Vec<u32>>().unwrap(), expected);
    assert_eq!(a.event_types(), b.event_types());
    assert_eq!(a.invocation_count(), 3);
    // Later invocations had to page through the state one operation at a time.
    assert!(a.state_calls() >= 10, "state calls: {}", a.state_calls());
    assert_eq!(b.state_calls(), 0);
    assert_eq!(paged.client().state_calls(), a.state_calls());
}

#[tokio::test]
async fn stepwise_invocations() {
    async fn handler(_: (), ctx: DurableContext) -> Result<u8, DurableError> {
        ctx.wait("pause", Duration::from_secs(30)).await?;
        Ok(1)
    }
    let mut runner = LocalRunner::new();
    runner.register("f", handler);
    let arn = runner.start("f", ()).unwrap();
    let first = runner.run_one_invocation(&arn).await.unwrap();
    assert_eq!(first.result, Some(InvocationResult::Pending));
    let execution = runner.execution(&arn).unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Running);
    assert_eq!(
        execution.operation("pause").unwrap().status.as_str(),
        "STARTED"
    );
    let due = runner.advance_to_next_timer(&arn).unwrap();
    assert_eq!(due, execution.record().start_timestamp().plus_seconds(30));
    let second = runner.run_one_invocation(&arn).await.unwrap();
    assert_eq!(second.result, Some(InvocationResult::Succeeded));
    assert_eq!(second.updated_operation_ids.len(), 1);
    assert_eq!(runner.execution(&arn).unwrap().result::<u8>().unwrap(), 1);
}

#[tokio::test]
async fn livelocks_hit_the_invocation_cap() {
    async fn forever(_: (), ctx: DurableContext) -> Result<(), DurableError> {
        loop {
            ctx.wait("again", Duration::from_secs(1)).await?;
        }
    }
    let mut runner = LocalRunner::builder().max_invocations(10).build();
    runner.register("forever", forever);
    let err = runner.run("forever", ()).await.unwrap_err();
    let RunnerError::InvocationLimit { arn, limit } = &err else {
        panic!("{err:?}");
    };
    assert_eq!((*limit, err.code()), (10, "DL-R004"));
    let execution = runner.execution(arn).unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Running);
    assert_eq!(execution.invocation_count(), 10);
}

#[tokio::test]
async fn usage_errors() {
    let mut runner = LocalRunner::new();
    let err = runner.run("missing", ()).await.unwrap_err();
    assert_eq!(err.code(), "DL-R001");
    runner.register("echo", |text: String, _ctx: DurableContext| async move {
        Ok::<_, DurableError>(text)
    });
    let execution = runner.run("echo", "hi").await.unwrap();
    let err = execution.result::<u64>().unwrap_err();
    assert_eq!(err.code(), "DL-R005");
    assert_eq!(execution.result::<String>().unwrap(), "hi");
    let err = runner.execution("arn:none").unwrap_err();
    assert_eq!(err.code(), "DL-R002");
}

#[tokio::test]
async fn panicking_handlers_fail_and_slow_handlers_are_invocation_errors() {
    let mut runner = LocalRunner::builder().max_invocation_retries(1).build();
    runner.register("boom", |_: (), _ctx: DurableContext| async move {
        if true {
            panic!("kaboom");
        }
        Ok::<(), DurableError>(())
    });
    let execution = runner.run("boom", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    // The driver turns a handler panic into a FAILED output, like any escaping error.
    assert_eq!(execution.invocation_count(), 1, "not retried");
    let error = execution.error().unwrap();
    assert_eq!(error.type_name(), durable_tokio::PANIC_ERROR_TYPE);
    assert!(error.message().contains("kaboom"));

    let mut runner = LocalRunner::builder()
        .max_invocation_retries(1)
        .invocation_timeout(Duration::from_millis(50))
        .build();
    runner.register("slow", |_: (), ctx: DurableContext| async move {
        ctx.step("sleepy", |_| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(())
        })
        .await
    });
    let execution = runner.run("slow", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    // The SDK knows the deadline (the runner passes its timeout, as Lambda passes the
    // function's) and ends the invocation itself a margin before the runner would kill it.
    assert_eq!(execution.error().unwrap().type_name(), "InvocationDeadline");
    assert_eq!(
        execution.invocations()[0].result,
        Some(InvocationResult::Errored)
    );
}

#[tokio::test]
async fn real_time_mode_really_waits() {
    async fn handler(_: (), ctx: DurableContext) -> Result<(), DurableError> {
        ctx.wait("tick", Duration::from_secs(1)).await?;
        Ok(())
    }
    let mut runner = LocalRunner::builder().real_time().build();
    runner.register("tick", handler);
    let wall = Instant::now();
    let execution = runner.run("tick", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert!(
        wall.elapsed() >= Duration::from_millis(900),
        "{:?}",
        wall.elapsed()
    );
    assert!(execution.elapsed_millis() >= 1000);
}

#[tokio::test]
async fn paged_checkpoint_responses_are_followed() {
    async fn fan_out(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
        // Each body yields, so the three STARTs go out in one batch while the bodies run.
        let step = |n: u32| {
            ctx.step(&format!("part{n}"), move |_| async move {
                for _ in 0..3 {
                    tokio::task::yield_now().await;
                }
                Ok(n)
            })
        };
        let (a, b, c) = tokio::join!(step(1), step(2), step(3));
        ctx.wait("settle", Duration::from_secs(1)).await?;
        Ok(a? + b? + c?)
    }
    let mut runner = LocalRunner::builder().page_size(1).build();
    runner.register("fan", fan_out);
    let arn = runner.start("fan", ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    // The first invocation's envelope holds only the EXECUTION operation, so every state
    // read in it followed a paged checkpoint response: three STARTs, pages of one.
    let first = runner.execution(&arn).unwrap();
    assert!(first.state_calls() >= 2, "{}", first.timeline());
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{}",
        execution.timeline()
    );
    assert_eq!(execution.result::<u32>().unwrap(), 6);
}

impl std::error::Error for PaymentDeclined {}
