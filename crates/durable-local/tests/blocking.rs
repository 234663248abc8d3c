//! Synchronous handlers (`durable_blocking`) on the local runner: the same workflow written
//! for both drivers must leave the same history.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{EventType, ExecutionStatus, LocalRunner, TestExecution};
use durable_tokio::{DurableError, Jitter, RetryPolicy};

#[derive(Debug)]
struct Flaky(u32);

impl fmt::Display for Flaky {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flaky on attempt {}", self.0)
    }
}

fn jittered() -> RetryPolicy {
    RetryPolicy::try_exponential(5, Duration::from_secs(10), Duration::from_secs(300), 2.0)
        .unwrap()
        .with_jitter(Jitter::Full)
}

fn twice() -> RetryPolicy {
    RetryPolicy::try_linear(
        2,
        Duration::from_secs(1),
        Duration::ZERO,
        Duration::from_secs(1),
    )
    .unwrap()
    .with_jitter(Jitter::None)
}

async fn order_async(
    order: u32,
    ctx: durable_tokio::DurableContext,
) -> Result<String, DurableError> {
    let price: u32 = ctx
        .step("price", move |s| async move {
            if s.attempt() <= 2 {
                Err(Flaky(s.attempt()).into())
            } else {
                Ok(order * 3)
            }
        })
        .retry(jittered())
        .await?;
    let charge: String = ctx
        .step("charge", move |s| async move {
            Ok(format!("ch_{price}_{}", s.attempt()))
        })
        .at_most_once()
        .await?;
    ctx.wait("settle", Duration::from_secs(3600)).await?;
    let ship: String = ctx
        .step("ship", |_| async { Ok("shipped".to_owned()) })
        .await?;
    let notify: String = ctx
        .step("notify", |s| async move {
            if s.attempt() == 1 {
                Err(Flaky(1).into())
            } else {
                Ok("notified".to_owned())
            }
        })
        .retry(twice())
        .await?;
    Ok(format!("{charge} {ship} {notify}"))
}

fn order_blocking(
    order: u32,
    ctx: &durable_blocking::DurableContext,
) -> Result<String, DurableError> {
    let price: u32 = ctx
        .step("price", |s| {
            if s.attempt() <= 2 {
                Err(Flaky(s.attempt()).into())
            } else {
                Ok(order * 3)
            }
        })
        .retry(jittered())
        .run()?;
    let charge: String = ctx
        .step("charge", |s| Ok(format!("ch_{price}_{}", s.attempt())))
        .at_most_once()
        .run()?;
    ctx.wait("settle", Duration::from_secs(3600))?;
    let ship: String = ctx.step("ship", |_| Ok("shipped".to_owned())).run()?;
    let notify: String = ctx
        .step("notify", |s| match s.attempt() {
            1 => Err(Flaky(1).into()),
            _ => Ok("notified".to_owned()),
        })
        .retry(twice())
        .run()?;
    Ok(format!("{charge} {ship} {notify}"))
}

async fn doomed_async(_: (), ctx: durable_tokio::DurableContext) -> Result<u32, DurableError> {
    ctx.step("doomed", |s| async move {
        Err::<u32, durable_tokio::StepError>(Flaky(s.attempt()).into())
    })
    .retry(twice())
    .await
}

fn doomed_blocking(_: (), ctx: &durable_blocking::DurableContext) -> Result<u32, DurableError> {
    ctx.step("doomed", |s| {
        Err::<u32, durable_tokio::StepError>(Flaky(s.attempt()).into())
    })
    .retry(twice())
    .run()
}

/// `(type, operation id, name, (attempt, next delay))` of a history event.
type EventShape = (
    EventType,
    Option<String>,
    Option<String>,
    Option<(u32, Option<u32>)>,
);
/// `(id, name, type, status, attempts)` of an operation.
type OperationShape = (String, Option<String>, String, String, u32);

/// Everything about an execution that must not depend on the driver.
#[derive(Debug, PartialEq)]
struct Shape {
    status: ExecutionStatus,
    result: Option<String>,
    error: Option<(String, String)>,
    events: Vec<EventShape>,
    operations: Vec<OperationShape>,
    invocations: u32,
    elapsed_ms: i64,
}

fn shape(execution: &TestExecution) -> Shape {
    Shape {
        status: execution.status(),
        result: execution.result_json().map(str::to_owned),
        error: execution
            .error()
            .map(|e| (e.type_name().to_owned(), e.message().to_owned())),
        events: execution
            .history()
            .iter()
            .map(|e| {
                let retry = e
                    .retry_details()
                    .map(|r| (r.current_attempt, r.next_attempt_delay_seconds));
                (e.event_type, e.id.clone(), e.name.clone(), retry)
            })
            .collect(),
        operations: execution
            .user_operations()
            .map(|op| {
                (
                    op.id.clone(),
                    op.name.clone(),
                    op.operation_type.to_string(),
                    op.status.to_string(),
                    op.step_details.as_ref().map_or(0, |d| d.attempt),
                )
            })
            .collect(),
        invocations: execution.invocation_count(),
        elapsed_ms: execution.elapsed_millis(),
    }
}

#[tokio::test]
async fn a_workflow_registered_both_ways_leaves_the_same_history() {
    // The jitter seed is pinned: by default it derives from the invocation's first token,
    // whose number depends on how updates happened to be batched, and a blocking handler
    // runs beside the driver loop on its own thread, so batching varies from run to run.
    let runner = || LocalRunner::builder().handler_seed(7).build();
    let mut async_runner = runner();
    async_runner.register("orders", order_async);
    let async_run = async_runner.run("orders", 14).await.unwrap();

    let mut runner = runner();
    runner.register_blocking("orders", order_blocking);
    let blocking_run = runner.run("orders", 14).await.unwrap();

    assert_eq!(async_run.status(), ExecutionStatus::Succeeded);
    assert_eq!(
        async_run.result::<String>().unwrap(),
        "ch_42_1 shipped notified"
    );
    assert_eq!(async_run.step_attempts("price"), Some(3));
    assert_eq!(async_run.step_attempts("notify"), Some(2));
    assert_eq!(shape(&blocking_run), shape(&async_run));
    // Fresh runners with the same seed generate the same ARN.
    assert_eq!(blocking_run.arn(), async_run.arn());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exhausted_retries_fail_both_ways_with_the_same_error() {
    let mut runner = LocalRunner::new();
    runner.register("doomed", doomed_async);
    let async_run = runner.run("doomed", ()).await.unwrap();

    let mut runner = LocalRunner::new();
    runner.register_blocking("doomed", doomed_blocking);
    let blocking_run = runner.run("doomed", ()).await.unwrap();

    assert_eq!(async_run.status(), ExecutionStatus::Failed);
    let error = async_run.error().unwrap();
    assert!(error.type_name().ends_with("Flaky"), "{error:?}");
    assert_eq!(error.message(), "flaky on attempt 2");
    assert_eq!(shape(&blocking_run), shape(&async_run));
}

#[tokio::test]
async fn a_crash_during_an_at_most_once_step_is_reported_to_the_retry_strategy() {
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let mut runner = LocalRunner::new();
    runner.register_blocking(
        "pay",
        move |_: (), ctx: &durable_blocking::DurableContext| {
            ctx.step("charge", |s| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(s.attempt())
            })
            .at_most_once()
            .retry(twice())
            .run()
        },
    );
    // The first checkpoint records START; the invocation dies before the body runs.
    runner.crash_after_checkpoints(1);
    let execution = runner.run("pay", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.result::<u32>().unwrap(), 2);
    assert_eq!(
        runs.load(Ordering::SeqCst),
        1,
        "the interrupted attempt never ran"
    );
    let failed = execution.events_of_type(EventType::StepFailed);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].error().unwrap().type_name(),
        "StepInterruptedError"
    );
}

#[tokio::test]
async fn a_panicking_blocking_handler_fails_the_execution_with_the_panic() {
    let mut runner = LocalRunner::new();
    runner.register_blocking("boom", |_: (), _: &durable_blocking::DurableContext| {
        if true {
            panic!("kaboom");
        }
        Ok::<u32, DurableError>(1)
    });
    let execution = runner.run("boom", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    let error = execution.error().unwrap();
    // Both drivers turn a handler panic into a FAILED output, like any escaping error.
    assert_eq!(error.type_name(), durable_tokio::PANIC_ERROR_TYPE);
    assert!(error.message().contains("kaboom"), "{error:?}");
    assert_eq!(execution.invocation_count(), 1);
}

impl std::error::Error for Flaky {}

#[tokio::test]
async fn a_child_context_leaves_the_same_history_both_ways() {
    async fn child_async(_: (), ctx: durable_tokio::DurableContext) -> Result<u32, DurableError> {
        let total = ctx
            .run_in_child_context("pricing", |c| async move {
                let base: u32 = c.step("base", |_| async { Ok(100) }).await?;
                c.wait("cool-off", Duration::from_secs(60)).await?;
                let tax: u32 = c.step("tax", move |_| async move { Ok(base / 5) }).await?;
                Ok::<_, DurableError>(base + tax)
            })
            .await?;
        Ok(total)
    }
    fn child_blocking(_: (), ctx: &durable_blocking::DurableContext) -> Result<u32, DurableError> {
        ctx.run_in_child_context("pricing", |c| {
            let base: u32 = c.step("base", |_| Ok(100)).run()?;
            c.wait("cool-off", Duration::from_secs(60))?;
            let tax: u32 = c.step("tax", |_| Ok(base / 5)).run()?;
            Ok::<_, DurableError>(base + tax)
        })
    }
    let mut runner = LocalRunner::new();
    runner.register("async", child_async);
    runner.register_blocking("blocking", child_blocking);
    let a = runner.run("async", ()).await.unwrap();
    let b = runner.run("blocking", ()).await.unwrap();
    for e in [&a, &b] {
        assert_eq!(e.status(), ExecutionStatus::Succeeded, "{:?}", e.error());
        assert_eq!(e.result::<u32>().unwrap(), 120);
        assert_eq!(e.invocation_count(), 2);
        let tax = e.operation("tax").unwrap();
        assert_eq!(tax.id, "1-3");
        assert_eq!(tax.parent_id.as_deref(), Some("1"));
    }
    let shape = |e: &durable_local::TestExecution| {
        e.user_operations()
            .map(|o| {
                (
                    o.id.clone(),
                    o.operation_type.clone(),
                    o.name.clone(),
                    o.status.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&a), shape(&b));
}

/// A blocking step body that calls a durable operation gets the refusal (the execution fails
/// with `ConcurrencyContractError`), not a panic from a nested `block_on`.
#[tokio::test]
async fn a_durable_call_inside_a_blocking_step_body_is_refused() {
    fn nested(_: (), ctx: &durable_blocking::DurableContext) -> Result<u32, DurableError> {
        ctx.step("outer", |_| {
            let inner: u32 = ctx.step("inner", |_| Ok(1)).run()?;
            Ok(inner)
        })
        .retry(RetryPolicy::none())
        .run()
    }
    let mut runner = LocalRunner::new();
    runner.register_blocking("nested", nested);
    let e = runner.run("nested", ()).await.unwrap();
    assert_eq!(e.status(), ExecutionStatus::Failed);
    assert_eq!(
        e.error().unwrap().type_name(),
        "ConcurrencyContractError",
        "{:?}",
        e.error()
    );
    assert!(e.operation("inner").is_none());
}
