//! WAIT operations: durable timers. The invocation suspends and the service re-invokes the
//! function once the timer fires, so nothing is billed while waiting.

use std::time::Duration;

use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::{validate_name, ContextRef, Request};
use crate::wire::{OperationAction, OperationStatus, OperationType, OperationUpdate, WaitOptions};

/// The sub-type label of waits.
pub(crate) const WAIT_SUB_TYPE: &str = "Wait";

/// Longest wait the service accepts, in seconds (366 days).
pub(crate) const MAX_WAIT_SECONDS: u64 = 31_622_400;

/// What the driver does when user code calls a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitStart {
    /// The wait is over: continue.
    Elapsed,
    /// The timer runs on the service; this branch of user code cannot proceed in this
    /// invocation.
    Suspend,
}

impl Execution {
    /// The user code waits for `duration` in context `ctx`.
    ///
    /// The duration goes on the wire in whole seconds, rounded up; it must be at least one
    /// second and at most 366 days.
    pub fn wait(
        &mut self,
        ctx: ContextRef,
        name: Option<&str>,
        duration: Duration,
    ) -> Result<WaitStart, ExecutionError> {
        self.ensure_running()?;
        let name = validate_name(name)?;
        let seconds = duration
            .as_secs()
            .saturating_add(u64::from(duration.subsec_nanos() > 0));
        if duration < Duration::from_secs(1) || seconds > MAX_WAIT_SECONDS {
            return Err(ExecutionError::InvalidWaitDuration {
                millis: duration.as_millis(),
            });
        }
        let claimed = self.journal.claim(
            ctx,
            &Request {
                operation_type: OperationType::Wait,
                sub_type: WAIT_SUB_TYPE,
                name,
            },
        );
        let claim = match claimed {
            Ok(c) => c,
            Err(e) => {
                self.fail_execution(&e);
                return Err(e);
            }
        };
        let status = claim.record.map(|r| r.status.clone());
        match status {
            None => {
                self.replaying = false;
                self.outbox.push(OperationUpdate {
                    parent_id: claim.parent_id,
                    name: name.map(str::to_owned),
                    sub_type: Some(WAIT_SUB_TYPE.to_owned()),
                    wait_options: Some(WaitOptions {
                        wait_seconds: Some(seconds as u32),
                    }),
                    ..OperationUpdate::new(claim.id, OperationType::Wait, OperationAction::Start)
                });
                self.blocked += 1;
                Ok(WaitStart::Suspend)
            }
            Some(OperationStatus::Started | OperationStatus::Pending | OperationStatus::Ready) => {
                self.replaying = false;
                self.blocked += 1;
                Ok(WaitStart::Suspend)
            }
            Some(OperationStatus::Unknown(s)) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: claim.id,
                    operation_type: OperationType::Wait,
                    status: s,
                };
                self.fail_execution(&e);
                Err(e)
            }
            // SUCCEEDED, or ended some other way (cancelled, …): the wait is over.
            Some(_) => Ok(WaitStart::Elapsed),
        }
    }
}
