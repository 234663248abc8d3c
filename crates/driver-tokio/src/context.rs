//! `DurableContext`: what async user code uses to run durable operations.

use std::fmt::{Debug, Display};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use durable_proto::{
    ContextRef, ErrorObject, Execution, ExecutionError, FlushTicket, OperationRef, RetryPolicy,
    RetryStrategy, SeededRng, StepEnd, StepRequest, StepSemantics, StepStart, WaitStart,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

use crate::error::{error_object_of, DurableError};
use crate::panic::CatchPanic;
use crate::serdes::{decode_step_result, Json, Serdes};

/// The engine and its RNG, behind one lock that is never held across an `.await`.
pub(crate) struct Inner {
    pub(crate) exec: Execution,
    pub(crate) rng: SeededRng,
}

/// State shared by the driver loop and every operation future of one invocation.
pub(crate) struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the driver loop: updates were queued or a step finished.
    pub(crate) changed: Notify,
    /// Bumped after every acknowledged checkpoint; wakes steps waiting for a flush.
    pub(crate) acked: watch::Sender<u64>,
    pub(crate) arn: String,
    pub(crate) lambda: Option<lambda_runtime::Context>,
}

impl Shared {
    pub(crate) fn new(
        exec: Execution,
        rng: SeededRng,
        lambda: Option<lambda_runtime::Context>,
    ) -> Self {
        Self {
            arn: exec.arn().to_owned(),
            inner: Mutex::new(Inner { exec, rng }),
            changed: Notify::new(),
            acked: watch::channel(0).0,
            lambda,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // No user code runs under this lock, so a poisoned lock still holds a consistent
        // engine.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `ticket` is acknowledged, or the invocation is ending (then the caller
    /// must not run user code; check [`Execution::is_closing`]).
    pub(crate) async fn wait_acknowledged(&self, ticket: FlushTicket) {
        let mut acks = self.acked.subscribe();
        loop {
            {
                let inner = self.lock();
                if inner.exec.is_acknowledged(ticket) || inner.exec.is_closing() {
                    return;
                }
            }
            if acks.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// The handle user code runs durable operations through.
///
/// Cheap to clone; clones refer to the same invocation. Operation ids are assigned when an
/// operation is created (when its builder is awaited or turned into a future), in program
/// order, so operations awaited together, e.g. with `tokio::join!`, get the same ids on
/// every replay.
#[derive(Clone)]
pub struct DurableContext {
    shared: Arc<Shared>,
    context: ContextRef,
}

impl Debug for DurableContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableContext")
            .field("execution_arn", &self.shared.arn)
            .finish_non_exhaustive()
    }
}

/// What a step's body learns about its attempt.
#[derive(Debug, Clone)]
pub struct StepContext {
    attempt: u32,
    operation_id: String,
}

impl StepContext {
    /// A step context for `attempt` of operation `operation_id` (for other front ends and
    /// tests; the driver builds these itself).
    pub fn new(attempt: u32, operation_id: String) -> Self {
        Self {
            attempt,
            operation_id,
        }
    }

    /// The attempt now running, 1 for the first.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The step's operation id.
    pub fn operation_id(&self) -> &str {
        &self.operation_id
    }
}

impl DurableContext {
    pub(crate) fn root(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            context: ContextRef::ROOT,
        }
    }

    /// The durable execution's ARN.
    pub fn execution_arn(&self) -> &str {
        &self.shared.arn
    }

    /// Whether the code is re-tracing operations recorded by earlier invocations.
    pub fn is_replaying(&self) -> bool {
        self.shared.lock().exec.is_replaying()
    }

    /// The Lambda invocation context, when running under the Lambda runtime.
    pub fn lambda_context(&self) -> Option<&lambda_runtime::Context> {
        self.shared.lambda.as_ref()
    }

    /// A logger whose events are dropped while replaying, so each line is logged once per
    /// execution rather than once per invocation.
    pub fn logger(&self) -> Logger {
        Logger { ctx: self.clone() }
    }

    /// A step: runs `body` once per attempt and checkpoints its result.
    ///
    /// Defaults: retry with [`RetryPolicy::default`], at-least-once per retry, JSON values.
    /// On replay a finished step returns its recorded value without running `body`.
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::RetryPolicy;
    /// let total: u64 = ctx
    ///     .step("price", |_| async { Ok::<_, std::io::Error>(42) })
    ///     .retry(RetryPolicy::transient())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn step<T, F, Fut, E>(&self, name: &str, body: F) -> Step<'_, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(StepContext) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
        E: Display + Debug + Send + 'static,
    {
        Step {
            ctx: self,
            name: name.to_owned(),
            body,
            strategy: Arc::new(RetryPolicy::default()),
            semantics: StepSemantics::AtLeastOncePerRetry,
            serdes: Arc::new(Json),
        }
    }

    /// A durable wait: the invocation suspends and the service invokes the function again
    /// once `duration` (whole seconds, rounded up, at least 1 s) has passed.
    pub fn wait(&self, name: &str, duration: Duration) -> Wait<'_> {
        Wait {
            ctx: self,
            name: name.to_owned(),
            duration,
        }
    }

    fn notify(&self) {
        self.shared.changed.notify_one();
    }

    /// Direct access to this invocation's engine, for building other front ends (such as
    /// the blocking driver) on this driver's loop and IO.
    pub fn engine(&self) -> EngineHandle {
        EngineHandle {
            shared: self.shared.clone(),
            context: self.context,
        }
    }
}

/// Access to one invocation's [`Execution`] engine from outside an async step.
///
/// The engine lives behind a lock that the driver loop also takes; closures given to
/// [`with`](EngineHandle::with) must be short and must not block.
#[derive(Clone)]
pub struct EngineHandle {
    shared: Arc<Shared>,
    context: ContextRef,
}

impl Debug for EngineHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineHandle")
            .field("execution_arn", &self.shared.arn)
            .finish_non_exhaustive()
    }
}

impl EngineHandle {
    /// The context operations are numbered in.
    pub fn context(&self) -> ContextRef {
        self.context
    }

    /// The execution ARN.
    pub fn execution_arn(&self) -> &str {
        &self.shared.arn
    }

    /// Runs `f` with the engine and the invocation's RNG, then wakes the driver loop so it
    /// sends whatever `f` queued.
    pub fn with<R>(&self, f: impl FnOnce(&mut Execution, &mut SeededRng) -> R) -> R {
        let result = {
            let mut guard = self.shared.lock();
            let Inner { exec, rng } = &mut *guard;
            f(exec, rng)
        };
        self.shared.changed.notify_one();
        result
    }

    /// Resolves once `ticket` is acknowledged or the invocation is ending.
    pub async fn acknowledged(&self, ticket: FlushTicket) {
        self.shared.wait_acknowledged(ticket).await;
    }
}

/// A step being configured; await it to run it.
#[must_use = "a step does nothing until awaited"]
pub struct Step<'c, T, F> {
    ctx: &'c DurableContext,
    name: String,
    body: F,
    strategy: Arc<dyn RetryStrategy>,
    semantics: StepSemantics,
    serdes: Arc<dyn Serdes<T>>,
}

impl<T, F> Step<'_, T, F> {
    /// Sets the retry strategy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, strategy: impl RetryStrategy + 'static) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Sets the semantics (default at-least-once per retry).
    pub fn semantics(mut self, semantics: StepSemantics) -> Self {
        self.semantics = semantics;
        self
    }

    /// Shorthand for at-most-once-per-retry semantics: the body runs only after its START
    /// is recorded, and an attempt interrupted by a crash is never run again.
    pub fn at_most_once(self) -> Self {
        self.semantics(StepSemantics::AtMostOncePerRetry)
    }

    /// Replaces the JSON serializer for this step's value.
    pub fn serdes(mut self, serdes: impl Serdes<T> + 'static) -> Self {
        self.serdes = Arc::new(serdes);
        self
    }
}

/// A boxed operation future.
pub type OperationFuture<'c, T> =
    Pin<Box<dyn Future<Output = Result<T, DurableError>> + Send + 'c>>;

/// Runs forever: the branch cannot proceed in this invocation (it is suspending, or the
/// invocation is ending), and the driver drops it.
async fn park<T>() -> T {
    std::future::pending().await
}

/// Splits an engine refusal into what user code may see and what only the driver handles.
fn refusal(error: ExecutionError) -> Option<DurableError> {
    match error {
        ExecutionError::InvalidName { .. } | ExecutionError::InvalidWaitDuration { .. } => {
            Some(DurableError::InvalidArgument(error))
        }
        _ => None,
    }
}

impl<'c, T, F, Fut, E> IntoFuture for Step<'c, T, F>
where
    T: Send + 'static,
    F: FnOnce(StepContext) -> Fut + Send + 'c,
    Fut: Future<Output = Result<T, E>> + Send + 'c,
    E: Display + Debug + Send + 'static,
{
    type Output = Result<T, DurableError>;
    type IntoFuture = OperationFuture<'c, T>;

    fn into_future(self) -> Self::IntoFuture {
        let ctx = self.ctx;
        let start = {
            let mut guard = ctx.shared.lock();
            let Inner { exec, rng } = &mut *guard;
            let request = StepRequest {
                name: Some(&self.name),
                semantics: self.semantics,
                strategy: &*self.strategy,
            };
            exec.step(ctx.context, request, rng).map(|s| {
                let id = step_id(exec, &s);
                (s, id)
            })
        };
        ctx.notify();
        let Step {
            name,
            body,
            strategy,
            serdes,
            ..
        } = self;
        Box::pin(async move {
            let (start, id) = match start {
                Ok(s) => s,
                Err(e) => {
                    return match refusal(e) {
                        Some(e) => Err(e),
                        None => park().await,
                    }
                }
            };
            let (op, attempt, wait_for) = match start {
                StepStart::Done(result) => return decode_step_result(&*serdes, &id, result),
                StepStart::Run {
                    op,
                    attempt,
                    wait_for,
                } => (op, attempt, wait_for),
                _ => return park().await,
            };
            let span =
                tracing::info_span!("durable_step", operation_id = %id, name = %name, attempt);
            let mut guard = AbandonGuard { ctx, op: Some(op) };
            if let Some(ticket) = wait_for {
                ctx.shared.wait_acknowledged(ticket).await;
                if ctx.shared.lock().exec.is_closing() {
                    return park().await;
                }
            }
            let step_ctx = StepContext {
                attempt,
                operation_id: id.clone(),
            };
            let result = CatchPanic(Box::pin(body(step_ctx).instrument(span))).await;
            let no_retry = RetryPolicy::none();
            let (outcome, strategy): (Result<String, ErrorObject>, &dyn RetryStrategy) =
                match result {
                    // A panicking body is a failed attempt like any other.
                    Err(panic) => (Err(panic), &*strategy),
                    Ok(Ok(value)) => match serdes.serialize(&value) {
                        Ok(text) => (Ok(text), &*strategy),
                        // A value that cannot be serialized will not serialize on a retry either.
                        Err(m) => (Err(ErrorObject::new("SerializationError", m)), &no_retry),
                    },
                    Ok(Err(e)) => (Err(error_object_of(&e)), &*strategy),
                };
            guard.op = None;
            let end = {
                let mut g = ctx.shared.lock();
                let Inner { exec, rng } = &mut *g;
                exec.handle_step_outcome(op, outcome, strategy, rng)
            };
            ctx.notify();
            match end {
                Ok(StepEnd::Done(result)) => decode_step_result(&*serdes, &id, result),
                _ => park().await,
            }
        })
    }
}

fn step_id(exec: &Execution, start: &StepStart) -> String {
    match start {
        StepStart::Run { op, .. } => exec.step_id(*op).unwrap_or_default().to_owned(),
        _ => String::new(),
    }
}

/// Reports a step whose future was dropped mid-body, so suspension is not blocked by a
/// step that will never finish.
struct AbandonGuard<'c> {
    ctx: &'c DurableContext,
    op: Option<OperationRef>,
}

impl Drop for AbandonGuard<'_> {
    fn drop(&mut self) {
        if let Some(op) = self.op.take() {
            self.ctx.shared.lock().exec.abandon_step(op);
            self.ctx.notify();
        }
    }
}

/// A wait being configured; await it to run it.
#[must_use = "a wait does nothing until awaited"]
pub struct Wait<'c> {
    ctx: &'c DurableContext,
    name: String,
    duration: Duration,
}

impl<'c> IntoFuture for Wait<'c> {
    type Output = Result<(), DurableError>;
    type IntoFuture = OperationFuture<'c, ()>;

    fn into_future(self) -> Self::IntoFuture {
        let start =
            self.ctx
                .shared
                .lock()
                .exec
                .wait(self.ctx.context, Some(&self.name), self.duration);
        self.ctx.notify();
        Box::pin(async move {
            match start {
                Ok(WaitStart::Elapsed) => Ok(()),
                Ok(_) => park().await,
                Err(e) => match refusal(e) {
                    Some(e) => Err(e),
                    None => park().await,
                },
            }
        })
    }
}

/// Replay-aware logging through `tracing`: events are emitted only when not replaying.
#[derive(Debug, Clone)]
pub struct Logger {
    ctx: DurableContext,
}

impl Logger {
    /// Logs at INFO level unless replaying.
    pub fn info(&self, message: impl Display) {
        if !self.ctx.is_replaying() {
            tracing::info!(execution_arn = %self.ctx.execution_arn(), "{message}");
        }
    }

    /// Logs at WARN level unless replaying.
    pub fn warn(&self, message: impl Display) {
        if !self.ctx.is_replaying() {
            tracing::warn!(execution_arn = %self.ctx.execution_arn(), "{message}");
        }
    }

    /// Logs at ERROR level unless replaying.
    pub fn error(&self, message: impl Display) {
        if !self.ctx.is_replaying() {
            tracing::error!(execution_arn = %self.ctx.execution_arn(), "{message}");
        }
    }
}
