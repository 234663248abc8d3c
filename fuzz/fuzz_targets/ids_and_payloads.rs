//! Ids, payloads and the small pure functions around them.
//!
//! Checks: `OperationUpdate`, `Operation`, `ErrorObject` and `InvocationOutput` survive a serde
//! round trip; `estimated_size` is never below the real `serde_json::to_vec` length;
//! `is_valid_operation_id` matches the service's rule; the engine's root ids are the call
//! counter and valid; `execution_id_from_arn` is the last `/` segment; retry delays go on the
//! wire in range and never earlier than asked; jitter stays in its documented range; retry
//! policies never exceed their cap; timestamps parse without panicking and round-trip.

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use durable_proto::{
    delay_to_wire_seconds, execution_id_from_arn, is_valid_operation_id, ApiFailure,
    CallbackOptions, ChainedInvokeOptions, ContextOptions, ContextRef, ErrorObject, Execution,
    InvocationOutput, Jitter, Operation, OperationAction, OperationStatus, OperationType,
    OperationUpdate, RetryPolicy, RetryStrategy, SeededRng, StepDetails, StepEnd, StepOptions,
    StepOutcome, StepRequest, StepSemantics, StepStart, Timestamp, WaitOptions,
    MAX_WIRE_DELAY_SECONDS,
};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    update: Update,
    timestamps: (i64, Option<i64>, String, f64),
    id: String,
    arn: String,
    steps: u8,
    delay: (u64, u32),
    seed: u64,
    rate_tenths: u32,
    attempt: u32,
    failure: (Option<u16>, Option<String>, String),
}

/// Enum fields: a known wire value or any string (kept as `Unknown`).
#[derive(Arbitrary, Debug)]
enum Wire {
    Known(u8),
    Text(String),
}

impl Wire {
    fn text(&self, known: &[&'static str]) -> String {
        match self {
            Wire::Known(i) => known[*i as usize % known.len()].to_owned(),
            Wire::Text(t) => t.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Update {
    id: String,
    parent_id: Option<String>,
    name: Option<String>,
    operation_type: Wire,
    sub_type: Option<String>,
    action: Wire,
    status: Wire,
    payload: Option<String>,
    error: Option<(
        Option<String>,
        Option<String>,
        Option<String>,
        Option<Vec<String>>,
    )>,
    step_delay: Option<Option<u32>>,
    wait_seconds: Option<Option<u32>>,
    callback: Option<(Option<u32>, Option<u32>)>,
    invoke: Option<(String, Option<String>)>,
    context: Option<Option<bool>>,
}

const TYPES: &[&str] = &[
    "EXECUTION",
    "CONTEXT",
    "STEP",
    "WAIT",
    "CALLBACK",
    "CHAINED_INVOKE",
];
const ACTIONS: &[&str] = &["START", "SUCCEED", "FAIL", "RETRY", "CANCEL"];
const STATUSES: &[&str] = &[
    "STARTED",
    "PENDING",
    "READY",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
    "TIMED_OUT",
    "STOPPED",
];

fn round_trip<T>(value: &T)
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    let bytes = serde_json::to_vec(value).expect("serializes");
    let again: T = serde_json::from_slice(&bytes).expect("reads back");
    assert_eq!(
        &again,
        value,
        "changed in a round trip: {}",
        String::from_utf8_lossy(&bytes)
    );
}

fn check_update(u: &Update) {
    let error = u.error.clone().map(|(t, m, d, s)| ErrorObject {
        error_type: t,
        error_message: m,
        error_data: d,
        stack_trace: s,
    });
    let update = OperationUpdate {
        id: u.id.clone(),
        parent_id: u.parent_id.clone(),
        name: u.name.clone(),
        operation_type: OperationType::from(u.operation_type.text(TYPES).as_str()),
        sub_type: u.sub_type.clone(),
        action: OperationAction::from(u.action.text(ACTIONS).as_str()),
        payload: u.payload.clone(),
        error: error.clone(),
        step_options: u.step_delay.map(|d| StepOptions {
            next_attempt_delay_seconds: d,
        }),
        wait_options: u.wait_seconds.map(|w| WaitOptions { wait_seconds: w }),
        callback_options: u.callback.map(|(t, h)| CallbackOptions {
            timeout_seconds: t,
            heartbeat_timeout_seconds: h,
        }),
        chained_invoke_options: u.invoke.clone().map(|(f, t)| ChainedInvokeOptions {
            function_name: f,
            x_amzn_trace_id: t.clone(),
            tenant_id: t,
        }),
        context_options: u.context.map(|r| ContextOptions { replay_children: r }),
    };
    let actual = serde_json::to_vec(&update).expect("serializes").len();
    let estimate = update.estimated_size();
    assert!(
        estimate >= actual,
        "estimated_size {estimate} < real size {actual}: {update:?}"
    );
    round_trip(&update);

    if let Some(e) = &error {
        round_trip(e);
        round_trip(&InvocationOutput::failed(e.clone()));
    }
    round_trip(&InvocationOutput::succeeded(u.payload.clone()));

    let op = Operation {
        id: u.id.clone(),
        parent_id: u.parent_id.clone(),
        name: u.name.clone(),
        operation_type: update.operation_type.clone(),
        sub_type: u.sub_type.clone(),
        start_timestamp: u
            .step_delay
            .flatten()
            .map(|s| Timestamp(i64::from(s) * 1000)),
        end_timestamp: None,
        status: OperationStatus::from(u.status.text(STATUSES).as_str()),
        execution_details: None,
        context_details: None,
        step_details: Some(Box::new(StepDetails {
            attempt: u.wait_seconds.flatten().unwrap_or(0),
            next_attempt_timestamp: None,
            result: u.payload.clone(),
            error,
        })),
        wait_details: None,
        callback_details: None,
        chained_invoke_details: None,
    };
    round_trip(&op);
}

fn check_ids(input: &Input) {
    let reference = !input.id.is_empty()
        && input.id.len() <= 64
        && input
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    assert_eq!(
        is_valid_operation_id(&input.id),
        reference,
        "{:?}",
        input.id
    );

    let segment = execution_id_from_arn(&input.arn);
    assert_eq!(segment, input.arn.rsplit('/').next().unwrap_or(""));

    // Root operations are numbered 1, 2, 3, … in call order.
    let envelope = br#"{"DurableExecutionArn":"fn/exec-1","CheckpointToken":"t0",
      "InitialExecutionState":{"Operations":[{"Id":"exec-1","Type":"EXECUTION","Status":"STARTED"}]}}"#;
    let mut execution = Execution::from_slice(envelope).expect("envelope");
    let policy = RetryPolicy::none();
    for n in 1..=u32::from(input.steps % 80) {
        let request = StepRequest {
            name: None,
            semantics: StepSemantics::AtLeastOncePerRetry,
        };
        match execution.begin_step(ContextRef::ROOT, request, &policy) {
            Ok(StepStart::Run { op, attempt, .. }) => {
                assert_eq!(attempt, 1);
                let id = execution
                    .identity(op)
                    .map(|i| i.id.clone())
                    .expect("a live step has an id");
                assert_eq!(id, n.to_string());
                assert!(is_valid_operation_id(&id));
                assert_eq!(execution.start_attempt(op).expect("the body may run"), 1);
                let end = execution
                    .handle_step_outcome(op, StepOutcome::Value(String::new()), &policy)
                    .expect("outcome accepted");
                assert_eq!(end, StepEnd::Done(Ok(Some(String::new()))));
                while execution.poll_event().is_some() {}
            }
            other => panic!("step {n}: {other:?}"),
        }
    }
}

fn check_delays(input: &Input) {
    let (secs, nanos) = input.delay;
    let delay = Duration::new(secs, nanos % 1_000_000_000);
    let wire = delay_to_wire_seconds(delay);
    assert!((1..=MAX_WIRE_DELAY_SECONDS).contains(&wire));
    let ceil = u128::from(delay.as_secs()) + u128::from(delay.subsec_nanos() > 0);
    assert_eq!(
        u128::from(wire),
        ceil.clamp(1, u128::from(MAX_WIRE_DELAY_SECONDS))
    );

    let mut rng = SeededRng::new(input.seed);
    assert_eq!(Jitter::None.apply(delay, &mut rng), delay);
    let full = Jitter::Full.apply(delay, &mut rng);
    assert!(full < delay || delay.is_zero());
    let half = Jitter::Half.apply(delay, &mut rng);
    assert!(
        half >= delay / 2 && (half < delay || delay.is_zero()),
        "{half:?} for {delay:?}"
    );

    let cap = Duration::from_secs(secs % u64::from(MAX_WIRE_DELAY_SECONDS + 2));
    let initial = Duration::from_nanos(u64::from(nanos));
    let rate = f64::from(input.rate_tenths) / 10.0;
    let policies = [
        RetryPolicy::try_exponential(input.attempt, initial, cap, rate),
        RetryPolicy::try_linear(input.attempt, initial, Duration::from_millis(secs), cap),
    ];
    for policy in policies.into_iter().flatten() {
        let base = policy.base_delay(input.attempt);
        assert!(base <= policy.max_delay(), "{base:?} above the cap");
        let error = ErrorObject::new("Boom", "x");
        let _ = policy.decide(&error, input.attempt, &mut rng);
    }
}

fn check_timestamps(input: &Input) {
    let (ms, opt, text, float) = &input.timestamps;
    round_trip(&Timestamp(*ms));
    let _ = Timestamp(*ms).plus_seconds(input.delay.0);
    for json in [
        serde_json::to_string(text).expect("string"),
        serde_json::to_string(&float).unwrap_or_else(|_| "null".into()),
        format!("{}", opt.unwrap_or(0)),
    ] {
        if let Ok(t) = serde_json::from_str::<Timestamp>(&json) {
            round_trip(&t);
        }
        let record =
            format!(r#"{{"Id":"a","Type":"WAIT","Status":"STARTED","StartTimestamp":{json}}}"#);
        let op: Operation = serde_json::from_str(&record).expect("a lenient timestamp never fails");
        round_trip(&op);
    }
    let (status, code, message) = &input.failure;
    let _ = ApiFailure::new(*status, code.as_deref(), message.clone()).class();
}

fuzz_target!(|input: Input| {
    check_update(&input.update);
    check_ids(&input);
    check_delays(&input);
    check_timestamps(&input);
});
