//! The real `ctx.map` under benchmark: a live map against the latency fake, and the replay
//! of a finished map from raw envelope bytes.
//!
//! The finished map's envelope is produced, not hand-written: the map runs once on the
//! project's service model (`durable_service::LocalService`), and the next invocation's
//! envelope is what the service hands out (its pages joined into one). A map of 10,000
//! items records a result too large for one operation, so the service keeps showing the
//! item operations (`ReplayChildren`) and a replay rebuilds the result from them: that is
//! the path measured.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use durable_proto::{
    ApiFailure, CheckpointResponse, Envelope, ExecutionState, InvocationStatus, OperationUpdate,
};
use durable_service::{InvocationEnd, LocalService, ServiceConfig};
use durable_tokio::{
    BoxFuture, CheckpointClient, DurableContext, DurableError, InvocationOutcome, Options,
};
use serde::de::IgnoredAny;

use crate::{expect_sum, fresh_envelope, triangle, FakeService, LiveRun, NoCallClient, MAP_NAME};

/// The name of the map operation.
pub const MAP_OPERATION: &str = "items";

/// A map over `1..=items` at most `concurrency` at a time, each item one step whose body
/// takes `body` (a sleep) and returns the item; the result is the sum of the values.
pub async fn map_items(
    ctx: &DurableContext,
    items: u64,
    concurrency: u32,
    body: Duration,
) -> Result<u64, DurableError> {
    let result = ctx
        .map(
            MAP_OPERATION,
            (1..=items).collect::<Vec<u64>>(),
            move |c, i, _| async move {
                Ok(c.step(MAP_NAME, move |_| async move {
                    if !body.is_zero() {
                        tokio::time::sleep(body).await;
                    }
                    Ok(i)
                })
                .await?)
            },
        )
        .max_concurrency(concurrency)
        .await?;
    Ok(result.into_values().into_iter().sum())
}

/// A first invocation running [`map_items`] against a [`FakeService`] whose every call takes
/// `latency`: wall time from raw bytes to the output, and the calls made.
pub async fn live_map(items: u64, concurrency: u32, body: Duration, latency: Duration) -> LiveRun {
    let service = Arc::new(FakeService::new(latency));
    let bytes = fresh_envelope();
    let start = Instant::now();
    let input = Envelope::from_slice(&bytes).expect("a valid envelope");
    let outcome = durable_tokio::handle(
        input,
        service.clone(),
        Options::default(),
        move |_: IgnoredAny, ctx| async move { map_items(&ctx, items, concurrency, body).await },
    )
    .await;
    let wall = start.elapsed();
    assert_eq!(expect_sum(outcome), triangle(items));
    LiveRun {
        wall,
        calls: service.calls(),
        updates: service.updates(),
    }
}

/// A [`CheckpointClient`] over a shared [`LocalService`], for producing histories; any
/// refusal is a bug in the benchmark and panics.
struct ModelClient(Arc<Mutex<LocalService>>);

impl CheckpointClient for ModelClient {
    fn checkpoint(
        &self,
        arn: String,
        token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        let response = self
            .0
            .lock()
            .expect("service lock")
            .checkpoint(&arn, &token, updates)
            .unwrap_or_else(|e| panic!("checkpoint refused: {e}"));
        Box::pin(async move { Ok(response) })
    }

    fn get_state(
        &self,
        arn: String,
        token: String,
        marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        let page = self
            .0
            .lock()
            .expect("service lock")
            .get_state(&arn, &token, Some(&marker), None)
            .unwrap_or_else(|e| panic!("state read refused: {e}"));
        Box::pin(async move { Ok(page) })
    }
}

/// The handler of the finished-map envelope: the map, then a one-second wait (so the first
/// invocation suspends and the service hands out a replay envelope), then the sum.
async fn map_then_wait(ctx: DurableContext, items: u64) -> Result<u64, DurableError> {
    let sum = map_items(&ctx, items, 100, Duration::ZERO).await?;
    ctx.wait("hold", Duration::from_secs(1)).await?;
    Ok(sum)
}

/// The JSON bytes of the envelope that replays a finished map of `items` items (one step
/// each), as the service model hands it out after the map finished and the wait after it
/// elapsed, its pages joined.
pub fn finished_map_envelope(items: u64) -> Vec<u8> {
    let mut config = ServiceConfig::default();
    config.page_size = 1000;
    let service = Arc::new(Mutex::new(LocalService::new(config)));
    let arn = service
        .lock()
        .expect("service lock")
        .start_execution("bench", "{}")
        .expect("the execution starts");
    let input = service
        .lock()
        .expect("service lock")
        .begin_invocation(&arn)
        .expect("an invocation");
    let rt = crate::runtime();
    let client = Arc::new(ModelClient(service.clone()));
    let outcome = rt.block_on(durable_tokio::handle(
        input,
        client,
        Options::default(),
        move |_: IgnoredAny, ctx| map_then_wait(ctx, items),
    ));
    let InvocationOutcome::Output(output) = outcome else {
        panic!("the first invocation failed: {outcome:?}");
    };
    assert_eq!(output.status, InvocationStatus::Pending, "{output:?}");
    let mut svc = service.lock().expect("service lock");
    svc.complete_invocation(&arn, InvocationEnd::Returned(output))
        .expect("the invocation ends");
    while svc.advance_to_next_timer(&arn).is_some() {}
    let mut input = svc.begin_invocation(&arn).expect("the replay invocation");
    while let Some(marker) = input.initial_execution_state.next_marker.take() {
        let page = svc
            .get_state(&arn, &input.checkpoint_token, Some(&marker), None)
            .expect("a state page");
        input
            .initial_execution_state
            .operations
            .extend(page.operations);
        input.initial_execution_state.next_marker = page.next_marker;
    }
    serde_json::to_vec(&input).expect("an envelope serializes")
}

/// Replays a [`finished_map_envelope`] of `items` items with the async driver: parse, run
/// the handler to its output. Panics if the service is called or the sum is wrong.
pub async fn replay_finished_map(bytes: &[u8], items: u64) -> u64 {
    replay_finished_map_input(
        Envelope::from_slice(bytes).expect("a valid envelope"),
        items,
    )
    .await
}

/// Like [`replay_finished_map`], from bytes the engine takes over without a copy.
pub async fn replay_finished_map_owned(bytes: Vec<u8>, items: u64) -> u64 {
    replay_finished_map_input(Envelope::from_vec(bytes).expect("a valid envelope"), items).await
}

async fn replay_finished_map_input(input: Envelope, items: u64) -> u64 {
    let client = Arc::new(NoCallClient::default());
    expect_sum(
        durable_tokio::handle(
            input,
            client,
            Options::default(),
            move |_: IgnoredAny, ctx| map_then_wait(ctx, items),
        )
        .await,
    )
}
