//! Completions that come from outside the handler: callback APIs and chained invokes.

use durable_proto::{ErrorObject, OperationStatus, OperationType};

use crate::error::ServiceError;
use crate::history::{event_error, payload, ErrorDetails, EventDetails, ResultDetails};
use crate::service::record::ExecutionRecord;
use crate::service::LocalService;

/// How a chained invoke ended (reported by whoever plays the invoked function).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainedInvokeEnd {
    /// The target returned this serialized result.
    Succeeded(Option<String>),
    /// The target failed.
    Failed(ErrorObject),
    /// The target timed out.
    TimedOut(ErrorObject),
    /// The target was stopped.
    Stopped(ErrorObject),
}

enum CallbackEnd {
    Succeeded(Option<String>),
    Failed(ErrorObject),
    Heartbeat,
}

impl LocalService {
    /// `SendDurableExecutionCallbackSuccess`: completes a STARTED callback with `result`
    /// (the raw payload; it becomes `CallbackDetails.Result`).
    ///
    /// Errors: `ResourceNotFoundException` for an unknown id, `CallbackTimeoutException`
    /// when the callback already completed or timed out, `InvalidParameterValueException`
    /// for a result above the operation payload limit.
    pub fn send_callback_success(
        &mut self,
        callback_id: &str,
        result: Option<String>,
    ) -> Result<(), ServiceError> {
        let limit = self.config.max_operation_payload_bytes;
        if result.as_ref().is_some_and(|r| r.len() > limit) {
            return Err(ServiceError::invalid(format!(
                "Payload size must be less than or equal to {limit} bytes."
            )));
        }
        self.complete_callback(callback_id, CallbackEnd::Succeeded(result))
    }

    /// `SendDurableExecutionCallbackFailure`: completes a STARTED callback with `error`.
    pub fn send_callback_failure(
        &mut self,
        callback_id: &str,
        error: ErrorObject,
    ) -> Result<(), ServiceError> {
        self.complete_callback(callback_id, CallbackEnd::Failed(error))
    }

    /// `SendDurableExecutionCallbackHeartbeat`: restarts a STARTED callback's heartbeat
    /// timeout. Does not complete it and records no event.
    pub fn send_callback_heartbeat(&mut self, callback_id: &str) -> Result<(), ServiceError> {
        self.complete_callback(callback_id, CallbackEnd::Heartbeat)
    }

    fn complete_callback(
        &mut self,
        callback_id: &str,
        end: CallbackEnd,
    ) -> Result<(), ServiceError> {
        let result = self.complete_callback_in_memory(callback_id, end);
        let index = self.callbacks.get(callback_id).map(|&(index, _)| index);
        self.persisted(index, result)
    }

    fn complete_callback_in_memory(
        &mut self,
        callback_id: &str,
        end: CallbackEnd,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let Some((index, op_id)) = self.callbacks.get(callback_id).cloned() else {
            return Err(ServiceError::not_found("Callback not found."));
        };
        let record = &mut self.executions[index];
        record.fire_due_timers(now);
        let open = !record.status.is_terminal()
            && record
                .operation(&op_id)
                .is_some_and(|op| op.status == OperationStatus::Started);
        if !open {
            return Err(ServiceError::CallbackTimeout {
                message: "The callback has already completed or timed out.".to_owned(),
            });
        }
        let event = match end {
            CallbackEnd::Heartbeat => {
                if let Some(timers) = record.callback_timers.get_mut(&op_id) {
                    if let Some(seconds) = timers.heartbeat_seconds {
                        timers.heartbeat_at = Some(now.plus_seconds(u64::from(seconds)));
                    }
                }
                return Ok(());
            }
            CallbackEnd::Succeeded(result) => {
                let event = EventDetails::CallbackSucceeded(ResultDetails {
                    result: payload(result.as_deref()),
                });
                close(record, &op_id, OperationStatus::Succeeded, now, |d| {
                    d.result = result;
                });
                event
            }
            CallbackEnd::Failed(error) => {
                let event = EventDetails::CallbackFailed(ErrorDetails {
                    error: event_error(Some(&error)),
                });
                close(record, &op_id, OperationStatus::Failed, now, |d| {
                    d.error = Some(error);
                });
                event
            }
        };
        record.callback_timers.remove(&op_id);
        record.push_event(Some(&op_id), now, event);
        record.note_external_change(&op_id);
        Ok(())
    }

    /// Records the durable execution a chained invoke started (the target's ARN) in its
    /// `ChainedInvokeStarted` event, as the service does once the target's execution exists.
    pub fn record_chained_invoke_target(
        &mut self,
        arn: &str,
        operation_id: &str,
        target_execution_arn: &str,
    ) -> Result<(), ServiceError> {
        let result = self.record_target_in_memory(arn, operation_id, target_execution_arn);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn record_target_in_memory(
        &mut self,
        arn: &str,
        operation_id: &str,
        target: &str,
    ) -> Result<(), ServiceError> {
        let record = self.record_mut(arn)?;
        let started = record.events.iter_mut().find_map(|e| match &mut e.details {
            EventDetails::ChainedInvokeStarted(d) if e.id.as_deref() == Some(operation_id) => {
                Some(d)
            }
            _ => None,
        });
        match started {
            Some(details) => {
                details.durable_execution_arn = Some(target.to_owned());
                Ok(())
            }
            None => Err(ServiceError::not_found(format!(
                "No chained invoke {operation_id} in {arn}."
            ))),
        }
    }

    /// Completes a STARTED chained invoke `operation_id` of execution `arn`, as the service
    /// does when the invoked function ends.
    pub fn complete_chained_invoke(
        &mut self,
        arn: &str,
        operation_id: &str,
        end: ChainedInvokeEnd,
    ) -> Result<(), ServiceError> {
        let result = self.complete_invoke_in_memory(arn, operation_id, end);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn complete_invoke_in_memory(
        &mut self,
        arn: &str,
        operation_id: &str,
        end: ChainedInvokeEnd,
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let record = self.record_mut(arn)?;
        let open = !record.status.is_terminal()
            && record.operation(operation_id).is_some_and(|op| {
                op.operation_type == OperationType::ChainedInvoke
                    && op.status == OperationStatus::Started
            });
        if !open {
            return Err(ServiceError::conflict(
                "The chained invoke does not exist or has already completed.",
            ));
        }
        let (status, result, error) = match end {
            ChainedInvokeEnd::Succeeded(r) => (OperationStatus::Succeeded, r, None),
            ChainedInvokeEnd::Failed(e) => (OperationStatus::Failed, None, Some(e)),
            ChainedInvokeEnd::TimedOut(e) => (OperationStatus::TimedOut, None, Some(e)),
            ChainedInvokeEnd::Stopped(e) => (OperationStatus::Stopped, None, Some(e)),
        };
        let error_details = ErrorDetails {
            error: event_error(error.as_ref()),
        };
        let event = match status {
            OperationStatus::Succeeded => EventDetails::ChainedInvokeSucceeded(ResultDetails {
                result: payload(result.as_deref()),
            }),
            OperationStatus::Failed => EventDetails::ChainedInvokeFailed(error_details),
            OperationStatus::TimedOut => EventDetails::ChainedInvokeTimedOut(error_details),
            _ => EventDetails::ChainedInvokeStopped(error_details),
        };
        if let Some(op) = record.operation_mut(operation_id) {
            op.status = status;
            op.end_timestamp = Some(now);
            let details = op
                .chained_invoke_details
                .get_or_insert_with(Default::default);
            details.result = result;
            details.error = error;
        }
        record.push_event(Some(operation_id), now, event);
        record.note_external_change(operation_id);
        Ok(())
    }
}

fn close(
    record: &mut ExecutionRecord,
    op_id: &str,
    status: OperationStatus,
    now: durable_proto::Timestamp,
    fill: impl FnOnce(&mut durable_proto::CallbackDetails),
) {
    if let Some(op) = record.operation_mut(op_id) {
        op.status = status;
        op.end_timestamp = Some(now);
        fill(op.callback_details.get_or_insert_with(Default::default));
    }
}
