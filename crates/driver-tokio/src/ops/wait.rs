//! Waits: durable timers.

use std::future::IntoFuture;
use std::sync::Arc;
use std::time::Duration;

use durable_proto::WaitStart;

use crate::context::{DurableContext, Shared};
use crate::error::DurableError;
use crate::ops::{or_park, refusal, Interrupt, ReleaseGuard};
use crate::OperationFuture;

/// A wait being configured; await it to run it.
#[must_use = "a wait does nothing until awaited"]
pub struct Wait<'c> {
    ctx: &'c DurableContext,
    name: String,
    duration: Duration,
}

impl<'c> Wait<'c> {
    pub(crate) fn new(ctx: &'c DurableContext, name: &str, duration: Duration) -> Self {
        Self {
            ctx,
            name: name.to_owned(),
            duration,
        }
    }
}

impl<'c> IntoFuture for Wait<'c> {
    type Output = Result<(), DurableError>;
    type IntoFuture = OperationFuture<'c, ()>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call = WaitCall::begin(self.ctx, &self.name, self.duration);
        if call.elapsed_on_record() {
            return OperationFuture::decided(call.result());
        }
        // `call` (and its release guard) lives as long as the future, parked or not.
        OperationFuture::pending(async move { or_park(call.result()).await })
    }
}

/// A begun wait.
#[doc(hidden)]
pub struct WaitCall {
    start: Result<WaitStart, Interrupt>,
    // Dropping the call releases the wait, so an abandoned wait never holds the
    // invocation suspended.
    _guard: Option<ReleaseGuard>,
}

impl WaitCall {
    /// Begins the wait in `ctx`'s context.
    pub fn begin(ctx: &DurableContext, name: &str, duration: Duration) -> Self {
        let shared: &Arc<Shared> = ctx.shared();
        let start = shared
            .lock()
            .exec
            .begin_wait(ctx.context_ref(), Some(name), duration)
            .map_err(refusal);
        shared.changed.notify_one();
        let op = match &start {
            Ok(WaitStart::Elapsed { op } | WaitStart::Blocked { op }) => Some(*op),
            _ => None,
        };
        Self {
            start,
            _guard: ReleaseGuard::watching(shared, op),
        }
    }

    /// Whether the wait is over already (nothing to await).
    pub fn elapsed_on_record(&self) -> bool {
        matches!(self.start, Ok(WaitStart::Elapsed { .. }))
    }

    /// `Ok` once the wait is over; [`Interrupt::Blocked`] while its timer runs. Keep the
    /// call alive while the branch is blocked: dropping it releases the wait.
    pub fn result(&mut self) -> Result<(), Interrupt> {
        match std::mem::replace(&mut self.start, Err(Interrupt::Blocked)) {
            Ok(WaitStart::Elapsed { .. }) => Ok(()),
            Ok(WaitStart::Blocked { op }) => {
                // User code awaits the wait now: it blocks (see `Execution::activate`).
                if let Some(g) = &self._guard {
                    g.shared.lock().exec.activate(op);
                    g.shared.changed.notify_one();
                }
                Err(Interrupt::Blocked)
            }
            Ok(_) => Err(Interrupt::Blocked),
            Err(e) => Err(e),
        }
    }
}
