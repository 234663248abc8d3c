//! `DurableContext` for synchronous user code: the async front end's operation cores,
//! driven with `block_on` on the handler's thread.

use std::fmt::{Debug, Display};
use std::time::Duration;

use durable_tokio::front::{
    self, CallbackCall, CallbackConfig, ChildCall, Interrupt, InvokeCall, InvokeConfig, StepCall,
    StepConfig, WaitCall,
};
use durable_tokio::{DurableError, Json, Logger, Serdes, StepContext, StepError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::runtime::Handle;

/// The handle synchronous user code runs durable operations through.
pub struct DurableContext {
    inner: durable_tokio::DurableContext,
    logger: Logger,
    pub(crate) runtime: Handle,
    /// Set inside the items of a map or parallel, each on a thread of its own: whether that
    /// thread still counts as running (see `Execution::enter_branch`). A blocked operation
    /// then parks the thread instead of unwinding, keeping the operation alive (so the
    /// invocation suspends on it) until the invocation ends or the batch completes.
    branch: Option<Branch>,
}

/// An item thread's claim on "running": given up once, when it parks or its result is
/// taken.
#[derive(Clone)]
pub(crate) struct Branch(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Branch {
    /// A branch that counts as running from now on.
    pub(crate) fn enter(ctx: &durable_tokio::DurableContext) -> Self {
        front::enter_branch(ctx);
        Self(std::sync::Arc::new(std::sync::atomic::AtomicBool::new(
            true,
        )))
    }

    /// Counts it as running again, if it had stopped.
    pub(crate) fn reenter(&self, ctx: &durable_tokio::DurableContext) {
        if !self.0.swap(true, std::sync::atomic::Ordering::SeqCst) {
            front::enter_branch(ctx);
        }
    }

    /// Stops counting it as running (once).
    pub(crate) fn leave(&self, ctx: &durable_tokio::DurableContext) {
        if self.0.swap(false, std::sync::atomic::Ordering::SeqCst) {
            front::leave_branch(ctx);
        }
    }
}

impl Debug for DurableContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableContext")
            .field("execution_arn", &self.inner.execution_arn())
            .finish_non_exhaustive()
    }
}

impl DurableContext {
    pub(crate) fn new(inner: durable_tokio::DurableContext, runtime: Handle) -> Self {
        Self {
            logger: inner.logger(),
            inner,
            runtime,
            branch: None,
        }
    }

    /// A context for operations begun in `inner`, a context below this one.
    pub(crate) fn below(&self, inner: durable_tokio::DurableContext) -> Self {
        Self {
            branch: self.branch.clone(),
            ..Self::new(inner, self.runtime.clone())
        }
    }

    /// A context for a map or parallel item running on a thread of its own, counted as
    /// `branch`.
    pub(crate) fn item(&self, inner: durable_tokio::DurableContext, branch: Branch) -> Self {
        Self {
            branch: Some(branch),
            ..self.below(inner)
        }
    }

    /// The async context underneath.
    pub(crate) fn inner(&self) -> &durable_tokio::DurableContext {
        &self.inner
    }

    /// The durable execution's ARN.
    pub fn execution_arn(&self) -> &str {
        self.inner.execution_arn()
    }

    /// Whether the code of this context is re-tracing operations recorded by earlier
    /// invocations.
    pub fn is_replaying(&self) -> bool {
        self.inner.is_replaying()
    }

    /// A random source that yields the same values on every replay of this point of the
    /// code (see `durable_tokio::DurableContext::random`).
    pub fn random(&self) -> Result<durable_tokio::SeededRng, DurableError> {
        self.inner.random()
    }

    /// A UUID that is the same on every replay of this point of the code.
    pub fn uuid(&self) -> Result<String, DurableError> {
        self.inner.uuid()
    }

    /// The current time, recorded by a step named `name` (every replay sees the first
    /// run's time).
    pub fn now(&self, name: &str) -> Result<std::time::SystemTime, DurableError> {
        let millis: u64 = self
            .step(name, |_| Ok(front::system_millis()))
            .retry(durable_tokio::RetryPolicy::none())
            .run()?;
        Ok(std::time::UNIX_EPOCH + Duration::from_millis(millis))
    }

    /// A logger whose events are dropped while replaying.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// A step: runs `body` once per attempt and checkpoints its result; on replay a
    /// finished step returns its recorded value without running `body`. Configure it like
    /// the async one and finish with [`run`](Step::run).
    ///
    /// ```no_run
    /// # fn demo(ctx: &durable_blocking::DurableContext) -> Result<(), durable_blocking::DurableError> {
    /// use durable_blocking::RetryPolicy;
    /// let charged: bool = ctx
    ///     .step("charge", |_| Ok(true))
    ///     .retry(RetryPolicy::none())
    ///     .at_most_once()
    ///     .run()?;
    /// # Ok(()) }
    /// ```
    pub fn step<T, F>(&self, name: &str, body: F) -> Step<'_, T, F>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: FnOnce(&StepContext) -> Result<T, StepError>,
    {
        Step {
            ctx: self,
            name: name.to_owned(),
            body,
            config: StepConfig::default(),
        }
    }

    /// A durable wait. The first call returns [`DurableError::Suspended`] (return it from
    /// the handler); the service invokes the function again once `duration` has passed,
    /// and the replayed call returns `Ok(())`. Durations are whole seconds on the wire,
    /// rounded up; zero and more than 366 days are refused.
    pub fn wait(&self, name: &str, duration: Duration) -> Result<(), DurableError> {
        let mut call = WaitCall::begin(&self.inner, name, duration);
        let result = call.result();
        self.finish(result)
    }

    /// Creates a callback for an external system; configure it like the async one and
    /// finish with [`run`](CreateCallback::run), which returns the [`Callback`] holding the
    /// id (one round trip for a new callback). [`Callback::result`] returns what the
    /// external system sent, or [`DurableError::Suspended`] until it has (return that from
    /// the handler; the service invokes the function again when the callback completes).
    pub fn create_callback<T>(&self, name: &str) -> CreateCallback<'_, T>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        CreateCallback {
            ctx: self,
            config: CallbackConfig::new(Some(name)),
        }
    }

    /// Waits for an external system through a callback: creates the callback, runs
    /// `submitter` as a step with the callback id, and returns what the system sends
    /// ([`DurableError::Suspended`] until it has). Configure it like the async one and finish
    /// with [`run`](WaitForCallback::run).
    pub fn wait_for_callback<T, S>(&self, name: &str, submitter: S) -> WaitForCallback<'_, T, S>
    where
        T: Serialize + DeserializeOwned + 'static,
        S: FnOnce(&str, &StepContext) -> Result<(), StepError>,
    {
        WaitForCallback {
            ctx: self,
            name: name.to_owned(),
            submitter,
            config: CallbackConfig::new(None),
            step: StepConfig::default(),
        }
    }

    /// Invokes another Lambda function durably; configure it like the async one and finish
    /// with [`run`](Invoke::run), which returns the target's result, or
    /// [`DurableError::Suspended`] while the target runs (return that from the handler).
    pub fn invoke<O, I>(&self, name: &str, function_name: &str, input: &I) -> Invoke<'_, O>
    where
        O: Serialize + DeserializeOwned + 'static,
        I: Serialize + ?Sized,
    {
        Invoke {
            ctx: self,
            config: InvokeConfig::new(name, function_name, input),
        }
    }

    /// Runs `function` over `items`, each item in a child context of its own on a thread of
    /// its own (at most `.max_concurrency(n)` at once), like the async driver's `map`;
    /// finish with [`run`](crate::Map::run) for the [`BatchResult`](crate::BatchResult).
    ///
    /// ```no_run
    /// # fn demo(ctx: &durable_blocking::DurableContext) -> Result<(), durable_blocking::DurableError> {
    /// let doubled = ctx
    ///     .map("double", vec![1u32, 2, 3], |c, n, _index| Ok(c.step("double", |_| Ok(n * 2)).run()?))
    ///     .max_concurrency(2)
    ///     .run()?
    ///     .throw_if_error()?
    ///     .into_values();
    /// # let _: Vec<u32> = doubled; Ok(()) }
    /// ```
    pub fn map<I, T, F>(&self, name: &str, items: Vec<I>, function: F) -> crate::Map<'_, I, T, F>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: Fn(&DurableContext, I, usize) -> Result<T, StepError> + Sync,
    {
        crate::Map::new(self, Some(name), items, function)
    }

    /// [`map`](Self::map) without a name for the `Map` operation.
    pub fn map_unnamed<I, T, F>(&self, items: Vec<I>, function: F) -> crate::Map<'_, I, T, F>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: Fn(&DurableContext, I, usize) -> Result<T, StepError> + Sync,
    {
        crate::Map::new(self, None, items, function)
    }

    /// Runs `branches`, each in a child context of its own on a thread of its own, like the
    /// async driver's `parallel`; finish with [`run`](crate::Parallel::run).
    pub fn parallel<'c, T>(
        &'c self,
        name: &str,
        branches: Vec<crate::Branch<'c, T>>,
    ) -> crate::Parallel<'c, T>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        crate::Parallel::new(self, Some(name), branches)
    }

    /// [`parallel`](Self::parallel) without a name for the `Parallel` operation.
    pub fn parallel_unnamed<'c, T>(
        &'c self,
        branches: Vec<crate::Branch<'c, T>>,
    ) -> crate::Parallel<'c, T>
    where
        T: Serialize + DeserializeOwned + 'static,
    {
        crate::Parallel::new(self, None, branches)
    }

    /// Waits until a condition holds, like the async driver's `wait_for_condition`: one
    /// check per invocation, [`DurableError::Suspended`] until the next one is due. Finish
    /// with [`run`](crate::WaitForCondition::run).
    pub fn wait_for_condition<S, F>(
        &self,
        name: &str,
        initial: S,
        check: F,
    ) -> crate::WaitForCondition<'_, S, F>
    where
        S: Serialize + DeserializeOwned + 'static,
        F: FnOnce(S, &StepContext) -> Result<S, StepError>,
    {
        crate::WaitForCondition::new(self, Some(name), initial, check)
    }

    /// [`wait_for_condition`](Self::wait_for_condition) without a name.
    pub fn wait_for_condition_unnamed<S, F>(
        &self,
        initial: S,
        check: F,
    ) -> crate::WaitForCondition<'_, S, F>
    where
        S: Serialize + DeserializeOwned + 'static,
        F: FnOnce(S, &StepContext) -> Result<S, StepError>,
    {
        crate::WaitForCondition::new(self, None, initial, check)
    }

    /// Retries a block of durable code, like the async driver's `with_retry`: each attempt
    /// runs `function` in a child context of its own, with a durable wait between attempts
    /// while the retry strategy (`.retry(..)`) says to try again. Finish with
    /// [`run`](crate::WithRetry::run).
    pub fn with_retry<T, F>(&self, name: &str, function: F) -> crate::WithRetry<'_, T, F>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: Fn(&DurableContext, u32) -> Result<T, StepError>,
    {
        crate::WithRetry::new(self, name, function)
    }

    /// [`run_in_child_context`](Self::run_in_child_context) without a name.
    pub fn run_in_unnamed_child_context<T, E, F>(&self, function: F) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: FnOnce(&DurableContext) -> Result<T, E>,
        E: Display + Debug + Send + 'static,
    {
        self.child(None, None, &Json, function)
    }

    /// [`invoke`](Self::invoke) with an input you serialized yourself.
    pub fn invoke_serialized<O>(
        &self,
        name: &str,
        function_name: &str,
        payload: impl Into<String>,
    ) -> Invoke<'_, O>
    where
        O: Serialize + DeserializeOwned + 'static,
    {
        let mut config = InvokeConfig::new(name, function_name, &());
        config.payload = Ok(payload.into());
        Invoke { ctx: self, config }
    }

    /// A child context: runs `function` with a context of its own id space and
    /// checkpoints its result as one CONTEXT operation; on replay a finished child returns
    /// its recorded result without running `function`.
    pub fn run_in_child_context<T, E, F>(&self, name: &str, function: F) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: FnOnce(&DurableContext) -> Result<T, E>,
        E: Display + Debug + Send + 'static,
    {
        self.run_in_child_context_with_serdes(name, Json, function)
    }

    /// [`run_in_child_context`](Self::run_in_child_context) with `serdes` in place of the
    /// JSON serializer of the context's result (the async driver's `.serdes(..)`).
    pub fn run_in_child_context_with_serdes<T, E, F>(
        &self,
        name: &str,
        serdes: impl Serdes<T>,
        function: F,
    ) -> Result<T, DurableError>
    where
        T: 'static,
        F: FnOnce(&DurableContext) -> Result<T, E>,
        E: Display + Debug + Send + 'static,
    {
        self.child(Some(name), None, &serdes, function)
    }

    /// [`run_in_child_context`](Self::run_in_child_context) recorded with `sub_type`
    /// instead of `RunInChildContext` (1 to 32 characters of `[A-Za-z0-9_-]`).
    pub fn run_in_child_context_with_sub_type<T, E, F>(
        &self,
        name: &str,
        sub_type: &'static str,
        function: F,
    ) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: FnOnce(&DurableContext) -> Result<T, E>,
        E: Display + Debug + Send + 'static,
    {
        self.child(Some(name), Some(sub_type), &Json, function)
    }

    pub(crate) fn child<T, E, F>(
        &self,
        name: Option<&str>,
        sub_type: Option<&'static str>,
        serdes: &dyn Serdes<T>,
        function: F,
    ) -> Result<T, DurableError>
    where
        F: FnOnce(&DurableContext) -> Result<T, E>,
        E: Display + Debug + Send + 'static,
    {
        let mut call = ChildCall::begin_with_sub_type(&self.inner, name, sub_type);
        let result = call.run_blocking(
            |child| {
                let child = self.below(child);
                front::in_context(child.inner(), || function(&child))
            },
            serdes,
        );
        self.finish(result)
    }

    /// Maps an operation core's answer to what sequential code sees: a blocked branch
    /// cannot proceed, so the invocation suspends (if nothing else can move) and the
    /// handler unwinds with [`DurableError::Suspended`].
    pub(crate) fn finish<T>(&self, result: Result<T, Interrupt>) -> Result<T, DurableError> {
        match result {
            Ok(v) => Ok(v),
            Err(Interrupt::User(e)) => Err(e),
            Err(Interrupt::Blocked) => {
                if let Some(branch) = &self.branch {
                    branch.leave(&self.inner);
                }
                front::suspend_if_stuck(&self.inner);
                if self.branch.is_some() {
                    // Like a parked future in the async driver: the blocked operation stays
                    // alive until the invocation ends or the item's batch completes.
                    self.runtime
                        .block_on(front::park_until_released(&self.inner));
                }
                Err(DurableError::Suspended)
            }
            Err(Interrupt::Closing(why)) => Err(DurableError::Closing(why)),
        }
    }
}

/// A step being configured; [`run`](Step::run) it.
#[must_use = "a step does nothing until run"]
pub struct Step<'c, T, F> {
    ctx: &'c DurableContext,
    name: String,
    body: F,
    config: StepConfig<T>,
}

impl<T, F> Step<'_, T, F> {
    durable_tokio::step_builder_methods!();
}

impl<'c, T, F> Step<'c, T, F>
where
    F: FnOnce(&StepContext) -> Result<T, StepError> + Send + 'static,
    T: Send + 'static,
{
    /// Limits each attempt to `timeout` (the body must then own what it uses: it runs on a
    /// thread of its own). An attempt still running then fails with `StepTimedOut`, which the
    /// retry strategy decides on; the body's thread cannot be stopped and runs on, and its
    /// late result is dropped, recorded nowhere. The step's final failure is
    /// [`DurableError::StepTimedOut`].
    pub fn timeout(self, timeout: Duration) -> TimedStep<'c, T, F> {
        TimedStep {
            step: self,
            timeout,
        }
    }
}

/// A step whose attempts are limited in time; [`run`](TimedStep::run) it.
#[must_use = "a step does nothing until run"]
pub struct TimedStep<'c, T, F> {
    step: Step<'c, T, F>,
    timeout: Duration,
}

impl<T, F> TimedStep<'_, T, F>
where
    F: FnOnce(&StepContext) -> Result<T, StepError> + Send + 'static,
    T: Send + 'static,
{
    /// Runs the step: its recorded result on replay, or its body, each attempt within the
    /// timeout.
    pub fn run(self) -> Result<T, DurableError> {
        let Step {
            ctx,
            name,
            body,
            config,
        } = self.step;
        let mut call = StepCall::begin(&ctx.inner, name, config);
        let result = call.run_blocking_timed(&ctx.runtime, body, self.timeout);
        ctx.finish(result)
    }
}

impl<T, F> Step<'_, T, F>
where
    F: FnOnce(&StepContext) -> Result<T, StepError>,
{
    /// Runs the step: its recorded result on replay, or its body.
    pub fn run(self) -> Result<T, DurableError> {
        let Step {
            ctx,
            name,
            body,
            config,
        } = self;
        let mut call = StepCall::begin(&ctx.inner, name, config);
        let result = call.run_blocking(&ctx.runtime, body);
        ctx.finish(result)
    }
}

/// A callback being configured; [`run`](CreateCallback::run) it to create it.
#[must_use = "a callback is not created until run"]
pub struct CreateCallback<'c, T> {
    ctx: &'c DurableContext,
    config: CallbackConfig<T>,
}

impl<T> CreateCallback<'_, T> {
    durable_tokio::callback_builder_methods!();
}

impl<'c, T> CreateCallback<'c, T> {
    /// Creates the callback (or finds it on record) and returns it with its id.
    pub fn run(self) -> Result<Callback<'c, T>, DurableError> {
        let ctx = self.ctx;
        let mut call = CallbackCall::begin(&ctx.inner, self.config);
        let id = match call.recorded_id() {
            Some(id) => Ok(id),
            None => ctx.runtime.block_on(call.id()),
        };
        let id = ctx.finish(id)?;
        Ok(Callback { ctx, id, call })
    }
}

/// A created callback: give [`id`](Callback::id) to the external system, then call
/// [`result`](Callback::result).
pub struct Callback<'c, T> {
    ctx: &'c DurableContext,
    id: String,
    call: CallbackCall<T>,
}

impl<T> Debug for Callback<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<T> Callback<'_, T> {
    /// The service-issued callback id (the same on every replay).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What the external system sent; [`DurableError::Suspended`] while it has not.
    pub fn result(mut self) -> Result<T, DurableError> {
        let result = self.call.result();
        self.ctx.finish(result)
    }
}

/// A wait for a callback, configured; [`run`](WaitForCallback::run) it.
#[must_use = "a wait for a callback does nothing until run"]
pub struct WaitForCallback<'c, T, S> {
    ctx: &'c DurableContext,
    name: String,
    submitter: S,
    config: CallbackConfig<T>,
    step: StepConfig<()>,
}

impl<T, S> WaitForCallback<'_, T, S> {
    durable_tokio::callback_builder_methods!();

    /// Sets the submitter step's retry strategy (default `RetryPolicy::default()`).
    pub fn retry(mut self, strategy: impl durable_tokio::RetryStrategy + 'static) -> Self {
        self.step.strategy = std::sync::Arc::new(strategy);
        self
    }
}

impl<T, S> WaitForCallback<'_, T, S>
where
    T: Serialize + DeserializeOwned + 'static,
    S: FnOnce(&str, &StepContext) -> Result<(), StepError>,
{
    /// Runs it: the recorded result on replay, or the callback, the submitter and the wait.
    pub fn run(self) -> Result<T, DurableError> {
        let WaitForCallback {
            ctx,
            name,
            submitter,
            mut config,
            step,
        } = self;
        let mut call = ChildCall::begin_with_sub_type(
            &ctx.inner,
            Some(&name),
            Some(durable_tokio::proto::WAIT_FOR_CALLBACK_SUB_TYPE),
        );
        let serdes = config.serdes.clone();
        let result = call.run_blocking(
            |child| {
                let child = ctx.below(child);
                let (callback_name, submitter_name) = front::wait_for_callback_names(&name);
                config.name = Some(callback_name);
                let callback = CreateCallback {
                    ctx: &child,
                    config,
                }
                .run()?;
                let id = callback.id().to_owned();
                Step {
                    ctx: &child,
                    name: submitter_name,
                    body: |s: &StepContext| submitter(&id, s),
                    config: step,
                }
                .run()?;
                callback.result()
            },
            &*serdes,
        );
        ctx.finish(call.callback_outcome(result))
    }
}

/// A chained invoke being configured; [`run`](Invoke::run) it.
#[must_use = "a chained invoke does nothing until run"]
pub struct Invoke<'c, O> {
    ctx: &'c DurableContext,
    config: InvokeConfig<O>,
}

impl<O> Invoke<'_, O> {
    durable_tokio::invoke_builder_methods!();

    /// Runs it: the recorded result on replay, or the invoke.
    pub fn run(self) -> Result<O, DurableError> {
        let mut call = InvokeCall::begin(&self.ctx.inner, self.config);
        let result = call.result();
        self.ctx.finish(result)
    }
}
