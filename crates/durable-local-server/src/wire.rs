//! JSON as the HTTP API writes it.
//!
//! The service model's types serialize timestamps as epoch milliseconds (the invocation
//! envelope's format); the restJson1 API writes epoch **seconds** (fractional), which is what
//! the AWS SDKs parse. Every API reply goes through [`api_value`], which rewrites each
//! `…Timestamp` field. The envelope handed to a function keeps milliseconds, as Lambda's does.

use durable_local::{ExecutionRecord, ExecutionStatus, HistoryEvent};
use durable_proto::Timestamp;
use serde::Serialize;
use serde_json::{json, Map, Value};

/// `value` serialized, with every `…Timestamp` number turned from milliseconds to seconds.
pub(crate) fn api_value<T: Serialize>(value: &T) -> Value {
    let mut value = serde_json::to_value(value).unwrap_or(Value::Null);
    to_seconds(&mut value);
    value
}

fn to_seconds(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if key.ends_with("Timestamp") {
                    if let Some(ms) = field.as_i64() {
                        *field = seconds(Timestamp::from_millis(ms));
                        continue;
                    }
                }
                to_seconds(field);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(to_seconds),
        _ => {}
    }
}

/// A timestamp as the API writes it: epoch seconds.
pub(crate) fn seconds(at: Timestamp) -> Value {
    json!(at.as_millis() as f64 / 1000.0)
}

/// The unqualified function ARN of `name`.
pub(crate) fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

/// `GetDurableExecution`'s reply.
pub(crate) fn execution(record: &ExecutionRecord, function_arn: &str) -> Value {
    let mut out = summary(record, function_arn);
    let map = out.as_object_mut().expect("summary is an object");
    map.insert("InputPayload".into(), json!(record.input()));
    if let Some(result) = record.result() {
        map.insert("Result".into(), json!(result));
    }
    if let Some(error) = record.error() {
        map.insert("Error".into(), api_value(error));
    }
    map.insert("Version".into(), json!("$LATEST"));
    out
}

/// One entry of `ListDurableExecutionsByFunction`.
pub(crate) fn summary(record: &ExecutionRecord, function_arn: &str) -> Value {
    let mut map = Map::new();
    map.insert("DurableExecutionArn".into(), json!(record.arn()));
    map.insert(
        "DurableExecutionName".into(),
        json!(record.execution_name()),
    );
    map.insert("FunctionArn".into(), json!(function_arn));
    map.insert("Status".into(), json!(record.status().as_str()));
    map.insert("StartTimestamp".into(), seconds(record.start_timestamp()));
    if let Some(end) = record.end_timestamp() {
        map.insert("EndTimestamp".into(), seconds(end));
    }
    Value::Object(map)
}

/// A page of history events; with `include_data` false, payloads (inputs, results, errors,
/// reasons) are left out and marked truncated, as the real API does by default.
pub(crate) fn history_events(events: &[HistoryEvent], include_data: bool) -> Vec<Value> {
    events
        .iter()
        .map(|event| {
            let mut value = api_value(event);
            if !include_data {
                strip_payloads(&mut value);
            }
            value
        })
        .collect()
}

fn strip_payloads(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.remove("Payload").is_some() {
                map.insert("Truncated".into(), json!(true));
            }
            map.values_mut().for_each(strip_payloads);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_payloads),
        _ => {}
    }
}

/// Parses an `ExecutionStatus` wire name.
pub(crate) fn parse_status(name: &str) -> Option<ExecutionStatus> {
    serde_json::from_value(json!(name)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_become_seconds_everywhere() {
        let value = api_value(&json!({
            "StartTimestamp": 1_767_225_600_250_i64,
            "Nested": [{"EventTimestamp": 1000, "Other": 5}],
            "Name": "x",
        }));
        assert_eq!(value["StartTimestamp"], json!(1_767_225_600.25));
        assert_eq!(value["Nested"][0]["EventTimestamp"], json!(1.0));
        assert_eq!(value["Nested"][0]["Other"], json!(5));
        assert_eq!(parse_status("PAUSED"), Some(ExecutionStatus::Paused));
        assert_eq!(parse_status("nope"), None);
    }

    #[test]
    fn payloads_are_left_out_without_execution_data() {
        let mut value = json!({"ExecutionStartedDetails": {"Input": {"Payload": "{}"}}});
        strip_payloads(&mut value);
        assert_eq!(
            value,
            json!({"ExecutionStartedDetails": {"Input": {"Truncated": true}}})
        );
    }
}
