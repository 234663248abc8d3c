//! History events, shaped like the real service's `GetDurableExecutionHistory` response.
//!
//! Every event carries `EventId` (1-based, in order), `EventType`, the operation's `Id`,
//! `Name`, `SubType` and `ParentId`, `EventTimestamp`, and one `<EventType>Details` object.
//! Timestamps are epoch **milliseconds** (virtual time when the clock is virtual), like the
//! invocation envelope; the real API writes epoch seconds.

use durable_proto::{ErrorObject, Timestamp};
use serde::{Deserialize, Serialize};

/// The kind of a history event (`EventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventType {
    /// The execution was started.
    ExecutionStarted,
    /// The execution succeeded.
    ExecutionSucceeded,
    /// The execution failed.
    ExecutionFailed,
    /// The execution timed out.
    ExecutionTimedOut,
    /// The execution was stopped.
    ExecutionStopped,
    /// The execution paused (`PauseDurableExecution` took effect).
    ExecutionPaused,
    /// A paused execution was resumed (`ResumeDurableExecution`).
    ExecutionResumed,
    /// A child context was started.
    ContextStarted,
    /// A child context succeeded.
    ContextSucceeded,
    /// A child context failed.
    ContextFailed,
    /// A wait was started.
    WaitStarted,
    /// A wait's timer fired.
    WaitSucceeded,
    /// A wait was cancelled.
    WaitCancelled,
    /// A step attempt was started.
    StepStarted,
    /// A step succeeded (or a wait-for-condition check asked to continue).
    StepSucceeded,
    /// A step attempt failed (with `RetryDetails` when it will be retried).
    StepFailed,
    /// A chained invoke was started.
    ChainedInvokeStarted,
    /// A chained invoke succeeded.
    ChainedInvokeSucceeded,
    /// A chained invoke failed.
    ChainedInvokeFailed,
    /// A chained invoke timed out.
    ChainedInvokeTimedOut,
    /// A chained invoke was stopped or cancelled.
    ChainedInvokeStopped,
    /// A callback was created.
    CallbackStarted,
    /// A callback was completed successfully.
    CallbackSucceeded,
    /// A callback was completed with a failure.
    CallbackFailed,
    /// A callback timed out (`Callback.Timeout` or `Callback.Heartbeat`).
    CallbackTimedOut,
    /// An invocation of the handler ended (with `Error` when it crashed or failed).
    InvocationCompleted,
}

impl EventType {
    /// The wire name, e.g. `StepFailed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ExecutionStarted => "ExecutionStarted",
            Self::ExecutionSucceeded => "ExecutionSucceeded",
            Self::ExecutionFailed => "ExecutionFailed",
            Self::ExecutionTimedOut => "ExecutionTimedOut",
            Self::ExecutionStopped => "ExecutionStopped",
            Self::ExecutionPaused => "ExecutionPaused",
            Self::ExecutionResumed => "ExecutionResumed",
            Self::ContextStarted => "ContextStarted",
            Self::ContextSucceeded => "ContextSucceeded",
            Self::ContextFailed => "ContextFailed",
            Self::WaitStarted => "WaitStarted",
            Self::WaitSucceeded => "WaitSucceeded",
            Self::WaitCancelled => "WaitCancelled",
            Self::StepStarted => "StepStarted",
            Self::StepSucceeded => "StepSucceeded",
            Self::StepFailed => "StepFailed",
            Self::ChainedInvokeStarted => "ChainedInvokeStarted",
            Self::ChainedInvokeSucceeded => "ChainedInvokeSucceeded",
            Self::ChainedInvokeFailed => "ChainedInvokeFailed",
            Self::ChainedInvokeTimedOut => "ChainedInvokeTimedOut",
            Self::ChainedInvokeStopped => "ChainedInvokeStopped",
            Self::CallbackStarted => "CallbackStarted",
            Self::CallbackSucceeded => "CallbackSucceeded",
            Self::CallbackFailed => "CallbackFailed",
            Self::CallbackTimedOut => "CallbackTimedOut",
            Self::InvocationCompleted => "InvocationCompleted",
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A payload in an event (`EventInput` / `EventResult`): the text and whether it was cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventPayload {
    /// The payload text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Whether the payload was truncated (never, locally); always written, as the API does.
    #[serde(default)]
    pub truncated: bool,
}

/// An error in an event (`EventError`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventError {
    /// The error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<ErrorObject>,
    /// Whether the error was truncated (never, locally); always written, as the API does.
    #[serde(default)]
    pub truncated: bool,
}

/// `RetryDetails` of step events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryDetails {
    /// The attempt this event is about (1-based).
    pub current_attempt: u32,
    /// Seconds until the next attempt, when the step will be retried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_delay_seconds: Option<u32>,
}

/// Details that only carry a result (`…SucceededDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResultDetails {
    /// The result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<EventPayload>,
}

/// Details that only carry an error (`…FailedDetails`, `…TimedOutDetails`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorDetails {
    /// The error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError>,
}

/// Details with nothing in them (`StepStartedDetails`, `ContextStartedDetails`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyDetails {}

/// `ExecutionStartedDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionStartedDetails {
    /// The execution's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<EventPayload>,
    /// The execution timeout in seconds, when one is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_timeout: Option<u64>,
}

/// `ExecutionPausedDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionPausedDetails {
    /// Whether the pause also stopped the execution timeout's clock.
    pub execution_timeout_paused: bool,
    /// When the pause was requested (the event's own timestamp is when it took effect).
    pub pause_request_timestamp: Timestamp,
    /// The reason given with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EventPayload>,
}

/// `ExecutionResumedDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionResumedDetails {
    /// When the resume was requested.
    pub resume_request_timestamp: Timestamp,
    /// The reason given with the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<EventPayload>,
}

/// `StepSucceededDetails` / `StepFailedDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepEventDetails {
    /// The step's result (succeeded) or the state carried by a RETRY without error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<EventPayload>,
    /// The attempt's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError>,
    /// Which attempt this was and, if retried, the delay before the next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_details: Option<RetryDetails>,
}

/// `WaitStartedDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitStartedDetails {
    /// The wait's length in seconds.
    pub duration: u32,
    /// When the wait ends.
    pub scheduled_end_timestamp: Timestamp,
}

/// `WaitSucceededDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitSucceededDetails {
    /// The wait's length in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<u32>,
}

/// `CallbackStartedDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackStartedDetails {
    /// The id external systems complete the callback with.
    pub callback_id: String,
    /// Heartbeat timeout in seconds, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timeout: Option<u32>,
    /// Timeout in seconds, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
}

/// `ChainedInvokeStartedDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChainedInvokeStartedDetails {
    /// The invoked function.
    pub function_name: String,
    /// The tenant, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The input payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<EventPayload>,
    /// The version that ran, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executed_version: Option<String>,
    /// The target's durable execution, when it is durable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub durable_execution_arn: Option<String>,
}

/// `InvocationCompletedDetails`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationCompletedDetails {
    /// When the invocation began.
    pub start_timestamp: Timestamp,
    /// When it ended.
    pub end_timestamp: Timestamp,
    /// The invocation's request id.
    pub request_id: String,
    /// Why it failed, if it crashed or returned an error instead of an output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<EventError>,
}

/// The `<EventType>Details` object of an event; the variant also fixes the event type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EventDetails {
    /// `ExecutionStartedDetails`.
    #[serde(rename = "ExecutionStartedDetails")]
    ExecutionStarted(ExecutionStartedDetails),
    /// `ExecutionSucceededDetails`.
    #[serde(rename = "ExecutionSucceededDetails")]
    ExecutionSucceeded(ResultDetails),
    /// `ExecutionFailedDetails`.
    #[serde(rename = "ExecutionFailedDetails")]
    ExecutionFailed(ErrorDetails),
    /// `ExecutionTimedOutDetails`.
    #[serde(rename = "ExecutionTimedOutDetails")]
    ExecutionTimedOut(ErrorDetails),
    /// `ExecutionStoppedDetails`.
    #[serde(rename = "ExecutionStoppedDetails")]
    ExecutionStopped(ErrorDetails),
    /// `ExecutionPausedDetails`.
    #[serde(rename = "ExecutionPausedDetails")]
    ExecutionPaused(ExecutionPausedDetails),
    /// `ExecutionResumedDetails`.
    #[serde(rename = "ExecutionResumedDetails")]
    ExecutionResumed(ExecutionResumedDetails),
    /// `ContextStartedDetails`.
    #[serde(rename = "ContextStartedDetails")]
    ContextStarted(EmptyDetails),
    /// `ContextSucceededDetails`.
    #[serde(rename = "ContextSucceededDetails")]
    ContextSucceeded(ResultDetails),
    /// `ContextFailedDetails`.
    #[serde(rename = "ContextFailedDetails")]
    ContextFailed(ErrorDetails),
    /// `WaitStartedDetails`.
    #[serde(rename = "WaitStartedDetails")]
    WaitStarted(WaitStartedDetails),
    /// `WaitSucceededDetails`.
    #[serde(rename = "WaitSucceededDetails")]
    WaitSucceeded(WaitSucceededDetails),
    /// `WaitCancelledDetails`.
    #[serde(rename = "WaitCancelledDetails")]
    WaitCancelled(ErrorDetails),
    /// `StepStartedDetails`.
    #[serde(rename = "StepStartedDetails")]
    StepStarted(EmptyDetails),
    /// `StepSucceededDetails`.
    #[serde(rename = "StepSucceededDetails")]
    StepSucceeded(StepEventDetails),
    /// `StepFailedDetails`.
    #[serde(rename = "StepFailedDetails")]
    StepFailed(StepEventDetails),
    /// `ChainedInvokeStartedDetails`.
    #[serde(rename = "ChainedInvokeStartedDetails")]
    ChainedInvokeStarted(ChainedInvokeStartedDetails),
    /// `ChainedInvokeSucceededDetails`.
    #[serde(rename = "ChainedInvokeSucceededDetails")]
    ChainedInvokeSucceeded(ResultDetails),
    /// `ChainedInvokeFailedDetails`.
    #[serde(rename = "ChainedInvokeFailedDetails")]
    ChainedInvokeFailed(ErrorDetails),
    /// `ChainedInvokeTimedOutDetails`.
    #[serde(rename = "ChainedInvokeTimedOutDetails")]
    ChainedInvokeTimedOut(ErrorDetails),
    /// `ChainedInvokeStoppedDetails`.
    #[serde(rename = "ChainedInvokeStoppedDetails")]
    ChainedInvokeStopped(ErrorDetails),
    /// `CallbackStartedDetails`.
    #[serde(rename = "CallbackStartedDetails")]
    CallbackStarted(CallbackStartedDetails),
    /// `CallbackSucceededDetails`.
    #[serde(rename = "CallbackSucceededDetails")]
    CallbackSucceeded(ResultDetails),
    /// `CallbackFailedDetails`.
    #[serde(rename = "CallbackFailedDetails")]
    CallbackFailed(ErrorDetails),
    /// `CallbackTimedOutDetails`.
    #[serde(rename = "CallbackTimedOutDetails")]
    CallbackTimedOut(ErrorDetails),
    /// `InvocationCompletedDetails`.
    #[serde(rename = "InvocationCompletedDetails")]
    InvocationCompleted(InvocationCompletedDetails),
}

impl EventDetails {
    /// The event type these details belong to.
    pub fn event_type(&self) -> EventType {
        match self {
            Self::ExecutionStarted(_) => EventType::ExecutionStarted,
            Self::ExecutionSucceeded(_) => EventType::ExecutionSucceeded,
            Self::ExecutionFailed(_) => EventType::ExecutionFailed,
            Self::ExecutionTimedOut(_) => EventType::ExecutionTimedOut,
            Self::ExecutionStopped(_) => EventType::ExecutionStopped,
            Self::ExecutionPaused(_) => EventType::ExecutionPaused,
            Self::ExecutionResumed(_) => EventType::ExecutionResumed,
            Self::ContextStarted(_) => EventType::ContextStarted,
            Self::ContextSucceeded(_) => EventType::ContextSucceeded,
            Self::ContextFailed(_) => EventType::ContextFailed,
            Self::WaitStarted(_) => EventType::WaitStarted,
            Self::WaitSucceeded(_) => EventType::WaitSucceeded,
            Self::WaitCancelled(_) => EventType::WaitCancelled,
            Self::StepStarted(_) => EventType::StepStarted,
            Self::StepSucceeded(_) => EventType::StepSucceeded,
            Self::StepFailed(_) => EventType::StepFailed,
            Self::ChainedInvokeStarted(_) => EventType::ChainedInvokeStarted,
            Self::ChainedInvokeSucceeded(_) => EventType::ChainedInvokeSucceeded,
            Self::ChainedInvokeFailed(_) => EventType::ChainedInvokeFailed,
            Self::ChainedInvokeTimedOut(_) => EventType::ChainedInvokeTimedOut,
            Self::ChainedInvokeStopped(_) => EventType::ChainedInvokeStopped,
            Self::CallbackStarted(_) => EventType::CallbackStarted,
            Self::CallbackSucceeded(_) => EventType::CallbackSucceeded,
            Self::CallbackFailed(_) => EventType::CallbackFailed,
            Self::CallbackTimedOut(_) => EventType::CallbackTimedOut,
            Self::InvocationCompleted(_) => EventType::InvocationCompleted,
        }
    }
}

/// One entry of an execution's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HistoryEvent {
    /// The kind of event.
    pub event_type: EventType,
    /// The operation's sub-type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// 1-based position in the history.
    pub event_id: u64,
    /// The operation's id (the execution id for execution and invocation events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The operation's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// When it happened.
    pub event_timestamp: Timestamp,
    /// The enclosing context's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The `<EventType>Details` object.
    #[serde(flatten)]
    pub details: EventDetails,
}

impl HistoryEvent {
    /// The error this event carries, if any.
    pub fn error(&self) -> Option<&ErrorObject> {
        let error = match &self.details {
            EventDetails::ExecutionFailed(d)
            | EventDetails::ExecutionTimedOut(d)
            | EventDetails::ExecutionStopped(d)
            | EventDetails::ContextFailed(d)
            | EventDetails::WaitCancelled(d)
            | EventDetails::ChainedInvokeFailed(d)
            | EventDetails::ChainedInvokeTimedOut(d)
            | EventDetails::ChainedInvokeStopped(d)
            | EventDetails::CallbackFailed(d)
            | EventDetails::CallbackTimedOut(d) => d.error.as_ref(),
            EventDetails::StepSucceeded(d) | EventDetails::StepFailed(d) => d.error.as_ref(),
            EventDetails::InvocationCompleted(d) => d.error.as_ref(),
            _ => None,
        };
        error.and_then(|e| e.payload.as_ref())
    }

    /// The result payload this event carries, if any.
    pub fn result(&self) -> Option<&str> {
        let result = match &self.details {
            EventDetails::ExecutionSucceeded(d)
            | EventDetails::ContextSucceeded(d)
            | EventDetails::ChainedInvokeSucceeded(d)
            | EventDetails::CallbackSucceeded(d) => d.result.as_ref(),
            EventDetails::StepSucceeded(d) | EventDetails::StepFailed(d) => d.result.as_ref(),
            _ => None,
        };
        result.and_then(|r| r.payload.as_deref())
    }

    /// The `RetryDetails` of a step event, if any.
    pub fn retry_details(&self) -> Option<&RetryDetails> {
        match &self.details {
            EventDetails::StepSucceeded(d) | EventDetails::StepFailed(d) => {
                d.retry_details.as_ref()
            }
            _ => None,
        }
    }

    /// This event as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A history as the JSON body of a `GetDurableExecutionHistory` response: `{"Events":[…]}`.
pub fn history_to_json(events: &[HistoryEvent]) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct Body<'a> {
        events: &'a [HistoryEvent],
    }
    serde_json::to_string(&Body { events }).unwrap_or_default()
}

pub(crate) fn payload(text: Option<&str>) -> Option<EventPayload> {
    text.map(|t| EventPayload {
        payload: Some(t.to_owned()),
        truncated: false,
    })
}

pub(crate) fn event_error(error: Option<&ErrorObject>) -> Option<EventError> {
    error.map(|e| EventError {
        payload: Some(e.clone()),
        truncated: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_like_the_service_and_round_trips() {
        let event = HistoryEvent {
            event_type: EventType::StepFailed,
            sub_type: Some("Step".into()),
            event_id: 4,
            id: Some("1".into()),
            name: Some("charge".into()),
            event_timestamp: Timestamp::from_millis(1_000),
            parent_id: None,
            details: EventDetails::StepFailed(StepEventDetails {
                result: None,
                error: event_error(Some(&ErrorObject::new("Boom", "no"))),
                retry_details: Some(RetryDetails {
                    current_attempt: 1,
                    next_attempt_delay_seconds: Some(5),
                }),
            }),
        };
        let json = event.to_json();
        assert_eq!(
            json,
            r#"{"EventType":"StepFailed","SubType":"Step","EventId":4,"Id":"1","Name":"charge","EventTimestamp":1000,"StepFailedDetails":{"Error":{"Payload":{"ErrorType":"Boom","ErrorMessage":"no"},"Truncated":false},"RetryDetails":{"CurrentAttempt":1,"NextAttemptDelaySeconds":5}}}"#
        );
        let back: HistoryEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.error().unwrap().type_name(), "Boom");
        assert_eq!(back.retry_details().unwrap().current_attempt, 1);
        assert_eq!(back.details.event_type(), EventType::StepFailed);
    }

    #[test]
    fn empty_details_and_history_body() {
        let event = HistoryEvent {
            event_type: EventType::StepStarted,
            sub_type: None,
            event_id: 1,
            id: Some("1".into()),
            name: None,
            event_timestamp: Timestamp::from_millis(0),
            parent_id: Some("c".into()),
            details: EventDetails::StepStarted(EmptyDetails {}),
        };
        assert_eq!(
            history_to_json(std::slice::from_ref(&event)),
            r#"{"Events":[{"EventType":"StepStarted","EventId":1,"Id":"1","EventTimestamp":0,"ParentId":"c","StepStartedDetails":{}}]}"#
        );
        assert_eq!(event.result(), None);
        assert_eq!(
            EventType::InvocationCompleted.to_string(),
            "InvocationCompleted"
        );
    }
}
