//! Child contexts: a group of operations with its own id space, checkpointed as one
//! CONTEXT operation.

use std::fmt::{Debug, Display};
use std::future::{Future, IntoFuture};
use std::sync::Arc;

use durable_proto::{ContextStart, StepOutcome};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::{DurableContext, Shared};
use crate::error::{error_object_of, DurableError};
use crate::failure::source_of;
use crate::ops::step::{decode, value_outcome};
use crate::ops::{or_park, refusal, Interrupt, ReleaseGuard};
use crate::panic::{catch_panic, CatchPanic};
use crate::serdes::{Json, Serdes};
use crate::OperationFuture;

/// A child context being configured; await it to run it.
#[must_use = "a child context does nothing until awaited"]
pub struct ChildContext<'c, T, F> {
    ctx: &'c DurableContext,
    name: Option<String>,
    sub_type: Option<&'static str>,
    function: F,
    serdes: Arc<dyn Serdes<T>>,
}

impl<'c, T: Serialize + DeserializeOwned + 'static, F> ChildContext<'c, T, F> {
    pub(crate) fn new(ctx: &'c DurableContext, name: Option<&str>, function: F) -> Self {
        Self {
            ctx,
            name: name.map(str::to_owned),
            sub_type: None,
            function,
            serdes: Arc::new(Json),
        }
    }
}

impl<'c, T, F> ChildContext<'c, T, F> {
    /// A child context whose result goes through `serdes`.
    pub(crate) fn new_with_serdes(
        ctx: &'c DurableContext,
        name: Option<&str>,
        serdes: Arc<dyn Serdes<T>>,
        function: F,
    ) -> Self {
        Self {
            ctx,
            name: name.map(str::to_owned),
            sub_type: None,
            function,
            serdes,
        }
    }
}

impl<T, F> ChildContext<'_, T, F> {
    /// Records the CONTEXT with this sub-type instead of `RunInChildContext` (1 to 32
    /// characters of `[A-Za-z0-9_-]`; anything else is `DurableError::InvalidArgument`).
    pub fn sub_type(mut self, sub_type: &'static str) -> Self {
        self.sub_type = Some(sub_type);
        self
    }

    /// Replaces the JSON serializer for the context's result.
    pub fn serdes(mut self, serdes: impl Serdes<T> + 'static) -> Self {
        self.serdes = Arc::new(serdes);
        self
    }
}

impl<'c, T, F, Fut, E> IntoFuture for ChildContext<'c, T, F>
where
    T: Send + 'static,
    F: FnOnce(DurableContext) -> Fut + Send + 'c,
    Fut: Future<Output = Result<T, E>> + Send + 'c,
    E: Display + Debug + Send + 'static,
{
    type Output = Result<T, DurableError>;
    type IntoFuture = OperationFuture<'c, T>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call =
            ChildCall::begin_with_sub_type(self.ctx, self.name.as_deref(), self.sub_type);
        let (function, serdes) = (self.function, self.serdes);
        if let Some(result) = call.finished_on_record(&*serdes) {
            return OperationFuture::decided(result);
        }
        OperationFuture::pending(async move { or_park(call.run(function, &*serdes).await).await })
    }
}

/// A begun child context.
#[doc(hidden)]
pub struct ChildCall {
    shared: Arc<Shared>,
    start: Result<ContextStart, Interrupt>,
    _guard: Option<ReleaseGuard>,
}

impl ChildCall {
    /// Begins a child context named `name` in `ctx`'s context.
    pub fn begin(ctx: &DurableContext, name: Option<&str>) -> Self {
        Self::begin_with_sub_type(ctx, name, None)
    }

    /// Begins a child context with the sub-type of an operation built on one
    /// (`WaitForCallback`, …); `None` is a plain child context.
    pub fn begin_with_sub_type(
        ctx: &DurableContext,
        name: Option<&str>,
        sub_type: Option<&'static str>,
    ) -> Self {
        let shared = ctx.shared().clone();
        let start = shared
            .lock()
            .exec
            .begin_child_context(ctx.context_ref(), name, sub_type)
            .map_err(refusal);
        shared.changed.notify_one();
        let op = match &start {
            Ok(ContextStart::Done { op, .. } | ContextStart::Run { op, .. }) => Some(*op),
            _ => None,
        };
        Self {
            _guard: ReleaseGuard::watching(&shared, op),
            shared,
            start,
        }
    }

    /// Runs the context's function (unless its result is recorded) and records the result.
    pub async fn run<T, F, Fut, E>(
        &mut self,
        function: F,
        serdes: &dyn Serdes<T>,
    ) -> Result<T, Interrupt>
    where
        F: FnOnce(DurableContext) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Display + Debug + 'static,
    {
        let (op, child) = match self.enter(serdes)? {
            ChildEntered::Done(value) => return Ok(value),
            ChildEntered::Run(op, child) => (op, child),
        };
        let (shared, at) = (child.shared().clone(), child.context_ref());
        let result = match catch_panic(|| function(child)) {
            Err(panic) => Err(panic),
            Ok(fut) => {
                let fut = crate::replay_filter::InContext {
                    shared,
                    ctx: at,
                    fut: Box::pin(fut),
                };
                CatchPanic(Box::pin(fut)).await
            }
        };
        self.finish(op, result, serdes)
    }

    /// Like [`run`](Self::run) with a synchronous function, run on this thread (not inside
    /// a `block_on`, so its own operations can block on the runtime).
    pub fn run_blocking<T, F, E>(
        &mut self,
        function: F,
        serdes: &dyn Serdes<T>,
    ) -> Result<T, Interrupt>
    where
        F: FnOnce(DurableContext) -> Result<T, E>,
        E: Display + Debug + 'static,
    {
        let (op, child) = match self.enter(serdes)? {
            ChildEntered::Done(value) => return Ok(value),
            ChildEntered::Run(op, child) => (op, child),
        };
        let result = catch_panic(|| function(child));
        self.finish(op, result, serdes)
    }

    /// The recorded result, when the context finished on record (its function does not run).
    pub fn finished_on_record<T>(
        &mut self,
        serdes: &dyn Serdes<T>,
    ) -> Option<Result<T, Interrupt>> {
        if !matches!(self.start, Ok(ContextStart::Done { .. })) {
            return None;
        }
        match self.enter(serdes) {
            Ok(ChildEntered::Done(value)) => Some(Ok(value)),
            Err(e) => Some(Err(e)),
            Ok(ChildEntered::Run(..)) => None,
        }
    }

    /// How a `wait_for_callback` context ended, as user code sees it, decided from the
    /// context's own recorded error (the service hides a finished context's children from
    /// later invocations, so nothing else is there on replay): the callback's timeouts by
    /// their recorded error type, any other failure (the external system's, or the
    /// submitter's after its retries) as [`DurableError::CallbackFailed`] with the
    /// recorded error.
    pub fn callback_outcome<T>(&self, result: Result<T, Interrupt>) -> Result<T, Interrupt> {
        let Err(Interrupt::User(DurableError::ChildContextFailed(failure))) = result else {
            return result;
        };
        let mapped = match failure.error_type() {
            durable_proto::CALLBACK_HEARTBEAT_ERROR_TYPE => {
                DurableError::CallbackHeartbeatTimedOut(failure)
            }
            durable_proto::CALLBACK_TIMEOUT_ERROR_TYPE => DurableError::CallbackTimedOut(failure),
            _ => DurableError::CallbackFailed(failure),
        };
        Err(Interrupt::User(mapped))
    }

    /// User code awaits the context: its recorded result, or the context to run in.
    fn enter<T>(&mut self, serdes: &dyn Serdes<T>) -> Result<ChildEntered<T>, Interrupt> {
        let shared = &self.shared;
        match std::mem::replace(&mut self.start, Err(Interrupt::Blocked)) {
            Err(e) => Err(e),
            Ok(ContextStart::Done { op, result }) => {
                decode(shared, op, serdes, result, None).map(ChildEntered::Done)
            }
            Ok(ContextStart::Run { op, child }) => {
                shared.lock().exec.activate(op);
                Ok(ChildEntered::Run(
                    op,
                    DurableContext::new(shared.clone(), child),
                ))
            }
            Ok(_) => Err(Interrupt::Blocked),
        }
    }

    /// Records how the function ended (`Err` for a panic) and returns what user code sees.
    fn finish<T, E>(
        &self,
        op: durable_proto::OperationHandle,
        result: Result<Result<T, E>, durable_proto::ErrorObject>,
        serdes: &dyn Serdes<T>,
    ) -> Result<T, Interrupt>
    where
        E: Display + Debug + 'static,
    {
        let shared = &self.shared;
        let mut source = None;
        let outcome = match result {
            Err(panic) => StepOutcome::Error(panic),
            Ok(Ok(value)) => value_outcome(serdes, &value),
            Ok(Err(e)) => {
                // A blocking function unwinding from a suspension is not a failure.
                if crate::ops::is_unwinding(&e) {
                    return Err(Interrupt::Blocked);
                }
                let object = error_object_of(&e);
                source = source_of(e);
                StepOutcome::Error(object)
            }
        };
        let recorded = shared.lock().exec.handle_context_outcome(op, outcome);
        shared.changed.notify_one();
        // The engine hands back the value itself, also when it was too large to record.
        decode(shared, op, serdes, recorded.map_err(refusal)?, source)
    }
}

/// Where a child context stands once user code awaits it.
enum ChildEntered<T> {
    Done(T),
    Run(durable_proto::OperationHandle, DurableContext),
}
