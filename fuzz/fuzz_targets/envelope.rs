//! Arbitrary bytes as an invocation payload.
//!
//! Checks: `InvocationInput::from_slice` and `Execution::from_slice` never panic; the
//! engine's own path (`Envelope::from_slice`) reads the same records (the last of a repeated
//! id in the first one's place) or fails with the same error as the owned parse; a parsed
//! envelope serializes and parses back to an equal value, and `from_value` agrees with
//! `from_slice`; checkpoint responses and state pages parsed from the same bytes round-trip
//! too; an engine built from a parsed envelope survives a short replay probe (a few steps and
//! a wait matched against whatever history the bytes carry) and reaches an outcome.

#![no_main]

use std::time::Duration;

use durable_proto::{
    CallbackRequest, CheckpointResponse, ContextRef, Envelope, ErrorObject, Execution,
    ExecutionState, InvocationInput, InvokeRequest, Operation, RetryPolicy, ServiceRequest,
    StepOutcome, StepRequest, StepSemantics, StepStart,
};
use durable_proto_fuzz::checks::check_batch;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = InvocationInput::from_slice(data);
    let execution = Execution::from_slice(data);
    assert_eq!(
        parsed.is_ok(),
        execution.is_ok(),
        "the two parsers disagree"
    );
    match (&parsed, Envelope::from_slice(data)) {
        (Ok(input), Ok(envelope)) => {
            let mut expected = input.clone();
            let ops = std::mem::take(&mut expected.initial_execution_state.operations);
            expected.initial_execution_state.operations = last_of_each_id(ops);
            assert_eq!(
                envelope.to_input(),
                expected,
                "the engine's path read other records"
            );
        }
        (Err(owned), Err(raw)) => assert_eq!(owned, &raw, "the two paths fail differently"),
        (owned, raw) => panic!("the paths disagree: owned {owned:?}, engine {raw:?}"),
    }
    if let Err(e) = &parsed {
        // Every error has a code and a message.
        assert!(e.code().starts_with("DP-E"));
        let _ = e.to_string();
    }

    if let Ok(input) = &parsed {
        let bytes = serde_json::to_vec(input).expect("an envelope serializes");
        let again = InvocationInput::from_slice(&bytes).expect("a serialized envelope parses");
        assert_eq!(&again, input, "the envelope changed in a round trip");
        // The same JSON read through a `serde_json::Value` (as a Lambda runtime hands it over).
        // serde_json does not validate UTF-8 inside the values of ignored unknown fields, so
        // `from_slice` accepts a few byte strings that are not JSON; skip those.
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
            let from_value = InvocationInput::from_value(value).expect("from_value accepts it too");
            assert_eq!(&from_value, input, "from_value and from_slice disagree");
        }
    }

    round_trip::<CheckpointResponse>(data);
    round_trip::<ExecutionState>(data);

    if let Ok(mut execution) = execution {
        probe(&mut execution);
    }
});

/// The engine keeps the last record of a repeated id, in the first one's place.
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

/// Anything a type accepts, it writes back so that it reads the same.
fn round_trip<T>(data: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = serde_json::from_slice::<T>(data) {
        let bytes = serde_json::to_vec(&value).expect("serializes");
        let again: T = serde_json::from_slice(&bytes).expect("reads back");
        assert_eq!(again, value);
    }
}

/// Replays a little user code against the envelope's history, then finishes the invocation
/// with an always-acknowledging service.
fn probe(execution: &mut Execution) {
    let _ = (
        execution.arn(),
        execution.is_replaying(),
        execution.should_suspend(),
    );
    let policy = RetryPolicy::default();
    if execution.is_ready() {
        let _ = execution.input_payload();
        for (i, name) in [None, Some("a"), None].into_iter().enumerate() {
            let semantics = if i == 1 {
                StepSemantics::AtMostOncePerRetry
            } else {
                StepSemantics::AtLeastOncePerRetry
            };
            let request = StepRequest { name, semantics };
            if let Ok(StepStart::Run { op, .. }) =
                execution.begin_step(ContextRef::ROOT, request, &policy)
            {
                // An at-most-once body may not start before its START is acknowledged (no
                // service answers during the probe): the user code then drops it.
                if execution.start_attempt(op).is_ok() {
                    let outcome = StepOutcome::Error(ErrorObject::new("Boom", "probe"));
                    let _ = execution.handle_step_outcome(op, outcome, &policy);
                } else {
                    execution.release(op);
                }
            }
        }
        // A callback, an invoke and a wait created together (as `join!` would), then
        // awaited: whatever the history holds for them (records of any status, a callback
        // without its id, …) must end in a typed outcome.
        let callback = execution
            .begin_callback(
                ContextRef::ROOT,
                CallbackRequest {
                    name: Some("cb"),
                    timeout: Some(Duration::from_secs(10)),
                    heartbeat_timeout: None,
                },
            )
            .ok()
            .map(|s| s.op());
        let invoke = execution
            .begin_invoke(
                ContextRef::ROOT,
                InvokeRequest {
                    name: Some("inv"),
                    function_name: "target:1",
                    payload: "{}",
                    tenant_id: None,
                    trace_header: None,
                },
            )
            .ok()
            .map(|s| s.op());
        let wait = execution
            .begin_wait(ContextRef::ROOT, None, Duration::from_secs(5))
            .ok()
            .map(|s| s.op());
        for op in [callback, invoke, wait].into_iter().flatten() {
            execution.activate(op);
        }
        if let Some(op) = callback {
            if execution.callback_id(op).is_some() {
                let _ = execution.await_callback(op);
            }
        }
        if execution.should_suspend() {
            execution.suspend();
        } else {
            execution.handle_handler_result(Ok("1".into()));
        }
    }
    let config = durable_proto::ExecutionConfig::default();
    let mut token = 0u32;
    for _ in 0..1_000 {
        while execution.poll_event().is_some() {}
        match execution.poll_request() {
            Some(ServiceRequest::Checkpoint { updates, .. }) => {
                check_batch(&updates, &config);
                token += 1;
                let response = CheckpointResponse {
                    checkpoint_token: Some(format!("t{token}")),
                    new_execution_state: ExecutionState::default(),
                };
                execution
                    .handle_checkpoint_response(response)
                    .expect("requested");
            }
            Some(ServiceRequest::GetState { .. }) => {
                execution
                    .handle_state_page(ExecutionState::default())
                    .expect("requested");
                if execution.is_ready() {
                    // Loaded after all: end right away.
                    execution.handle_handler_result(Ok("1".into()));
                }
            }
            Some(other) => panic!("unknown request {other:?}"),
            None => break,
        }
    }
    assert!(
        execution.poll_output().is_some(),
        "the invocation reached no outcome"
    );
    assert!(execution.poll_output().is_none());
}
