//! An [`ExecutionRecord`] rebuilt from what the durable-execution API shows an outsider:
//! `GetDurableExecution` (status, result, error, times) and `GetDurableExecutionHistory`
//! (the events). durable-local's remote runner uses it, so an execution of a deployed
//! function is inspected with the same accessors, timeline included, as a local one.
//!
//! The operations are replayed from the events in history order, with the same transitions
//! the service model makes when it records them (`apply.rs`, `timers.rs`, `callbacks.rs`),
//! so a record rebuilt from a local history has the operations of the original (a test in
//! durable-local checks it for generated workflows). What no event carries stays at its
//! default: a step that became READY after its retry timer reads PENDING until its next
//! attempt starts, `ContextDetails.ReplayChildren` is unset, and the per-invocation
//! checkpoint counts are zero.

use std::collections::HashMap;

use durable_proto::{
    CallbackDetails, ErrorObject, ExecutionDetails, Operation, OperationStatus, OperationType,
    Timestamp, WaitDetails,
};

use crate::history::{EventDetails, HistoryEvent, StepEventDetails};
use crate::service::record::{
    ExecutionRecord, ExecutionStatus, InvocationRecord, InvocationResult,
};

/// What `GetDurableExecution` says about an execution: the part of an
/// [`ExecutionRecord`] that the history alone does not settle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionDescription {
    /// `DurableExecutionArn`.
    pub arn: String,
    /// The function's name (from `FunctionArn`, without the qualifier).
    pub function_name: String,
    /// `DurableExecutionName`.
    pub execution_name: String,
    /// `Status`.
    pub status: ExecutionStatus,
    /// `InputPayload`, if the API returned it.
    pub input: Option<String>,
    /// `Result` of a succeeded execution.
    pub result: Option<String>,
    /// `Error` of a failed, timed-out or stopped execution.
    pub error: Option<ErrorObject>,
    /// `StartTimestamp`.
    pub start: Timestamp,
    /// `EndTimestamp`, once ended.
    pub end: Option<Timestamp>,
}

impl ExecutionRecord {
    /// A record rebuilt from an execution's description and its whole history (oldest
    /// first, every page): operations in the order the history first mentions them (the
    /// EXECUTION operation first), their statuses, attempts, results and errors as the
    /// events leave them, the events themselves, and one [`InvocationRecord`] per
    /// `InvocationCompleted` event.
    ///
    /// An invocation's result is read from its event: an error makes it
    /// [`Errored`](InvocationResult::Errored); otherwise the last one ended the execution
    /// when the execution ended (with its status) and every other one returned
    /// [`Pending`](InvocationResult::Pending). The record is a snapshot for reading: it holds
    /// no token and no timers, and a [`LocalService`](crate::LocalService) never sees it.
    pub fn from_history(description: ExecutionDescription, events: Vec<HistoryEvent>) -> Self {
        let execution_id = execution_id_of(&description, &events);
        let mut rebuilt = Rebuilt {
            ops: Vec::new(),
            index: HashMap::new(),
        };
        rebuilt.push(Operation {
            id: execution_id.clone(),
            parent_id: None,
            name: Some(description.execution_name.clone()),
            operation_type: OperationType::Execution,
            sub_type: None,
            start_timestamp: Some(description.start),
            end_timestamp: description.end,
            status: execution_operation_status(description.status),
            execution_details: Some(Box::new(ExecutionDetails {
                input_payload: input_of(&description, &events),
            })),
            context_details: None,
            step_details: None,
            wait_details: None,
            callback_details: None,
            chained_invoke_details: None,
        });
        for event in &events {
            rebuilt.apply(event, &execution_id);
        }
        let invocations = invocations_of(&description, &events);
        let mut record = ExecutionRecord {
            arn: description.arn,
            function_name: description.function_name,
            execution_name: description.execution_name,
            execution_id,
            input: String::new(),
            status: description.status,
            result: description.result,
            error: description.error,
            start: description.start,
            end: description.end,
            timeout_at: None,
            operations: Default::default(),
            events,
            token: None,
            token_seq: 0,
            invocations,
            checkpoint_calls: 0,
            state_calls: 0,
            needs_invocation: false,
            woken_in_flight: false,
            consecutive_failures: 0,
            updated_since_invocation: Vec::new(),
            unsent_changes: Vec::new(),
            callback_timers: HashMap::new(),
            last_delta: None,
            pause: None,
            deleted: false,
        };
        record.input = rebuilt.ops[0]
            .execution_details
            .as_ref()
            .and_then(|d| d.input_payload.clone())
            .unwrap_or_default();
        for op in rebuilt.ops {
            record.insert_operation(op);
        }
        record
    }
}

/// The execution id: the id the execution's own events carry, else the ARN's last segment.
fn execution_id_of(description: &ExecutionDescription, events: &[HistoryEvent]) -> String {
    events
        .iter()
        .find(|e| matches!(e.details, EventDetails::ExecutionStarted(_)))
        .and_then(|e| e.id.clone())
        .unwrap_or_else(|| {
            let arn = description.arn.as_str();
            arn.rsplit('/').next().unwrap_or(arn).to_owned()
        })
}

fn input_of(description: &ExecutionDescription, events: &[HistoryEvent]) -> Option<String> {
    description.input.clone().or_else(|| {
        events.iter().find_map(|e| match &e.details {
            EventDetails::ExecutionStarted(d) => d.input.as_ref()?.payload.clone(),
            _ => None,
        })
    })
}

fn execution_operation_status(status: ExecutionStatus) -> OperationStatus {
    match status {
        ExecutionStatus::Succeeded => OperationStatus::Succeeded,
        ExecutionStatus::Failed => OperationStatus::Failed,
        ExecutionStatus::TimedOut => OperationStatus::TimedOut,
        ExecutionStatus::Stopped => OperationStatus::Stopped,
        _ => OperationStatus::Started,
    }
}

fn invocations_of(
    description: &ExecutionDescription,
    events: &[HistoryEvent],
) -> Vec<InvocationRecord> {
    let completed: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.details {
            EventDetails::InvocationCompleted(d) => Some(d),
            _ => None,
        })
        .collect();
    let last = completed.len().saturating_sub(1);
    let ended = match description.status {
        ExecutionStatus::Succeeded => Some(InvocationResult::Succeeded),
        ExecutionStatus::Failed => Some(InvocationResult::Failed),
        _ => None,
    };
    completed
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let invocation_error = d.error.as_ref().and_then(|e| e.payload.clone());
            let (result, error) = match (invocation_error, ended) {
                (Some(e), _) => (InvocationResult::Errored, Some(e)),
                (None, Some(InvocationResult::Failed)) if i == last => {
                    (InvocationResult::Failed, description.error.clone())
                }
                (None, Some(r)) if i == last => (r, None),
                (None, _) => (InvocationResult::Pending, None),
            };
            InvocationRecord {
                number: u32::try_from(i + 1).unwrap_or(u32::MAX),
                request_id: d.request_id.clone(),
                start: d.start_timestamp,
                end: Some(d.end_timestamp),
                result: Some(result),
                error,
                checkpoint_calls: 0,
                updated_operation_ids: Vec::new(),
            }
        })
        .collect()
}

/// The operations being rebuilt, in first-mention order.
struct Rebuilt {
    ops: Vec<Operation>,
    index: HashMap<String, usize>,
}

impl Rebuilt {
    fn push(&mut self, op: Operation) {
        self.index.insert(op.id.clone(), self.ops.len());
        self.ops.push(op);
    }

    /// The operation `event` is about, created (STARTED) when the event is its first.
    fn ensure(&mut self, event: &HistoryEvent, id: &str, kind: OperationType) -> &mut Operation {
        let position = match self.index.get(id) {
            Some(&i) => i,
            None => {
                self.push(Operation {
                    id: id.to_owned(),
                    parent_id: event.parent_id.clone(),
                    name: event.name.clone(),
                    operation_type: kind,
                    sub_type: event.sub_type.clone(),
                    start_timestamp: Some(event.event_timestamp),
                    end_timestamp: None,
                    status: OperationStatus::Started,
                    execution_details: None,
                    context_details: None,
                    step_details: None,
                    wait_details: None,
                    callback_details: None,
                    chained_invoke_details: None,
                });
                self.ops.len() - 1
            }
        };
        &mut self.ops[position]
    }

    fn apply(&mut self, event: &HistoryEvent, execution_id: &str) {
        let Some(kind) = operation_type_of(&event.details) else {
            return;
        };
        let Some(id) = event.id.as_deref() else {
            return;
        };
        if kind == OperationType::Execution && id != execution_id {
            return;
        }
        let at = event.event_timestamp;
        let op = self.ensure(event, id, kind);
        let end = |op: &mut Operation, status: OperationStatus| {
            op.status = status;
            op.end_timestamp = Some(at);
        };
        let error_of = |e: &crate::history::ErrorDetails| e.error.as_ref()?.payload.clone();
        let result_of = |r: &crate::history::ResultDetails| r.result.as_ref()?.payload.clone();
        match &event.details {
            EventDetails::ExecutionSucceeded(_) => end(op, OperationStatus::Succeeded),
            EventDetails::ExecutionFailed(_) => end(op, OperationStatus::Failed),
            EventDetails::ExecutionTimedOut(_) => end(op, OperationStatus::TimedOut),
            EventDetails::ExecutionStopped(_) => end(op, OperationStatus::Stopped),
            EventDetails::StepStarted(_) => {
                op.status = OperationStatus::Started;
                op.step_details
                    .get_or_insert_with(Default::default)
                    .next_attempt_timestamp = None;
            }
            EventDetails::StepSucceeded(d) => step_ended(op, d, at, false),
            EventDetails::StepFailed(d) => step_ended(op, d, at, true),
            EventDetails::WaitStarted(d) => {
                op.wait_details = Some(Box::new(WaitDetails {
                    scheduled_end_timestamp: Some(d.scheduled_end_timestamp),
                }));
            }
            EventDetails::WaitSucceeded(_) => end(op, OperationStatus::Succeeded),
            EventDetails::WaitCancelled(_) => end(op, OperationStatus::Cancelled),
            EventDetails::ContextStarted(_) => {
                op.context_details.get_or_insert_with(Default::default);
            }
            EventDetails::ContextSucceeded(d) => {
                op.context_details
                    .get_or_insert_with(Default::default)
                    .result = result_of(d);
                end(op, OperationStatus::Succeeded);
            }
            EventDetails::ContextFailed(d) => {
                op.context_details
                    .get_or_insert_with(Default::default)
                    .error = error_of(d);
                end(op, OperationStatus::Failed);
            }
            EventDetails::CallbackStarted(d) => {
                op.callback_details = Some(Box::new(CallbackDetails {
                    callback_id: Some(d.callback_id.clone()),
                    result: None,
                    error: None,
                }));
            }
            EventDetails::CallbackSucceeded(d) => {
                op.callback_details
                    .get_or_insert_with(Default::default)
                    .result = result_of(d);
                end(op, OperationStatus::Succeeded);
            }
            EventDetails::CallbackFailed(d) | EventDetails::CallbackTimedOut(d) => {
                op.callback_details
                    .get_or_insert_with(Default::default)
                    .error = error_of(d);
                let timed_out = matches!(event.details, EventDetails::CallbackTimedOut(_));
                end(
                    op,
                    if timed_out {
                        OperationStatus::TimedOut
                    } else {
                        OperationStatus::Failed
                    },
                );
            }
            EventDetails::ChainedInvokeStarted(_) => {
                op.chained_invoke_details
                    .get_or_insert_with(Default::default);
            }
            EventDetails::ChainedInvokeSucceeded(d) => {
                op.chained_invoke_details
                    .get_or_insert_with(Default::default)
                    .result = result_of(d);
                end(op, OperationStatus::Succeeded);
            }
            EventDetails::ChainedInvokeFailed(d)
            | EventDetails::ChainedInvokeTimedOut(d)
            | EventDetails::ChainedInvokeStopped(d) => {
                op.chained_invoke_details
                    .get_or_insert_with(Default::default)
                    .error = error_of(d);
                let status = match event.details {
                    EventDetails::ChainedInvokeFailed(_) => OperationStatus::Failed,
                    EventDetails::ChainedInvokeTimedOut(_) => OperationStatus::TimedOut,
                    _ => OperationStatus::Stopped,
                };
                end(op, status);
            }
            _ => {}
        }
    }
}

/// A step attempt's end: SUCCEEDED or FAILED for good, or PENDING when `RetryDetails`
/// names a delay (a retry, or a wait-for-condition check asking to go on).
fn step_ended(op: &mut Operation, d: &StepEventDetails, at: Timestamp, failed: bool) {
    let details = op.step_details.get_or_insert_with(Default::default);
    // Every attempt's event counts one finished attempt; `CurrentAttempt`, when the event
    // carries it, is authoritative (the real service omits it on a first-attempt success).
    details.attempt = d
        .retry_details
        .as_ref()
        .map_or(details.attempt.saturating_add(1), |r| r.current_attempt);
    let error = d.error.as_ref().and_then(|e| e.payload.clone());
    let result = d.result.as_ref().and_then(|r| r.payload.clone());
    // A retry waits at least a second (the service refuses less); a zero delay, which
    // dex-local-runner writes on a step's final failure, is no retry.
    let delay = d
        .retry_details
        .as_ref()
        .and_then(|r| r.next_attempt_delay_seconds)
        .filter(|&seconds| seconds > 0);
    // As the service applies RETRY, SUCCEED and FAIL: a retry keeps the attempt's error and
    // state, a success clears the error, a failure keeps the state of the last retry.
    match (delay, failed) {
        (Some(delay), _) => {
            details.error = error;
            details.result = result;
            details.next_attempt_timestamp = Some(at.plus_seconds(u64::from(delay)));
            op.status = OperationStatus::Pending;
        }
        (None, false) => {
            details.error = None;
            details.result = result;
            details.next_attempt_timestamp = None;
            op.status = OperationStatus::Succeeded;
            op.end_timestamp = Some(at);
        }
        (None, true) => {
            details.error = error;
            details.next_attempt_timestamp = None;
            op.status = OperationStatus::Failed;
            op.end_timestamp = Some(at);
        }
    }
}

fn operation_type_of(details: &EventDetails) -> Option<OperationType> {
    Some(match details {
        EventDetails::ExecutionSucceeded(_)
        | EventDetails::ExecutionFailed(_)
        | EventDetails::ExecutionTimedOut(_)
        | EventDetails::ExecutionStopped(_) => OperationType::Execution,
        EventDetails::StepStarted(_)
        | EventDetails::StepSucceeded(_)
        | EventDetails::StepFailed(_) => OperationType::Step,
        EventDetails::WaitStarted(_)
        | EventDetails::WaitSucceeded(_)
        | EventDetails::WaitCancelled(_) => OperationType::Wait,
        EventDetails::ContextStarted(_)
        | EventDetails::ContextSucceeded(_)
        | EventDetails::ContextFailed(_) => OperationType::Context,
        EventDetails::CallbackStarted(_)
        | EventDetails::CallbackSucceeded(_)
        | EventDetails::CallbackFailed(_)
        | EventDetails::CallbackTimedOut(_) => OperationType::Callback,
        EventDetails::ChainedInvokeStarted(_)
        | EventDetails::ChainedInvokeSucceeded(_)
        | EventDetails::ChainedInvokeFailed(_)
        | EventDetails::ChainedInvokeTimedOut(_)
        | EventDetails::ChainedInvokeStopped(_) => OperationType::ChainedInvoke,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{
        EmptyDetails, EventError, InvocationCompletedDetails, RetryDetails, StepEventDetails,
    };

    fn event(n: u64, id: Option<&str>, at: i64, details: EventDetails) -> HistoryEvent {
        HistoryEvent {
            event_type: details.event_type(),
            sub_type: id.map(|_| "Step".to_owned()),
            event_id: n,
            id: id.map(str::to_owned),
            name: id.map(|_| "charge".to_owned()),
            event_timestamp: Timestamp::from_millis(at),
            parent_id: None,
            details,
        }
    }

    fn invocation(n: u64, at: i64, error: Option<ErrorObject>) -> HistoryEvent {
        event(
            n,
            None,
            at,
            EventDetails::InvocationCompleted(InvocationCompletedDetails {
                start_timestamp: Timestamp::from_millis(at - 5),
                end_timestamp: Timestamp::from_millis(at),
                request_id: format!("r{n}"),
                error: error.map(|e| EventError {
                    payload: Some(e),
                    truncated: false,
                }),
            }),
        )
    }

    fn failed(attempt: u32, delay: Option<u32>) -> EventDetails {
        EventDetails::StepFailed(StepEventDetails {
            result: None,
            error: Some(EventError {
                payload: Some(ErrorObject::new("Declined", format!("attempt {attempt}"))),
                truncated: false,
            }),
            retry_details: Some(RetryDetails {
                current_attempt: attempt,
                next_attempt_delay_seconds: delay,
            }),
        })
    }

    fn description(status: ExecutionStatus, error: Option<ErrorObject>) -> ExecutionDescription {
        ExecutionDescription {
            arn: "arn:aws:lambda:us-east-1:1:function:f:live/durable-execution/n/exec-id".into(),
            function_name: "f".into(),
            execution_name: "n".into(),
            status,
            input: None,
            result: None,
            error,
            start: Timestamp::from_millis(0),
            end: Some(Timestamp::from_millis(3_000)),
        }
    }

    #[test]
    fn a_zero_delay_on_the_last_failure_is_no_retry_and_invocations_are_inferred() {
        let error = ErrorObject::new("Declined", "attempt 2");
        let events = vec![
            event(1, Some("1"), 10, EventDetails::StepStarted(EmptyDetails {})),
            event(2, Some("1"), 10, failed(1, Some(1))),
            invocation(3, 20, None),
            event(
                4,
                Some("1"),
                1_020,
                EventDetails::StepStarted(EmptyDetails {}),
            ),
            // dex-local-runner's shape of a final failure.
            event(5, Some("1"), 1_020, failed(2, Some(0))),
            invocation(6, 1_030, None),
        ];
        let record = ExecutionRecord::from_history(
            description(ExecutionStatus::Failed, Some(error.clone())),
            events,
        );
        // No ExecutionStarted event: the id is the ARN's last segment.
        assert_eq!(record.execution_id(), "exec-id");
        assert_eq!(record.operations()[0].status, OperationStatus::Failed);
        let step = record.operation("1").unwrap();
        assert_eq!(step.status, OperationStatus::Failed);
        assert_eq!(step.end_timestamp, Some(Timestamp::from_millis(1_020)));
        let details = step.step_details.as_ref().unwrap();
        assert_eq!(details.attempt, 2);
        assert_eq!(details.next_attempt_timestamp, None);
        assert_eq!(details.error.as_ref().unwrap().message(), "attempt 2");
        let results: Vec<_> = record
            .invocations()
            .iter()
            .map(|i| (i.number, i.request_id.as_str(), i.result, i.error.clone()))
            .collect();
        assert_eq!(
            results,
            [
                (1, "r3", Some(InvocationResult::Pending), None),
                (2, "r6", Some(InvocationResult::Failed), Some(error)),
            ]
        );
    }

    #[test]
    fn a_first_attempt_success_without_retry_details_counts_one_attempt() {
        let crash = ErrorObject::new("Runtime.ExitError", "exited");
        let events = vec![
            invocation(1, 5, Some(crash.clone())),
            event(2, Some("1"), 10, EventDetails::StepStarted(EmptyDetails {})),
            event(
                3,
                Some("1"),
                11,
                EventDetails::StepSucceeded(StepEventDetails {
                    result: crate::history::payload(Some("42")),
                    error: None,
                    retry_details: None,
                }),
            ),
            invocation(4, 12, None),
        ];
        let record =
            ExecutionRecord::from_history(description(ExecutionStatus::Succeeded, None), events);
        let step = record.operation("1").unwrap();
        assert_eq!(step.status, OperationStatus::Succeeded);
        let details = step.step_details.as_ref().unwrap();
        assert_eq!(
            (details.attempt, details.result.as_deref()),
            (1, Some("42"))
        );
        assert_eq!(
            record.invocations()[0].result,
            Some(InvocationResult::Errored)
        );
        assert_eq!(record.invocations()[0].error, Some(crash));
        assert_eq!(
            record.invocations()[1].result,
            Some(InvocationResult::Succeeded)
        );
        assert!(record.checkpoint_token().is_none() && !record.needs_invocation());
    }
}
