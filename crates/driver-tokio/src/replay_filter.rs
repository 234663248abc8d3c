//! Replay-aware `tracing`: which durable context the code on this thread runs in, so that
//! any event — the SDK's, user code's `tracing::info!`, a library's — can be dropped (or
//! marked) while that context is re-tracing recorded operations.
//!
//! The drivers set the current context while they poll (async) or run (blocking) a
//! context's code: the handler, a child context's function, a map item or parallel branch.
//! Step bodies run in the context of the code that called the step.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use durable_proto::ContextRef;
use tracing::{Event, Metadata};
use tracing_subscriber::layer::{Context, Filter};

use crate::context::Shared;

thread_local! {
    /// The context whose code runs on this thread.
    static CURRENT: RefCell<Option<(Arc<Shared>, ContextRef)>> = const { RefCell::new(None) };
    /// Whether this thread holds the engine lock (its own events are the SDK's, and asking
    /// the engine would deadlock).
    static HOLDS_LOCK: Cell<bool> = const { Cell::new(false) };
    /// Set while the SDK's `Logger` emits: it decided already.
    static DECIDED: Cell<bool> = const { Cell::new(false) };
}

/// What the SDK's log layer and [`ReplayFilter`] do with events emitted while the current
/// context replays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplayMode {
    /// Drop them: each line appears once per execution (the default of `init_logging`).
    #[default]
    Drop,
    /// Keep them, with `"replayed": true` on the line.
    Mark,
    /// Keep everything, as if there were no replay.
    Keep,
}

/// Whether the code on this thread runs in a context that is replaying; `None` outside any
/// durable context (or inside the SDK's own engine calls).
pub fn is_replaying_now() -> Option<bool> {
    if HOLDS_LOCK.with(Cell::get) || DECIDED.with(Cell::get) {
        return None;
    }
    CURRENT.with(|c| {
        let current = c.borrow();
        let (shared, ctx) = current.as_ref()?;
        let guard = shared.lock();
        Some(guard.exec.is_replaying_in(*ctx))
    })
}

/// A per-layer `tracing-subscriber` filter that drops events emitted while the current
/// durable context replays, for a subscriber of your own:
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
/// use tracing_subscriber::Layer;
///
/// let subscriber = tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(durable_tokio::ReplayFilter));
/// tracing::subscriber::set_global_default(subscriber).ok();
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayFilter;

impl<S> Filter<S> for ReplayFilter {
    fn enabled(&self, _meta: &Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, _event: &Event<'_>, _cx: &Context<'_, S>) -> bool {
        is_replaying_now() != Some(true)
    }
}

/// Runs `f` with `ctx` as this thread's current context.
pub(crate) fn in_context<R>(shared: &Arc<Shared>, ctx: ContextRef, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<(Arc<Shared>, ContextRef)>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CURRENT.with(|c| c.borrow_mut().replace((shared.clone(), ctx)));
    let _restore = Restore(previous);
    f()
}

/// A future polled with a durable context as the thread's current one.
pub(crate) struct InContext<F> {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ctx: ContextRef,
    pub(crate) fut: Pin<Box<F>>,
}

impl<F: Future> Future for InContext<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        let (shared, ctx) = (this.shared.clone(), this.ctx);
        in_context(&shared, ctx, || this.fut.as_mut().poll(cx))
    }
}

/// Marks this thread as holding the engine lock until the returned guard drops.
pub(crate) fn holding_lock() -> HoldingLock {
    HoldingLock(HOLDS_LOCK.with(|h| h.replace(true)))
}

/// See [`holding_lock`].
pub(crate) struct HoldingLock(bool);

impl Drop for HoldingLock {
    fn drop(&mut self) {
        let previous = self.0;
        HOLDS_LOCK.with(|h| h.set(previous));
    }
}

/// Runs `f` (the SDK's `Logger` emitting) with the replay decision already taken.
pub(crate) fn decided<R>(f: impl FnOnce() -> R) -> R {
    let previous = DECIDED.with(|d| d.replace(true));
    let r = f();
    DECIDED.with(|d| d.set(previous));
    r
}
