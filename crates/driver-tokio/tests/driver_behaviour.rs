//! Driver behaviour the service can observe, on the in-memory service (`durable-local`):
//! how many checkpoint calls a workflow costs, when the invocation suspends, what fails it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::{
    lock_service, InvocationEnd, LocalClient, LocalService, ServiceConfig, SharedService,
};
use durable_proto::{
    ApiFailure, CheckpointResponse, ErrorObject, ExecutionConfig, ExecutionState,
    InvocationOutcome, InvocationOutput, InvocationStatus, OperationAction, OperationUpdate,
};
use durable_tokio::{
    handle, serdes_fn, BoxFuture, CheckpointClient, DurableContext, DurableError, Options,
    RetryPolicy, StepError,
};

/// Adds latency to every call, counts checkpoint calls and records what they sent and when
/// the service acknowledged it.
struct Slow {
    inner: LocalClient,
    delay: Duration,
    checkpoints: AtomicUsize,
    /// Every update sent, in order.
    sent: Mutex<Vec<OperationUpdate>>,
    /// Updates the service acknowledged, counted when a call returns (before the driver
    /// hands the response to the engine).
    acknowledged: Arc<AtomicUsize>,
}

impl CheckpointClient for Slow {
    fn checkpoint(
        &self,
        arn: String,
        token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        self.checkpoints.fetch_add(1, Ordering::SeqCst);
        let n = updates.len();
        self.sent.lock().unwrap().extend(updates.iter().cloned());
        let acknowledged = self.acknowledged.clone();
        let delay = self.delay;
        let call = self.inner.checkpoint(arn, token, updates);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            let response = call.await;
            if response.is_ok() {
                acknowledged.fetch_add(n, Ordering::SeqCst);
            }
            response
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

struct Harness {
    service: SharedService,
    client: Arc<Slow>,
    arn: String,
}

impl Harness {
    fn new(delay: Duration) -> Self {
        let service: SharedService = Arc::new(std::sync::Mutex::new(LocalService::new(
            ServiceConfig::default(),
        )));
        let arn = lock_service(&service).start_execution("f", "{}").unwrap();
        let client = Arc::new(Slow {
            inner: LocalClient::new(service.clone()),
            delay,
            checkpoints: AtomicUsize::new(0),
            sent: Mutex::new(Vec::new()),
            acknowledged: Arc::new(AtomicUsize::new(0)),
        });
        Self {
            service,
            client,
            arn,
        }
    }

    async fn invoke<O, F, Fut>(&self, options: Options, handler: F) -> InvocationOutcome
    where
        O: serde::Serialize + Send + 'static,
        F: FnOnce(serde_json::Value, DurableContext) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<O, DurableError>> + Send + 'static,
    {
        let input = lock_service(&self.service)
            .begin_invocation(&self.arn)
            .unwrap();
        let outcome = handle(input, self.client.clone(), options, handler).await;
        let end = match &outcome {
            InvocationOutcome::Output(o) => InvocationEnd::Returned(o.clone()),
            InvocationOutcome::Failure(f) => {
                InvocationEnd::Errored(ErrorObject::new(f.error_type.clone(), f.message.clone()))
            }
            other => panic!("unexpected outcome {other:?}"),
        };
        lock_service(&self.service)
            .complete_invocation(&self.arn, end)
            .unwrap();
        outcome
    }

    fn calls(&self) -> usize {
        self.client.checkpoints.load(Ordering::SeqCst)
    }
}

fn output(outcome: InvocationOutcome) -> InvocationOutput {
    match outcome {
        InvocationOutcome::Output(o) => o,
        other => panic!("expected an output, got {other:?}"),
    }
}

async fn sequential_steps(
    ctx: DurableContext,
    n: u32,
    at_most_once: bool,
) -> Result<u32, DurableError> {
    let mut sum = 0;
    for i in 0..n {
        let step = ctx.step(&format!("s{i}"), move |_| async move { Ok(i) });
        let step = if at_most_once {
            step.at_most_once()
        } else {
            step
        };
        sum += step.await?;
    }
    Ok(sum)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_least_once_steps_never_wait_for_a_round_trip() {
    let h = Harness::new(Duration::from_millis(30));
    let out = output(
        h.invoke(Options::default(), |_, ctx| {
            sequential_steps(ctx, 20, false)
        })
        .await,
    );
    assert_eq!(out.status, InvocationStatus::Succeeded);
    assert_eq!(out.result.as_deref(), Some("190"));
    // 40 updates, pipelined: far fewer calls than steps.
    assert!(
        h.calls() <= 3,
        "{} checkpoint calls for 20 steps",
        h.calls()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_once_steps_cost_exactly_one_awaited_round_trip_each() {
    let h = Harness::new(Duration::from_millis(5));
    let out = output(
        h.invoke(Options::default(), |_, ctx| sequential_steps(ctx, 10, true))
            .await,
    );
    assert_eq!(out.status, InvocationStatus::Succeeded);
    // START of step k rides with SUCCEED of step k-1; the last SUCCEED goes alone.
    assert_eq!(h.calls(), 11);
}

/// The `i` of a step update named `s{i}`.
fn step_index(update: &OperationUpdate) -> Option<usize> {
    update.name.as_deref()?.strip_prefix('s')?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_work_is_bounded() {
    const BOUND: usize = 10;
    const STEPS: usize = 20;
    let h = Harness::new(Duration::from_millis(30));
    let mut options = Options::default();
    options.execution = ExecutionConfig::default();
    options.execution.max_unacknowledged_updates = BOUND;
    // How many updates the service had acknowledged when each step body started.
    let acked_at_body = Arc::new(Mutex::new(Vec::new()));
    let (acknowledged, seen) = (h.client.acknowledged.clone(), acked_at_body.clone());
    let out = output(
        h.invoke(options, move |_, ctx| async move {
            let mut sum = 0;
            for i in 0..STEPS {
                let (acknowledged, seen) = (acknowledged.clone(), seen.clone());
                sum += ctx
                    .step(&format!("s{i}"), move |_| async move {
                        seen.lock()
                            .unwrap()
                            .push(acknowledged.load(Ordering::SeqCst));
                        Ok(i)
                    })
                    .await?;
            }
            Ok(sum)
        })
        .await,
    );
    assert_eq!(out.status, InvocationStatus::Succeeded);
    assert_eq!(out.result.as_deref(), Some("190"));
    let sent = h.client.sent.lock().unwrap().clone();
    let acked_at_body = acked_at_body.lock().unwrap().clone();
    assert_eq!(acked_at_body.len(), STEPS, "every body ran once");
    // When body `i` started, the engine had queued every update of the steps before it and
    // the START of step `i` (the outbox is sent in order, so these are the updates sent for
    // them); the service had acknowledged `acked` of them.
    let mut unacknowledged = Vec::new();
    for (i, &acked) in acked_at_body.iter().enumerate() {
        let produced = sent
            .iter()
            .filter(|u| match step_index(u) {
                Some(j) => j < i || (j == i && u.action == OperationAction::Start),
                None => false,
            })
            .count();
        unacknowledged.push(
            produced
                .checked_sub(acked)
                .expect("acknowledged more than was sent"),
        );
    }
    assert!(
        unacknowledged.iter().all(|&n| n <= BOUND),
        "updates unacknowledged when each body started: {unacknowledged:?}"
    );
    // The bodies did run ahead of the acknowledgements (the bound is what stopped them).
    assert!(
        unacknowledged.iter().any(|&n| n > 2),
        "updates unacknowledged when each body started: {unacknowledged:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_step_does_not_block_suspension() {
    let h = Harness::new(Duration::ZERO);
    let out = output(
        h.invoke(Options::default(), |_, ctx| async move {
            let slow = ctx.step("slow", |_| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(1)
            });
            // The caller gives up on the step: its future is dropped mid-body.
            let _ = tokio::time::timeout(
                Duration::from_millis(20),
                std::future::IntoFuture::into_future(slow),
            )
            .await;
            ctx.wait("later", Duration::from_secs(60)).await?;
            Ok(0)
        })
        .await,
    );
    assert_eq!(out.status, InvocationStatus::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_code_fails_the_execution_with_non_determinism() {
    let h = Harness::new(Duration::ZERO);
    let first = output(
        h.invoke(Options::default(), |_, ctx| async move {
            ctx.step("reserve", |_| async { Ok(1) }).await?;
            ctx.wait("cool-off", Duration::from_secs(60)).await?;
            Ok(1)
        })
        .await,
    );
    assert_eq!(first.status, InvocationStatus::Pending);
    lock_service(&h.service).advance_to_next_timer(&h.arn);
    let second = output(
        h.invoke(Options::default(), |_, ctx| async move {
            ctx.step("renamed", |_| async { Ok(1) }).await?;
            Ok(2)
        })
        .await,
    );
    assert_eq!(second.status, InvocationStatus::Failed);
    let error = second.error.unwrap();
    assert_eq!(error.type_name(), "NonDeterministicExecutionError");
    assert!(
        error.message().contains("\"reserve\"") && error.message().contains("\"renamed\""),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_run_sees_the_round_tripped_value() {
    let h = Harness::new(Duration::ZERO);
    let out = output(
        h.invoke(Options::default(), |_, ctx| async move {
            let upper = serdes_fn(
                |s: &String| Ok(format!("\"{}\"", s.to_uppercase())),
                |t: &str| serde_json::from_str::<String>(t).map_err(|e| e.to_string()),
            );
            let v: String = ctx
                .step("shout", |_| async { Ok("hello".to_owned()) })
                .serdes(upper)
                .await?;
            Ok(v)
        })
        .await,
    );
    assert_eq!(out.result.as_deref(), Some("\"HELLO\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_of_the_wrong_shape_fails_clearly() {
    #[derive(serde::Deserialize)]
    struct Order {
        #[allow(dead_code)]
        id: String,
    }
    let h = Harness::new(Duration::ZERO);
    let input = lock_service(&h.service).begin_invocation(&h.arn).unwrap();
    let outcome = handle(
        input,
        h.client.clone(),
        Options::default(),
        |_: Order, _ctx: DurableContext| async { Ok::<_, DurableError>(()) },
    )
    .await;
    let out = output(outcome);
    assert_eq!(out.status, InvocationStatus::Failed);
    let error = out.error.unwrap();
    assert_eq!(error.type_name(), "InvalidInput");
    assert!(error.message().contains("Order"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_step_propagated_from_the_handler_fails_with_the_original_error() {
    let h = Harness::new(Duration::ZERO);
    let out = output(
        h.invoke(Options::default(), |_, ctx| async move {
            let v: u32 = ctx
                .step("declined", |_| async {
                    Err::<u32, _>(StepError::msg("card declined"))
                })
                .retry(RetryPolicy::none())
                .await?;
            Ok(v)
        })
        .await,
    );
    assert_eq!(out.status, InvocationStatus::Failed);
    let error = out.error.unwrap();
    assert_eq!(error.type_name(), "Error");
    assert_eq!(error.message(), "card declined");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_step_is_a_failed_attempt_and_a_panicking_handler_fails_the_execution() {
    let h = Harness::new(Duration::ZERO);
    let first = output(
        h.invoke(Options::default(), |_, ctx| async move {
            let v: u32 = ctx
                .step("fragile", |s| async move {
                    if s.attempt() == 1 {
                        panic!("index out of bounds");
                    }
                    Ok(s.attempt())
                })
                .retry(
                    RetryPolicy::try_exponential(
                        2,
                        Duration::from_secs(1),
                        Duration::from_secs(1),
                        1.0,
                    )
                    .unwrap(),
                )
                .await?;
            Ok(v)
        })
        .await,
    );
    assert_eq!(
        first.status,
        InvocationStatus::Pending,
        "the panic was retried"
    );
    let record = lock_service(&h.service)
        .execution(&h.arn)
        .unwrap()
        .operations()[1]
        .clone();
    let error = record.step_details.unwrap().error.unwrap();
    assert_eq!(error.type_name(), durable_tokio::PANIC_ERROR_TYPE);
    assert_eq!(error.message(), "index out of bounds");

    let h = Harness::new(Duration::ZERO);
    let out = output(
        h.invoke(Options::default(), |_, _ctx| async move {
            if true {
                panic!("bug in the handler");
            }
            Ok(0)
        })
        .await,
    );
    assert_eq!(out.status, InvocationStatus::Failed);
    assert_eq!(out.error.unwrap().message(), "bug in the handler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invoke_passes_the_invocations_trace_header_on_unless_one_is_given() {
    let h = Harness::new(Duration::ZERO);
    let mut options = Options::default();
    let mut lambda = lambda_runtime::Context::default();
    lambda.xray_trace_id = Some("Root=1-caller".to_owned());
    options.lambda_context = Some(lambda);
    let out = h
        .invoke(options, |_, ctx: DurableContext| async move {
            let inherited = ctx.invoke::<u8, _>("a", "target:1", &1);
            let chosen = ctx
                .invoke::<u8, _>("b", "target:1", &2)
                .trace_header("Root=1-chosen");
            // Both begin before either is awaited; both block until their targets end.
            use std::future::IntoFuture;
            let _ = tokio::join!(inherited.into_future(), chosen.into_future());
            Ok::<_, DurableError>(())
        })
        .await;
    assert_eq!(output(out).status, InvocationStatus::Pending);
    let sent = h.client.sent.lock().unwrap().clone();
    let traces: Vec<Option<String>> = sent
        .iter()
        .filter_map(|u| u.chained_invoke_options.as_ref())
        .map(|o| o.x_amzn_trace_id.clone())
        .collect();
    assert_eq!(
        traces,
        [
            Some("Root=1-caller".to_owned()),
            Some("Root=1-chosen".to_owned())
        ]
    );
}
