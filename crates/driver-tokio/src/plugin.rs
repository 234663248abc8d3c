//! Instrumentation plugins: hooks called as the invocation, its operations and their
//! attempts move, built on the engine's events so that both drivers call them alike.
//!
//! Hooks run on the thread that caused the event, after the engine lock is released (a
//! hook may take its time without holding up other branches). An attempt's hooks run on
//! the thread of its user code, before and after it. A hook that fails or panics never
//! affects the execution; its error is logged once per plugin and hook.

use std::collections::HashSet;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_proto::{Event, Execution, OperationHandle, OperationStatus, OperationType};

/// What a hook returns; an error is logged (once) and otherwise ignored.
pub type HookResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// An instrumentation plugin. Every hook has a default that does nothing; implement the
/// ones you need. Install plugins with [`Options::plugin`](crate::Options::plugin).
///
/// ```
/// use durable_tokio::{HookResult, InvocationInfo, OperationInfo, Plugin};
///
/// struct Counter(std::sync::atomic::AtomicU32);
///
/// impl Plugin for Counter {
///     fn on_operation_start(&self, op: &OperationInfo) -> HookResult {
///         if !op.replayed {
///             self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///         }
///         Ok(())
///     }
/// }
/// let options = durable_tokio::Options::default().plugin(Counter(Default::default()));
/// # let _ = options;
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The invocation's state is loaded; user code is about to run.
    fn on_invocation_start(&self, _invocation: &InvocationInfo) -> HookResult {
        Ok(())
    }

    /// The invocation's outcome is decided and about to be returned.
    fn on_invocation_end(&self, _invocation: &InvocationInfo, _end: InvocationEnd) -> HookResult {
        Ok(())
    }

    /// The handler (the user function) is called.
    fn on_user_function_start(&self, _invocation: &InvocationInfo) -> HookResult {
        Ok(())
    }

    /// The handler returned (`succeeded`: with a value rather than an error); not called when
    /// the invocation suspends or ends before the handler returns.
    fn on_user_function_end(&self, _invocation: &InvocationInfo, _succeeded: bool) -> HookResult {
        Ok(())
    }

    /// User code began an operation (replayed ones too: see [`OperationInfo::replayed`]).
    fn on_operation_start(&self, _operation: &OperationInfo) -> HookResult {
        Ok(())
    }

    /// An operation changed state without finishing: it blocks on the service (a timer, a
    /// scheduled retry, a callback) or was dropped by user code.
    fn on_operation_change(
        &self,
        _operation: &OperationInfo,
        _change: OperationChange,
    ) -> HookResult {
        Ok(())
    }

    /// An operation finished in this invocation (replayed ones too) with `status`.
    fn on_operation_end(
        &self,
        _operation: &OperationInfo,
        _status: &OperationStatus,
    ) -> HookResult {
        Ok(())
    }

    /// An attempt of a step (or a wait-for-condition check) starts running user code.
    fn on_attempt_start(&self, _operation: &OperationInfo, _attempt: u32) -> HookResult {
        Ok(())
    }

    /// That attempt's user code ended.
    fn on_attempt_end(
        &self,
        _operation: &OperationInfo,
        _attempt: u32,
        _outcome: AttemptOutcome,
    ) -> HookResult {
        Ok(())
    }
}

/// The invocation a hook is about.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvocationInfo {
    /// The durable execution's ARN.
    pub execution_arn: String,
    /// Whether this is the execution's first invocation (the history holds no operation
    /// yet).
    pub first_invocation: bool,
    /// The Lambda request id, under the Lambda runtime.
    pub request_id: Option<String>,
}

/// How an invocation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvocationEnd {
    /// The execution succeeded.
    Succeeded,
    /// The execution failed.
    Failed,
    /// The invocation suspends (PENDING); the execution goes on later.
    Pending,
    /// The invocation fails with an error; Lambda invokes it again.
    InvocationFailed,
}

impl InvocationEnd {
    /// `SUCCEEDED`, `FAILED`, `PENDING` or `INVOCATION_FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::Pending => "PENDING",
            Self::InvocationFailed => "INVOCATION_FAILED",
        }
    }
}

/// The operation a hook is about.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct OperationInfo {
    /// The durable execution's ARN.
    pub execution_arn: Arc<str>,
    /// The operation id (as checkpointed).
    pub id: String,
    /// The enclosing context's operation id, if any.
    pub parent_id: Option<String>,
    /// The operation type.
    pub operation_type: OperationType,
    /// The sub-type (`Step`, `Wait`, `Map`, …).
    pub sub_type: &'static str,
    /// The name, if any.
    pub name: Option<String>,
    /// Whether its outcome comes from the history (it does not run again).
    pub replayed: bool,
}

/// How an operation changed without finishing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OperationChange {
    /// It waits on the service and cannot finish in this invocation.
    Blocked,
    /// User code dropped it.
    Released,
}

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptOutcome {
    /// Whether the attempt failed.
    pub failed: bool,
    /// When it failed and is retried: after how long.
    pub retry_after: Option<Duration>,
}

impl AttemptOutcome {
    /// `SUCCEEDED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        if self.failed {
            "FAILED"
        } else {
            "SUCCEEDED"
        }
    }
}

/// The installed plugins, in order.
#[derive(Clone, Default)]
pub struct Plugins {
    list: Vec<Arc<dyn Plugin>>,
    /// Hooks that failed already, by plugin position, so each is logged once.
    failed: Arc<Mutex<HashSet<(usize, &'static str)>>>,
}

impl fmt::Debug for Plugins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plugins({})", self.list.len())
    }
}

impl Plugins {
    /// Appends `plugin` (called after those already installed).
    pub fn push(&mut self, plugin: Arc<dyn Plugin>) {
        self.list.push(plugin);
    }

    /// Whether any plugin is installed.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Calls `hook` on every plugin, catching errors and panics.
    pub(crate) fn call(&self, name: &'static str, hook: impl Fn(&dyn Plugin) -> HookResult) {
        for (i, plugin) in self.list.iter().enumerate() {
            let outcome = catch_unwind(AssertUnwindSafe(|| hook(&**plugin)));
            let error = match outcome {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => e.to_string(),
                Err(panic) => crate::panic::panic_error(&*panic).to_string(),
            };
            let first = self
                .failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert((i, name));
            if first {
                tracing::warn!(plugin = i, hook = name, %error, "an instrumentation plugin's hook failed; ignored (logged once)");
            }
        }
    }
}

/// An engine event turned into what the hooks receive, built under the engine lock and
/// dispatched after it is released.
pub(crate) enum HookCall {
    OperationStart(OperationInfo),
    OperationChange(OperationInfo, OperationChange),
    OperationEnd(OperationInfo, OperationStatus),
    AttemptStart(OperationInfo, u32),
    AttemptEnd(OperationInfo, u32, AttemptOutcome),
}

/// Which operations replayed, for the `replayed` flag of their later events.
#[derive(Default)]
pub(crate) struct Replayed(HashSet<OperationHandle>);

impl HookCall {
    /// The hook call for `event`, if any.
    pub(crate) fn of(
        exec: &Execution,
        arn: &Arc<str>,
        replayed: &mut Replayed,
        event: &Event,
    ) -> Option<Self> {
        let info = |op: OperationHandle, replayed: bool| {
            exec.identity(op).map(|i| OperationInfo {
                execution_arn: arn.clone(),
                id: i.id.clone(),
                parent_id: i.parent_id.clone(),
                operation_type: i.operation_type.clone(),
                sub_type: i.sub_type,
                name: i.name.clone(),
                replayed,
            })
        };
        match event {
            Event::OperationBegun { op, replayed: r } => {
                if *r {
                    replayed.0.insert(*op);
                }
                info(*op, *r).map(Self::OperationStart)
            }
            Event::OperationBlocked { op } => info(*op, replayed.0.contains(op))
                .map(|i| Self::OperationChange(i, OperationChange::Blocked)),
            Event::OperationReleased { op } => info(*op, replayed.0.contains(op))
                .map(|i| Self::OperationChange(i, OperationChange::Released)),
            Event::OperationFinished { op, status } => {
                info(*op, replayed.0.contains(op)).map(|i| Self::OperationEnd(i, status.clone()))
            }
            Event::AttemptStarted { op, attempt } => {
                info(*op, false).map(|i| Self::AttemptStart(i, *attempt))
            }
            Event::AttemptFinished {
                op,
                attempt,
                failed,
                retry_after,
            } => info(*op, false).map(|i| {
                Self::AttemptEnd(
                    i,
                    *attempt,
                    AttemptOutcome {
                        failed: *failed,
                        retry_after: *retry_after,
                    },
                )
            }),
            _ => None,
        }
    }

    /// Calls the hook on every plugin.
    pub(crate) fn dispatch(&self, plugins: &Plugins) {
        match self {
            Self::OperationStart(i) => plugins.call("operation-start", |p| p.on_operation_start(i)),
            Self::OperationChange(i, c) => {
                plugins.call("operation-change", |p| p.on_operation_change(i, *c))
            }
            Self::OperationEnd(i, s) => plugins.call("operation-end", |p| p.on_operation_end(i, s)),
            Self::AttemptStart(i, n) => {
                plugins.call("attempt-start", |p| p.on_attempt_start(i, *n))
            }
            Self::AttemptEnd(i, n, o) => {
                plugins.call("attempt-end", |p| p.on_attempt_end(i, *n, *o))
            }
        }
    }
}

/// The end reported for an engine ending.
pub(crate) fn end_of(outcome: &durable_proto::InvocationOutcome) -> InvocationEnd {
    use durable_proto::{InvocationOutcome, InvocationStatus};
    match outcome {
        InvocationOutcome::Output(out) => match out.status {
            InvocationStatus::Succeeded => InvocationEnd::Succeeded,
            InvocationStatus::Pending => InvocationEnd::Pending,
            _ => InvocationEnd::Failed,
        },
        _ => InvocationEnd::InvocationFailed,
    }
}
