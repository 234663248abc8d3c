//! Steps: the builder user code awaits, and the core both front ends run.

use std::future::{Future, IntoFuture};
use std::sync::{Arc, OnceLock};

use durable_proto::{
    OperationHandle, OperationResult, RetryPolicy, RetryStrategy, StepEnd, StepOutcome,
    StepRequest, StepSemantics, StepStart,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use crate::context::{DurableContext, Shared, StepContext};
use crate::error::{DurableError, StepError};
use crate::failure::{ErrorSource, OperationFailure};
use crate::ops::{or_park, refusal, InBody, Interrupt, ReleaseGuard};
use crate::panic::{catch_panic, CatchPanic};
use crate::serdes::{Json, Serdes};
use crate::OperationFuture;

/// The builder methods both front ends' `Step` share (each `Step` has a
/// `config: StepConfig<T>` field), written once.
#[doc(hidden)]
#[macro_export]
macro_rules! step_builder_methods {
    () => {
        /// Sets the retry strategy (default `RetryPolicy::default()`: 6 attempts, 5 s
        /// initial delay, ×2, 60 s cap, full jitter).
        pub fn retry(mut self, strategy: impl $crate::RetryStrategy + 'static) -> Self {
            self.config.strategy = ::std::sync::Arc::new(strategy);
            self
        }

        /// Sets the semantics (default at-least-once per retry).
        pub fn semantics(mut self, semantics: $crate::StepSemantics) -> Self {
            self.config.semantics = semantics;
            self
        }

        /// Shorthand for at-most-once-per-retry semantics: the body runs only after its
        /// START is recorded, and an attempt interrupted by a crash is never run again.
        pub fn at_most_once(self) -> Self {
            self.semantics($crate::StepSemantics::AtMostOncePerRetry)
        }

        /// Replaces the JSON serializer for this step's value.
        pub fn serdes(mut self, serdes: impl $crate::Serdes<T> + 'static) -> Self {
            self.config.serdes = ::std::sync::Arc::new(serdes);
            self
        }
    };
}

/// A step being configured; await it to run it.
#[must_use = "a step does nothing until awaited"]
pub struct Step<'c, T, F> {
    ctx: &'c DurableContext,
    name: String,
    body: F,
    config: StepConfig<T>,
}

/// How a step runs: its retry strategy, semantics and serializer.
#[doc(hidden)]
pub struct StepConfig<T> {
    pub strategy: Arc<dyn RetryStrategy>,
    pub semantics: StepSemantics,
    pub serdes: Arc<dyn Serdes<T>>,
    /// How long one attempt may run (`None`: no limit).
    pub timeout: Option<std::time::Duration>,
}

impl<T: Serialize + DeserializeOwned + 'static> Default for StepConfig<T> {
    fn default() -> Self {
        // Shared, so that a step with the defaults allocates nothing for them: a replay
        // creates one configuration per step.
        static STRATEGY: OnceLock<Arc<RetryPolicy>> = OnceLock::new();
        static JSON: OnceLock<Arc<Json>> = OnceLock::new();
        Self {
            strategy: STRATEGY
                .get_or_init(|| Arc::new(RetryPolicy::default()))
                .clone(),
            semantics: StepSemantics::AtLeastOncePerRetry,
            serdes: JSON.get_or_init(|| Arc::new(Json)).clone(),
            timeout: None,
        }
    }
}

impl<'c, T, F> Step<'c, T, F> {
    pub(crate) fn new(ctx: &'c DurableContext, name: &str, body: F, config: StepConfig<T>) -> Self {
        Self {
            ctx,
            name: name.to_owned(),
            body,
            config,
        }
    }

    crate::step_builder_methods!();

    /// Limits each attempt to `timeout`: an attempt still running then is dropped (its
    /// future is not polled again) and fails with `StepTimedOut`, which the retry strategy
    /// decides on like any error; the step's final failure is
    /// [`DurableError::StepTimedOut`]. Work the body started outside its future (a spawned
    /// task) is not stopped.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.config.timeout = Some(timeout);
        self
    }
}

impl<'c, T, F, Fut> IntoFuture for Step<'c, T, F>
where
    T: Send + 'static,
    F: FnOnce(StepContext) -> Fut + Send + 'c,
    Fut: Future<Output = Result<T, StepError>> + Send + 'c,
{
    type Output = Result<T, DurableError>;
    type IntoFuture = OperationFuture<'c, T>;

    fn into_future(self) -> Self::IntoFuture {
        // The id is claimed now, in program order; the guard releases the step if the
        // future is dropped, even before its first poll.
        let mut call = StepCall::begin(self.ctx, self.name, self.config);
        if let Some(result) = call.finished_on_record() {
            return OperationFuture::decided(result);
        }
        let body = self.body;
        // `call` (and its release guard) lives as long as the future, parked or not.
        OperationFuture::pending(async move { or_park(call.run(body).await).await })
    }
}

/// A begun step: its id is claimed; run it with [`StepCall::run`].
#[doc(hidden)]
pub struct StepCall<T> {
    shared: Arc<Shared>,
    name: String,
    config: StepConfig<T>,
    start: Result<StepStart, Interrupt>,
    _guard: Option<ReleaseGuard>,
}

impl<T> StepCall<T> {
    /// Begins the step in `ctx`'s context.
    pub fn begin(ctx: &DurableContext, name: String, config: StepConfig<T>) -> Self {
        let shared = ctx.shared().clone();
        let start = {
            let mut guard = shared.lock();
            let request = StepRequest {
                name: Some(&name),
                semantics: config.semantics,
            };
            guard
                .exec
                .begin_step(ctx.context_ref(), request, &*config.strategy)
                .map_err(refusal)
        };
        if !matches!(start, Ok(StepStart::Done { .. })) {
            shared.changed.notify_one();
        }
        let guard = ReleaseGuard::watching(&shared, start.as_ref().ok().map(|s| s.op()));
        Self {
            shared,
            name,
            config,
            start,
            _guard: guard,
        }
    }

    /// Runs the step to its result: the recorded one, or the body's (once per attempt
    /// that this invocation may run). Keep the call alive while the branch is blocked:
    /// dropping it releases the step.
    pub async fn run<F, Fut>(&mut self, body: F) -> Result<T, Interrupt>
    where
        F: FnOnce(StepContext) -> Fut,
        Fut: Future<Output = Result<T, StepError>>,
    {
        let (op, wait_for) = match self.enter()? {
            Entered::Done(value) => return Ok(value),
            Entered::Run { op, wait_for } => (op, wait_for),
        };
        if let Some(ticket) = wait_for {
            self.shared.wait_acknowledged(ticket).await;
        }
        let (step_ctx, span) = self.start(op)?;
        let shared = &self.shared;
        // Building the body's future runs user code too.
        shared.lock().exec.enter_body(op);
        let made = span.in_scope(|| catch_panic(|| body(step_ctx)));
        shared.lock().exec.leave_body(op);
        let result = match made {
            Err(panic) => Err(panic),
            Ok(fut) => {
                let polled = InBody {
                    fut: Box::pin(fut),
                    shared: shared.clone(),
                    op,
                };
                let attempt = CatchPanic(Box::pin(polled.instrument(span)));
                match self.config.timeout {
                    None => attempt.await,
                    Some(limit) => tokio::time::timeout(limit, attempt)
                        .await
                        .unwrap_or_else(|_| Err(timed_out(limit))),
                }
            }
        };
        self.finish(op, result)
    }

    /// Runs the step with a synchronous body, blocking on `runtime` only to wait for an
    /// acknowledgement (never while user code runs, so a body that calls a durable
    /// operation gets its refusal instead of a nested `block_on`).
    pub fn run_blocking<F>(
        &mut self,
        runtime: &tokio::runtime::Handle,
        body: F,
    ) -> Result<T, Interrupt>
    where
        F: FnOnce(&StepContext) -> Result<T, StepError>,
    {
        let (op, wait_for) = match self.enter()? {
            Entered::Done(value) => return Ok(value),
            Entered::Run { op, wait_for } => (op, wait_for),
        };
        if let Some(ticket) = wait_for {
            runtime.block_on(self.shared.wait_acknowledged(ticket));
        }
        let (step_ctx, span) = self.start(op)?;
        let result =
            crate::ops::run_blocking_body(op, || span.in_scope(|| catch_panic(|| body(&step_ctx))));
        self.finish(op, result)
    }

    /// [`run_blocking`](Self::run_blocking) with the attempt limited to `limit`: the body
    /// runs on a thread of its own, and when the limit passes first the attempt fails with
    /// `StepTimedOut` while the body's thread runs on; its late result is dropped, recorded
    /// nowhere (a thread cannot be stopped from outside).
    pub fn run_blocking_timed<F>(
        &mut self,
        runtime: &tokio::runtime::Handle,
        body: F,
        limit: std::time::Duration,
    ) -> Result<T, Interrupt>
    where
        F: FnOnce(&StepContext) -> Result<T, StepError> + Send + 'static,
        T: Send + 'static,
    {
        let (op, wait_for) = match self.enter()? {
            Entered::Done(value) => return Ok(value),
            Entered::Run { op, wait_for } => (op, wait_for),
        };
        if let Some(ticket) = wait_for {
            runtime.block_on(self.shared.wait_acknowledged(ticket));
        }
        let (step_ctx, span) = self.start(op)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let result = crate::ops::run_blocking_body(op, || {
                span.in_scope(|| catch_panic(|| body(&step_ctx)))
            });
            // Nobody listens once the attempt timed out: the late result goes nowhere.
            let _ = tx.send(result);
        });
        let result = rx
            .recv_timeout(limit)
            .unwrap_or_else(|_| Err(timed_out(limit)));
        self.finish(op, result)
    }

    /// The recorded result, when the step finished on record (nothing to run or await).
    pub fn finished_on_record(&mut self) -> Option<Result<T, Interrupt>> {
        if !matches!(self.start, Ok(StepStart::Done { .. })) {
            return None;
        }
        match self.enter() {
            Ok(Entered::Done(value)) => Some(Ok(value)),
            Err(e) => Some(Err(e)),
            Ok(Entered::Run { .. }) => None,
        }
    }

    /// User code awaits the step: its recorded result, or the body to run.
    fn enter(&mut self) -> Result<Entered<T>, Interrupt> {
        let shared = &self.shared;
        let start = std::mem::replace(&mut self.start, Err(Interrupt::Blocked));
        match &start {
            Ok(StepStart::Done { .. }) => {
                // Finished on record: nothing to release or to wake the driver for.
                if let Some(g) = &mut self._guard {
                    g.disarm();
                }
            }
            Ok(s) => {
                // User code awaits the step now (see `Execution::activate`).
                shared.lock().exec.activate(s.op());
                shared.changed.notify_one();
            }
            Err(_) => {}
        }
        match start {
            Err(e) => Err(e),
            Ok(StepStart::Done { op, result }) => {
                decode(shared, op, &*self.config.serdes, result, None).map(Entered::Done)
            }
            Ok(StepStart::Run { op, wait_for, .. }) => Ok(Entered::Run { op, wait_for }),
            Ok(_) => Err(Interrupt::Blocked),
        }
    }

    /// The body is about to run: the attempt's context and its span.
    fn start(&self, op: OperationHandle) -> Result<(StepContext, tracing::Span), Interrupt> {
        let mut g = self.shared.lock();
        let attempt = g.exec.start_attempt(op).map_err(refusal)?;
        let id = g
            .exec
            .identity(op)
            .map(|i| i.id.clone())
            .unwrap_or_default();
        let span = tracing::info_span!(
            "durable_step",
            operation_id = %id,
            name = %self.name,
            attempt
        );
        Ok((StepContext::new(attempt, id), span))
    }

    /// Reports how the body ended (`Err` for a panic) and returns what user code sees.
    fn finish(
        &self,
        op: OperationHandle,
        result: Result<Result<T, StepError>, durable_proto::ErrorObject>,
    ) -> Result<T, Interrupt> {
        let mut source = None;
        let outcome = match result {
            // A panicking body is a failed attempt like any other.
            Err(panic) => StepOutcome::Error(panic),
            Ok(Ok(value)) => value_outcome(&*self.config.serdes, &value),
            Ok(Err(e)) => {
                let (object, original) = e.into_parts();
                source = original.map(ErrorSource::from);
                StepOutcome::Error(object)
            }
        };
        let shared = &self.shared;
        let end = shared
            .lock()
            .exec
            .handle_step_outcome(op, outcome, &*self.config.strategy);
        shared.changed.notify_one();
        match end.map_err(refusal)? {
            StepEnd::Done(result) => decode(shared, op, &*self.config.serdes, result, source),
            _ => Err(Interrupt::Blocked),
        }
    }
}

/// The failure of an attempt that ran longer than `limit`.
fn timed_out(limit: std::time::Duration) -> durable_proto::ErrorObject {
    durable_proto::ErrorObject::new(
        durable_proto::STEP_TIMED_OUT_ERROR_TYPE,
        format!("the attempt ran longer than its {limit:?} timeout"),
    )
}

/// Where a step stands once user code awaits it.
enum Entered<T> {
    Done(T),
    Run {
        op: OperationHandle,
        wait_for: Option<durable_proto::FlushTicket>,
    },
}

/// The outcome of user code that returned `value`: its serialized text, or why it cannot
/// be serialized (the engine never retries that).
pub(crate) fn value_outcome<T>(serdes: &dyn Serdes<T>, value: &T) -> StepOutcome {
    match serdes.serialize(value) {
        Ok(text) => StepOutcome::Value(text),
        Err(message) => StepOutcome::Unserializable(format!(
            "{message} (value of type {})",
            std::any::type_name::<T>()
        )),
    }
}

/// Hands a finished operation's result to user code: the value deserialized with
/// `serdes` (also on the first run, so it sees what a replay will see), or its error with
/// `source`, the original Rust error when the failure was decided in this invocation.
pub(crate) fn decode<T>(
    shared: &Shared,
    op: durable_proto::OperationHandle,
    serdes: &dyn Serdes<T>,
    result: OperationResult,
    source: Option<ErrorSource>,
) -> Result<T, Interrupt> {
    // The identity is looked up only for an error: replay decodes every operation.
    let identity = || shared.lock().exec.identity(op).cloned();
    match result {
        Ok(text) => serdes
            .deserialize(text.as_deref().unwrap_or("null"))
            .map_err(|message| {
                let identity = identity();
                let id = identity.as_ref().map_or("", |i| i.id.as_str());
                let label = identity.as_ref().map_or("", |i| i.label());
                Interrupt::User(DurableError::Serialization {
                    operation_id: id.to_owned(),
                    message: format!(
                        "the recorded value of operation {label:?} (id {id}) cannot be read as \
                         {}: {message}. If the code changed this operation's type, ship the \
                         change as a new function version so running executions keep theirs",
                        std::any::type_name::<T>()
                    ),
                })
            }),
        Err(e) => {
            let identity = identity();
            let (id, name, kind) = match identity {
                Some(i) => (i.id, i.name, i.operation_type),
                None => (String::new(), None, durable_proto::OperationType::Step),
            };
            let failure = OperationFailure::new(id, name, e).with_shared_source(source);
            Err(Interrupt::User(DurableError::from_failure(&kind, failure)))
        }
    }
}
