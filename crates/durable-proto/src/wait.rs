//! WAIT operations: durable timers. The invocation suspends and the service re-invokes the
//! function once the timer fires, so nothing is billed while waiting.

use std::time::Duration;

use crate::begin::Kind;
use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::{OperationHandle, OperationState};
use crate::wire::{OperationAction, OperationStatus, OperationType, WaitOptions};

/// The sub-type label of waits.
pub(crate) const WAIT_SUB_TYPE: &str = "Wait";

/// Longest wait the service accepts, in seconds (366 days).
pub(crate) const MAX_WAIT_SECONDS: u64 = 31_622_400;

/// What the driver does when user code calls a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitStart {
    /// The wait is over: continue.
    Elapsed {
        /// The operation.
        op: OperationHandle,
    },
    /// The timer runs on the service; this branch of user code cannot proceed in this
    /// invocation (it is blocked once [`Execution::activate`](crate::Execution::activate)d).
    Blocked {
        /// The operation.
        op: OperationHandle,
    },
}

impl WaitStart {
    /// The operation this start belongs to.
    pub fn op(&self) -> OperationHandle {
        match self {
            Self::Elapsed { op } | Self::Blocked { op } => *op,
        }
    }
}

/// The whole seconds a wait of `duration` lasts on the wire: rounded up, so a wait never
/// ends early. Zero and anything above 366 days are refused.
pub(crate) fn wait_seconds(duration: Duration) -> Result<u32, ExecutionError> {
    let seconds = duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0));
    if seconds == 0 || seconds > MAX_WAIT_SECONDS {
        return Err(ExecutionError::InvalidWaitDuration {
            millis: duration.as_millis(),
        });
    }
    Ok(seconds as u32)
}

impl Execution {
    /// The user code waits for `duration` in context `ctx`.
    ///
    /// The duration goes on the wire in whole seconds, rounded up (500 ms waits 1 s, 1.5 s
    /// waits 2 s); it must be above zero and at most 366 days.
    pub fn begin_wait(
        &mut self,
        ctx: ContextRef,
        name: Option<&str>,
        duration: Duration,
    ) -> Result<WaitStart, ExecutionError> {
        self.ensure_running()?;
        let seconds = wait_seconds(duration)?;
        let kind = Kind {
            operation_type: OperationType::Wait,
            sub_type: WAIT_SUB_TYPE,
        };
        let begun = self.begin(ctx, kind, name)?;
        let op = begun.op;
        match begun.record.status {
            None => {
                let mut update = self.slot(op)?.identity.update(OperationAction::Start);
                update.wait_options = Some(WaitOptions {
                    wait_seconds: Some(seconds),
                });
                self.outbox.push(update);
                self.awaiting_record.push(op);
                self.on_await(op, OperationState::Blocked);
                Ok(WaitStart::Blocked { op })
            }
            Some(OperationStatus::Started | OperationStatus::Pending | OperationStatus::Ready) => {
                self.on_await(op, OperationState::Blocked);
                Ok(WaitStart::Blocked { op })
            }
            Some(OperationStatus::Unknown(s)) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: self.slot(op)?.identity.id.clone(),
                    operation_type: OperationType::Wait,
                    status: s,
                };
                self.release(op);
                self.fail_execution(&e);
                Err(e)
            }
            // SUCCEEDED, or ended some other way (cancelled, …): the wait is over.
            Some(status) => {
                self.finish(op, status);
                Ok(WaitStart::Elapsed { op })
            }
        }
    }
}
