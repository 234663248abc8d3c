//! Helpers for reading GetDurableExecutionHistory events (`serde_json::Value`s).
//!
//! An event looks like
//! `{"EventType": "StepFailed", "EventId": 5, "Id": "<op id>", "Name": "flaky", "SubType": "Step",
//!   "StepFailedDetails": {"Error": {...}, "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1}}}`:
//! the details object is named after the event type.

use serde_json::Value;

/// The event's `EventType` (`"StepStarted"`, `"InvocationCompleted"`, ...).
pub fn event_type(event: &Value) -> Option<&str> {
    event.get("EventType").and_then(Value::as_str)
}

/// The operation name (`Name`), when the event belongs to a named operation.
pub fn name(event: &Value) -> Option<&str> {
    event.get("Name").and_then(Value::as_str)
}

/// The operation id (`Id`).
pub fn operation_id(event: &Value) -> Option<&str> {
    event.get("Id").and_then(Value::as_str)
}

/// The event's `SubType` (`"Step"`, `"Wait"`, `"WaitForCondition"`, ...).
pub fn sub_type(event: &Value) -> Option<&str> {
    event.get("SubType").and_then(Value::as_str)
}

/// The event's timestamp in (fractional) epoch seconds, as the REST API reports it.
pub fn timestamp(event: &Value) -> Option<f64> {
    event.get("EventTimestamp").and_then(Value::as_f64)
}

/// The `<EventType>Details` object, e.g. `StepFailedDetails` for a `StepFailed` event.
pub fn details(event: &Value) -> Option<&Value> {
    event.get(format!("{}Details", event_type(event)?))
}

/// `RetryDetails.CurrentAttempt` of a `StepFailed` / `StepSucceeded` event (1-based).
pub fn attempt(event: &Value) -> Option<u64> {
    details(event)?
        .get("RetryDetails")?
        .get("CurrentAttempt")?
        .as_u64()
}

/// `RetryDetails.NextAttemptDelaySeconds` of a `StepFailed` event that will be retried.
pub fn next_attempt_delay_seconds(event: &Value) -> Option<u64> {
    details(event)?
        .get("RetryDetails")?
        .get("NextAttemptDelaySeconds")?
        .as_u64()
}

/// `<Details>.Result.Payload` (the serialized result), e.g. of `StepSucceeded`.
pub fn result_payload(event: &Value) -> Option<&str> {
    details(event)?.get("Result")?.get("Payload")?.as_str()
}

/// `<Details>.Error.Payload` (an ErrorObject: `ErrorType`, `ErrorMessage`, ...).
pub fn error_payload(event: &Value) -> Option<&Value> {
    details(event)?.get("Error")?.get("Payload")
}

/// All events of one type, in history order.
pub fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| event_type(e) == Some(ty))
        .collect()
}

/// All events of the operation(s) named `op_name`, in history order.
pub fn named<'a>(events: &'a [Value], op_name: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| name(e) == Some(op_name)).collect()
}

/// The event types in history order.
pub fn types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| event_type(e).unwrap_or("?"))
        .collect()
}

/// The event types of the operation(s) named `op_name`, in history order.
pub fn types_of<'a>(events: &'a [Value], op_name: &str) -> Vec<&'a str> {
    events
        .iter()
        .filter(|e| name(e) == Some(op_name))
        .map(|e| event_type(e).unwrap_or("?"))
        .collect()
}

/// One line per event (`5 StepFailed flaky attempt=1`), for assertion messages.
pub fn describe(events: &[Value]) -> String {
    let mut out = String::new();
    for e in events {
        let id = e.get("EventId").and_then(Value::as_u64).unwrap_or(0);
        out.push_str(&format!("{id:>3} {}", event_type(e).unwrap_or("?")));
        if let Some(n) = name(e) {
            out.push_str(&format!(" {n}"));
        }
        if let Some(a) = attempt(e) {
            out.push_str(&format!(" attempt={a}"));
        }
        if let Some(err) = error_payload(e) {
            let ty = err.get("ErrorType").and_then(Value::as_str).unwrap_or("?");
            out.push_str(&format!(" error={ty}"));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Vec<Value> {
        vec![
            json!({"EventType": "ExecutionStarted", "EventId": 1, "Id": "x"}),
            json!({"EventType": "StepStarted", "EventId": 2, "Id": "s", "Name": "flaky", "StepStartedDetails": {}}),
            json!({"EventType": "StepFailed", "EventId": 3, "Id": "s", "Name": "flaky",
                   "StepFailedDetails": {"Error": {"Payload": {"ErrorType": "RuntimeError"}},
                                         "RetryDetails": {"CurrentAttempt": 1, "NextAttemptDelaySeconds": 1}}}),
            json!({"EventType": "InvocationCompleted", "EventId": 4, "InvocationCompletedDetails": {}}),
            json!({"EventType": "StepStarted", "EventId": 5, "Id": "s", "Name": "flaky", "StepStartedDetails": {}}),
            json!({"EventType": "StepSucceeded", "EventId": 6, "Id": "s", "Name": "flaky",
                   "StepSucceededDetails": {"Result": {"Payload": "\"ok\""}, "RetryDetails": {"CurrentAttempt": 2}}}),
        ]
    }

    #[test]
    fn filters_and_fields() {
        let h = sample();
        assert_eq!(of_type(&h, "StepStarted").len(), 2);
        assert_eq!(
            types_of(&h, "flaky"),
            ["StepStarted", "StepFailed", "StepStarted", "StepSucceeded"]
        );
        let failed = of_type(&h, "StepFailed")[0];
        assert_eq!(attempt(failed), Some(1));
        assert_eq!(next_attempt_delay_seconds(failed), Some(1));
        assert_eq!(
            error_payload(failed).and_then(|e| e.get("ErrorType")),
            Some(&json!("RuntimeError"))
        );
        let ok = of_type(&h, "StepSucceeded")[0];
        assert_eq!(attempt(ok), Some(2));
        assert_eq!(result_payload(ok), Some("\"ok\""));
        assert_eq!(operation_id(ok), Some("s"));
        assert!(describe(&h).contains("  3 StepFailed flaky attempt=1 error=RuntimeError\n"));
    }
}
