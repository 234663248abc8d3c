//! The engine's path from bytes to records against the owned parse: on generated, varied
//! and mutated envelopes, the same records (and what the engine reads of each) or the same
//! error.

use proptest::prelude::*;
use serde_json::{json, Value};

use super::*;
use crate::wire::{
    CallbackDetails, ChainedInvokeDetails, ContextDetails, ExecutionDetails, StepDetails,
    Timestamp, WaitDetails,
};

/// The owned parse keeps a repeated id twice; the engine keeps the last record in the
/// first one's place (the service never repeats an id).
fn last_of_each_id(operations: Vec<Operation>) -> Vec<Operation> {
    let mut out: Vec<Operation> = Vec::new();
    let mut at = std::collections::HashMap::new();
    for op in operations {
        match at.get(&op.id) {
            Some(&i) => out[i] = op,
            None => {
                at.insert(op.id.clone(), out.len());
                out.push(op);
            }
        }
    }
    out
}

/// What the engine reads of a record, from the owned form (the rule in `RawRecord`'s docs).
fn expected_view(op: &Operation) -> (Option<String>, Option<ErrorObject>) {
    let step = op.step_details.as_deref();
    let context = op.context_details.as_deref();
    match op.operation_type {
        OperationType::Callback => {
            let d = op.callback_details.as_deref();
            (
                d.and_then(|d| d.result.clone()),
                d.and_then(|d| d.error.clone()),
            )
        }
        OperationType::ChainedInvoke => {
            let d = op.chained_invoke_details.as_deref();
            (
                d.and_then(|d| d.result.clone()),
                d.and_then(|d| d.error.clone()),
            )
        }
        _ => (
            step.and_then(|d| d.result.clone())
                .or_else(|| context.and_then(|d| d.result.clone())),
            step.and_then(|d| d.error.clone())
                .or_else(|| context.and_then(|d| d.error.clone())),
        ),
    }
}

fn assert_view_matches(record: Record<'_>, op: &Operation) {
    assert_eq!(record.id(), op.id);
    assert_eq!(record.name().as_deref(), op.name.as_deref());
    assert_eq!(record.parent_id().as_deref(), op.parent_id.as_deref());
    assert_eq!(record.sub_type().as_deref(), op.sub_type.as_deref());
    assert_eq!(*record.operation_type(), op.operation_type);
    assert!(record.is_type(&op.operation_type));
    assert_eq!(*record.status(), op.status);
    assert_eq!(record.is_terminal(), op.status.is_terminal());
    assert_eq!(
        record.attempt(),
        op.step_details.as_ref().map_or(0, |d| d.attempt)
    );
    assert_eq!(
        record.replay_children(),
        op.context_details
            .as_ref()
            .and_then(|d| d.replay_children)
            .unwrap_or(false)
    );
    let (result, error) = expected_view(op);
    assert_eq!(record.result().map(Cow::into_owned), result);
    assert_eq!(record.error(), error);
    let is_execution = op.operation_type == OperationType::Execution;
    assert_eq!(
        record.callback_id().map(Cow::into_owned),
        op.callback_details
            .as_ref()
            .and_then(|d| d.callback_id.clone())
            .filter(|_| !is_execution)
    );
    assert_eq!(
        record.input_payload().map(Cow::into_owned),
        op.execution_details
            .as_ref()
            .and_then(|d| d.input_payload.clone())
            .filter(|_| is_execution)
    );
    assert_eq!(record.decode().as_ref(), Some(op));
}

/// Both paths read `bytes` the same: equal records and views, or the equal error.
/// Returns whether the bytes were an envelope.
pub(crate) fn assert_paths_agree(bytes: &[u8]) -> bool {
    let owned = InvocationInput::from_slice(bytes);
    let raw = Envelope::from_slice(bytes);
    match (owned, raw) {
        (Ok(mut owned), Ok(raw)) => {
            let ops = std::mem::take(&mut owned.initial_execution_state.operations);
            owned.initial_execution_state.operations = last_of_each_id(ops);
            assert_eq!(raw.to_input(), owned, "the records differ");
            let ops = &owned.initial_execution_state.operations;
            assert_eq!(raw.len(), ops.len());
            for op in ops {
                let record = raw.records.get(&op.id).expect("every id is found");
                assert_view_matches(record, op);
            }
            true
        }
        (Err(owned), Err(raw)) => {
            assert_eq!(raw, owned, "the errors differ");
            false
        }
        (owned, raw) => panic!(
            "the paths disagree on {:?}: owned {owned:?}, raw {raw:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

/// Whether the scanner itself read `text` (rather than leaving it to the owned parse).
fn scanned(text: &str) -> bool {
    raw::scan_envelope(text, &mut raw::RecordList::default()).is_ok()
}

/// Text that exercises escaping: quotes, backslashes, control characters, non-ASCII and
/// astral characters, and the enum and key spellings.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 _./+=-]{0,12}",
        1 => "[\"\\\\\u{0}-\u{1f}é€😀/]{0,6}",
        1 => Just("STEP".to_owned()),
        1 => Just("SUCCEEDED".to_owned()),
        1 => Just(String::new()),
        1 => any::<String>().prop_map(|s| s.chars().take(12).collect()),
    ]
    .boxed()
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::of(s).boxed()
}

fn error_object() -> BoxedStrategy<ErrorObject> {
    (
        opt(text()),
        opt(text()),
        opt(text()),
        opt(prop::collection::vec(text(), 0..3)),
    )
        .prop_map(
            |(error_type, error_message, error_data, stack_trace)| ErrorObject {
                error_type,
                error_message,
                error_data,
                stack_trace,
            },
        )
        .boxed()
}

fn timestamp() -> BoxedStrategy<Option<Timestamp>> {
    opt((-10_000_000_000_000i64..10_000_000_000_000).prop_map(Timestamp))
}

fn operation_type() -> BoxedStrategy<OperationType> {
    prop_oneof![
        Just(OperationType::Execution),
        Just(OperationType::Context),
        Just(OperationType::Step),
        Just(OperationType::Wait),
        Just(OperationType::Callback),
        Just(OperationType::ChainedInvoke),
        "[A-Z_]{1,8}".prop_map(|t| OperationType::from(t.as_str())),
    ]
    .boxed()
}

fn status() -> BoxedStrategy<OperationStatus> {
    prop_oneof![
        Just(OperationStatus::Started),
        Just(OperationStatus::Pending),
        Just(OperationStatus::Ready),
        Just(OperationStatus::Succeeded),
        Just(OperationStatus::Failed),
        Just(OperationStatus::Cancelled),
        Just(OperationStatus::TimedOut),
        Just(OperationStatus::Stopped),
        "[A-Z_]{1,8}".prop_map(|t| OperationStatus::from(t.as_str())),
    ]
    .boxed()
}

fn operation() -> BoxedStrategy<Operation> {
    let identity = (
        prop_oneof![4 => "[0-9]{1,3}(-[0-9]{1,2})?", 1 => text()],
        opt(text()),
        opt(text()),
        operation_type(),
        opt(text()),
        timestamp(),
        timestamp(),
        status(),
    );
    let details = (
        opt(opt(text()).prop_map(|input_payload| ExecutionDetails { input_payload })),
        opt(
            (opt(any::<bool>()), opt(text()), opt(error_object())).prop_map(
                |(replay_children, result, error)| ContextDetails {
                    replay_children,
                    result,
                    error,
                },
            ),
        ),
        opt(
            (any::<u32>(), timestamp(), opt(text()), opt(error_object())).prop_map(
                |(attempt, next_attempt_timestamp, result, error)| StepDetails {
                    attempt,
                    next_attempt_timestamp,
                    result,
                    error,
                },
            ),
        ),
        opt(timestamp().prop_map(|scheduled_end_timestamp| WaitDetails {
            scheduled_end_timestamp,
        })),
        opt((opt(text()), opt(text()), opt(error_object())).prop_map(
            |(callback_id, result, error)| CallbackDetails {
                callback_id,
                result,
                error,
            },
        )),
        opt((opt(text()), opt(error_object()))
            .prop_map(|(result, error)| ChainedInvokeDetails { result, error })),
    );
    (identity, details)
        .prop_map(
            |((id, parent_id, name, operation_type, sub_type, start, end, status), d)| Operation {
                id,
                parent_id,
                name,
                operation_type,
                sub_type,
                start_timestamp: start,
                end_timestamp: end,
                status,
                execution_details: d.0.map(Box::new),
                context_details: d.1.map(Box::new),
                step_details: d.2.map(Box::new),
                wait_details: d.3.map(Box::new),
                callback_details: d.4.map(Box::new),
                chained_invoke_details: d.5.map(Box::new),
            },
        )
        .boxed()
}

fn input() -> BoxedStrategy<InvocationInput> {
    (
        text(),
        text(),
        prop::collection::vec(operation(), 0..8),
        opt(text()),
        prop::collection::vec(text(), 0..3),
    )
        .prop_map(
            |(arn, token, operations, next_marker, updated)| InvocationInput {
                durable_execution_arn: arn,
                checkpoint_token: token,
                initial_execution_state: crate::wire::ExecutionState {
                    operations,
                    next_marker,
                },
                updated_operation_ids: updated,
            },
        )
        .boxed()
}

/// A value to add as an unknown field, or to put where a field's value belongs.
fn odd_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[A-Za-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Changes `value` in a way a producer might: an unknown field, a field set to `null` or to
/// an odd value, a field removed, a timestamp written as a float or a string.
fn vary(value: &mut Value, pick: usize, key_pick: usize, odd: Value, how: u8) {
    let mut count = 0;
    visit(value, &mut |_| count += 1);
    if count == 0 {
        return;
    }
    let index = pick % count;
    let mut seen = 0;
    visit(value, &mut |map| {
        if seen == index {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = (!keys.is_empty()).then(|| keys[key_pick % keys.len()].clone());
            match (how % 5, key) {
                (0, _) | (_, None) => {
                    map.insert("Unknown".into(), odd.clone());
                }
                (1, Some(k)) => {
                    map.insert(k, Value::Null);
                }
                (2, Some(k)) => {
                    map.insert(k, odd.clone());
                }
                (3, Some(k)) => {
                    map.remove(&k);
                }
                (_, Some(k)) => {
                    if let Some(n) = map.get(&k).and_then(Value::as_i64) {
                        let new = if key_pick % 2 == 0 {
                            json!(n as f64 / 1000.0)
                        } else {
                            json!("2026-01-02T03:04:05Z")
                        };
                        map.insert(k, new);
                    }
                }
            }
        }
        seen += 1;
    });
}

fn visit(value: &mut Value, f: &mut dyn FnMut(&mut serde_json::Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            f(map);
            for v in map.values_mut() {
                visit(v, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| visit(v, f)),
        _ => {}
    }
}

/// Writes some characters of strings (keys included) as `\u` escapes.
fn escape_some(text: &str, every: usize) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.chars().enumerate() {
        if in_string && !escaped && c != '"' && c != '\\' && (c as u32) < 0xD800 && i % every == 0 {
            out.push_str(&format!("\\u{:04x}", c as u32));
            continue;
        }
        out.push(c);
        if escaped {
            escaped = false;
        } else if c == '\\' && in_string {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn serialized_envelopes_read_the_same(input in input(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&input).unwrap()
        } else {
            serde_json::to_string(&input).unwrap()
        };
        assert_paths_agree(text.as_bytes());
        // serde_json's own output never needs the owned parse.
        prop_assert!(scanned(&text), "declined: {}", text);
        // The conversion from the owned form keeps every record.
        let envelope = Envelope::from(input.clone());
        let mut expected = input;
        let ops = std::mem::take(&mut expected.initial_execution_state.operations);
        expected.initial_execution_state.operations = last_of_each_id(ops);
        prop_assert_eq!(envelope.to_input(), expected);
    }

    #[test]
    fn varied_envelopes_read_the_same(
        input in input(),
        changes in prop::collection::vec((any::<usize>(), any::<usize>(), odd_value(), any::<u8>()), 1..4),
        every in prop::option::of(2usize..9),
    ) {
        let mut value = serde_json::to_value(&input).unwrap();
        for (pick, key, odd, how) in changes {
            vary(&mut value, pick, key, odd, how);
        }
        let mut text = serde_json::to_string(&value).unwrap();
        if let Some(every) = every {
            text = escape_some(&text, every);
        }
        assert_paths_agree(text.as_bytes());
    }

    #[test]
    fn mutated_bytes_read_the_same(
        input in input(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = serde_json::to_vec(&input).unwrap();
        for (at, byte, how) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at % bytes.len();
            match how {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => drop(bytes.remove(at)),
            }
        }
        assert_paths_agree(&bytes);
    }
}

#[test]
fn what_the_scanner_leaves_to_the_owned_parse_reads_the_same() {
    let record = r#"{"Id":"1","Type":"STEP","Status":"SUCCEEDED","StepDetails":{"Attempt":1,"Result":"\"x\""}}"#;
    let envelope = |ops: &str| {
        format!(
            r#"{{"DurableExecutionArn":"a/b","CheckpointToken":"t","InitialExecutionState":{{"Operations":[{ops}]}}}}"#
        )
    };
    for case in [
        envelope(record),
        // An escaped key, which spells a known one.
        envelope(&record.replace("\"Id\"", "\"\\u0049d\"")),
        // A repeated field, a repeated id, a surrogate pair, a deep unknown field.
        envelope(&record.replace("\"Type\"", "\"Name\":\"a\",\"Name\"")),
        envelope(&format!("{record},{record}")),
        envelope(&record.replace("\\\"x\\\"", "\\ud83d\\ude00")),
        envelope(&record.replace(
            "\"Status\"",
            &format!(
                "\"Deep\":{}1{},\"Status\"",
                "[".repeat(120),
                "]".repeat(120)
            ),
        )),
        // Timestamps the lenient reader maps to nothing, or that overflow.
        envelope(&record.replace("\"Status\"", "\"StartTimestamp\":1e999,\"Status\"")),
        envelope(&record.replace("\"Status\"", "\"EndTimestamp\":{\"x\":1},\"Status\"")),
        // A struct written as an array, an attempt written as a float, a negative zero.
        envelope(&record.replace("{\"Attempt\":1,\"Result\":\"\\\"x\\\"\"}", "[1,\"r\"]")),
        envelope(&record.replace("\"Attempt\":1", "\"Attempt\":1.0")),
        envelope(&record.replace("\"Attempt\":1", "\"Attempt\":-0")),
        // Not JSON, not an envelope, trailing bytes, empty fields, invalid UTF-8.
        "{".to_owned(),
        "[]".to_owned(),
        format!("{} x", envelope(record)),
        envelope(record).replace("\"a/b\"", "\"\""),
        envelope(record).replace("\"t\"", "\"\""),
    ] {
        assert_paths_agree(case.as_bytes());
    }
    // The plain record is read by the scanner; the escaped key is left to the owned parse.
    assert!(scanned(&envelope(record)));
    assert!(!scanned(&envelope(
        &record.replace("\"Id\"", "\"\\u0049d\"")
    )));
    let mut bytes = envelope(record)
        .replace("\"Id\"", "\"Junk\":\"\u{fffd}\",\"Id\"")
        .into_bytes();
    let junk = bytes
        .windows(3)
        .position(|w| w == "\u{fffd}".as_bytes())
        .unwrap();
    bytes[junk..junk + 3].copy_from_slice(&[0xff, 0xfe, 0xfd]);
    assert_paths_agree(&bytes);
}

#[test]
fn a_record_costs_at_most_80_bytes_beside_its_text() {
    // The memory target of a long replay (docs/performance.md §4) rests on this.
    assert!(std::mem::size_of::<RawRecord>() <= 80);
}
