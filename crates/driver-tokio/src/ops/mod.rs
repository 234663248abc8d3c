//! The operations, each written once: an async core that the async front end awaits and
//! the blocking front end drives with `block_on`.
//!
//! A core returns [`Interrupt`] when user code cannot go on: the async front end parks
//! (the driver loop suspends or ends the invocation and drops the future), the blocking
//! one returns [`DurableError::Suspended`] or [`DurableError::Closing`].

pub(crate) mod batch;
pub(crate) mod callback;
pub(crate) mod child;
pub(crate) mod combinators;
pub(crate) mod condition;
pub(crate) mod invoke;
pub(crate) mod map;
pub(crate) mod replay_safe;
pub(crate) mod step;
pub(crate) mod wait;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use durable_proto::{ExecutionError, OperationHandle};

use crate::context::Shared;
use crate::error::DurableError;

/// Why an operation does not return to user code.
#[doc(hidden)]
#[derive(Debug)]
pub enum Interrupt {
    /// A catchable error for user code.
    User(DurableError),
    /// The branch waits on the service; it cannot go on in this invocation.
    Blocked,
    /// The invocation is ending (an engine decision user code cannot change).
    Closing(String),
}

impl From<DurableError> for Interrupt {
    fn from(e: DurableError) -> Self {
        Self::User(e)
    }
}

/// Whether a function's error is a blocking front end unwinding from a suspension or an
/// ending invocation (also when `?` wrapped it in a [`StepError`](crate::StepError)), not a
/// failure to record.
pub(crate) fn is_unwinding<E: 'static>(error: &E) -> bool {
    let any = error as &dyn std::any::Any;
    let durable = any.downcast_ref::<DurableError>().or_else(|| {
        any.downcast_ref::<crate::StepError>()
            .and_then(|s| s.source_error()?.downcast_ref::<DurableError>())
    });
    matches!(
        durable,
        Some(DurableError::Suspended | DurableError::Closing(_))
    )
}

/// Splits an engine refusal into what user code may see and what only the driver handles.
pub(crate) fn refusal(error: ExecutionError) -> Interrupt {
    if error.is_invalid_argument() {
        Interrupt::User(DurableError::InvalidArgument(error))
    } else {
        Interrupt::Closing(error.to_string())
    }
}

/// The future of an operation whose core answers without awaiting: decided now when it
/// `finished` on record (no future to allocate), else asked on the first poll — user code
/// awaits it then (see `Execution::activate`), so operations created together (`join!`) are
/// not in progress for each other — and parked (holding `call`, and with it the release
/// guard) while it is blocked.
pub(crate) fn decided_or_parked<'c, T, C>(
    mut call: C,
    finished: bool,
    result: impl Fn(&mut C) -> Result<T, Interrupt> + Send + 'c,
) -> crate::OperationFuture<'c, T>
where
    T: Send + 'c,
    C: Send + 'c,
{
    if finished {
        return crate::OperationFuture::decided(result(&mut call));
    }
    crate::OperationFuture::pending(async move { or_park(result(&mut call)).await })
}

/// Never resolves: the branch cannot proceed in this invocation, and the driver drops it.
pub(crate) async fn park<T>() -> T {
    std::future::pending().await
}

/// What an async operation future returns to user code.
pub(crate) async fn or_park<T>(result: Result<T, Interrupt>) -> Result<T, DurableError> {
    match result {
        Ok(v) => Ok(v),
        Err(Interrupt::User(e)) => Err(e),
        Err(Interrupt::Blocked | Interrupt::Closing(_)) => park().await,
    }
}

/// Releases an operation when the code that holds it goes away, whether it finished, was
/// dropped before its first poll, or was dropped mid-way. Releasing a finished operation
/// does nothing, so every path can simply drop the guard.
pub(crate) struct ReleaseGuard {
    pub(crate) shared: Arc<Shared>,
    pub(crate) op: OperationHandle,
    armed: bool,
}

impl ReleaseGuard {
    pub(crate) fn new(shared: Arc<Shared>, op: OperationHandle) -> Self {
        Self {
            shared,
            op,
            armed: true,
        }
    }

    /// The operation finished on record before user code touched it: releasing it would
    /// change nothing, so the drop need not take the lock (replay drops one per operation).
    /// A guard for the operation a begin call returned, if it returned one.
    pub(crate) fn watching(shared: &Arc<Shared>, op: Option<OperationHandle>) -> Option<Self> {
        op.map(|op| Self::new(shared.clone(), op))
    }

    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for ReleaseGuard {
    fn drop(&mut self) {
        if self.armed {
            self.shared.lock().exec.release(self.op);
            self.shared.changed.notify_one();
        }
    }
}

thread_local! {
    /// The step whose synchronous body runs on this thread (blocking front end).
    static BLOCKING_BODY: std::cell::Cell<Option<OperationHandle>> = const { std::cell::Cell::new(None) };
}

/// The step whose blocking body runs on this thread, if any: every engine call this thread
/// makes meanwhile is made as from inside that body (see `Shared::lock`).
pub(crate) fn blocking_body() -> Option<OperationHandle> {
    BLOCKING_BODY.with(std::cell::Cell::get)
}

/// Runs the synchronous user code `body` of operation `op` (a step body, a check) on this
/// thread, so that durable calls it makes are refused and deterministic draws are keyed by
/// it — for this thread only, as other threads may run operations meanwhile.
pub fn run_blocking_body<R>(op: OperationHandle, body: impl FnOnce() -> R) -> R {
    struct Reset(Option<OperationHandle>);
    impl Drop for Reset {
        fn drop(&mut self) {
            BLOCKING_BODY.with(|b| b.set(self.0));
        }
    }
    let _reset = Reset(BLOCKING_BODY.with(|b| b.replace(Some(op))));
    body()
}

/// Tells the engine while a step body is being polled, so durable calls made from inside
/// it are refused.
pub(crate) struct InBody<F> {
    pub(crate) fut: Pin<Box<F>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) op: OperationHandle,
}

impl<F: Future> Future for InBody<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.shared.lock().exec.enter_body(self.op);
        let out = self.fut.as_mut().poll(cx);
        self.shared.lock().exec.leave_body(self.op);
        out
    }
}
