//! Panics in user code become errors, so a panicking step is a failed attempt (retried by
//! its strategy) and a panicking handler fails the execution — in both drivers alike.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use durable_proto::ErrorObject;

/// The `ErrorType` recorded for a panic.
pub const PANIC_ERROR_TYPE: &str = "Panic";

/// The error a caught panic records.
pub fn panic_error(payload: &(dyn Any + Send)) -> ErrorObject {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-string payload".to_owned());
    ErrorObject::new(PANIC_ERROR_TYPE, message)
}

/// Runs `f`, turning a panic into [`panic_error`].
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, ErrorObject> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_error(&*p))
}

/// A future whose panics resolve it with an error instead of unwinding.
pub(crate) struct CatchPanic<F>(pub(crate) Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, ErrorObject>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_error(&*payload))),
        }
    }
}
