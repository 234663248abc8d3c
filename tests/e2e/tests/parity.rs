//! Parity of `durable_local::LocalRunner` with AWS's emulator `dex-local-runner`: the same
//! handler functions (`e2e_scenarios::retry_twice`, `wait_then_step`, `grouped`, `all_three`) run on
//! both, and both must end with the same status and result, the same operations (ids,
//! names, types, final statuses, step attempts), the same step and wait events in the same
//! order, and the same number of invocations.
//!
//! On the emulator the handlers run in the `e2e-tokio` Lambda bootstrap through the harness
//! shim (real time: a 1 s retry delay really elapses); locally they run in-process on virtual
//! time. Both sides are summarized from `GetDurableExecutionHistory`-shaped JSON by the same
//! code, and the local side is also checked against the service's own operation records.
//!
//! Ignored by default (it needs the Python emulator); `scripts/test.sh` runs it, or
//! `cargo test -p e2e-scenarios --test parity -- --ignored`.

use std::path::PathBuf;
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner, TestExecution};
use e2e_support::{build_binary, history, Emulator, HandlerMode, Options};
use serde_json::{json, Value};

/// One operation as the history tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Op {
    id: String,
    name: String,
    /// `STEP`, `WAIT`.
    kind: String,
    /// The status after its last event: `SUCCEEDED`, `FAILED`, `PENDING`, `STARTED`.
    status: String,
    /// Finished attempts of a step: the highest `RetryDetails.CurrentAttempt` (0 for waits).
    attempts: u64,
}

/// What must be the same on both sides.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    status: String,
    result: Option<Value>,
    operations: Vec<Op>,
    /// `(EventType, Name)` of every Step*, Wait* and Context* event, in history order.
    step_and_wait_events: Vec<(String, String)>,
    invocations: usize,
}

fn outcome(status: &str, result: Option<Value>, events: &[Value]) -> Outcome {
    let mut operations: Vec<Op> = Vec::new();
    let mut step_and_wait_events = Vec::new();
    for event in events {
        let ty = history::event_type(event).unwrap_or("?");
        let kind = if ty.starts_with("Step") {
            "STEP"
        } else if ty.starts_with("Wait") {
            "WAIT"
        } else if ty.starts_with("Context") {
            "CONTEXT"
        } else if ty.starts_with("Callback") {
            "CALLBACK"
        } else if ty.starts_with("ChainedInvoke") {
            "CHAINED_INVOKE"
        } else {
            continue;
        };
        let name = history::name(event).unwrap_or("").to_owned();
        step_and_wait_events.push((ty.to_owned(), name.clone()));
        let id = history::operation_id(event).unwrap_or("").to_owned();
        let index = match operations.iter().position(|op| op.id == id) {
            Some(i) => i,
            None => {
                operations.push(Op {
                    id,
                    name,
                    kind: kind.to_owned(),
                    status: String::new(),
                    attempts: 0,
                });
                operations.len() - 1
            }
        };
        let op = &mut operations[index];
        op.status = match ty {
            "StepStarted"
            | "WaitStarted"
            | "ContextStarted"
            | "CallbackStarted"
            | "ChainedInvokeStarted" => "STARTED",
            "StepSucceeded"
            | "WaitSucceeded"
            | "ContextSucceeded"
            | "CallbackSucceeded"
            | "ChainedInvokeSucceeded" => "SUCCEEDED",
            "StepFailed" if history::next_attempt_delay_seconds(event).is_some() => "PENDING",
            "WaitCancelled" => "CANCELLED",
            _ => "FAILED",
        }
        .to_owned();
        // `RetryDetails` appear on a step's final event only once it took more than one
        // attempt: a finished attempt without them is attempt 1.
        let finished = matches!(ty, "StepSucceeded" | "StepFailed");
        let attempt = history::attempt(event).unwrap_or(u64::from(finished));
        op.attempts = op.attempts.max(attempt);
    }
    Outcome {
        status: status.to_owned(),
        result,
        operations,
        step_and_wait_events,
        invocations: history::of_type(events, "InvocationCompleted").len(),
    }
}

fn local(function: &str, execution: &TestExecution) -> Outcome {
    let body: Value = serde_json::from_str(&execution.history_json()).unwrap();
    let events = body["Events"].as_array().cloned().unwrap_or_default();
    let result = execution
        .result_json()
        .map(|r| serde_json::from_str(r).unwrap());
    let summary = outcome(execution.status().as_str(), result, &events);
    // The history-derived view agrees with the service's own records.
    let recorded: Vec<Op> = execution
        .user_operations()
        .map(|op| Op {
            id: op.id.clone(),
            name: op.name.clone().unwrap_or_default(),
            kind: op.operation_type.to_string(),
            status: op.status.to_string(),
            attempts: op.step_details.as_ref().map_or(0, |d| u64::from(d.attempt)),
        })
        .collect();
    assert_eq!(recorded, summary.operations, "{function}: local records");
    summary
}

fn emulator() -> Emulator {
    build_binary("e2e-scenarios", "e2e-tokio").unwrap_or_else(|e| panic!("{e}"));
    let bootstrap = e2e_support::workspace_root().join("target/debug/e2e-tokio");
    let cmd = json!({"mode": "runtime-api", "cmd": [bootstrap, "{handler}"]}).to_string();
    let options = Options {
        mode: HandlerMode::RuntimeApi,
        label: "parity".to_owned(),
        ..Options::default()
    };
    let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
    Emulator::start_with(template, &cmd, &options).unwrap_or_else(|e| panic!("{e}"))
}

fn on_emulator(emu: &Emulator, function: &str) -> (Outcome, String) {
    let arn = emu
        .start_execution(function, "{}")
        .unwrap_or_else(|e| panic!("{e}"));
    if function == "AllThree" {
        complete_callback_when_created(emu, &arn);
    }
    let done = emu
        .wait_for_completion(&arn, Duration::from_secs(90))
        .unwrap_or_else(|e| panic!("{e}"));
    let events = emu.history(&arn).unwrap_or_else(|e| panic!("{e}"));
    let context = format!(
        "emulator history:\n{}\n{}",
        history::describe(&events),
        emu.diagnostics()
    );
    (outcome(&done.status, done.result_json(), &events), context)
}

/// Plays the external system on the emulator: waits for the callback named `approval` and
/// completes it with `"yes"`, as `on_callback` does on the local runner.
fn complete_callback_when_created(emu: &Emulator, arn: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let events = emu.history(arn).unwrap_or_else(|e| panic!("{e}"));
        let id = history::of_type(&events, "CallbackStarted")
            .first()
            .and_then(|e| history::details(e))
            .and_then(|d| d["CallbackId"].as_str())
            .map(str::to_owned);
        if let Some(id) = id {
            emu.send_callback_success(&id, b"\"yes\"")
                .unwrap_or_else(|e| panic!("{e}"));
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no callback was created: {}",
            history::describe(&events)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn on_local_runner(function: &str) -> (Outcome, TestExecution) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runner = LocalRunner::new();
    runner.register("RetryTwice", e2e_scenarios::retry_twice);
    runner.register("WaitThenStep", e2e_scenarios::wait_then_step);
    runner.register("Grouped", e2e_scenarios::grouped);
    runner.register("Batches", e2e_scenarios::batches);
    runner.register("AllThree", e2e_scenarios::all_three);
    runner.register("Echo", e2e_scenarios::echo);
    runner.on_callback("approval", durable_local::CallbackResponse::succeed("yes"));
    let execution = runtime.block_on(runner.run(function, json!({}))).unwrap();
    (local(function, &execution), execution)
}

fn same_on_both(function: &str) -> Outcome {
    same_on_both_but(function, &[])
}

/// [`same_on_both`], except the attempt counts of the steps named in `unfilled`: the
/// harness's fill gives a wait-for-condition's final `StepSucceeded` attempt 1 (its "not yet"
/// checks show as `StepSucceeded`, not `StepFailed`, so the fill sees no earlier attempt),
/// where the service model records the attempt it was, as the real service documents
/// `RetryDetails.CurrentAttempt`. Both sides are checked separately below.
fn same_on_both_but(function: &str, unfilled: &[&str]) -> Outcome {
    let emu = emulator();
    let (mut remote, context) = on_emulator(&emu, function);
    let (mut local, execution) = on_local_runner(function);
    for name in unfilled {
        let attempts = |o: &mut Outcome| {
            o.operations
                .iter_mut()
                .filter(|op| op.name == *name)
                .map(|op| std::mem::take(&mut op.attempts))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            attempts(&mut remote),
            [1],
            "{function}: the emulator's filled attempt"
        );
        assert_eq!(
            attempts(&mut local),
            [execution.step_attempts(name).map_or(0, u64::from)],
            "{function}: the service model's recorded attempt"
        );
    }
    assert_eq!(
        local,
        remote,
        "{function}: local runner (left) vs emulator (right)\nlocal timeline:\n{}\n{context}",
        execution.timeline()
    );
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    local
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn a_step_retried_twice_ends_the_same_on_the_local_runner_and_the_emulator() {
    let outcome = same_on_both("RetryTwice");
    // Guard against both sides being wrong the same way.
    assert_eq!(outcome.result, Some(json!({"succeeded_on": 3})));
    assert_eq!(
        outcome.operations,
        [Op {
            id: "1".into(),
            name: "flaky".into(),
            kind: "STEP".into(),
            status: "SUCCEEDED".into(),
            attempts: 3,
        }]
    );
    assert_eq!(outcome.invocations, 3);
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn a_wait_then_a_step_ends_the_same_on_the_local_runner_and_the_emulator() {
    let outcome = same_on_both("WaitThenStep");
    assert_eq!(outcome.result, Some(json!("done")));
    let events: Vec<_> = outcome
        .step_and_wait_events
        .iter()
        .map(|(ty, name)| format!("{ty} {name}"))
        .collect();
    assert_eq!(
        events,
        [
            "WaitStarted pause",
            "WaitSucceeded pause",
            "StepStarted after",
            "StepSucceeded after"
        ]
    );
    assert_eq!(outcome.invocations, 2);
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn a_child_context_with_a_wait_ends_the_same_on_the_local_runner_and_the_emulator() {
    let outcome = same_on_both("Grouped");
    assert_eq!(outcome.result, Some(json!(42)));
    assert_eq!(
        names_and_kinds(&outcome),
        [
            ("group", "CONTEXT"),
            ("inner", "STEP"),
            ("pause", "WAIT"),
            ("outer", "STEP")
        ]
    );
    assert_all_succeeded(&outcome);
    assert_eq!(outcome.invocations, 2);
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn a_child_context_a_callback_and_an_invoke_end_the_same_on_the_local_runner_and_the_emulator() {
    let outcome = same_on_both("AllThree");
    assert_eq!(
        outcome.result,
        Some(json!({"grouped": 20, "approved": "yes", "echoed": {"n": 20}}))
    );
    assert_eq!(
        names_and_kinds(&outcome),
        [
            ("group", "CONTEXT"),
            ("inner", "STEP"),
            ("approval", "CALLBACK"),
            ("call", "CHAINED_INVOKE")
        ]
    );
    assert_all_succeeded(&outcome);
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn a_map_a_parallel_and_a_wait_for_condition_end_the_same_on_the_local_runner_and_the_emulator() {
    let outcome = same_on_both_but("Batches", &["poll"]);
    assert_eq!(
        outcome.result,
        Some(json!({"squares": [1, 4, 9], "branches": [1, 2], "polled": 2}))
    );
    let kinds = names_and_kinds(&outcome);
    assert_eq!(kinds.iter().filter(|(n, _)| *n == "square").count(), 3);
    assert!(kinds.contains(&("squares", "CONTEXT")));
    assert!(kinds.contains(&("later", "CONTEXT")));
    assert!(kinds.contains(&("poll", "STEP")));
    assert_all_succeeded(&outcome);
    // One suspension for the branch's wait, one between the two checks.
    assert_eq!(outcome.invocations, 3);
}

/// `(name, type)` of every operation, in history order.
fn names_and_kinds(outcome: &Outcome) -> Vec<(&str, &str)> {
    outcome
        .operations
        .iter()
        .map(|op| (op.name.as_str(), op.kind.as_str()))
        .collect()
}

fn assert_all_succeeded(outcome: &Outcome) {
    assert!(
        outcome.operations.iter().all(|op| op.status == "SUCCEEDED"),
        "{:?}",
        outcome.operations
    );
}
