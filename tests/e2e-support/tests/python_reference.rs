//! Proves the e2e infrastructure without our SDK: a durable handler written against the
//! official Python SDK (installed in the emulator venv) runs through the emulator and the shim,
//! in both handler modes, and the service-side history is what the real service records.
//!
//! These tests need the Python venv, so they are ignored by default. Run them with
//! `cargo test -p e2e-support -- --ignored --test-threads=1` (or `scripts/test.sh`); the first
//! one creates the venv through `scripts/emulator.sh setup` if it is missing.

use std::path::PathBuf;
use std::time::Duration;

use e2e_support::{
    fixtures_dir, harness_dir, history, venv_python, Emulator, HandlerMode, Options,
};
use serde_json::{json, Value};

fn template() -> PathBuf {
    fixtures_dir().join("python/template.yaml")
}

fn start(mode: HandlerMode, label: &str) -> Emulator {
    let python = venv_python().expect("emulator venv");
    let runner: PathBuf = match mode {
        HandlerMode::Stdin => harness_dir().join("examples/py_child.py"),
        HandlerMode::RuntimeApi => fixtures_dir().join("python/runtime_api_bootstrap.py"),
    };
    let cmd = json!([python, runner, "{template_dir}", "{handler}"]).to_string();
    let options = Options {
        mode,
        label: label.to_string(),
        ..Options::default()
    };
    Emulator::start_with(template(), &cmd, &options).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `PyTwoSteps` once and checks the final state and the service-side history.
fn run_two_steps(emu: &Emulator, name: &str) -> Vec<Value> {
    let input = json!({ "name": name }).to_string();
    let arn = emu
        .start_execution("PyTwoSteps", &input)
        .unwrap_or_else(|e| panic!("{e}"));
    let done = emu
        .wait_for_completion(&arn, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done.status, "SUCCEEDED", "{done:?}\n{}", emu.diagnostics());
    assert_eq!(
        done.result_json(),
        Some(json!({"greeting": format!("hello {name}"), "flaky": "ok on attempt 2"})),
        "{}",
        emu.diagnostics()
    );

    let events = emu.history(&arn).unwrap_or_else(|e| panic!("{e}"));
    let context = format!(
        "history:\n{}\n{}",
        history::describe(&events),
        emu.diagnostics()
    );

    // The step that succeeds at once.
    assert_eq!(
        history::types_of(&events, "greet"),
        ["StepStarted", "StepSucceeded"],
        "{context}"
    );
    let greet_ok = history::named(&events, "greet")[1];
    assert_eq!(history::attempt(greet_ok), Some(1), "{context}");
    assert_eq!(
        history::result_payload(greet_ok),
        Some(format!("\"hello {name}\"").as_str()),
        "{context}"
    );

    // The step that fails once and succeeds on the retry, one second later.
    assert_eq!(
        history::types_of(&events, "flaky"),
        ["StepStarted", "StepFailed", "StepStarted", "StepSucceeded"],
        "{context}"
    );
    let flaky = history::named(&events, "flaky");
    let failed = flaky[1];
    assert_eq!(history::attempt(failed), Some(1), "{context}");
    assert_eq!(
        history::next_attempt_delay_seconds(failed),
        Some(1),
        "{context}"
    );
    let err = history::error_payload(failed).expect("StepFailed has Error.Payload");
    assert_eq!(err["ErrorType"], "RuntimeError", "{context}");
    assert_eq!(
        err["ErrorMessage"], "transient failure on attempt 1",
        "{context}"
    );
    assert_eq!(history::attempt(flaky[3]), Some(2), "{context}");
    let waited = history::timestamp(flaky[2]).unwrap() - history::timestamp(failed).unwrap();
    assert!(
        waited >= 0.9,
        "retry came after {waited:.3}s, expected >= 1s; {context}"
    );
    let ids: Vec<_> = flaky.iter().map(|e| history::operation_id(e)).collect();
    assert!(
        ids.iter().all(|id| id.is_some() && *id == ids[0]),
        "{context}"
    );

    // Execution framing: two invocations (the retry needs a second one), one success.
    assert_eq!(
        history::types(&events).first(),
        Some(&"ExecutionStarted"),
        "{context}"
    );
    assert_eq!(
        history::types(&events).last(),
        Some(&"ExecutionSucceeded"),
        "{context}"
    );
    assert_eq!(
        history::of_type(&events, "InvocationCompleted").len(),
        2,
        "{context}"
    );
    assert_eq!(
        history::of_type(&events, "ExecutionSucceeded").len(),
        1,
        "{context}"
    );
    events
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn python_reference_stdin_mode() {
    let emu = start(HandlerMode::Stdin, "py-stdin");
    run_two_steps(&emu, "stdin");
    // One process per invocation: the shim logged two stdin invocations.
    let invocations = emu
        .shim_log()
        .lines()
        .filter(|l| l.contains("[stdin] PyTwoSteps: request"))
        .count();
    assert_eq!(invocations, 2, "{}", emu.diagnostics());
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn python_reference_runtime_api_mode() {
    let emu = start(HandlerMode::RuntimeApi, "py-runtime-api");
    run_two_steps(&emu, "runtime-api");
    // A second execution is served by the same warm process.
    run_two_steps(&emu, "again");
    let envs = emu.runtime_envs().unwrap_or_else(|e| panic!("{e}"));
    let live = envs["PyTwoSteps"]["live"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(live.len(), 1, "{envs}\n{}", emu.diagnostics());
    assert_eq!(live[0]["invocations"], 4, "{envs}\n{}", emu.diagnostics());
    assert!(
        emu.handler_log().contains("bootstrap: pid"),
        "{}",
        emu.diagnostics()
    );
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn raw_history_lacks_the_shim_fills() {
    let emu = start(HandlerMode::Stdin, "py-raw");
    let arn = emu
        .start_execution("PyTwoSteps", r#"{"name":"raw"}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    emu.wait_for_completion(&arn, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    let raw = emu.raw_history(&arn).unwrap_or_else(|e| panic!("{e}"));
    let filled = emu.history(&arn).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(history::types(&raw), history::types(&filled));
    // Emulator quirk (sdk-behaviour.md §8.5): InvocationCompleted without details.
    let raw_ic = history::of_type(&raw, "InvocationCompleted");
    let filled_ic = history::of_type(&filled, "InvocationCompleted");
    assert!(filled_ic
        .iter()
        .all(|e| e.get("InvocationCompletedDetails").is_some()));
    eprintln!(
        "raw InvocationCompleted details present: {:?}",
        raw_ic
            .iter()
            .map(|e| e.get("InvocationCompletedDetails").is_some())
            .collect::<Vec<_>>()
    );
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !matches!(
            stat.rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next()),
            Some("Z" | "X")
        ),
        Err(_) => false,
    }
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn drop_stops_every_process() {
    let emu = start(HandlerMode::RuntimeApi, "py-drop");
    run_two_steps(&emu, "drop");
    let (emulator_pid, shim_pid) = emu.pids();
    let envs = emu.runtime_envs().unwrap_or_else(|e| panic!("{e}"));
    let handler_pid = envs["PyTwoSteps"]["live"][0]["pid"]
        .as_u64()
        .expect("a live handler process") as u32;
    let workdir = emu.workdir().to_path_buf();
    assert!(alive(emulator_pid) && alive(shim_pid) && alive(handler_pid));
    drop(emu);
    // Orphans are reaped by init shortly after they exit.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while [emulator_pid, shim_pid, handler_pid]
        .iter()
        .any(|&p| alive(p))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (pid, what) in [
        (emulator_pid, "emulator"),
        (shim_pid, "shim"),
        (handler_pid, "handler"),
    ] {
        assert!(
            !alive(pid),
            "{what} (pid {pid}) still running after drop; see {}",
            workdir.display()
        );
    }
}
