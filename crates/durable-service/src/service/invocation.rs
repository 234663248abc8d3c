//! The invocation lifecycle: building the envelope, and judging what the handler returned the
//! way the service does.

use durable_proto::{ErrorObject, InvocationInput, InvocationOutput, InvocationStatus};

use crate::error::ServiceError;
use crate::history::{event_error, EventDetails, InvocationCompletedDetails};
use crate::ids;
use crate::service::pages;
use crate::service::record::{ExecutionStatus, InvocationRecord, InvocationResult};
use crate::service::LocalService;

/// The error message the service fails an execution with when the handler returns PENDING
/// while nothing waits on the service.
pub const PENDING_WITHOUT_PENDING_OPERATIONS: &str =
    "Cannot return PENDING status with no pending operations.";

/// How an invocation ended, as reported to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvocationEnd {
    /// The handler returned this output.
    Returned(InvocationOutput),
    /// The invocation failed without an output: the handler returned an error, the process
    /// crashed, or it timed out. Lambda retries it.
    Errored(ErrorObject),
}

impl LocalService {
    /// Starts an invocation of a running execution: fires due timers, issues a fresh
    /// checkpoint token and returns the envelope (first page of operations,
    /// `UpdatedOperationIds` = operations the service changed since the previous invocation).
    pub fn begin_invocation(&mut self, arn: &str) -> Result<InvocationInput, ServiceError> {
        let result = self.begin_in_memory(arn);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn begin_in_memory(&mut self, arn: &str) -> Result<InvocationInput, ServiceError> {
        let now = self.now();
        let size = self.config.page_size_for(None);
        let index = self.index_of(arn)?;
        let request_id = self.ids.uuid();
        let record = &mut self.executions[index];
        record.fire_due_timers(now);
        if record.status.is_terminal() {
            return Err(ServiceError::conflict(format!(
                "The execution has already ended ({}).",
                record.status
            )));
        }
        if record.invocation_in_flight() {
            return Err(ServiceError::conflict(
                "An invocation of this execution is already in flight.",
            ));
        }
        if record.status == ExecutionStatus::Paused {
            return Err(ServiceError::conflict(
                "The execution is paused; resume it (ResumeDurableExecution) first.",
            ));
        }
        record.token_seq += 1;
        let token = ids::checkpoint_token(&record.execution_id, record.token_seq);
        record.token = Some(token.clone());
        let updated = std::mem::take(&mut record.updated_since_invocation);
        record.unsent_changes.clear();
        record.woken_in_flight = false;
        record.needs_invocation = false;
        record.last_delta = None;
        let number = record.invocation_count().saturating_add(1);
        record.invocations.push(InvocationRecord {
            number,
            request_id,
            start: now,
            end: None,
            result: None,
            error: None,
            checkpoint_calls: 0,
            updated_operation_ids: updated.clone(),
        });
        let state = pages::state_page(record, None, size)?;
        Ok(InvocationInput {
            durable_execution_arn: record.arn.clone(),
            checkpoint_token: token,
            initial_execution_state: state,
            updated_operation_ids: updated,
        })
    }

    /// Ends the in-flight invocation and applies what it returned, as the service would:
    ///
    /// * SUCCEEDED / FAILED end the execution (unless an EXECUTION checkpoint already did);
    ///   an output carrying both a result and an error, or a result above the execution
    ///   payload limit, fails it instead;
    /// * PENDING suspends it, or fails it with
    ///   [`PENDING_WITHOUT_PENDING_OPERATIONS`] when nothing waits on the service;
    /// * an errored invocation is retried (the execution needs another invocation) until it
    ///   failed more than `max_invocation_retries` times in a row, which fails the execution
    ///   with the invocation's error.
    ///
    /// `InvocationCompleted` is recorded first (with the error for an errored invocation).
    pub fn complete_invocation(
        &mut self,
        arn: &str,
        end: InvocationEnd,
    ) -> Result<InvocationResult, ServiceError> {
        let result = self.complete_in_memory(arn, end);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn complete_in_memory(
        &mut self,
        arn: &str,
        end: InvocationEnd,
    ) -> Result<InvocationResult, ServiceError> {
        let now = self.now();
        let max_retries = self.config.max_invocation_retries;
        let max_result = self.config.max_execution_payload_bytes;
        let record = self.record_mut(arn)?;
        if !record.invocation_in_flight() {
            return Err(ServiceError::conflict(
                "No invocation of this execution is in flight.",
            ));
        }
        record.token = None;
        let (result, invocation_error, finish) = judge(end, max_result);
        let failures = if result == InvocationResult::Errored {
            record.consecutive_failures.saturating_add(1)
        } else {
            0
        };
        record.consecutive_failures = failures;
        let Some(invocation) = record.invocations.last_mut() else {
            return Err(ServiceError::conflict(
                "No invocation of this execution is in flight.",
            ));
        };
        invocation.end = Some(now);
        invocation.result = Some(result);
        let details = InvocationCompletedDetails {
            start_timestamp: invocation.start,
            end_timestamp: now,
            request_id: invocation.request_id.clone(),
            error: event_error(invocation_error.as_ref()),
        };
        invocation.error = match (&invocation_error, &finish) {
            (Some(e), _) => Some(e.clone()),
            (None, Finish::End(ExecutionStatus::Failed, _, e)) => e.clone(),
            _ => None,
        };
        record.push_event(None, now, EventDetails::InvocationCompleted(details));
        if record.status == ExecutionStatus::Paused {
            // A pause cut this invocation short at a checkpoint: what it returned after
            // that changes nothing; resuming invokes the function again.
            record.woken_in_flight = false;
            return Ok(result);
        }
        let pausing = record.status == ExecutionStatus::Pausing;
        match finish {
            Finish::End(status, value, error) => record.finish(status, value, error, now),
            Finish::Suspend if record.status.is_terminal() => {}
            Finish::Suspend if !record.has_pending_operations() => {
                let error = ErrorObject::new(
                    "InvalidParameterValueException",
                    PENDING_WITHOUT_PENDING_OPERATIONS,
                );
                record.finish(ExecutionStatus::Failed, None, Some(error), now);
            }
            Finish::Suspend => record.needs_invocation = record.woken_in_flight,
            Finish::Retry(error) if failures > max_retries => {
                record.finish(ExecutionStatus::Failed, None, Some(error), now);
            }
            Finish::Retry(_) => record.needs_invocation = true,
        }
        record.woken_in_flight = false;
        if pausing && !record.status.is_terminal() {
            // The invocation ended before another checkpoint: the pause takes effect now,
            // and whatever the execution needs next waits for the resume.
            record.take_pause_effect(now);
        }
        Ok(result)
    }

    /// `StopDurableExecution`: ends a running execution as STOPPED. Checkpoints of an
    /// invocation still in flight are rejected from then on.
    pub fn stop_execution(
        &mut self,
        arn: &str,
        error: Option<ErrorObject>,
    ) -> Result<(), ServiceError> {
        let result = self.stop_in_memory(arn, error);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn stop_in_memory(
        &mut self,
        arn: &str,
        error: Option<ErrorObject>,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let record = self.record_mut(arn)?;
        if record.status.is_terminal() {
            return Err(ServiceError::conflict(format!(
                "The execution has already ended ({}).",
                record.status
            )));
        }
        record.finish(ExecutionStatus::Stopped, None, error, now);
        Ok(())
    }
}

/// What to do with the execution after an invocation.
enum Finish {
    End(ExecutionStatus, Option<String>, Option<ErrorObject>),
    Suspend,
    Retry(ErrorObject),
}

fn judge(end: InvocationEnd, max_result: usize) -> (InvocationResult, Option<ErrorObject>, Finish) {
    let output = match end {
        InvocationEnd::Errored(error) => {
            return (
                InvocationResult::Errored,
                Some(error.clone()),
                Finish::Retry(error),
            )
        }
        InvocationEnd::Returned(output) => output,
    };
    let invalid = |message: &str| {
        let error = ErrorObject::new("InvalidParameterValueException", message);
        Finish::End(ExecutionStatus::Failed, None, Some(error))
    };
    match output.status {
        InvocationStatus::Succeeded => {
            let finish = if output.error.is_some() {
                invalid("Cannot provide an Error for SUCCEEDED status.")
            } else if output.result.as_ref().is_some_and(|r| r.len() > max_result) {
                let error = ErrorObject::new(
                    "Function.ResponseSizeTooLarge",
                    format!(
                        "Response payload size exceeded maximum allowed payload size \
                         ({max_result} bytes)."
                    ),
                );
                Finish::End(ExecutionStatus::Failed, None, Some(error))
            } else {
                Finish::End(ExecutionStatus::Succeeded, output.result, None)
            };
            (InvocationResult::Succeeded, None, finish)
        }
        InvocationStatus::Failed => {
            let finish = if output.result.is_some() {
                invalid("Cannot provide a Result for FAILED status.")
            } else {
                let error = output.error.unwrap_or_default();
                Finish::End(ExecutionStatus::Failed, None, Some(error))
            };
            (InvocationResult::Failed, None, finish)
        }
        InvocationStatus::Pending => {
            let finish = if output.result.is_some() || output.error.is_some() {
                invalid("Cannot provide a Result or an Error for PENDING status.")
            } else {
                Finish::Suspend
            };
            (InvocationResult::Pending, None, finish)
        }
    }
}
