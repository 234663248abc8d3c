//! Applying a validated checkpoint batch: operation state, timers and history events.
//!
//! Only called after [`validate_batch`](super::validate::validate_batch) accepted the whole
//! batch, so nothing here fails.

use durable_proto::{
    CallbackDetails, Operation, OperationAction, OperationStatus, OperationType, OperationUpdate,
    Timestamp, WaitDetails,
};

use crate::history::{
    event_error, payload, CallbackStartedDetails, ChainedInvokeStartedDetails, EmptyDetails,
    ErrorDetails, EventDetails, ResultDetails, RetryDetails, StepEventDetails, WaitStartedDetails,
};
use crate::ids;
use crate::service::record::{CallbackTimers, ExecutionRecord, ExecutionStatus};

/// What a batch did.
#[derive(Debug, Default)]
pub(crate) struct Applied {
    /// Ids of the operations the batch changed, in first-change order.
    pub(crate) changed: Vec<String>,
    /// `(callback id, operation id)` of the callbacks the batch created.
    pub(crate) new_callbacks: Vec<(String, String)>,
}

impl Applied {
    fn touch(&mut self, id: &str) {
        if !self.changed.iter().any(|x| x == id) {
            self.changed.push(id.to_owned());
        }
    }
}

/// Applies `updates` (already validated) at time `now`.
pub(crate) fn apply_batch(
    record: &mut ExecutionRecord,
    updates: Vec<OperationUpdate>,
    now: Timestamp,
) -> Applied {
    let mut applied = Applied::default();
    for update in updates {
        if update.operation_type == OperationType::Execution {
            apply_execution(record, update, now);
            let id = record.execution_id.clone();
            applied.touch(&id);
            continue;
        }
        let id = update.id.clone();
        match update.operation_type {
            OperationType::Step => apply_step(record, update, now),
            OperationType::Wait => apply_wait(record, update, now),
            OperationType::Callback => {
                let callback_id = apply_callback(record, update, now);
                applied.new_callbacks.push((callback_id, id.clone()));
            }
            OperationType::Context => apply_context(record, update, now),
            OperationType::ChainedInvoke => apply_chained_invoke(record, update, now),
            // Rejected by validation.
            OperationType::Execution | OperationType::Unknown(_) => {}
        }
        applied.touch(&id);
    }
    applied
}

fn new_operation(update: &OperationUpdate, now: Timestamp) -> Operation {
    Operation {
        id: update.id.clone(),
        parent_id: update.parent_id.clone(),
        name: update.name.clone(),
        operation_type: update.operation_type.clone(),
        sub_type: update.sub_type.clone(),
        start_timestamp: Some(now),
        end_timestamp: None,
        status: OperationStatus::Started,
        execution_details: None,
        context_details: None,
        step_details: None,
        wait_details: None,
        callback_details: None,
        chained_invoke_details: None,
    }
}

/// The operation `update` is about, created (STARTED) if the batch is the first to mention it.
fn ensure<'r>(
    record: &'r mut ExecutionRecord,
    update: &OperationUpdate,
    now: Timestamp,
) -> &'r mut Operation {
    if record.operation(&update.id).is_none() {
        record.insert_operation(new_operation(update, now));
    }
    record
        .operations
        .get_mut(&update.id)
        .expect("the operation was just inserted")
}

fn apply_step(record: &mut ExecutionRecord, update: OperationUpdate, now: Timestamp) {
    let op = ensure(record, &update, now);
    let details = op.step_details.get_or_insert_with(Default::default);
    let event = match update.action {
        OperationAction::Start => {
            op.status = OperationStatus::Started;
            details.next_attempt_timestamp = None;
            EventDetails::StepStarted(EmptyDetails {})
        }
        OperationAction::Succeed => {
            details.attempt = details.attempt.saturating_add(1);
            details.result = update.payload.clone();
            details.error = None;
            details.next_attempt_timestamp = None;
            op.status = OperationStatus::Succeeded;
            op.end_timestamp = Some(now);
            EventDetails::StepSucceeded(StepEventDetails {
                result: payload(update.payload.as_deref()),
                error: None,
                retry_details: final_attempt(details.attempt),
            })
        }
        OperationAction::Fail => {
            details.attempt = details.attempt.saturating_add(1);
            details.error = update.error.clone();
            details.next_attempt_timestamp = None;
            op.status = OperationStatus::Failed;
            op.end_timestamp = Some(now);
            EventDetails::StepFailed(StepEventDetails {
                result: None,
                error: event_error(update.error.as_ref()),
                retry_details: final_attempt(details.attempt),
            })
        }
        _ => {
            // RETRY (validated: a delay of at least one second is present).
            let delay = update
                .step_options
                .as_ref()
                .and_then(|o| o.next_attempt_delay_seconds)
                .unwrap_or(1);
            details.attempt = details.attempt.saturating_add(1);
            details.error = update.error.clone();
            details.result = update.payload.clone();
            details.next_attempt_timestamp = Some(now.plus_seconds(u64::from(delay)));
            op.status = OperationStatus::Pending;
            let retry = Some(RetryDetails {
                current_attempt: details.attempt,
                next_attempt_delay_seconds: Some(delay),
            });
            if update.error.is_some() || update.payload.is_none() {
                EventDetails::StepFailed(StepEventDetails {
                    result: None,
                    error: event_error(update.error.as_ref()),
                    retry_details: retry,
                })
            } else {
                // A wait-for-condition check asking to continue.
                EventDetails::StepSucceeded(StepEventDetails {
                    result: payload(update.payload.as_deref()),
                    error: None,
                    retry_details: retry,
                })
            }
        }
    };
    record.push_event(Some(&update.id), now, event);
}

/// `RetryDetails` for a step's final event: always, with the attempt that ended it (the
/// emulator's shape; conformance 1-17 expects `CurrentAttempt: 1` on a first-attempt FAIL).
fn final_attempt(attempt: u32) -> Option<RetryDetails> {
    Some(RetryDetails {
        current_attempt: attempt,
        next_attempt_delay_seconds: None,
    })
}

fn apply_wait(record: &mut ExecutionRecord, update: OperationUpdate, now: Timestamp) {
    let op = ensure(record, &update, now);
    let event = if update.action == OperationAction::Start {
        let seconds = update
            .wait_options
            .as_ref()
            .and_then(|o| o.wait_seconds)
            .unwrap_or(1);
        let end = now.plus_seconds(u64::from(seconds));
        op.wait_details = Some(Box::new(WaitDetails {
            scheduled_end_timestamp: Some(end),
        }));
        EventDetails::WaitStarted(WaitStartedDetails {
            duration: seconds,
            scheduled_end_timestamp: end,
        })
    } else {
        op.status = OperationStatus::Cancelled;
        op.end_timestamp = Some(now);
        EventDetails::WaitCancelled(ErrorDetails {
            error: event_error(update.error.as_ref()),
        })
    };
    record.push_event(Some(&update.id), now, event);
}

fn apply_callback(record: &mut ExecutionRecord, update: OperationUpdate, now: Timestamp) -> String {
    let callback_id = ids::callback_id(&record.execution_id, &update.id);
    let options = update.callback_options.clone().unwrap_or_default();
    let timeout = options.timeout_seconds.filter(|&s| s > 0);
    let heartbeat = options.heartbeat_timeout_seconds.filter(|&s| s > 0);
    let op = ensure(record, &update, now);
    op.callback_details = Some(Box::new(CallbackDetails {
        callback_id: Some(callback_id.clone()),
        result: None,
        error: None,
    }));
    record.callback_timers.insert(
        update.id.clone(),
        CallbackTimers {
            timeout_at: timeout.map(|s| now.plus_seconds(u64::from(s))),
            heartbeat_seconds: heartbeat,
            heartbeat_at: heartbeat.map(|s| now.plus_seconds(u64::from(s))),
        },
    );
    let event = EventDetails::CallbackStarted(CallbackStartedDetails {
        callback_id: callback_id.clone(),
        heartbeat_timeout: heartbeat,
        timeout,
    });
    record.push_event(Some(&update.id), now, event);
    callback_id
}

fn apply_context(record: &mut ExecutionRecord, update: OperationUpdate, now: Timestamp) {
    let op = ensure(record, &update, now);
    let details = op.context_details.get_or_insert_with(Default::default);
    if let Some(replay) = update
        .context_options
        .as_ref()
        .and_then(|o| o.replay_children)
    {
        details.replay_children = Some(replay);
    }
    let event = match update.action {
        OperationAction::Start => EventDetails::ContextStarted(EmptyDetails {}),
        OperationAction::Succeed => {
            details.result = update.payload.clone();
            op.status = OperationStatus::Succeeded;
            op.end_timestamp = Some(now);
            EventDetails::ContextSucceeded(ResultDetails {
                result: payload(update.payload.as_deref()),
            })
        }
        _ => {
            details.error = update.error.clone();
            op.status = OperationStatus::Failed;
            op.end_timestamp = Some(now);
            EventDetails::ContextFailed(ErrorDetails {
                error: event_error(update.error.as_ref()),
            })
        }
    };
    record.push_event(Some(&update.id), now, event);
}

fn apply_chained_invoke(record: &mut ExecutionRecord, update: OperationUpdate, now: Timestamp) {
    let op = ensure(record, &update, now);
    let event = if update.action == OperationAction::Start {
        op.chained_invoke_details = Some(Box::default());
        let options = update.chained_invoke_options.clone().unwrap_or_default();
        EventDetails::ChainedInvokeStarted(ChainedInvokeStartedDetails {
            function_name: options.function_name,
            tenant_id: options.tenant_id,
            input: payload(update.payload.as_deref()),
            executed_version: None,
            durable_execution_arn: None,
        })
    } else {
        op.status = OperationStatus::Stopped;
        op.end_timestamp = Some(now);
        EventDetails::ChainedInvokeStopped(ErrorDetails {
            error: event_error(update.error.as_ref()),
        })
    };
    record.push_event(Some(&update.id), now, event);
}

fn apply_execution(record: &mut ExecutionRecord, update: OperationUpdate, now: Timestamp) {
    if update.action == OperationAction::Succeed {
        record.finish(ExecutionStatus::Succeeded, update.payload, None, now);
    } else {
        let error = update.error.unwrap_or_default();
        record.finish(ExecutionStatus::Failed, None, Some(error), now);
    }
}
