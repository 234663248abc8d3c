//! The future every async operation returns.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::DurableError;
use crate::ops::{park, Interrupt};

/// The future of a durable operation: `.await` it for the operation's result.
///
/// An operation that finished on record is decided when the future is made, so replaying a
/// long history allocates no future per operation; any other holds its boxed async core.
#[must_use = "an operation future does nothing until awaited"]
pub struct OperationFuture<'c, T> {
    inner: Inner<'c, T>,
}

enum Inner<'c, T> {
    Ready(Option<Result<T, DurableError>>),
    Pending(Pin<Box<dyn Future<Output = Result<T, DurableError>> + Send + 'c>>),
}

impl<'c, T: Send + 'c> OperationFuture<'c, T> {
    /// A future for what an operation's core decided without waiting.
    pub(crate) fn decided(result: Result<T, Interrupt>) -> Self {
        match result {
            Ok(value) => Self::ready(Ok(value)),
            Err(Interrupt::User(e)) => Self::ready(Err(e)),
            // The branch cannot go on in this invocation: the driver drops it.
            Err(Interrupt::Blocked | Interrupt::Closing(_)) => Self::pending(park()),
        }
    }

    fn ready(result: Result<T, DurableError>) -> Self {
        Self {
            inner: Inner::Ready(Some(result)),
        }
    }

    /// A future running `core`.
    pub(crate) fn pending(core: impl Future<Output = Result<T, DurableError>> + Send + 'c) -> Self {
        Self {
            inner: Inner::Pending(Box::pin(core)),
        }
    }
}

// Nothing is pinned in place: the ready value is moved out, the core is boxed.
impl<T> Unpin for OperationFuture<'_, T> {}

impl<T> Future for OperationFuture<'_, T> {
    type Output = Result<T, DurableError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().inner {
            Inner::Ready(value) => match value.take() {
                Some(v) => Poll::Ready(v),
                // Polled after it completed: like a fused future, it stays pending.
                None => Poll::Pending,
            },
            Inner::Pending(core) => core.as_mut().poll(cx),
        }
    }
}
