//! `DurableContext`: what async user code uses to run durable operations.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use durable_proto::{ContextRef, Event, Execution, FlushTicket};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::{watch, Notify};

use crate::ops::callback::{CreateCallback, WaitForCallback};
use crate::ops::child::ChildContext;
use crate::ops::condition::WaitForCondition;
use crate::ops::invoke::Invoke;
use crate::ops::map::{Branch, Map, Parallel};
use crate::ops::step::{Step, StepConfig};
use crate::ops::wait::Wait;
use crate::StepError;

/// The engine, behind one lock that is never held across an `.await`.
pub(crate) struct Inner {
    pub(crate) exec: Execution,
    /// Operations that replayed, for the plugins' `replayed` flag.
    replayed: crate::plugin::Replayed,
}

/// State shared by the driver loop and every operation future of one invocation.
#[doc(hidden)]
pub struct Shared {
    inner: Mutex<Inner>,
    /// Wakes the driver loop: updates were queued or an operation moved.
    pub(crate) changed: Notify,
    /// Bumped after every acknowledged checkpoint; wakes steps waiting for a flush.
    pub(crate) acked: watch::Sender<u64>,
    pub(crate) arn: String,
    pub(crate) lambda: Option<lambda_runtime::Context>,
    /// The installed instrumentation plugins.
    pub(crate) plugins: crate::plugin::Plugins,
    arn_shared: Arc<str>,
    /// Whether this is the execution's first invocation (set when user code starts).
    pub(crate) first_invocation: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub(crate) fn new(
        exec: Execution,
        lambda: Option<lambda_runtime::Context>,
        plugins: crate::plugin::Plugins,
    ) -> Self {
        Self {
            arn: exec.arn().to_owned(),
            arn_shared: Arc::from(exec.arn()),
            inner: Mutex::new(Inner {
                exec,
                replayed: Default::default(),
            }),
            changed: Notify::new(),
            acked: watch::channel(0).0,
            lambda,
            plugins,
            first_invocation: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Takes the engine lock; dropping the guard drains the engine's events (see
    /// `log_events`).
    pub(crate) fn lock(&self) -> EngineGuard<'_> {
        let mut guard = EngineGuard(
            Some(self.lock_raw()),
            None,
            self,
            Some(crate::replay_filter::holding_lock()),
        );
        // A blocking step body runs on its thread while other threads (a blocking map's
        // items) run operations: the engine hears of the body only for this thread's calls.
        if let Some(op) = crate::ops::blocking_body() {
            guard.exec.enter_body(op);
            guard.1 = Some(op);
        }
        guard
    }

    fn lock_raw(&self) -> MutexGuard<'_, Inner> {
        // No user code runs under this lock, so a poisoned lock still holds a consistent
        // engine.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until `ticket` is acknowledged, or the invocation is ending (then the engine
    /// refuses to start the body).
    pub(crate) async fn wait_acknowledged(&self, ticket: FlushTicket) {
        self.wait_until(|exec| exec.is_acknowledged(ticket)).await;
    }

    /// Waits until `ready` holds after a service call completed, or the invocation is
    /// ending.
    pub(crate) async fn wait_until(&self, mut ready: impl FnMut(&Execution) -> bool) {
        let mut acks = self.acked.subscribe();
        loop {
            {
                let inner = self.lock();
                if ready(&inner.exec) || inner.exec.is_closing() {
                    return;
                }
            }
            if acks.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Tells the engine the invocation was given up (see `Execution::handle_abandoned`)
    /// and wakes whatever waits for an acknowledgement, so it sees the end.
    pub(crate) fn abandon(&self) {
        self.lock().exec.handle_abandoned();
        self.acked.send_modify(|n| *n += 1);
    }
}

/// Logs the engine's events, replay-aware: replayed operations log at TRACE. Called after
/// every engine call of the operation cores and the driver loop, so the queue stays short
/// even when a replay runs thousands of operations in one poll.
pub(crate) fn log_events(exec: &mut Execution) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        // Nobody listens: drain without looking the operations up (replay emits two
        // events per recorded operation).
        while exec.poll_event().is_some() {}
        return;
    }
    while let Some(event) = exec.poll_event() {
        log_event(exec, &event);
    }
}

/// Logs one engine event (replayed operations at TRACE).
fn log_event(exec: &Execution, event: &Event) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    let identity = |op| exec.identity(op);
    match *event {
        Event::OperationBegun { op, replayed } => {
            if let Some(i) = identity(op) {
                if replayed {
                    tracing::trace!(operation_id = %i.id, name = i.name.as_deref(), "operation replayed");
                } else {
                    tracing::debug!(operation_id = %i.id, name = i.name.as_deref(), kind = %i.operation_type, "operation begun");
                }
            }
        }
        Event::AttemptFinished {
            op,
            attempt,
            failed: true,
            retry_after,
        } => {
            if let Some(i) = identity(op) {
                tracing::debug!(operation_id = %i.id, attempt, ?retry_after, "attempt failed");
            }
        }
        Event::InvocationEnding { ending } => tracing::debug!(?ending, "invocation ending"),
        _ => {}
    }
}

/// The engine lock; its drop drains the events the engine queued meanwhile.
pub(crate) struct EngineGuard<'a>(
    Option<MutexGuard<'a, Inner>>,
    Option<durable_proto::OperationHandle>,
    &'a Shared,
    Option<crate::replay_filter::HoldingLock>,
);

impl std::ops::Deref for EngineGuard<'_> {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        self.0.as_ref().expect("held until drop")
    }
}

impl std::ops::DerefMut for EngineGuard<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.0.as_mut().expect("held until drop")
    }
}

impl Drop for EngineGuard<'_> {
    fn drop(&mut self) {
        let Some(mut inner) = self.0.take() else {
            return;
        };
        if let Some(op) = self.1 {
            inner.exec.leave_body(op);
        }
        let shared = self.2;
        if shared.plugins.is_empty() {
            log_events(&mut inner.exec);
            drop(inner);
            self.3.take();
            return;
        }
        // Hooks are built under the lock and called after it is released, so a slow plugin
        // holds up no other branch.
        let mut calls = Vec::new();
        let Inner { exec, replayed } = &mut *inner;
        while let Some(event) = exec.poll_event() {
            log_event(exec, &event);
            if let Some(call) =
                crate::plugin::HookCall::of(exec, &shared.arn_shared, replayed, &event)
            {
                calls.push(call);
            }
        }
        drop(inner);
        self.3.take();
        for call in calls {
            call.dispatch(&shared.plugins);
        }
    }
}

/// The handle user code runs durable operations through.
///
/// Cheap to clone; clones refer to the same invocation and context. Operation ids are
/// assigned when an operation is created (when its builder is awaited or turned into a
/// future), in program order, so operations awaited together, e.g. with `tokio::join!`,
/// get the same ids on every replay.
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
    pub(crate) fn new(attempt: u32, operation_id: String) -> Self {
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
    pub(crate) fn new(shared: Arc<Shared>, context: ContextRef) -> Self {
        Self { shared, context }
    }

    /// The invocation's shared state (for the blocking front end).
    #[doc(hidden)]
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The context this handle begins operations in (for the blocking front end).
    #[doc(hidden)]
    pub fn context_ref(&self) -> ContextRef {
        self.context
    }

    /// The durable execution's ARN.
    pub fn execution_arn(&self) -> &str {
        &self.shared.arn
    }

    /// Whether the code of this context is re-tracing operations recorded by earlier
    /// invocations (tracked per context, so a branch never visited does not keep the rest
    /// replaying).
    pub fn is_replaying(&self) -> bool {
        self.shared.lock().exec.is_replaying_in(self.context)
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
    /// The body returns `Result<T, StepError>`: `Ok(value)` needs no annotation and `?`
    /// converts any `std::error::Error` (see [`StepError`]). Defaults: retry with
    /// [`RetryPolicy`](crate::RetryPolicy)`::default()`, at-least-once per retry, JSON values. On replay a finished step returns its recorded value without
    /// running `body`. Durable operations called from inside `body` are refused
    /// ([`ExecutionError::OperationInsideStep`](durable_proto::ExecutionError)).
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::RetryPolicy;
    /// let total: u64 = ctx
    ///     .step("price", |_| async { Ok(42) })
    ///     .retry(RetryPolicy::transient())
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn step<T, F, Fut>(&self, name: &str, body: F) -> Step<'_, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(StepContext) -> Fut + Send,
        Fut: Future<Output = Result<T, StepError>> + Send,
    {
        Step::new(self, name, body, StepConfig::default())
    }

    /// A durable wait: the invocation suspends and the service invokes the function again
    /// once `duration` has passed. Durations are whole seconds on the wire, rounded up
    /// (500 ms waits 1 s); zero and more than 366 days are refused.
    pub fn wait(&self, name: &str, duration: Duration) -> Wait<'_> {
        Wait::new(self, name, duration)
    }

    /// Creates a callback for an external system: await the builder for a
    /// [`Callback`](crate::Callback) whose [`id`](crate::Callback::id) you hand to that
    /// system, then await the callback for the result it sends with
    /// `SendDurableExecutionCallbackSuccess` (deserialized as `T`; JSON by default). A
    /// failure it sends, the overall timeout and the heartbeat timeout are
    /// [`DurableError::CallbackFailed`](crate::DurableError::CallbackFailed), [`CallbackTimedOut`](crate::DurableError::CallbackTimedOut)
    /// and [`CallbackHeartbeatTimedOut`](crate::DurableError::CallbackHeartbeatTimedOut).
    ///
    /// Creating costs one round trip (the service issues the id); waiting for the result
    /// suspends the invocation until the callback completes.
    ///
    /// ```no_run
    /// # async fn notify_approver(_id: &str) {}
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use std::time::Duration;
    ///
    /// let approval = ctx
    ///     .create_callback::<bool>("approval")
    ///     .timeout(Duration::from_secs(2 * 86_400))
    ///     .await?;
    /// let id = approval.id().to_owned();
    /// ctx.step("ask", move |_| async move {
    ///     notify_approver(&id).await;
    ///     Ok(())
    /// })
    /// .await?;
    /// let approved: bool = approval.await?;
    /// # let _ = approved; Ok(()) }
    /// ```
    pub fn create_callback<T>(&self, name: &str) -> CreateCallback<'_, T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        CreateCallback::new(self, Some(name))
    }

    /// Waits for an external system through a callback: creates the callback, runs
    /// `submitter` as a step with the callback id (hand the id to the system there; the
    /// step's retry strategy is set with `.retry(..)`), and returns what the system sends.
    /// Errors are those of [`create_callback`](Self::create_callback); a submitter that
    /// fails for good ends it as [`DurableError::CallbackFailed`](crate::DurableError::CallbackFailed) with the submitter's
    /// error (its type says which failed).
    ///
    /// ```no_run
    /// # async fn email(_to: &str, _id: &str) -> Result<(), std::io::Error> { Ok(()) }
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// let approved: bool = ctx
    ///     .wait_for_callback("approval", |callback_id, _| async move {
    ///         email("boss@example.com", &callback_id).await?;
    ///         Ok(())
    ///     })
    ///     .timeout(std::time::Duration::from_secs(86_400))
    ///     .await?;
    /// # let _ = approved; Ok(()) }
    /// ```
    pub fn wait_for_callback<T, S, Fut>(
        &self,
        name: &str,
        submitter: S,
    ) -> WaitForCallback<'_, T, S>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        S: FnOnce(String, StepContext) -> Fut + Send,
        Fut: Future<Output = Result<(), StepError>> + Send,
    {
        WaitForCallback::new(self, name, submitter)
    }

    /// Invokes another Lambda function durably with `input` (JSON) and returns its result
    /// (JSON, or `.serdes(..)`): the service invokes `function_name` — for a durable target
    /// a qualified name (a version or alias, e.g. `orders:live`), as the service requires —
    /// and the invocation suspends until it ends. On replay a finished invoke returns its
    /// recorded result without invoking again. A target that failed, timed out or was
    /// stopped is [`DurableError::InvokeFailed`](crate::DurableError::InvokeFailed), [`InvokeTimedOut`](crate::DurableError::InvokeTimedOut)
    /// or [`InvokeStopped`](crate::DurableError::InvokeStopped).
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// let receipt: String = ctx
    ///     .invoke("charge", "payments:live", &serde_json::json!({"cents": 1299}))
    ///     .await?;
    /// # let _ = receipt; Ok(()) }
    /// ```
    pub fn invoke<O, I>(&self, name: &str, function_name: &str, input: &I) -> Invoke<'_, O>
    where
        O: Serialize + DeserializeOwned + Send + 'static,
        I: Serialize + ?Sized,
    {
        Invoke::new(self, name, function_name, input)
    }

    /// A child context: runs `function` with a context of its own id space and
    /// checkpoints its result as one CONTEXT operation. On replay a finished child returns
    /// its recorded result without running `function`.
    ///
    /// This is also how concurrent branches that each run several operations stay
    /// replay-safe: give each branch its own child context.
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// let (orders, tax) = tokio::join!(
    ///     ctx.run_in_child_context("orders", |c| async move {
    ///         let user: String = c.step("user", |_| async { Ok("u1".to_owned()) }).await?;
    ///         c.step("orders", |_| async move { Ok(format!("orders of {user}")) }).await
    ///     }),
    ///     ctx.run_in_child_context("tax", |c| async move {
    ///         let price: u64 = c.step("price", |_| async { Ok(100) }).await?;
    ///         c.step("tax", |_| async move { Ok(price / 5) }).await
    ///     }),
    /// );
    /// let (_orders, _tax): (String, u64) = (orders?, tax?);
    /// # Ok(()) }
    /// ```
    pub fn run_in_child_context<T, F, Fut, E>(
        &self,
        name: &str,
        function: F,
    ) -> ChildContext<'_, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(DurableContext) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
        E: Display + Debug + Send + 'static,
    {
        ChildContext::new(self, Some(name), function)
    }

    /// [`run_in_child_context`](Self::run_in_child_context) without a name: the CONTEXT
    /// operation is recorded unnamed (messages refer to it by its id).
    pub fn run_in_unnamed_child_context<T, F, Fut, E>(&self, function: F) -> ChildContext<'_, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(DurableContext) -> Fut + Send,
        Fut: Future<Output = Result<T, E>> + Send,
        E: Display + Debug + Send + 'static,
    {
        ChildContext::new(self, None, function)
    }

    /// Waits until a condition holds: runs `check` as a step (sub-type `WaitForCondition`) on
    /// a state, starting from `initial`, and asks the wait strategy (`.strategy(..)`) after
    /// each check whether to stop or check again later. Between checks the invocation
    /// suspends; the state is checkpointed after each check, so the next check, in a later
    /// invocation, starts from it. A check that fails ends the wait with
    /// [`DurableError::ConditionFailed`](crate::DurableError::ConditionFailed) (no retry); running out of attempts with
    /// [`DurableError::ConditionAttemptsExhausted`](crate::DurableError::ConditionAttemptsExhausted).
    ///
    /// ```no_run
    /// # async fn job_status(_id: &str) -> Result<String, std::io::Error> { Ok("DONE".into()) }
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::WaitStrategy;
    /// let status = ctx
    ///     .wait_for_condition("job done", "PENDING".to_owned(), |_status, _| async move {
    ///         Ok(job_status("job-1").await?)
    ///     })
    ///     .strategy(WaitStrategy::until(|s: &String| s == "DONE"))
    ///     .await?;
    /// # let _ = status; Ok(()) }
    /// ```
    pub fn wait_for_condition<S, F, Fut>(
        &self,
        name: &str,
        initial: S,
        check: F,
    ) -> WaitForCondition<'_, S, F>
    where
        S: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(S, StepContext) -> Fut + Send,
        Fut: Future<Output = Result<S, StepError>> + Send,
    {
        WaitForCondition::new(self, Some(name), initial, check)
    }

    /// [`wait_for_condition`](Self::wait_for_condition) without a name.
    pub fn wait_for_condition_unnamed<S, F, Fut>(
        &self,
        initial: S,
        check: F,
    ) -> WaitForCondition<'_, S, F>
    where
        S: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce(S, StepContext) -> Fut + Send,
        Fut: Future<Output = Result<S, StepError>> + Send,
    {
        WaitForCondition::new(self, None, initial, check)
    }

    /// Runs `function` over `items`, each item in a child context of its own (sub-type
    /// `MapIteration` under a `Map` operation), and returns every started item's outcome in
    /// index order with the completion reason. Items start in index order, at most
    /// `.max_concurrency(n)` at once; `.completion(..)` stops early (no further item starts
    /// once it is met, and the result is final on every replay). A failed item does not
    /// fail the map: see [`BatchResult::throw_if_error`](crate::BatchResult::throw_if_error).
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::CompletionConfig;
    /// let users = vec!["ana".to_owned(), "bo".to_owned()];
    /// let greetings = ctx
    ///     .map("greet", users, |ctx, user, _index| async move {
    ///         ctx.step("greet", move |_| async move { Ok(format!("hi {user}")) }).await.map_err(Into::into)
    ///     })
    ///     .max_concurrency(10)
    ///     .completion(CompletionConfig::all_successful())
    ///     .await?
    ///     .throw_if_error()?
    ///     .into_values();
    /// # let _: Vec<String> = greetings; Ok(()) }
    /// ```
    pub fn map<I, T, F, Fut>(&self, name: &str, items: Vec<I>, function: F) -> Map<'_, I, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(DurableContext, I, usize) -> Fut + Send,
        Fut: Future<Output = Result<T, StepError>> + Send,
    {
        Map::new(self, Some(name), items, function)
    }

    /// [`map`](Self::map) without a name for the `Map` operation.
    pub fn map_unnamed<I, T, F, Fut>(&self, items: Vec<I>, function: F) -> Map<'_, I, T, F>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(DurableContext, I, usize) -> Fut + Send,
        Fut: Future<Output = Result<T, StepError>> + Send,
    {
        Map::new(self, None, items, function)
    }

    /// Runs `branches`, each in a child context of its own (sub-type `ParallelBranch` under a
    /// `Parallel` operation), with the same concurrency bound, completion rules and result as
    /// [`map`](Self::map).
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::Branch;
    /// let both = ctx
    ///     .parallel("lookups", vec![
    ///         Branch::named("price", |c| async move { Ok(c.step("price", |_| async { Ok(100u64) }).await?) }),
    ///         Branch::named("stock", |c| async move { Ok(c.step("stock", |_| async { Ok(7u64) }).await?) }),
    ///     ])
    ///     .await?
    ///     .throw_if_error()?
    ///     .into_values();
    /// # let _ = both; Ok(()) }
    /// ```
    pub fn parallel<'c, T>(&'c self, name: &str, branches: Vec<Branch<'c, T>>) -> Parallel<'c, T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        Parallel::new(self, Some(name), branches)
    }

    /// [`parallel`](Self::parallel) without a name for the `Parallel` operation.
    pub fn parallel_unnamed<'c, T>(&'c self, branches: Vec<Branch<'c, T>>) -> Parallel<'c, T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        Parallel::new(self, None, branches)
    }

    /// [`invoke`](Self::invoke) with an input you serialized yourself (any text the target
    /// reads, e.g. from your own serializer); the result is read as for `invoke`.
    pub fn invoke_serialized<O>(
        &self,
        name: &str,
        function_name: &str,
        payload: impl Into<String>,
    ) -> Invoke<'_, O>
    where
        O: Serialize + DeserializeOwned + Send + 'static,
    {
        Invoke::serialized(self, name, function_name, payload.into())
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
            crate::replay_filter::decided(|| {
                tracing::info!(execution_arn = %self.ctx.execution_arn(), "{message}");
            });
        }
    }

    /// Logs at WARN level unless replaying.
    pub fn warn(&self, message: impl Display) {
        if !self.ctx.is_replaying() {
            crate::replay_filter::decided(|| {
                tracing::warn!(execution_arn = %self.ctx.execution_arn(), "{message}");
            });
        }
    }

    /// Logs at ERROR level unless replaying.
    pub fn error(&self, message: impl Display) {
        if !self.ctx.is_replaying() {
            crate::replay_filter::decided(|| {
                tracing::error!(execution_arn = %self.ctx.execution_arn(), "{message}");
            });
        }
    }
}
