//! End-to-end scenarios for both drivers against AWS's emulator `dex-local-runner`.
//!
//! Real Lambda bootstrap binaries (`e2e-tokio`, `e2e-blocking`) run under the harness shim in
//! runtime-api mode and talk to the emulator through aws-sdk-lambda, exactly as on AWS. The
//! assertions are on the service-side history and the final status.
//!
//! Ignored by default (they need the Python emulator); `scripts/test.sh` runs them.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use e2e_support::{build_binary, history, Emulator, HandlerMode, Options};
use serde_json::{json, Value};

fn template() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("template.yaml")
}

fn binary(driver: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        for bin in ["e2e-tokio", "e2e-blocking"] {
            build_binary("e2e-scenarios", bin).unwrap_or_else(|e| panic!("{e}"));
        }
    });
    e2e_support::workspace_root()
        .join("target/debug")
        .join(format!("e2e-{driver}"))
}

fn emulator(driver: &str, label: &str) -> Emulator {
    let cmd = json!({"mode": "runtime-api", "cmd": [binary(driver), "{handler}"]}).to_string();
    let options = Options {
        mode: HandlerMode::RuntimeApi,
        label: format!("{driver}-{label}"),
        ..Options::default()
    };
    Emulator::start_with(template(), &cmd, &options).unwrap_or_else(|e| panic!("{e}"))
}

struct Run {
    status: String,
    result: Option<Value>,
    error: Option<Value>,
    events: Vec<Value>,
    context: String,
}

fn run(emu: &Emulator, function: &str, input: Value) -> Run {
    let arn = emu
        .start_execution(function, &input.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let done = emu
        .wait_for_completion(&arn, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("{e}"));
    let events = emu.history(&arn).unwrap_or_else(|e| panic!("{e}"));
    let context = format!(
        "history:\n{}\n{}",
        history::describe(&events),
        emu.diagnostics()
    );
    Run {
        status: done.status.clone(),
        result: done.result_json(),
        error: done.error.clone(),
        events,
        context,
    }
}

fn step_succeeds(driver: &str) {
    let emu = emulator(driver, "step-ok");
    let r = run(&emu, "StepOk", json!({"name": "ada"}));
    assert_eq!(r.status, "SUCCEEDED", "{}", r.context);
    assert_eq!(
        r.result,
        Some(json!({"greeting": "hello ada"})),
        "{}",
        r.context
    );
    assert_eq!(
        history::types_of(&r.events, "greet"),
        ["StepStarted", "StepSucceeded"],
        "{}",
        r.context
    );
    let ok = history::named(&r.events, "greet")[1];
    assert_eq!(
        history::result_payload(ok),
        Some("\"hello ada\""),
        "{}",
        r.context
    );
    assert_eq!(
        history::of_type(&r.events, "InvocationCompleted").len(),
        1,
        "{}",
        r.context
    );
}

fn fails_twice_then_succeeds(driver: &str) {
    let emu = emulator(driver, "retry-twice");
    let r = run(&emu, "RetryTwice", json!({}));
    assert_eq!(r.status, "SUCCEEDED", "{}", r.context);
    assert_eq!(r.result, Some(json!({"succeeded_on": 3})), "{}", r.context);
    assert_eq!(
        history::types_of(&r.events, "flaky"),
        [
            "StepStarted",
            "StepFailed",
            "StepStarted",
            "StepFailed",
            "StepStarted",
            "StepSucceeded"
        ],
        "{}",
        r.context
    );
    let failed = history::of_type(&r.events, "StepFailed");
    assert_eq!(
        failed
            .iter()
            .map(|e| history::attempt(e))
            .collect::<Vec<_>>(),
        [Some(1), Some(2)],
        "{}",
        r.context
    );
    assert!(
        failed
            .iter()
            .all(|e| history::next_attempt_delay_seconds(e) == Some(1)),
        "{}",
        r.context
    );
    // Each retry suspended the invocation: three invocations in all.
    assert_eq!(
        history::of_type(&r.events, "InvocationCompleted").len(),
        3,
        "{}",
        r.context
    );
}

fn retries_exhausted(driver: &str) {
    let emu = emulator(driver, "exhausted");
    let r = run(&emu, "RetryExhausted", json!({}));
    assert_eq!(r.status, "FAILED", "{}", r.context);
    let error = r.error.clone().unwrap_or_default();
    let text = error.to_string();
    assert!(
        text.contains("PaymentDeclined"),
        "error type kept: {text}\n{}",
        r.context
    );
    assert!(
        text.contains("payment declined: attempt 2"),
        "original message: {text}\n{}",
        r.context
    );
    assert_eq!(
        history::types_of(&r.events, "doomed"),
        ["StepStarted", "StepFailed", "StepStarted", "StepFailed"],
        "{}",
        r.context
    );
    assert!(
        !history::of_type(&r.events, "ExecutionFailed").is_empty(),
        "{}",
        r.context
    );
}

fn waits(driver: &str) {
    let emu = emulator(driver, "wait");
    let r = run(&emu, "WaitThenStep", json!({}));
    assert_eq!(r.status, "SUCCEEDED", "{}", r.context);
    assert_eq!(r.result, Some(json!("done")), "{}", r.context);
    assert_eq!(
        history::types_of(&r.events, "pause"),
        ["WaitStarted", "WaitSucceeded"],
        "{}",
        r.context
    );
    let started = history::named(&r.events, "pause")[0];
    let duration = history::details(started)
        .and_then(|d| d.get("Duration"))
        .cloned();
    assert_eq!(duration, Some(json!(2)), "{}", r.context);
    assert_eq!(
        history::of_type(&r.events, "InvocationCompleted").len(),
        2,
        "{}",
        r.context
    );
}

fn at_most_once_interrupted(driver: &str) {
    let emu = emulator(driver, "amo-crash");
    let r = run(&emu, "AtMostOnceCrash", json!({}));
    assert_eq!(r.status, "SUCCEEDED", "{}", r.context);
    assert_eq!(
        r.result,
        Some(json!("charged on attempt 2")),
        "{}",
        r.context
    );
    assert_eq!(
        history::types_of(&r.events, "charge"),
        ["StepStarted", "StepFailed", "StepStarted", "StepSucceeded"],
        "{}",
        r.context
    );
    let failed = history::named(&r.events, "charge")[1];
    let error = history::error_payload(failed)
        .map(Value::to_string)
        .unwrap_or_default();
    assert!(
        error.contains("StepInterruptedError"),
        "{error}\n{}",
        r.context
    );
    let crashed = history::of_type(&r.events, "InvocationCompleted")
        .into_iter()
        .any(|e| e.to_string().contains("Runtime.ExitError"));
    assert!(crashed, "the crash is in the history\n{}", r.context);
}

fn concurrent_steps(driver: &str) {
    let emu = emulator(driver, "concurrent");
    let r = run(&emu, "Concurrent", json!({}));
    assert_eq!(r.status, "SUCCEEDED", "{}", r.context);
    assert_eq!(r.result, Some(json!(["slow", "fast"])), "{}", r.context);
    assert_eq!(
        history::types_of(&r.events, "slow"),
        ["StepStarted", "StepSucceeded"],
        "{}",
        r.context
    );
    assert_eq!(
        history::types_of(&r.events, "fast"),
        ["StepStarted", "StepFailed", "StepStarted", "StepSucceeded"],
        "{}",
        r.context
    );
    // Ids follow call order, not completion order.
    assert_eq!(
        history::operation_id(history::named(&r.events, "slow")[0]),
        Some("1"),
        "{}",
        r.context
    );
    assert_eq!(
        history::operation_id(history::named(&r.events, "fast")[0]),
        Some("2"),
        "{}",
        r.context
    );
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod tokio_driver {
            $(#[test] #[ignore = "needs the emulator; run by scripts/test.sh"] fn $name() { super::$name("tokio") })*
        }
        mod blocking_driver {
            $(#[test] #[ignore = "needs the emulator; run by scripts/test.sh"] fn $name() { super::$name("blocking") })*
        }
    };
}

scenarios!(
    step_succeeds,
    fails_twice_then_succeeds,
    retries_exhausted,
    waits,
    at_most_once_interrupted,
    concurrent_steps,
);
