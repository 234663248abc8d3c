//! What the service keeps per execution.

use std::collections::HashMap;

use durable_proto::{ErrorObject, Operation, OperationStatus, OperationType, Timestamp};
use serde::{Deserialize, Serialize};

use crate::history::{EventDetails, EventType, HistoryEvent};

/// The status of a durable execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum ExecutionStatus {
    /// Still running (possibly suspended between invocations).
    Running,
    /// Ended with a result.
    Succeeded,
    /// Ended with an error.
    Failed,
    /// Ran past its execution timeout.
    TimedOut,
    /// Stopped from outside.
    Stopped,
    /// A pause was requested while an invocation was in flight; the execution becomes
    /// [`Paused`](Self::Paused) at that invocation's next checkpoint (or when it ends).
    Pausing,
    /// Paused (`PauseDurableExecution`): the service invokes nothing until it is resumed,
    /// but its timers, callbacks and chained invokes still complete.
    Paused,
    /// Deleted (`DeleteDurableExecution`) and its data gone; the execution disappears when
    /// the service next does its background work.
    Deleting,
}

impl ExecutionStatus {
    /// Whether the execution has ended (for good: it accepts no invocation or checkpoint).
    /// A pausing or paused execution has not.
    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Running | Self::Pausing | Self::Paused)
    }

    /// Whether the execution is pausing or paused.
    pub fn is_paused(self) -> bool {
        matches!(self, Self::Pausing | Self::Paused)
    }

    /// The wire name, e.g. `SUCCEEDED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
            Self::TimedOut => "TIMED_OUT",
            Self::Stopped => "STOPPED",
            Self::Pausing => "PAUSING",
            Self::Paused => "PAUSED",
            Self::Deleting => "DELETING",
        }
    }
}

impl std::fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an invocation ended, as the service recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum InvocationResult {
    /// The handler returned SUCCEEDED.
    Succeeded,
    /// The handler returned FAILED.
    Failed,
    /// The handler returned PENDING (suspended).
    Pending,
    /// The invocation itself failed: the handler returned an error, crashed or timed out.
    Errored,
}

/// One invocation of the handler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvocationRecord {
    /// 1-based number of the invocation within its execution.
    pub number: u32,
    /// The request id (deterministic).
    pub request_id: String,
    /// When it began.
    pub start: Timestamp,
    /// When it ended; `None` while in flight.
    pub end: Option<Timestamp>,
    /// How it ended; `None` while in flight.
    pub result: Option<InvocationResult>,
    /// The invocation's error (for [`InvocationResult::Errored`]) or the output's error (for
    /// [`InvocationResult::Failed`]).
    pub error: Option<ErrorObject>,
    /// Checkpoint calls made with this invocation's tokens.
    pub checkpoint_calls: u32,
    /// The `UpdatedOperationIds` the invocation was started with.
    pub updated_operation_ids: Vec<String>,
}

/// Service-side timers of a STARTED callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CallbackTimers {
    pub(crate) timeout_at: Option<Timestamp>,
    pub(crate) heartbeat_seconds: Option<u32>,
    pub(crate) heartbeat_at: Option<Timestamp>,
}

/// A pause in force (PAUSING or PAUSED).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PauseState {
    pub(crate) requested: Timestamp,
    pub(crate) reason: Option<String>,
    pub(crate) timeout_paused: bool,
    /// With `timeout_paused`: what was left of the execution timeout when the pause took
    /// effect, in milliseconds (the timeout is re-armed with it on resume).
    pub(crate) timeout_left_ms: Option<i64>,
    /// The pause cut an invocation short, so resuming must invoke again.
    pub(crate) interrupted: bool,
}

/// The operations of an execution in creation order, indexed by id. Serialized as the list
/// alone; the index is rebuilt when it is read back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Operations {
    list: Vec<Operation>,
    index: HashMap<String, usize>,
}

impl Operations {
    pub(crate) fn get(&self, id: &str) -> Option<&Operation> {
        self.index.get(id).map(|&i| &self.list[i])
    }

    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut Operation> {
        let i = *self.index.get(id)?;
        self.list.get_mut(i)
    }

    /// Where the operation with this id is in creation order.
    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn push(&mut self, op: Operation) {
        self.index.insert(op.id.clone(), self.list.len());
        self.list.push(op);
    }
}

impl std::ops::Deref for Operations {
    type Target = [Operation];

    fn deref(&self) -> &[Operation] {
        &self.list
    }
}

impl<'a> IntoIterator for &'a Operations {
    type Item = &'a Operation;
    type IntoIter = std::slice::Iter<'a, Operation>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl Serialize for Operations {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Operations {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut operations = Operations::default();
        for op in Vec::<Operation>::deserialize(deserializer)? {
            operations.push(op);
        }
        Ok(operations)
    }
}

/// Everything the service knows about one durable execution.
///
/// Serializable (the file-backed store keeps one JSON document per execution); the format
/// follows the fields and may change between versions of this crate.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExecutionRecord {
    pub(crate) arn: String,
    pub(crate) function_name: String,
    pub(crate) execution_name: String,
    pub(crate) execution_id: String,
    pub(crate) input: String,
    pub(crate) status: ExecutionStatus,
    pub(crate) result: Option<String>,
    pub(crate) error: Option<ErrorObject>,
    pub(crate) start: Timestamp,
    pub(crate) end: Option<Timestamp>,
    pub(crate) timeout_at: Option<Timestamp>,
    pub(crate) operations: Operations,
    pub(crate) events: Vec<HistoryEvent>,
    pub(crate) token: Option<String>,
    pub(crate) token_seq: u64,
    pub(crate) invocations: Vec<InvocationRecord>,
    pub(crate) checkpoint_calls: u64,
    pub(crate) state_calls: u64,
    /// Whether the service would invoke the handler now (nothing in flight).
    pub(crate) needs_invocation: bool,
    /// Something changed on the service side during the in-flight invocation.
    pub(crate) woken_in_flight: bool,
    pub(crate) consecutive_failures: u32,
    /// Operations changed by the service since the last invocation started.
    pub(crate) updated_since_invocation: Vec<String>,
    /// Operations changed by the service and not yet reported in a checkpoint response.
    pub(crate) unsent_changes: Vec<String>,
    pub(crate) callback_timers: HashMap<String, CallbackTimers>,
    /// The last checkpoint response's changed operations, for paging through them.
    pub(crate) last_delta: Option<(u64, Vec<String>)>,
    /// The pause in force, while PAUSING or PAUSED.
    #[serde(default)]
    pub(crate) pause: Option<PauseState>,
    /// Deleted: a tombstone that keeps the execution's place (and store key) and nothing
    /// else; no call finds it any more.
    #[serde(default)]
    pub(crate) deleted: bool,
}

impl ExecutionRecord {
    /// The execution's ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The function the execution runs.
    pub fn function_name(&self) -> &str {
        &self.function_name
    }

    /// The execution's name (the ARN's second-to-last segment).
    pub fn execution_name(&self) -> &str {
        &self.execution_name
    }

    /// The execution id: the ARN's last segment and the EXECUTION operation's `Id`.
    pub fn execution_id(&self) -> &str {
        &self.execution_id
    }

    /// The input the execution was started with (JSON text).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The execution's status.
    pub fn status(&self) -> ExecutionStatus {
        self.status
    }

    /// The serialized result of a succeeded execution.
    pub fn result(&self) -> Option<&str> {
        self.result.as_deref()
    }

    /// The error of a failed, timed-out or stopped execution.
    pub fn error(&self) -> Option<&ErrorObject> {
        self.error.as_ref()
    }

    /// When the execution started.
    pub fn start_timestamp(&self) -> Timestamp {
        self.start
    }

    /// When the execution ended.
    pub fn end_timestamp(&self) -> Option<Timestamp> {
        self.end
    }

    /// Every operation, in creation order (the EXECUTION operation first).
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.get(id)
    }

    /// The history, oldest first.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// The current checkpoint token; `None` while no invocation is in flight.
    pub fn checkpoint_token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Every invocation so far.
    pub fn invocations(&self) -> &[InvocationRecord] {
        &self.invocations
    }

    /// How many invocations were started.
    pub fn invocation_count(&self) -> u32 {
        u32::try_from(self.invocations.len()).unwrap_or(u32::MAX)
    }

    /// How many `CheckpointDurableExecution` calls reached the service for this execution
    /// (including rejected ones).
    pub fn checkpoint_call_count(&self) -> u64 {
        self.checkpoint_calls
    }

    /// How many `GetDurableExecutionState` calls reached the service for this execution.
    pub fn state_call_count(&self) -> u64 {
        self.state_calls
    }

    /// Whether an invocation is in flight.
    pub fn invocation_in_flight(&self) -> bool {
        self.invocations.last().is_some_and(|i| i.end.is_none())
    }

    /// Whether the service would invoke the handler now: the execution is running, nothing
    /// is in flight, and something happened since it last suspended (or the last invocation
    /// failed and will be retried).
    pub fn needs_invocation(&self) -> bool {
        self.needs_invocation
            && !self.status.is_terminal()
            && !self.status.is_paused()
            && !self.invocation_in_flight()
    }

    /// Whether some operation waits on the service: a PENDING or READY step, or a STARTED
    /// wait, callback or chained invoke. Returning PENDING is only valid while this holds.
    pub fn has_pending_operations(&self) -> bool {
        self.operations.iter().any(|op| {
            matches!(
                (&op.operation_type, &op.status),
                (
                    OperationType::Step,
                    OperationStatus::Pending | OperationStatus::Ready
                ) | (
                    OperationType::Wait | OperationType::Callback | OperationType::ChainedInvoke,
                    OperationStatus::Started
                )
            )
        })
    }

    pub(crate) fn operation_mut(&mut self, id: &str) -> Option<&mut Operation> {
        self.operations.get_mut(id)
    }

    pub(crate) fn insert_operation(&mut self, op: Operation) {
        self.operations.push(op);
    }

    /// Appends an event about operation `op_id` (or about the execution when `None`).
    pub(crate) fn push_event(&mut self, op_id: Option<&str>, at: Timestamp, details: EventDetails) {
        let (id, name, sub_type, parent_id) = match op_id.and_then(|id| self.operation(id)) {
            Some(op) => (
                Some(op.id.clone()),
                op.name.clone(),
                op.sub_type.clone(),
                op.parent_id.clone(),
            ),
            None => (
                Some(self.execution_id.clone()),
                Some(self.execution_name.clone()),
                None,
                None,
            ),
        };
        let event = HistoryEvent {
            event_type: details.event_type(),
            sub_type,
            event_id: self.events.len() as u64 + 1,
            id,
            name,
            event_timestamp: at,
            parent_id,
            details,
        };
        self.events.push(event);
    }

    /// Records a change the service made (timer, callback, chained invoke) so the handler
    /// learns about it and, if suspended, is invoked again.
    pub(crate) fn note_external_change(&mut self, id: &str) {
        for list in [&mut self.updated_since_invocation, &mut self.unsent_changes] {
            if !list.iter().any(|x| x == id) {
                list.push(id.to_owned());
            }
        }
        if self.invocation_in_flight() {
            self.woken_in_flight = true;
        } else {
            self.needs_invocation = true;
        }
    }

    /// Ends the execution (once): status, result or error, end time, EXECUTION operation and
    /// history event. No further checkpoints are accepted.
    pub(crate) fn finish(
        &mut self,
        status: ExecutionStatus,
        result: Option<String>,
        error: Option<ErrorObject>,
        at: Timestamp,
    ) {
        if self.status.is_terminal() || !status.is_terminal() {
            return;
        }
        let op_status = match status {
            ExecutionStatus::Succeeded => OperationStatus::Succeeded,
            ExecutionStatus::Failed => OperationStatus::Failed,
            ExecutionStatus::TimedOut => OperationStatus::TimedOut,
            _ => OperationStatus::Stopped,
        };
        let id = self.execution_id.clone();
        if let Some(op) = self.operation_mut(&id) {
            op.status = op_status;
            op.end_timestamp = Some(at);
        }
        let details = match status {
            ExecutionStatus::Succeeded => {
                EventDetails::ExecutionSucceeded(crate::history::ResultDetails {
                    result: crate::history::payload(result.as_deref()),
                })
            }
            other => {
                let error = crate::history::ErrorDetails {
                    error: crate::history::event_error(error.as_ref()),
                };
                match other {
                    ExecutionStatus::Failed => EventDetails::ExecutionFailed(error),
                    ExecutionStatus::TimedOut => EventDetails::ExecutionTimedOut(error),
                    _ => EventDetails::ExecutionStopped(error),
                }
            }
        };
        self.status = status;
        self.result = result;
        self.error = error;
        self.end = Some(at);
        self.token = None;
        self.needs_invocation = false;
        self.callback_timers.clear();
        self.pause = None;
        self.push_event(None, at, details);
    }

    /// Events of one type, oldest first.
    pub fn events_of_type(&self, event_type: EventType) -> impl Iterator<Item = &HistoryEvent> {
        self.events
            .iter()
            .filter(move |e| e.event_type == event_type)
    }
}
