//! The control plane's newer calls: `PauseDurableExecution`, `ResumeDurableExecution` and
//! `DeleteDurableExecution`.
//!
//! The rules, from the API reference:
//!
//! * a pause of an execution with no invocation in flight takes effect at once (PAUSED,
//!   `ExecutionPaused`); with one in flight the execution is PAUSING until that invocation's
//!   next checkpoint, which is applied, after which the invocation gets no further token (the
//!   SDK ends it as an invocation error) and the execution is PAUSED;
//! * while paused nothing is invoked, but timers, callbacks and chained invokes still
//!   complete; the execution timeout keeps running unless the pause asked to stop it;
//! * resuming a PAUSING execution cancels the pause (the invocation carries on, no event);
//!   resuming a PAUSED one records `ExecutionResumed` and invokes the function when the pause
//!   cut an invocation short or something completed meanwhile;
//! * only an ended execution can be deleted (otherwise `ResourceConflictException`); it is
//!   DELETING, its data gone, until the service next does its background work, and then no
//!   call finds it.

use durable_proto::Timestamp;

use crate::error::ServiceError;
use crate::history::{payload, EventDetails, ExecutionPausedDetails, ExecutionResumedDetails};
use crate::service::record::{ExecutionRecord, ExecutionStatus, PauseState};
use crate::service::LocalService;

/// The longest `Reason` the pause and resume calls accept (characters).
pub const MAX_REASON_LENGTH: usize = 1024;

impl LocalService {
    /// `PauseDurableExecution`: pauses a running execution (see the module rules above:
    /// at once when no invocation is in flight, otherwise at that invocation's next
    /// checkpoint). With `execution_timeout_paused` the execution timeout's clock stops
    /// while paused.
    ///
    /// Errors: `ResourceNotFoundException` for an unknown ARN, `ResourceConflictException`
    /// when the execution has ended or is already pausing or paused,
    /// `InvalidParameterValueException` for a reason above 1024 characters.
    pub fn pause_execution(
        &mut self,
        arn: &str,
        reason: Option<String>,
        execution_timeout_paused: bool,
    ) -> Result<(), ServiceError> {
        let result = self.pause_in_memory(arn, reason, execution_timeout_paused);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn pause_in_memory(
        &mut self,
        arn: &str,
        reason: Option<String>,
        timeout_paused: bool,
    ) -> Result<(), ServiceError> {
        check_reason(reason.as_deref())?;
        let now = self.now();
        let record = self.record_mut(arn)?;
        record.fire_due_timers(now);
        match record.status {
            ExecutionStatus::Running => {}
            ExecutionStatus::Pausing | ExecutionStatus::Paused => {
                return Err(ServiceError::conflict(format!(
                    "The execution is already {}.",
                    record.status
                )))
            }
            ended => {
                return Err(ServiceError::conflict(format!(
                    "The execution has already ended ({ended})."
                )))
            }
        }
        record.pause = Some(PauseState {
            requested: now,
            reason,
            timeout_paused,
            timeout_left_ms: None,
            interrupted: false,
        });
        if record.invocation_in_flight() {
            record.status = ExecutionStatus::Pausing;
        } else {
            record.take_pause_effect(now);
        }
        Ok(())
    }

    /// `ResumeDurableExecution`: cancels the pause of a PAUSING execution, or resumes a
    /// PAUSED one (recording `ExecutionResumed`; the function is invoked again when the
    /// pause interrupted an invocation or an operation completed while paused).
    ///
    /// Errors: `ResourceNotFoundException` for an unknown ARN, `ResourceConflictException`
    /// when the execution is neither pausing nor paused, `InvalidParameterValueException`
    /// for a reason above 1024 characters.
    pub fn resume_execution(
        &mut self,
        arn: &str,
        reason: Option<String>,
    ) -> Result<(), ServiceError> {
        let result = self.resume_in_memory(arn, reason);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn resume_in_memory(&mut self, arn: &str, reason: Option<String>) -> Result<(), ServiceError> {
        check_reason(reason.as_deref())?;
        let now = self.now();
        let record = self.record_mut(arn)?;
        record.fire_due_timers(now);
        match record.status {
            ExecutionStatus::Pausing => {
                // The pause never took effect: the invocation in flight just carries on.
                record.status = ExecutionStatus::Running;
                record.pause = None;
                Ok(())
            }
            ExecutionStatus::Paused => {
                let pause = record.pause.take();
                if let Some(left) = pause.as_ref().and_then(|p| p.timeout_left_ms) {
                    record.timeout_at = Some(Timestamp::from_millis(now.as_millis() + left));
                }
                if pause.is_some_and(|p| p.interrupted) {
                    record.needs_invocation = true;
                }
                record.status = ExecutionStatus::Running;
                let details = ExecutionResumedDetails {
                    resume_request_timestamp: now,
                    reason: payload(reason.as_deref()),
                };
                record.push_event(None, now, EventDetails::ExecutionResumed(details));
                Ok(())
            }
            other => Err(ServiceError::conflict(format!(
                "The execution is not paused ({other})."
            ))),
        }
    }

    /// `DeleteDurableExecution`: deletes an ended execution's data and returns when the
    /// request was accepted (`DeletionRequestTimestamp`). The execution reads as DELETING,
    /// with no operations, history, input or result, until the service next does its
    /// background work ([`fire_due_timers`](Self::fire_due_timers), which every time step
    /// runs); from then on it is not found.
    ///
    /// Errors: `ResourceNotFoundException` for an unknown ARN, `ResourceConflictException`
    /// when the execution has not ended (stop it first) or is already being deleted.
    pub fn delete_execution(&mut self, arn: &str) -> Result<Timestamp, ServiceError> {
        let result = self.delete_in_memory(arn);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn delete_in_memory(&mut self, arn: &str) -> Result<Timestamp, ServiceError> {
        let now = self.now();
        let index = self.index_of(arn)?;
        let record = &mut self.executions[index];
        record.fire_due_timers(now);
        match record.status {
            ExecutionStatus::Deleting => {
                return Err(ServiceError::conflict(
                    "The execution is already being deleted.",
                ))
            }
            status if !status.is_terminal() => {
                return Err(ServiceError::conflict(format!(
                    "Only an execution that has ended can be deleted; this one is {status}. \
                     Stop it first."
                )))
            }
            _ => {}
        }
        record.status = ExecutionStatus::Deleting;
        record.input.clear();
        record.result = None;
        record.error = None;
        record.operations = Default::default();
        record.events.clear();
        record.invocations.clear();
        record.callback_timers.clear();
        record.updated_since_invocation.clear();
        record.unsent_changes.clear();
        record.last_delta = None;
        self.callbacks.retain(|_, (i, _)| *i != index);
        Ok(now)
    }

    /// Finishes requested deletions: DELETING executions become tombstones no call finds.
    pub(crate) fn finish_deletions(&mut self) {
        for (i, record) in self.executions.iter_mut().enumerate() {
            if record.status == ExecutionStatus::Deleting && !record.deleted {
                record.deleted = true;
                self.by_arn.remove(&record.arn);
                self.dirty.insert(i);
            }
        }
    }
}

impl ExecutionRecord {
    /// The pause takes effect: PAUSED, the execution timeout held if asked, `ExecutionPaused`.
    /// Any token still out is revoked, so the invocation it belongs to cannot go on.
    pub(crate) fn take_pause_effect(&mut self, now: Timestamp) {
        let interrupted = self.invocation_in_flight();
        let timeout_at = self.timeout_at;
        let Some(pause) = self.pause.as_mut() else {
            return;
        };
        pause.interrupted |= interrupted;
        if pause.timeout_paused {
            if let Some(at) = timeout_at {
                pause.timeout_left_ms = Some((at.as_millis() - now.as_millis()).max(0));
                self.timeout_at = None;
            }
        }
        let details = ExecutionPausedDetails {
            execution_timeout_paused: pause.timeout_paused,
            pause_request_timestamp: pause.requested,
            reason: payload(pause.reason.as_deref()),
        };
        self.status = ExecutionStatus::Paused;
        self.token = None;
        self.push_event(None, now, EventDetails::ExecutionPaused(details));
    }
}

fn check_reason(reason: Option<&str>) -> Result<(), ServiceError> {
    match reason {
        Some(r) if r.chars().count() > MAX_REASON_LENGTH => Err(ServiceError::invalid(format!(
            "Reason must be at most {MAX_REASON_LENGTH} characters long."
        ))),
        _ => Ok(()),
    }
}
