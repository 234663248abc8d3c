//! [`LocalClient`]: the SDK's [`CheckpointClient`] seam, served by a shared
//! [`LocalService`], with fault injection.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use durable_proto::{ApiFailure, CheckpointResponse, ExecutionState, OperationUpdate};
use durable_tokio::{BoxFuture, CheckpointClient};
use tokio::sync::watch;

use crate::faults::{FaultPlan, StartDrop};
use crate::LocalService;

/// A service shared between the runner, clients and tests.
pub type SharedService = Arc<Mutex<LocalService>>;

/// Locks a shared service. A panic elsewhere while it was locked leaves it usable: every
/// service method validates before it mutates.
pub fn lock_service(service: &SharedService) -> MutexGuard<'_, LocalService> {
    service
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A [`CheckpointClient`] that calls a [`LocalService`] in memory.
///
/// Cheap to clone; clones share the service, the counters and the fault plan. Faults are
/// consumed in order by the next matching calls:
///
/// * [`fail_next_checkpoints`](Self::fail_next_checkpoints) /
///   [`fail_next_state_reads`](Self::fail_next_state_reads): answer with an [`ApiFailure`]
///   (see [`crate::faults`] for 429, 500, 400 and stale-token failures) without reaching
///   the service;
/// * [`send_stale_token_next`](Self::send_stale_token_next): send an already-used token, so
///   the service itself rejects the call;
/// * [`drop_next_start`](Self::drop_next_start): remove a START update from the batch before
///   the service sees it (a lost fire-and-forget checkpoint);
/// * [`crash_after_checkpoints`](Self::crash_after_checkpoints): end the invocation abruptly
///   after the n-th acknowledged checkpoint call (the [`LocalRunner`](crate::LocalRunner)
///   drops the handler; the response never reaches it).
#[derive(Clone)]
pub struct LocalClient {
    inner: Arc<Inner>,
}

struct Inner {
    service: SharedService,
    plan: Mutex<FaultPlan>,
    checkpoint_calls: AtomicU64,
    state_calls: AtomicU64,
    dropped_starts: AtomicU64,
    injected_failures: AtomicU64,
    last_token: Mutex<Option<String>>,
    /// Bumped when an invocation must crash.
    crashes: watch::Sender<u64>,
    /// Bumped when an invocation ended; releases responses held back by a crash.
    epoch: watch::Sender<u64>,
}

impl std::fmt::Debug for LocalClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalClient")
            .field("checkpoint_calls", &self.checkpoint_calls())
            .field("state_calls", &self.state_calls())
            .finish_non_exhaustive()
    }
}

impl LocalClient {
    /// A client of `service`.
    pub fn new(service: SharedService) -> Self {
        Self {
            inner: Arc::new(Inner {
                service,
                plan: Mutex::new(FaultPlan::default()),
                checkpoint_calls: AtomicU64::new(0),
                state_calls: AtomicU64::new(0),
                dropped_starts: AtomicU64::new(0),
                injected_failures: AtomicU64::new(0),
                last_token: Mutex::new(None),
                crashes: watch::channel(0).0,
                epoch: watch::channel(0).0,
            }),
        }
    }

    /// The service this client calls.
    pub fn service(&self) -> &SharedService {
        &self.inner.service
    }

    /// Answers the next `n` checkpoint calls with `failure` instead of calling the service.
    pub fn fail_next_checkpoints(&self, n: usize, failure: ApiFailure) {
        let mut plan = self.inner.plan();
        plan.checkpoint_failures
            .extend(std::iter::repeat_n(failure, n));
    }

    /// Answers the next `n` state reads with `failure` instead of calling the service.
    pub fn fail_next_state_reads(&self, n: usize, failure: ApiFailure) {
        let mut plan = self.inner.plan();
        plan.state_failures.extend(std::iter::repeat_n(failure, n));
    }

    /// Sends an already-used checkpoint token on the next `n` checkpoint calls, so the
    /// service answers `Invalid checkpoint token`.
    pub fn send_stale_token_next(&self, n: u32) {
        let mut plan = self.inner.plan();
        plan.stale_tokens = plan.stale_tokens.saturating_add(n);
    }

    /// Silently drops the next START update (of any operation) before it reaches the service.
    pub fn drop_next_start(&self) {
        self.inner
            .plan()
            .start_drops
            .push_back(StartDrop { name: None });
    }

    /// Silently drops the next START update of an operation named `name`.
    pub fn drop_next_start_named(&self, name: &str) {
        self.inner.plan().start_drops.push_back(StartDrop {
            name: Some(name.to_owned()),
        });
    }

    /// Crashes the invocation right after the `n`-th acknowledged checkpoint call from now
    /// (n ≥ 1): the service has applied it, but the handler never sees the response.
    /// Only takes effect when the invocation is run by a [`LocalRunner`](crate::LocalRunner).
    pub fn crash_after_checkpoints(&self, n: u64) {
        self.inner.plan().crash_after = Some(n.max(1));
    }

    /// Forgets every fault not yet injected.
    pub fn clear_faults(&self) {
        *self.inner.plan() = FaultPlan::default();
    }

    /// Checkpoint calls made through this client (including failed and injected ones).
    pub fn checkpoint_calls(&self) -> u64 {
        self.inner.checkpoint_calls.load(Ordering::SeqCst)
    }

    /// State reads made through this client (including failed and injected ones).
    pub fn state_calls(&self) -> u64 {
        self.inner.state_calls.load(Ordering::SeqCst)
    }

    /// START updates dropped by fault injection.
    pub fn dropped_starts(&self) -> u64 {
        self.inner.dropped_starts.load(Ordering::SeqCst)
    }

    /// Calls answered with an injected failure.
    pub fn injected_failures(&self) -> u64 {
        self.inner.injected_failures.load(Ordering::SeqCst)
    }

    /// Resolves when a crash must happen (see [`crash_after_checkpoints`](Self::crash_after_checkpoints)).
    pub(crate) fn crash_signal(&self) -> watch::Receiver<u64> {
        self.inner.crashes.subscribe()
    }

    /// The invocation ended: responses held back by a crash are released (as errors nobody
    /// reads).
    pub(crate) fn end_invocation(&self) {
        self.inner.epoch.send_modify(|n| *n += 1);
    }
}

impl Inner {
    fn plan(&self) -> MutexGuard<'_, FaultPlan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn last_token(&self) -> MutexGuard<'_, Option<String>> {
        self.last_token.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn checkpoint(
        self: Arc<Self>,
        arn: String,
        token: String,
        mut updates: Vec<OperationUpdate>,
    ) -> Result<CheckpointResponse, ApiFailure> {
        self.checkpoint_calls.fetch_add(1, Ordering::SeqCst);
        let mut epoch = self.epoch.subscribe();
        let (failure, stale, dropped) = {
            let mut plan = self.plan();
            let failure = plan.checkpoint_failures.pop_front();
            let stale = failure.is_none() && plan.stale_tokens > 0;
            if stale {
                plan.stale_tokens -= 1;
            }
            let dropped = if failure.is_none() {
                plan.drop_starts(&mut updates)
            } else {
                0
            };
            (failure, stale, dropped)
        };
        if let Some(failure) = failure {
            self.injected_failures.fetch_add(1, Ordering::SeqCst);
            return Err(failure);
        }
        self.dropped_starts.fetch_add(dropped, Ordering::SeqCst);
        let sent = if stale {
            self.last_token()
                .clone()
                .unwrap_or_else(|| "c3RhbGU=".to_owned())
        } else {
            token
        };
        let result = lock_service(&self.service)
            .checkpoint(&arn, &sent, updates)
            .map_err(|e| e.to_api_failure());
        if result.is_ok() {
            *self.last_token() = Some(sent);
        }
        let crash = result.is_ok() && self.plan().acknowledged();
        if crash {
            self.crashes.send_modify(|n| *n += 1);
            // Hold the response back until the runner has torn the invocation down.
            let _ = epoch.changed().await;
            return Err(ApiFailure::new(
                None,
                Some("InvocationCrashed"),
                "the invocation crashed before this response arrived",
            ));
        }
        result
    }

    async fn get_state(
        self: Arc<Self>,
        arn: String,
        token: String,
        marker: String,
    ) -> Result<ExecutionState, ApiFailure> {
        self.state_calls.fetch_add(1, Ordering::SeqCst);
        let failure = self.plan().state_failures.pop_front();
        if let Some(failure) = failure {
            self.injected_failures.fetch_add(1, Ordering::SeqCst);
            return Err(failure);
        }
        lock_service(&self.service)
            .get_state(&arn, &token, Some(&marker), None)
            .map_err(|e| e.to_api_failure())
    }
}

impl CheckpointClient for LocalClient {
    fn checkpoint(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        let inner = self.inner.clone();
        Box::pin(inner.checkpoint(durable_execution_arn, checkpoint_token, updates))
    }

    fn get_state(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        let inner = self.inner.clone();
        Box::pin(inner.get_state(durable_execution_arn, checkpoint_token, marker))
    }
}
