//! Envelope-level tests: whole payloads as the service, the emulator or a confused caller send them.

use super::*;

/// The emulator's first-invocation envelope (protocol.md §1.2), with the elisions filled in.
const EMULATOR_ENVELOPE: &str = r#"{"DurableExecutionArn":"64418a57-5a8e-4b43-a3d4-0f6f3c2f4b1e/3a9d9895-1c1e-4a43-9a52-6f0c2b7e2d10","CheckpointToken":"eyJhcm4iOiI2NDQxOGE1Ny0uLi4iLCJzZXEiOjAsImludiI6MX0=",
 "InitialExecutionState":{"Operations":[{"Id":"3a9d9895-1c1e-4a43-9a52-6f0c2b7e2d10","Type":"EXECUTION","Status":"STARTED",
   "Name":"exec-raw","StartTimestamp":1795872239083,"ExecutionDetails":{"InputPayload":"{}"}}],
   "NextMarker":""},
 "UpdatedOperationIds":[]}"#;

/// The emulator's checkpoint response (protocol.md §5.1): note the epoch-seconds floats.
const CHECKPOINT_RESPONSE: &str = r#"{"CheckpointToken":"eyJhcm4iOiI2NDQxOGE1Ny0uLi4iLCJzZXEiOjEsImludiI6MX0=","NewExecutionState":{"Operations":[{"Id":"s1","Type":"STEP",
  "Status":"PENDING","Name":"compute","StartTimestamp":1795872239.102954,"SubType":"Step",
  "StepDetails":{"Attempt":1,"NextAttemptTimestamp":1795872240.106981,"Error":{"ErrorType":"Boom","ErrorMessage":"transient"}}}]}}"#;

/// The owned parse, checked against the engine's own path on the same bytes.
fn parse(json: &str) -> Result<InvocationInput, EnvelopeError> {
    crate::records::tests::assert_paths_agree(json.as_bytes());
    InvocationInput::from_slice(json.as_bytes())
}

fn envelope_with_operations(operations: &str) -> String {
    format!(
        r#"{{"DurableExecutionArn":"a/b","CheckpointToken":"t",
            "InitialExecutionState":{{"Operations":[{operations}]}}}}"#
    )
}

fn single_operation(json: &str) -> Operation {
    let input = parse(&envelope_with_operations(json)).unwrap();
    input
        .initial_execution_state
        .operations
        .into_iter()
        .next()
        .unwrap()
}

#[test]
fn emulator_envelope() {
    let input = parse(EMULATOR_ENVELOPE).unwrap();
    assert_eq!(
        execution_id_from_arn(&input.durable_execution_arn),
        "3a9d9895-1c1e-4a43-9a52-6f0c2b7e2d10"
    );
    assert!(input.checkpoint_token.starts_with("eyJ"));
    let state = &input.initial_execution_state;
    assert_eq!(state.next_marker, None);
    assert!(input.updated_operation_ids.is_empty());
    let [execution] = state.operations.as_slice() else {
        panic!("{state:?}")
    };
    assert_eq!(
        execution.id,
        execution_id_from_arn(&input.durable_execution_arn)
    );
    assert_eq!(execution.operation_type, OperationType::Execution);
    assert_eq!(execution.status, OperationStatus::Started);
    assert_eq!(execution.name.as_deref(), Some("exec-raw"));
    assert_eq!(
        execution.start_timestamp,
        Some(Timestamp(1_795_872_239_083))
    );
    let details = execution.execution_details.as_ref().unwrap();
    assert_eq!(details.input_payload.as_deref(), Some("{}"));

    let bytes = serde_json::to_vec(&input).unwrap();
    assert_eq!(InvocationInput::from_slice(&bytes).unwrap(), input);
    let value: serde_json::Value = serde_json::from_str(EMULATOR_ENVELOPE).unwrap();
    assert_eq!(InvocationInput::from_value(value).unwrap(), input);
}

#[test]
fn checkpoint_response_example() {
    let response: CheckpointResponse = serde_json::from_str(CHECKPOINT_RESPONSE).unwrap();
    assert!(response.checkpoint_token.is_some());
    assert_eq!(response.new_execution_state.next_marker, None);
    let [step] = response.new_execution_state.operations.as_slice() else {
        panic!()
    };
    assert_eq!(step.status, OperationStatus::Pending);
    assert_eq!(step.sub_type.as_deref(), Some("Step"));
    let details = step.step_details.as_ref().unwrap();
    assert_eq!(details.attempt, 1);
    assert_eq!(details.error.as_ref().unwrap().message(), "transient");
    // Seconds read as milliseconds (documented on `Timestamp`): present, not failed.
    assert_eq!(step.start_timestamp, Some(Timestamp(1_795_872_239)));

    let again: CheckpointResponse =
        serde_json::from_slice(&serde_json::to_vec(&response).unwrap()).unwrap();
    assert_eq!(again, response);
}

#[test]
fn checkpoint_response_without_token_or_state() {
    for json in [
        "{}",
        r#"{"CheckpointToken":null,"NewExecutionState":null}"#,
        r#"{"CheckpointToken":"","NewExecutionState":{"Operations":null,"NextMarker":""}}"#,
    ] {
        let response: CheckpointResponse = serde_json::from_str(json).unwrap();
        assert_eq!(response, CheckpointResponse::default(), "{json}");
    }
}

#[test]
fn not_json() {
    for bytes in [
        &b""[..],
        b"   ",
        b"\xff\xfe{}",
        b"{\"DurableExecutionArn\":\"\xff\",\"CheckpointToken\":\"t\"}",
        b"{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\"",
        b"{\"DurableExecutionArn\":\"a\",\"CheckpointToken\":\"t\"} trailing",
        b"{'single':'quotes'}",
        b"nul",
    ] {
        let err = InvocationInput::from_slice(bytes).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::NotJson { .. }),
            "{bytes:?}: {err:?}"
        );
        assert_eq!(err.code(), "DP-E001");
    }
}

#[test]
fn not_durable() {
    for json in [
        "null",
        "[]",
        "[\"a/b\",\"t\"]",
        "\"DurableExecutionArn\"",
        "42",
        "true",
        "{}",
        r#"{"orderId": 1}"#,
        r#"{"DurableExecutionArn":"a/b"}"#,
        r#"{"CheckpointToken":"t","InitialExecutionState":{}}"#,
        r#"{"DurableExecutionArn":null,"CheckpointToken":"t"}"#,
        r#"{"durableExecutionArn":"a/b","checkpointToken":"t"}"#,
    ] {
        let err = parse(json).unwrap_err();
        assert_eq!(err, EnvelopeError::NotDurable, "{json}");
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            InvocationInput::from_value(value).unwrap_err(),
            err,
            "{json}"
        );
    }
    let message = EnvelopeError::NotDurable.to_string();
    assert!(
        message.contains("not a durable-execution invocation"),
        "{message}"
    );
    assert!(message.contains("is durability (DurableConfig) configured on this function?"));
    assert_eq!(EnvelopeError::NotDurable.code(), "DP-E002");
}

#[test]
fn malformed_fields_are_reported_with_location() {
    for (json, needle) in [
        (
            r#"{"DurableExecutionArn":5,"CheckpointToken":"t"}"#,
            "expected a string",
        ),
        (
            r#"{"DurableExecutionArn":"a","CheckpointToken":["t"]}"#,
            "expected a string",
        ),
        (
            r#"{"DurableExecutionArn":"a","CheckpointToken":"t","InitialExecutionState":5}"#,
            "ExecutionState",
        ),
        (
            r#"{"DurableExecutionArn":"a","CheckpointToken":"t","UpdatedOperationIds":"x"}"#,
            "sequence",
        ),
        (
            &envelope_with_operations(r#"{"Id":"x","Status":"STARTED"}"#),
            "missing field `Type`",
        ),
        (
            &envelope_with_operations(r#"{"Id":1,"Type":"STEP","Status":"STARTED"}"#),
            "expected a string",
        ),
        (
            &envelope_with_operations(r#"{"Id":"x","Type":7,"Status":"STARTED"}"#),
            "OperationType",
        ),
        (
            &envelope_with_operations(
                r#"{"Id":"x","Type":"STEP","Status":"READY","StepDetails":{"Attempt":"2"}}"#,
            ),
            "u32",
        ),
        (
            &envelope_with_operations(
                r#"{"Id":"x","Type":"STEP","Status":"FAILED","StepDetails":{"Error":{"StackTrace":[[[["deep"]]]]}}}"#,
            ),
            "expected a string",
        ),
    ] {
        let err = parse(json).unwrap_err();
        let EnvelopeError::Malformed { detail } = &err else {
            panic!("{json}: {err:?}")
        };
        assert!(detail.contains(needle), "{json}: {detail}");
        assert!(detail.contains("line "), "{detail}");
        assert_eq!(err.code(), "DP-E003");
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let err = InvocationInput::from_value(value).unwrap_err();
        assert!(
            matches!(err, EnvelopeError::Malformed { .. }),
            "{json}: {err:?}"
        );
    }
    // A `Value` keeps only the last duplicate, so only the byte parser can see this one.
    let duplicate =
        r#"{"DurableExecutionArn":"a","CheckpointToken":"t","DurableExecutionArn":"b"}"#;
    let err = parse(duplicate).unwrap_err();
    assert!(
        err.to_string()
            .contains("duplicate field `DurableExecutionArn`"),
        "{err}"
    );
}

#[test]
fn empty_arn_or_token() {
    for (json, field) in [
        (
            r#"{"DurableExecutionArn":"","CheckpointToken":"t"}"#,
            "DurableExecutionArn",
        ),
        (
            r#"{"DurableExecutionArn":"a","CheckpointToken":""}"#,
            "CheckpointToken",
        ),
    ] {
        let err = parse(json).unwrap_err();
        assert_eq!(err, EnvelopeError::EmptyField { field }, "{json}");
        assert_eq!(err.code(), "DP-E004");
        assert!(err.to_string().contains(field));
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(InvocationInput::from_value(value).unwrap_err(), err);
    }
}

#[test]
fn deeply_nested_input_never_overflows() {
    let depth = 200_000;
    let arrays = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let objects = format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth));
    let unbalanced = "[{\"a\":".repeat(depth);

    assert_eq!(parse(&arrays).unwrap_err(), EnvelopeError::NotDurable);
    assert_eq!(parse(&objects).unwrap_err(), EnvelopeError::NotDurable);
    assert!(matches!(
        parse(&unbalanced).unwrap_err(),
        EnvelopeError::NotJson { .. }
    ));

    // Deep values where the envelope ignores them, or reads them leniently, are harmless.
    let unknown = format!(r#"{{"DurableExecutionArn":"a","CheckpointToken":"t","X":{arrays}}}"#);
    assert!(parse(&unknown).is_ok());
    let op = single_operation(&format!(
        r#"{{"Id":"x","Type":"WAIT","Status":"STARTED","StartTimestamp":{objects},"Extra":{arrays}}}"#
    ));
    assert_eq!(op.start_timestamp, None);
    let err = parse(&envelope_with_operations(&arrays)).unwrap_err();
    assert!(matches!(err, EnvelopeError::Malformed { .. }), "{err:?}");
    // None of the wire types is recursive, so depth only ever meets a type mismatch (an error
    // at the first level) or an ignored value (skipped iteratively).
    let deep_error = format!(
        r#"{{"Id":"x","Type":"STEP","Status":"FAILED","StepDetails":{{"Error":{objects}}}}}"#
    );
    assert!(parse(&envelope_with_operations(&deep_error)).is_ok());
    let deep_unbalanced = format!(r#"{{"Id":"x","Type":"STEP","Status":"FAILED","X":{unbalanced}"#);
    let err = parse(&envelope_with_operations(&deep_unbalanced)).unwrap_err();
    assert!(matches!(err, EnvelopeError::NotJson { .. }), "{err:?}");
}

#[test]
fn unknown_fields_and_enum_values_are_preserved_or_ignored() {
    let json = r#"{"DurableExecutionArn":"a/b","CheckpointToken":"t","FutureField":{"x":[1,2]},
        "InitialExecutionState":{"Operations":[
          {"Id":"q","Type":"QUANTUM","Status":"ENTANGLED","NewDetails":{"Spin":"up"},
           "StepDetails":{"Attempt":3,"Unexpected":null}}],"Extra":1,"NextMarker":"page-2"},
        "UpdatedOperationIds":["q"]}"#;
    let input = parse(json).unwrap();
    let op = &input.initial_execution_state.operations[0];
    assert_eq!(op.operation_type, OperationType::Unknown("QUANTUM".into()));
    assert_eq!(op.status, OperationStatus::Unknown("ENTANGLED".into()));
    assert_eq!(op.step_details.as_ref().unwrap().attempt, 3);
    assert_eq!(
        input.initial_execution_state.next_marker.as_deref(),
        Some("page-2")
    );
    assert_eq!(input.updated_operation_ids, ["q"]);
    let out = serde_json::to_string(op).unwrap();
    assert!(
        out.contains(r#""Type":"QUANTUM""#) && out.contains(r#""Status":"ENTANGLED""#),
        "{out}"
    );
}

#[test]
fn timestamps_in_every_encoding() {
    let ts = |value: &str| {
        single_operation(&format!(
            r#"{{"Id":"w","Type":"WAIT","Status":"STARTED","StartTimestamp":{value},
                "WaitDetails":{{"ScheduledEndTimestamp":{value}}}}}"#
        ))
    };
    for (value, expected) in [
        ("1795872239083", Some(1_795_872_239_083)),
        ("1795872239083.9", Some(1_795_872_239_083)),
        ("\"2026-01-02T03:04:05.123Z\"", Some(1_767_323_045_123)),
        ("\"2026-01-02T05:04:05.123+02:00\"", Some(1_767_323_045_123)),
        ("\"1795872239083\"", Some(1_795_872_239_083)),
        ("\"next tuesday\"", None),
        ("\"2026-02-30T00:00:00Z\"", None),
        ("{\"seconds\":1}", None),
        ("[1]", None),
        ("false", None),
        ("null", None),
        ("-1e300", None),
    ] {
        let op = ts(value);
        assert_eq!(
            op.start_timestamp.map(Timestamp::as_millis),
            expected,
            "{value}"
        );
        let wait = op.wait_details.unwrap();
        assert_eq!(
            wait.scheduled_end_timestamp.map(Timestamp::as_millis),
            expected,
            "{value}"
        );
    }
}

#[test]
fn absent_and_null_collections() {
    for json in [
        r#"{"DurableExecutionArn":"a","CheckpointToken":"t"}"#,
        r#"{"DurableExecutionArn":"a","CheckpointToken":"t","InitialExecutionState":null,"UpdatedOperationIds":null}"#,
        r#"{"DurableExecutionArn":"a","CheckpointToken":"t","InitialExecutionState":{"Operations":null,"NextMarker":null}}"#,
        r#"{"DurableExecutionArn":"a","CheckpointToken":"t","InitialExecutionState":{"NextMarker":""}}"#,
    ] {
        let input = parse(json).unwrap();
        assert_eq!(
            input.initial_execution_state,
            ExecutionState::default(),
            "{json}"
        );
        assert!(input.updated_operation_ids.is_empty());
    }
    let input = parse(r#"{"DurableExecutionArn":"a","CheckpointToken":"t","InitialExecutionState":{"NextMarker":"m"}}"#)
        .unwrap();
    assert!(input.initial_execution_state.operations.is_empty());
    assert_eq!(
        input.initial_execution_state.next_marker.as_deref(),
        Some("m")
    );
}

#[test]
fn escaped_strings_are_unescaped() {
    let json = r#"{"DurableExecutionArn":"a\/b","CheckpointToken":"x+\/y==",
        "InitialExecutionState":{"Operations":[{"Id":"b","Type":"\u0053TEP","Status":"SUCCEEDED",
        "StepDetails":{"Result":"{\"k\":\"\\u00e9\"}"}}]}}"#;
    let input = parse(json).unwrap();
    assert_eq!(execution_id_from_arn(&input.durable_execution_arn), "b");
    assert_eq!(input.checkpoint_token, "x+/y==");
    let op = &input.initial_execution_state.operations[0];
    assert_eq!(op.operation_type, OperationType::Step);
    assert_eq!(
        op.step_details.as_ref().unwrap().result.as_deref(),
        Some(r#"{"k":"\u00e9"}"#)
    );
}

#[test]
fn execution_ids() {
    let arn =
        "arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST/durable-execution/name/id-1";
    assert_eq!(execution_id_from_arn(arn), "id-1");
    assert_eq!(execution_id_from_arn("uuid-a/uuid-b"), "uuid-b");
    assert_eq!(execution_id_from_arn("bare"), "bare");
    assert_eq!(execution_id_from_arn("trailing/"), "");
    assert_eq!(execution_id_from_arn(""), "");
}

#[test]
fn truncations_and_corruptions_never_panic() {
    let source = EMULATOR_ENVELOPE.as_bytes();
    for end in 0..source.len() {
        let _ = InvocationInput::from_slice(&source[..end]);
    }
    // A tiny deterministic generator keeps this reproducible without a dev-dependency.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const INTERESTING: &[u8] = b"{}[]\":,\\0123456789.-eE \xff\x00nulltruefalseSTEP";
    for _ in 0..5_000 {
        let mut bytes = source.to_vec();
        for _ in 0..1 + next() % 4 {
            let at = (next() as usize) % bytes.len();
            bytes[at] = INTERESTING[(next() as usize) % INTERESTING.len()];
        }
        if let Err(err) = InvocationInput::from_slice(&bytes) {
            assert!(!err.to_string().is_empty());
            assert!(err.code().starts_with("DP-E"));
        }
    }
}

#[test]
fn large_envelope() {
    let count = 100_000;
    let mut json = String::from(
        r#"{"DurableExecutionArn":"a/exec","CheckpointToken":"t","InitialExecutionState":{"Operations":["#,
    );
    json.push_str(r#"{"Id":"exec","Type":"EXECUTION","Status":"STARTED","StartTimestamp":1795872239083,"ExecutionDetails":{"InputPayload":"{}"}}"#);
    for i in 1..count {
        json.push_str(&format!(
            r#",{{"Id":"{i:064x}","ParentId":"{:064x}","Name":"step-{i}","Type":"STEP","SubType":"Step","StartTimestamp":1795872239083,"EndTimestamp":1795872239183,"Status":"SUCCEEDED","StepDetails":{{"Attempt":1,"Result":"{{\"n\":{i}}}"}}}}"#,
            i / 2
        ));
    }
    json.push_str("]}}");
    let input = parse(&json).unwrap();
    let operations = &input.initial_execution_state.operations;
    assert_eq!(operations.len(), count);
    assert_eq!(
        operations[count - 1].step_details.as_ref().unwrap().attempt,
        1
    );
}
