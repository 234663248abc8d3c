//! Shared pieces of the durable SDK's benchmarks (see docs/performance.md): envelopes built
//! once as raw bytes, checkpoint clients (one that must never be called, one that simulates
//! the service with a chosen latency), the handlers under test, and timing helpers.
//!
//! Everything here goes through the public entry points users call:
//! [`Envelope::from_slice`], [`durable_tokio::handle`], [`durable_blocking::handle`],
//! `DurableContext::step`.

pub mod evidence;
pub mod fake_service;
pub mod map;
pub mod runtime_api;

use std::fmt::Write as _;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use durable_proto::{
    ApiFailure, CheckpointResponse, Envelope, ExecutionState, InvocationStatus, OperationUpdate,
};
use durable_tokio::{
    BoxFuture, CheckpointClient, DurableContext, DurableError, InvocationOutcome, Options,
    StepSemantics,
};
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde::de::IgnoredAny;

pub use fake_service::FakeService;

/// The execution ARN of every benchmark envelope; its last segment is [`EXECUTION_ID`].
pub const ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:bench:1/durable-execution/bench/exec-1";
/// The EXECUTION operation's id.
pub const EXECUTION_ID: &str = "exec-1";
/// The name of every step the sequential handlers run.
pub const STEP_NAME: &str = "add";
/// The name of every step the map emulation runs.
pub const MAP_NAME: &str = "item";

/// The JSON bytes of an invocation envelope: the EXECUTION operation and `n` SUCCEEDED
/// steps with ids `"1"..="n"`, name `name`, sub-type `Step`, timestamps and a small JSON
/// result (the step's number), the way the service records them.
pub fn envelope(n: u64, name: &str) -> Vec<u8> {
    let mut s = String::with_capacity(64 + 200 * n as usize);
    s.push_str(r#"{"DurableExecutionArn":""#);
    s.push_str(ARN);
    s.push_str(r#"","CheckpointToken":"t0","InitialExecutionState":{"Operations":["#);
    s.push_str(r#"{"Id":"exec-1","Type":"EXECUTION","Status":"STARTED","#);
    s.push_str(r#""StartTimestamp":1795872239000,"ExecutionDetails":{"InputPayload":"{}"}}"#);
    let t0 = 1_795_872_239_083_u64;
    for i in 1..=n {
        let start = t0 + i * 7;
        let _ = write!(
            s,
            r#",{{"Id":"{i}","Name":"{name}","Type":"STEP","SubType":"Step","Status":"SUCCEEDED","StartTimestamp":{start},"EndTimestamp":{end},"StepDetails":{{"Attempt":1,"Result":"{i}"}}}}"#,
            end = start + 3
        );
    }
    s.push_str("]}}");
    s.into_bytes()
}

/// The envelope of `n` SUCCEEDED child contexts named `group` (ids `"1"..="n"`, result the
/// context's number), each of which ran one step. The service hides the children of a
/// finished context (no `ReplayChildren`), so only the contexts are in it.
pub fn context_envelope(n: u64) -> Vec<u8> {
    let mut s = String::from_utf8(envelope(0, STEP_NAME)).expect("utf-8");
    s.truncate(s.len() - "]}}".len());
    let t0 = 1_795_872_239_083_u64;
    for i in 1..=n {
        let start = t0 + i * 7;
        let _ = write!(
            s,
            r#",{{"Id":"{i}","Name":"group","Type":"CONTEXT","SubType":"RunInChildContext","Status":"SUCCEEDED","StartTimestamp":{start},"EndTimestamp":{end},"ContextDetails":{{"Result":"{i}"}}}}"#,
            end = start + 3
        );
    }
    s.push_str("]}}");
    s.into_bytes()
}

/// Replays a [`context_envelope`] of `n` contexts with the async driver, each context
/// holding one step (not run: the contexts finished on record).
pub async fn replay_contexts_tokio(bytes: &[u8], n: u64) -> u64 {
    replay_with(bytes, move |_, ctx| async move {
        let mut sum = 0;
        for i in 1..=n {
            sum += ctx
                .run_in_child_context("group", move |c| async move {
                    c.step(STEP_NAME, move |_| async move { Ok(i) }).await
                })
                .await?;
        }
        Ok(sum)
    })
    .await
}

/// The envelope of a first invocation: only the EXECUTION operation.
pub fn fresh_envelope() -> Vec<u8> {
    envelope(0, STEP_NAME)
}

/// A checkpoint client for pure replay: it counts calls and panics, because replaying a
/// fully recorded history must not call the service at all.
#[derive(Debug, Default)]
pub struct NoCallClient {
    calls: AtomicU64,
}

impl NoCallClient {
    /// Calls made (always 0 when the process is still running).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl CheckpointClient for NoCallClient {
    fn checkpoint(
        &self,
        _arn: String,
        _token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        panic!(
            "pure replay made a checkpoint call with {} updates",
            updates.len()
        );
    }

    fn get_state(
        &self,
        _arn: String,
        _token: String,
        _marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        panic!("pure replay read a state page");
    }
}

/// The sequential handler: `n` steps, each returning its number; the result is their sum.
pub async fn sequential_steps(
    ctx: DurableContext,
    n: u64,
    semantics: StepSemantics,
    body_time: Duration,
) -> Result<u64, DurableError> {
    let mut sum = 0;
    for i in 1..=n {
        let value: u64 = ctx
            .step(STEP_NAME, move |_| async move {
                if !body_time.is_zero() {
                    tokio::time::sleep(body_time).await;
                }
                Ok(i)
            })
            .semantics(semantics)
            .await?;
        sum += value;
    }
    Ok(sum)
}

/// Emulates `map` over `items` with at most `concurrency` steps in flight (the SDK has no
/// map operation yet): a sliding window of at-least-once steps on one `FuturesUnordered`.
/// Each step future is created in item order, so ids are `"1"..` whatever order the steps
/// finish in; a real map would wrap each item in a child context.
pub async fn map_window(
    ctx: DurableContext,
    items: u64,
    concurrency: usize,
    body_time: Duration,
) -> Result<u64, DurableError> {
    let step = |i: u64| {
        ctx.step(MAP_NAME, move |_| async move {
            if !body_time.is_zero() {
                tokio::time::sleep(body_time).await;
            }
            Ok(i)
        })
        .into_future()
    };
    let mut in_flight = FuturesUnordered::new();
    let mut next = 1;
    let mut sum = 0;
    while next <= items || !in_flight.is_empty() {
        while next <= items && in_flight.len() < concurrency {
            in_flight.push(step(next));
            next += 1;
        }
        if let Some(result) = in_flight.next().await {
            sum += result?;
        }
    }
    Ok(sum)
}

/// The same window of `items` sleeps of `body_time` without the SDK: the map floor.
pub async fn map_window_floor(items: u64, concurrency: usize, body_time: Duration) -> u64 {
    let mut in_flight = FuturesUnordered::new();
    let (mut next, mut sum) = (1, 0);
    while next <= items || !in_flight.is_empty() {
        while next <= items && in_flight.len() < concurrency {
            let i = next;
            in_flight.push(async move {
                tokio::time::sleep(body_time).await;
                i
            });
            next += 1;
        }
        if let Some(i) = in_flight.next().await {
            sum += i;
        }
    }
    sum
}

/// The SUCCEEDED result of an outcome, as the `u64` the handlers return.
pub fn expect_sum(outcome: InvocationOutcome) -> u64 {
    match outcome {
        InvocationOutcome::Output(out) if out.status == InvocationStatus::Succeeded => {
            let text = out.result.expect("a SUCCEEDED result");
            serde_json::from_str(&text).expect("a u64 result")
        }
        other => panic!("the invocation did not succeed: {other:?}"),
    }
}

/// The sum of `1..=n`, what every handler here returns.
pub fn triangle(n: u64) -> u64 {
    n * (n + 1) / 2
}

/// Replays `bytes` with the async driver and `handler`: parse, run the handler to its
/// output. Panics if the service is called or the handler does not return a sum.
async fn replay_with<F, Fut>(bytes: &[u8], handler: F) -> u64
where
    F: FnOnce(IgnoredAny, DurableContext) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<u64, DurableError>> + Send + 'static,
{
    replay_input(
        Envelope::from_slice(bytes).expect("a valid envelope"),
        handler,
    )
    .await
}

/// Like [`replay_tokio`], from bytes the engine takes over without a copy, as it takes the
/// Lambda runtime's payload.
pub async fn replay_tokio_owned(bytes: Vec<u8>, n: u64) -> u64 {
    let input = Envelope::from_vec(bytes).expect("a valid envelope");
    replay_input(input, move |_, ctx| {
        sequential_steps(ctx, n, StepSemantics::AtLeastOncePerRetry, Duration::ZERO)
    })
    .await
}

async fn replay_input<F, Fut>(input: Envelope, handler: F) -> u64
where
    F: FnOnce(IgnoredAny, DurableContext) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<u64, DurableError>> + Send + 'static,
{
    let client = Arc::new(NoCallClient::default());
    expect_sum(durable_tokio::handle(input, client, Options::default(), handler).await)
}

/// Replays `bytes` (an [`envelope`] of `n` steps) with the async driver: parse, run the
/// handler to its output. Panics if the service is called or the result is wrong.
pub async fn replay_tokio(bytes: &[u8], n: u64) -> u64 {
    replay_with(bytes, move |_, ctx| {
        sequential_steps(ctx, n, StepSemantics::AtLeastOncePerRetry, Duration::ZERO)
    })
    .await
}

/// Replays `bytes` with the blocking driver (call from a plain thread, not inside a runtime).
pub fn replay_blocking(bytes: &[u8], n: u64) -> u64 {
    replay_blocking_input(Envelope::from_slice(bytes).expect("a valid envelope"), n)
}

/// Like [`replay_blocking`], from bytes the engine takes over without a copy.
pub fn replay_blocking_owned(bytes: Vec<u8>, n: u64) -> u64 {
    replay_blocking_input(Envelope::from_vec(bytes).expect("a valid envelope"), n)
}

fn replay_blocking_input(input: Envelope, n: u64) -> u64 {
    let client = Arc::new(NoCallClient::default());
    let outcome = durable_blocking::handle(
        input,
        client,
        Options::default(),
        move |_: IgnoredAny, ctx: &durable_blocking::DurableContext| {
            let mut sum = 0;
            for i in 1..=n {
                sum += ctx
                    .step(STEP_NAME, |_| Ok::<u64, durable_blocking::StepError>(i))
                    .run()?;
            }
            Ok::<_, DurableError>(sum)
        },
    );
    expect_sum(outcome)
}

/// Replays `bytes` with the map emulation (an [`envelope`] named [`MAP_NAME`]).
pub async fn replay_map(bytes: &[u8], items: u64, concurrency: usize) -> u64 {
    replay_with(bytes, move |_, ctx| {
        map_window(ctx, items, concurrency, Duration::ZERO)
    })
    .await
}

/// One live invocation against a [`FakeService`]: its wall time and the calls it made.
#[derive(Debug, Clone, Copy)]
pub struct LiveRun {
    /// From raw envelope bytes to the handler's output.
    pub wall: Duration,
    /// Checkpoint calls made.
    pub calls: u64,
    /// Updates sent in them.
    pub updates: u64,
}

/// What a live invocation runs.
#[derive(Debug, Clone, Copy)]
pub enum Workload {
    /// `n` sequential steps with these semantics, each body taking `body` (a sleep).
    Sequential {
        /// Steps.
        n: u64,
        /// Their semantics.
        semantics: StepSemantics,
        /// How long each body sleeps.
        body: Duration,
    },
    /// The map emulation: `items` at-least-once steps, `concurrency` at a time.
    Map {
        /// Items.
        items: u64,
        /// Steps in flight at most.
        concurrency: usize,
        /// How long each body sleeps.
        body: Duration,
    },
}

impl Workload {
    /// What the handler returns.
    pub fn expected(&self) -> u64 {
        match *self {
            Workload::Sequential { n, .. } => triangle(n),
            Workload::Map { items, .. } => triangle(items),
        }
    }
}

/// The map emulation is a sliding window begun from one loop in item order, which is
/// replay-safe but looks like racing branches to the engine's check (see
/// `ExecutionConfig::check_concurrent_begins`); the real `map` will not need this.
fn live_options() -> Options {
    let mut options = Options::default();
    options.execution.check_concurrent_begins = false;
    options
}

/// Runs `workload` as a first invocation (no history) against a fresh [`FakeService`]
/// whose every call takes `latency`.
pub async fn live(workload: Workload, latency: Duration) -> LiveRun {
    let service = Arc::new(FakeService::new(latency));
    let bytes = fresh_envelope();
    let start = Instant::now();
    let input = Envelope::from_slice(&bytes).expect("a valid envelope");
    let outcome = durable_tokio::handle(
        input,
        service.clone(),
        live_options(),
        move |_: IgnoredAny, ctx| async move {
            match workload {
                Workload::Sequential { n, semantics, body } => {
                    sequential_steps(ctx, n, semantics, body).await
                }
                Workload::Map {
                    items,
                    concurrency,
                    body,
                } => map_window(ctx, items, concurrency, body).await,
            }
        },
    )
    .await;
    let wall = start.elapsed();
    assert_eq!(expect_sum(outcome), workload.expected());
    LiveRun {
        wall,
        calls: service.calls(),
        updates: service.updates(),
    }
}

/// A multi-thread tokio runtime like `#[tokio::main]` builds.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// The median of `samples` (sorted in place).
pub fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// Times `f` once.
pub fn time<R>(f: impl FnOnce() -> R) -> (Duration, R) {
    let start = Instant::now();
    let r = f();
    (start.elapsed(), r)
}

/// Whether the benchmark binary runs for measurements (`cargo bench` passes `--bench`;
/// `cargo test --benches` does not, and then only a smoke run is wanted).
pub fn bench_mode() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// Formats a duration in the unit that suits it.
pub fn fmt_duration(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// `a / b` as a float.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}
