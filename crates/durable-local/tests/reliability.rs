//! One test per finding of the reliability probe (docs/reliability.md, "Findings of the
//! probe"): each reproduces the finding through the real drivers on the local service and
//! checks what a user sees now.

use std::sync::Arc;
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner, TestExecution};
use durable_tokio::{DurableContext, DurableError, RetryPolicy};

/// Fails a test that would otherwise hang (real time: the runner itself uses virtual time).
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("the execution hung")
}

/// Runs `handler` as the only function of a fresh runner, to its end.
async fn run_alone<O, F, Fut>(handler: F) -> TestExecution
where
    O: serde::Serialize + Send + 'static,
    F: Fn((), DurableContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<O, DurableError>> + Send + 'static,
{
    let mut runner = LocalRunner::new();
    runner.register("f", handler);
    within(runner.run("f", ())).await.unwrap()
}

/// The execution failed with an error of type `error_type`.
fn assert_failed_with(execution: &TestExecution, error_type: &str) {
    assert_eq!(execution.status(), ExecutionStatus::Failed);
    assert_eq!(
        execution.error().map(|e| e.type_name()),
        Some(error_type),
        "{:?}",
        execution
            .error()
            .map(|e| e.message().chars().take(300).collect::<String>())
    );
}

async fn http_get(ctx: &DurableContext, url: String, io: Duration) -> Result<String, DurableError> {
    ctx.step("http_get", move |_| async move {
        tokio::time::sleep(io).await;
        Ok(format!("GET {url}"))
    })
    .await
}

/// Finding 1: two joined pipelines whose steps share a name. Before, replay handed the
/// orders slot the result of `GET /price`; now the first run fails with a typed error
/// instead of recording a history that replays wrongly.
#[tokio::test]
async fn joined_pipelines_never_replay_another_operations_value() {
    async fn handler(_: (), ctx: DurableContext) -> Result<(String, String), DurableError> {
        let (orders, tax) = tokio::join!(
            async {
                let user = http_get(&ctx, "/user".into(), Duration::from_millis(1)).await?;
                http_get(&ctx, format!("/orders?{user}"), Duration::ZERO).await
            },
            async {
                let price = http_get(&ctx, "/price".into(), Duration::from_millis(50)).await?;
                http_get(&ctx, format!("/tax?{price}"), Duration::ZERO).await
            },
        );
        ctx.wait("settle", Duration::from_secs(60)).await?;
        Ok((orders?, tax?))
    }
    let execution = run_alone(handler).await;
    assert_failed_with(&execution, "ConcurrencyContractError");
    let error = execution.error().unwrap();
    assert!(
        error.message().contains("child context"),
        "{}",
        error.message()
    );
}

/// Finding 1, the fix users apply: each branch in its own child context replays with its
/// own values.
#[tokio::test]
async fn joined_pipelines_in_child_contexts_replay_their_own_values() {
    async fn handler(_: (), ctx: DurableContext) -> Result<(String, String), DurableError> {
        let (orders, tax) = tokio::join!(
            ctx.run_in_child_context("orders", |c| async move {
                let user = http_get(&c, "/user".into(), Duration::from_millis(1)).await?;
                http_get(&c, format!("/orders?{user}"), Duration::ZERO).await
            }),
            ctx.run_in_child_context("tax", |c| async move {
                let price = http_get(&c, "/price".into(), Duration::from_millis(50)).await?;
                http_get(&c, format!("/tax?{price}"), Duration::ZERO).await
            }),
        );
        ctx.wait("settle", Duration::from_secs(60)).await?;
        Ok((orders?, tax?))
    }
    let execution = run_alone(handler).await;
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert!(execution.invocation_count() >= 2, "the wait made it replay");
    let (orders, tax): (String, String) = execution.result().unwrap();
    assert_eq!(orders, "GET /orders?GET /user");
    assert_eq!(tax, "GET /tax?GET /price");
}

/// Finding 1: a durable call inside a step body is refused with a typed error.
#[tokio::test]
async fn a_durable_call_inside_a_step_body_is_refused() {
    async fn handler(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
        let inner = ctx.clone();
        ctx.step("outer", move |_| async move {
            inner.wait("inside", Duration::from_secs(1)).await?;
            Ok(1)
        })
        .retry(RetryPolicy::none())
        .await
    }
    let execution = run_alone(handler).await;
    assert_failed_with(&execution, "ConcurrencyContractError");
    assert!(
        execution.operation("inside").is_none(),
        "nothing was recorded for it"
    );
}

/// Finding 2: a step future created but never polled (the loser of a biased select) and
/// a dropped wait leave the accounting exact: the invocation suspends for the real wait,
/// and never sleeps for an abandoned one.
#[tokio::test]
async fn dropped_and_unpolled_operations_neither_hang_nor_hold_the_execution() {
    async fn handler(_: (), ctx: DurableContext) -> Result<String, DurableError> {
        let first = tokio::select! {
            biased;
            a = ctx.step("fast", |_| async { Ok("fast".to_owned()) }) => a?,
            b = ctx.step("slow", |_| async { Ok("slow".to_owned()) }) => b?,
        };
        // The wait is created (its START queued) and dropped unpolled by the select.
        tokio::select! {
            biased;
            () = std::future::ready(()) => {}
            _ = ctx.wait("abandoned", Duration::from_secs(24 * 3600)) => {}
        }
        tokio::task::yield_now().await;
        ctx.wait("real", Duration::from_secs(60)).await?;
        Ok(first)
    }
    let execution = run_alone(handler).await;
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    let elapsed = execution.elapsed_millis();
    assert!(
        elapsed < 3_600_000,
        "slept for the abandoned wait: {elapsed} ms"
    );
    assert!(elapsed >= 60_000, "the real wait was kept: {elapsed} ms");
}

/// Finding 4: an error made of control characters is fitted by its JSON size, so the step
/// fails with its own error instead of the service rejecting the batch.
#[tokio::test]
async fn an_error_of_control_characters_is_recorded_not_rejected() {
    #[derive(Debug)]
    struct Garbled(String);
    impl std::fmt::Display for Garbled {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }
    impl std::error::Error for Garbled {}
    async fn handler(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
        ctx.step("garbled", |_| async {
            Err::<u32, durable_tokio::StepError>(Garbled("\u{1}".repeat(200 * 1024)).into())
        })
        .retry(RetryPolicy::none())
        .await
    }
    let execution = run_alone(handler).await;
    assert_failed_with(&execution, "Garbled");
    let step = execution
        .operation("garbled")
        .expect("the step is recorded");
    assert_eq!(step.status, durable_proto::OperationStatus::Failed);
}

/// Finding 5: the service acknowledges a WAIT START without recording it. Before, PENDING
/// with nothing pending failed the execution; now the invocation ends, Lambda retries it,
/// and the wait is started again.
#[tokio::test]
async fn a_lost_wait_start_is_noticed_before_pending() {
    async fn handler(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
        ctx.wait("w", Duration::from_secs(60)).await?;
        Ok(7)
    }
    let mut runner = LocalRunner::new();
    runner.register("f", handler);
    runner.client().drop_next_start_named("w");
    let execution = within(runner.run("f", ())).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert_eq!(runner.client().dropped_starts(), 1);
    let retried = execution
        .invocations()
        .iter()
        .any(|i| format!("{i:?}").contains("CheckpointLost"));
    assert!(retried, "{:?}", execution.invocations());
}

/// Finding 6: a blocking handler that outlives its invocation's timeout must not run its
/// next step's body (its side effect would happen twice).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_blocking_handler_runs_no_further_body() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let mut runner = LocalRunner::builder()
        .invocation_timeout(Duration::from_millis(200))
        .build();
    let first = Arc::new(AtomicU32::new(0));
    let (woke_tx, woke_rx) = std::sync::mpsc::channel::<()>();
    let woke_tx = std::sync::Mutex::new(woke_tx);
    runner.register_blocking("f", move |_: (), ctx: &durable_blocking::DurableContext| {
        let slow = first.fetch_add(1, Ordering::SeqCst) == 0;
        if slow {
            std::thread::sleep(Duration::from_millis(600));
        }
        let n = ctx
            .step("side-effect", |_| {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok(1u32)
            })
            .run();
        if slow {
            let _ = woke_tx.lock().unwrap().send(());
        }
        n
    });
    let execution = within(runner.run("f", ())).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert!(
        execution.invocation_count() >= 2,
        "the first invocation timed out"
    );
    // The abandoned thread wakes and tries its step.
    tokio::task::spawn_blocking(move || woke_rx.recv_timeout(Duration::from_secs(10)))
        .await
        .unwrap()
        .expect("the abandoned handler reached its step");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the side effect ran once");
}

/// Finding 3: a checkpoint response without a token. Before, the driver went back to
/// waiting while user code was parked (an at-most-once step waiting for its START), and the
/// invocation hung; now it ends with `CheckpointUnavailable` and Lambda retries it.
#[tokio::test]
async fn a_response_without_a_token_ends_the_invocation_instead_of_hanging() {
    use durable_local::{lock_service, LocalClient, LocalService, ServiceConfig, SharedService};
    use durable_proto::{ApiFailure, CheckpointResponse, ExecutionState, InvocationOutcome};
    use durable_tokio::{BoxFuture, CheckpointClient, Options};
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Drops the token from the first checkpoint response.
    struct Tokenless {
        inner: LocalClient,
        first: AtomicBool,
    }
    impl CheckpointClient for Tokenless {
        fn checkpoint(
            &self,
            arn: String,
            token: String,
            updates: Vec<durable_proto::OperationUpdate>,
        ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
            let strip = self.first.swap(false, Ordering::SeqCst);
            let call = self.inner.checkpoint(arn, token, updates);
            Box::pin(async move {
                let mut response = call.await?;
                if strip {
                    response.checkpoint_token = None;
                }
                Ok(response)
            })
        }
        fn get_state(
            &self,
            arn: String,
            token: String,
            marker: String,
        ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
            self.inner.get_state(arn, token, marker)
        }
    }

    let service: SharedService = Arc::new(std::sync::Mutex::new(LocalService::new(
        ServiceConfig::default(),
    )));
    let arn = lock_service(&service).start_execution("f", "{}").unwrap();
    let client = Arc::new(Tokenless {
        inner: LocalClient::new(service.clone()),
        first: AtomicBool::new(true),
    });
    let input = lock_service(&service).begin_invocation(&arn).unwrap();
    let outcome = within(durable_tokio::handle(
        input,
        client,
        Options::default(),
        |_: serde_json::Value, ctx: DurableContext| async move {
            // Four 200 KB results: more than one batch, so updates are still queued when
            // the first response arrives.
            for i in 0..4 {
                let _: String = ctx
                    .step(&format!("big{i}"), |_| async { Ok("x".repeat(200 * 1024)) })
                    .await?;
            }
            ctx.step("charge", |_| async { Ok(1u32) })
                .at_most_once()
                .await
        },
    ))
    .await;
    match outcome {
        InvocationOutcome::Failure(f) => assert_eq!(f.error_type, "CheckpointUnavailable"),
        other => panic!("expected the invocation to fail, got {other:?}"),
    }
}

/// `n` steps returning 0..n, summed.
async fn sum_of_steps(ctx: &DurableContext, n: u32) -> Result<u32, DurableError> {
    let mut sum = 0;
    for i in 0..n {
        sum += ctx.step("s", move |_| async move { Ok(i) }).await?;
    }
    Ok(sum)
}

/// Finding 7: the engine read every `NextMarker` page of its own checkpoint responses
/// (99,601 GetState calls for 50,000 steps at page size 1). It needs none of them while
/// nothing blocked lacks its record.
#[tokio::test]
async fn checkpoint_response_pages_are_read_only_when_needed() {
    async fn handler(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
        sum_of_steps(&ctx, 300).await
    }
    let mut runner = LocalRunner::builder().page_size(1).build();
    runner.register("f", handler);
    let execution = within(runner.run("f", ())).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert_eq!(execution.result::<u32>().unwrap(), (0..300).sum::<u32>());
    assert_eq!(execution.invocation_count(), 1);
    assert_eq!(execution.state_calls(), 0, "no response page was needed");
}

/// Finding 7: replaying a long history at page size 1 reads each page once, and every
/// record arrives (the local service pages by position instead of rescanning).
#[tokio::test]
async fn a_long_replay_at_page_size_one_reads_each_record_once() {
    async fn handler(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
        let sum = sum_of_steps(&ctx, 500).await?;
        ctx.wait("w", Duration::from_secs(5)).await?;
        Ok(sum)
    }
    let mut runner = LocalRunner::builder().page_size(1).build();
    runner.register("f", handler);
    let execution = within(runner.run("f", ())).await.unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    assert_eq!(execution.result::<u32>().unwrap(), (0..500).sum::<u32>());
    assert_eq!(execution.invocation_count(), 2);
    // The replay's envelope holds one record and the other 501 come one page each. Before
    // suspending, the first invocation also reads the pages of its last checkpoint response
    // up to the wait's record (fewer than one batch of 250 updates). Reading every page of
    // every response, as before, cost about a thousand more.
    let calls = execution.state_calls();
    assert!((501..501 + 250).contains(&calls), "{calls} state calls");
}
