//! `DurableContext` for synchronous user code.

use std::fmt::{Debug, Display};
use std::sync::Arc;
use std::time::Duration;

use durable_proto::{
    ErrorObject, ExecutionError, RetryPolicy, RetryStrategy, StepEnd, StepRequest, StepSemantics,
    StepStart, WaitStart,
};
use durable_tokio::{
    catch_panic, decode_step_result, error_object_of, panic_error, DurableError, EngineHandle,
    Json, Logger, Serdes, StepContext,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::runtime::Handle;

/// The handle synchronous user code runs durable operations through.
pub struct DurableContext {
    engine: EngineHandle,
    logger: Logger,
    runtime: Handle,
}

impl Debug for DurableContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DurableContext")
            .field("execution_arn", &self.engine.execution_arn())
            .finish_non_exhaustive()
    }
}

/// How a step runs: retry strategy, semantics and serializer.
pub struct StepConfig<T> {
    strategy: Arc<dyn RetryStrategy>,
    semantics: StepSemantics,
    serdes: Arc<dyn Serdes<T>>,
}

impl<T: Serialize + DeserializeOwned> Default for StepConfig<T> {
    fn default() -> Self {
        Self {
            strategy: Arc::new(RetryPolicy::default()),
            semantics: StepSemantics::AtLeastOncePerRetry,
            serdes: Arc::new(Json),
        }
    }
}

impl<T: Serialize + DeserializeOwned> StepConfig<T> {
    /// The defaults: [`RetryPolicy::default`], at-least-once per retry, JSON.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T> StepConfig<T> {
    /// Sets the retry strategy.
    pub fn retry(mut self, strategy: impl RetryStrategy + 'static) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }

    /// Sets the semantics.
    pub fn semantics(mut self, semantics: StepSemantics) -> Self {
        self.semantics = semantics;
        self
    }

    /// At-most-once per retry: the body runs only after its START is recorded.
    pub fn at_most_once(self) -> Self {
        self.semantics(StepSemantics::AtMostOncePerRetry)
    }

    /// Replaces the serializer.
    pub fn serdes(mut self, serdes: impl Serdes<T> + 'static) -> Self {
        self.serdes = Arc::new(serdes);
        self
    }
}

impl<T> Debug for StepConfig<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepConfig")
            .field("semantics", &self.semantics)
            .finish_non_exhaustive()
    }
}

impl DurableContext {
    pub(crate) fn new(async_ctx: &durable_tokio::DurableContext, runtime: Handle) -> Self {
        Self {
            engine: async_ctx.engine(),
            logger: async_ctx.logger(),
            runtime,
        }
    }

    /// The durable execution's ARN.
    pub fn execution_arn(&self) -> &str {
        self.engine.execution_arn()
    }

    /// Whether the code is re-tracing operations recorded by earlier invocations.
    pub fn is_replaying(&self) -> bool {
        self.engine.with(|exec, _| exec.is_replaying())
    }

    /// A logger whose events are dropped while replaying.
    pub fn logger(&self) -> &Logger {
        &self.logger
    }

    /// A step with the default configuration; see [`step_with`](Self::step_with).
    pub fn step<T, E>(
        &self,
        name: &str,
        body: impl FnOnce(&StepContext) -> Result<T, E>,
    ) -> Result<T, DurableError>
    where
        T: Serialize + DeserializeOwned,
        E: Display + Debug + Send + 'static,
    {
        self.step_with(name, StepConfig::new(), body)
    }

    /// A step: runs `body` once per attempt and checkpoints its result; on replay a
    /// finished step returns its recorded value without running `body`.
    ///
    /// ```no_run
    /// # fn demo(ctx: &durable_blocking::DurableContext) -> Result<(), durable_blocking::DurableError> {
    /// use durable_blocking::{RetryPolicy, StepConfig};
    /// let charged: bool = ctx.step_with(
    ///     "charge",
    ///     StepConfig::new().retry(RetryPolicy::none()).at_most_once(),
    ///     |_| Ok::<_, std::io::Error>(true),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn step_with<T, E>(
        &self,
        name: &str,
        config: StepConfig<T>,
        body: impl FnOnce(&StepContext) -> Result<T, E>,
    ) -> Result<T, DurableError>
    where
        E: Display + Debug + Send + 'static,
    {
        let (start, id) = self.claim_step(name, &config)?;
        let (op, attempt, wait_for) = match start {
            StepStart::Done(result) => return decode_step_result(&*config.serdes, &id, result),
            StepStart::Run {
                op,
                attempt,
                wait_for,
            } => (op, attempt, wait_for),
            _ => return Err(self.suspend_now()),
        };
        if !self.flushed(wait_for) {
            return Err(DurableError::Closing("the invocation is ending".into()));
        }
        let result = run_body(name, &id, attempt, || body(&step_context(attempt, &id)));
        match self.record_outcome(op, &id, &config, result)? {
            Some(value) => value,
            None => Err(self.suspend_now()),
        }
    }

    /// Several steps at once: ids are assigned in list order, the bodies that must run run
    /// in parallel on scoped threads (`body` gets the step's index and context), and their
    /// outcomes are recorded in list order, so every replay sees the same history.
    ///
    /// Returns one result per step, or [`DurableError::Suspended`] when any step waits on
    /// the service (a scheduled retry); the finished steps are recorded first, so the next
    /// invocation replays them.
    pub fn step_all<T, E>(
        &self,
        steps: Vec<(String, StepConfig<T>)>,
        body: impl Fn(usize, &StepContext) -> Result<T, E> + Sync,
    ) -> Result<Vec<Result<T, DurableError>>, DurableError>
    where
        T: Send,
        E: Display + Debug + Send + 'static,
    {
        let mut slots: Vec<Slot<T>> = Vec::with_capacity(steps.len());
        for (name, config) in &steps {
            let (start, id) = self.claim_step(name, config)?;
            slots.push(match start {
                StepStart::Done(result) => {
                    Slot::Done(decode_step_result(&*config.serdes, &id, result))
                }
                StepStart::Run {
                    op,
                    attempt,
                    wait_for,
                } => Slot::Run {
                    op,
                    attempt,
                    wait_for,
                    id,
                },
                _ => Slot::Blocked,
            });
        }
        let outcomes: Vec<Option<Result<T, ErrorObject>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = slots
                .iter()
                .enumerate()
                .map(|(i, slot)| match slot {
                    Slot::Run {
                        attempt,
                        wait_for,
                        id,
                        ..
                    } => {
                        let body = &body;
                        let (attempt, wait_for, id) = (*attempt, *wait_for, id.clone());
                        let name = &steps[i].0;
                        Some(scope.spawn(move || {
                            if !self.flushed(wait_for) {
                                return None;
                            }
                            Some(run_body(name, &id, attempt, || {
                                body(i, &step_context(attempt, &id))
                            }))
                        }))
                    }
                    _ => None,
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.and_then(|h| h.join().unwrap_or_else(|p| Some(Err(panic_error(&*p))))))
                .collect()
        });
        let mut results = Vec::with_capacity(slots.len());
        let mut blocked = false;
        for ((slot, outcome), (_, config)) in slots.into_iter().zip(outcomes).zip(&steps) {
            match slot {
                Slot::Done(r) => results.push(r),
                Slot::Blocked => blocked = true,
                Slot::Run { op, id, .. } => {
                    let Some(outcome) = outcome else {
                        return Err(DurableError::Closing("the invocation is ending".into()));
                    };
                    match self.record_outcome(op, &id, config, outcome)? {
                        Some(value) => results.push(value),
                        None => blocked = true,
                    }
                }
            }
        }
        if blocked {
            return Err(self.suspend_now());
        }
        Ok(results)
    }

    /// A durable wait. The first call returns [`DurableError::Suspended`] (return it from
    /// the handler); the service invokes the function again once `duration` has passed, and
    /// the replayed call returns `Ok(())`.
    pub fn wait(&self, name: &str, duration: Duration) -> Result<(), DurableError> {
        let context = self.engine.context();
        let start = self
            .engine
            .with(|exec, _| exec.wait(context, Some(name), duration));
        match start.map_err(|e| self.refusal(e))? {
            WaitStart::Elapsed => Ok(()),
            _ => Err(self.suspend_now()),
        }
    }

    /// Claims the next step id and asks the engine what to do; the id is empty unless the
    /// body must run.
    fn claim_step<T>(
        &self,
        name: &str,
        config: &StepConfig<T>,
    ) -> Result<(StepStart, String), DurableError> {
        let context = self.engine.context();
        let start = self.engine.with(|exec, rng| {
            let request = StepRequest {
                name: Some(name),
                semantics: config.semantics,
                strategy: &*config.strategy,
            };
            exec.step(context, request, rng).map(|s| {
                let id = match &s {
                    StepStart::Run { op, .. } => exec.step_id(*op).unwrap_or_default().to_owned(),
                    _ => String::new(),
                };
                (s, id)
            })
        });
        start.map_err(|e| self.refusal(e))
    }

    /// Waits for a flush ticket; `false` if the invocation is ending instead.
    fn flushed(&self, ticket: Option<durable_proto::FlushTicket>) -> bool {
        let Some(ticket) = ticket else { return true };
        self.runtime.block_on(self.engine.acknowledged(ticket));
        !self.engine.with(|exec, _| exec.is_closing())
    }

    /// Records a finished body: `Some(result)` for user code, `None` when a retry is
    /// scheduled (the branch cannot proceed in this invocation).
    fn record_outcome<T>(
        &self,
        op: durable_proto::OperationRef,
        id: &str,
        config: &StepConfig<T>,
        result: Result<T, ErrorObject>,
    ) -> Result<Option<Result<T, DurableError>>, DurableError> {
        let no_retry = RetryPolicy::none();
        let (outcome, strategy): (_, &dyn RetryStrategy) = match result {
            Ok(value) => match config.serdes.serialize(&value) {
                Ok(text) => (Ok(text), &*config.strategy),
                // A value that cannot be serialized will not serialize on a retry either.
                Err(m) => (Err(ErrorObject::new("SerializationError", m)), &no_retry),
            },
            Err(e) => (Err(e), &*config.strategy),
        };
        let end = self
            .engine
            .with(|exec, rng| exec.handle_step_outcome(op, outcome, strategy, rng));
        Ok(match end.map_err(|e| self.refusal(e))? {
            StepEnd::Done(result) => Some(decode_step_result(&*config.serdes, id, result)),
            _ => None,
        })
    }

    /// Sequential code that hits a blocked operation cannot make progress: suspend now.
    fn suspend_now(&self) -> DurableError {
        self.engine.with(|exec, _| {
            if exec.should_suspend() {
                exec.suspend();
            }
        });
        DurableError::Suspended
    }

    fn refusal(&self, error: ExecutionError) -> DurableError {
        match error {
            ExecutionError::InvalidName { .. } | ExecutionError::InvalidWaitDuration { .. } => {
                DurableError::InvalidArgument(error)
            }
            other => DurableError::Closing(other.to_string()),
        }
    }
}

/// One step of [`DurableContext::step_all`].
enum Slot<T> {
    Done(Result<T, DurableError>),
    Run {
        op: durable_proto::OperationRef,
        attempt: u32,
        wait_for: Option<durable_proto::FlushTicket>,
        id: String,
    },
    Blocked,
}

/// Runs a step body in its span; a panic or an error becomes the wire error (a panicking
/// body is a failed attempt like any other).
fn run_body<T, E: Display + Debug + Send + 'static>(
    name: &str,
    id: &str,
    attempt: u32,
    body: impl FnOnce() -> Result<T, E>,
) -> Result<T, ErrorObject> {
    let span = tracing::info_span!("durable_step", operation_id = %id, name = %name, attempt);
    span.in_scope(|| catch_panic(body))
        .and_then(|r| r.map_err(|e| error_object_of(&e)))
}

fn step_context(attempt: u32, id: &str) -> StepContext {
    StepContext::new(attempt, id.to_owned())
}
