//! [`TestExecution`]: a snapshot of an execution with accessors for tests.

use durable_proto::{ErrorObject, Operation, OperationType, Timestamp};
use serde::de::DeserializeOwned;

use crate::RunnerError;
use crate::Timeline;
use crate::{history_to_json, EventType, HistoryEvent};
use crate::{ExecutionRecord, ExecutionStatus, InvocationRecord};

/// A snapshot of an execution, taken when a [`LocalRunner`](crate::LocalRunner) call returned.
#[derive(Debug, Clone)]
pub struct TestExecution {
    record: ExecutionRecord,
    taken_at: Timestamp,
}

impl TestExecution {
    pub(crate) fn new(record: ExecutionRecord, taken_at: Timestamp) -> Self {
        Self { record, taken_at }
    }

    /// The whole service-side record.
    pub fn record(&self) -> &ExecutionRecord {
        &self.record
    }

    /// The execution's ARN.
    pub fn arn(&self) -> &str {
        self.record.arn()
    }

    /// The status: SUCCEEDED / FAILED / TIMED_OUT / STOPPED once ended; RUNNING when the
    /// runner stopped because only an external event (a callback, a chained invoke) could
    /// move the execution on.
    pub fn status(&self) -> ExecutionStatus {
        self.record.status()
    }

    /// The result as JSON text, if the execution succeeded with one.
    pub fn result_json(&self) -> Option<&str> {
        self.record.result()
    }

    /// The result, deserialized.
    pub fn result<T: DeserializeOwned>(&self) -> Result<T, RunnerError> {
        let text = match (self.status(), self.record.result()) {
            (ExecutionStatus::Succeeded, Some(text)) => text,
            (ExecutionStatus::Succeeded, None) => "null",
            (status, _) => {
                return Err(RunnerError::Result {
                    message: format!(
                        "the execution is {status}{}",
                        self.error().map(|e| format!(" ({e})")).unwrap_or_default()
                    ),
                })
            }
        };
        serde_json::from_str(text).map_err(|e| RunnerError::Result {
            message: format!("{e} (result: {text})"),
        })
    }

    /// The error of a failed, timed-out or stopped execution.
    pub fn error(&self) -> Option<&ErrorObject> {
        self.record.error()
    }

    /// Every operation in creation order, the EXECUTION operation first.
    pub fn operations(&self) -> &[Operation] {
        self.record.operations()
    }

    /// The operations the handler created (everything but the EXECUTION operation), in
    /// creation order.
    pub fn user_operations(&self) -> impl Iterator<Item = &Operation> {
        self.operations()
            .iter()
            .filter(|op| op.operation_type != OperationType::Execution)
    }

    /// The first operation named `name`.
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.user_operations()
            .find(|op| op.name.as_deref() == Some(name))
    }

    /// Every operation named `name`, in creation order.
    pub fn operations_named(&self, name: &str) -> Vec<&Operation> {
        self.user_operations()
            .filter(|op| op.name.as_deref() == Some(name))
            .collect()
    }

    /// The `index`-th (0-based) operation the handler created.
    pub fn operation_at(&self, index: usize) -> Option<&Operation> {
        self.user_operations().nth(index)
    }

    /// The operation with this id.
    pub fn operation_by_id(&self, id: &str) -> Option<&Operation> {
        self.record.operation(id)
    }

    /// `StepDetails.Attempt` of the first step named `name`: the number of finished
    /// attempts.
    pub fn step_attempts(&self, name: &str) -> Option<u32> {
        self.operation(name)
            .filter(|op| op.operation_type == OperationType::Step)
            .map(|op| op.step_details.as_ref().map_or(0, |d| d.attempt))
    }

    /// The callback id of the first callback named `name`.
    pub fn callback_id(&self, name: &str) -> Option<&str> {
        self.operation(name)?
            .callback_details
            .as_ref()?
            .callback_id
            .as_deref()
    }

    /// The history, oldest first.
    pub fn history(&self) -> &[HistoryEvent] {
        self.record.events()
    }

    /// The history as a `GetDurableExecutionHistory` JSON body.
    pub fn history_json(&self) -> String {
        history_to_json(self.history())
    }

    /// The event types of the history, in order: handy for asserting sequences.
    pub fn event_types(&self) -> Vec<EventType> {
        self.history().iter().map(|e| e.event_type).collect()
    }

    /// Events of one type, oldest first.
    pub fn events_of_type(&self, event_type: EventType) -> Vec<&HistoryEvent> {
        self.record.events_of_type(event_type).collect()
    }

    /// Events about the first operation named `name`, oldest first.
    pub fn events_of(&self, name: &str) -> Vec<&HistoryEvent> {
        let Some(id) = self.operation(name).map(|op| op.id.as_str()) else {
            return Vec::new();
        };
        self.history()
            .iter()
            .filter(|e| e.id.as_deref() == Some(id))
            .collect()
    }

    /// Every invocation.
    pub fn invocations(&self) -> &[InvocationRecord] {
        self.record.invocations()
    }

    /// How many times the handler was invoked.
    pub fn invocation_count(&self) -> u32 {
        self.record.invocation_count()
    }

    /// How many checkpoint calls reached the service for this execution.
    pub fn checkpoint_calls(&self) -> u64 {
        self.record.checkpoint_call_count()
    }

    /// How many state reads reached the service for this execution.
    pub fn state_calls(&self) -> u64 {
        self.record.state_call_count()
    }

    /// How much (virtual) time the execution took, in milliseconds; up to the snapshot for
    /// a running execution.
    pub fn elapsed_millis(&self) -> i64 {
        let end = self.record.end_timestamp().unwrap_or(self.taken_at);
        end.as_millis() - self.record.start_timestamp().as_millis()
    }

    /// The timeline: invocations and operations on the (virtual) time axis.
    pub fn timeline(&self) -> Timeline {
        Timeline::of(&self.record, self.taken_at)
    }

    /// The timeline as one self-contained HTML page (no network): a lane per operation,
    /// bars for attempts, retries, waits and callbacks, invocation and crash marks, details
    /// on hover. Write it to a file and open it in a browser.
    pub fn timeline_html(&self) -> String {
        crate::timeline_html(&self.record, self.taken_at)
    }
}
