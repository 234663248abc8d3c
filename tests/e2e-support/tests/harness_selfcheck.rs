//! Checks the project's copy of the conformance harness (`tests/harness/run_suite.sh`) end to
//! end: the unmodified conformance runner, the emulator and the shim, with a Python reference
//! handler for requirement 1-1 of the `step` suite. Ignored by default (needs the venv); run
//! with `cargo test -p e2e-support -- --ignored --test-threads=1` or `scripts/test.sh`.

use std::process::{Command, Stdio};

use e2e_support::{ensure_setup, fixtures_dir, free_ports, harness_dir, new_workdir, venv_python};
use serde_json::{json, Value};

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn run_suite_passes_step_1_1_with_the_python_reference_handler() {
    let venv = ensure_setup().unwrap_or_else(|e| panic!("{e}"));
    let python = venv_python().unwrap_or_else(|e| panic!("{e}"));
    let out = new_workdir("run-suite").unwrap_or_else(|e| panic!("{e}"));
    let (eport, sport) = free_ports().unwrap_or_else(|e| panic!("{e}"));
    let cmd = json!([
        python,
        harness_dir().join("examples/py_child.py"),
        "{template_dir}",
        "{handler}"
    ]);
    let result = Command::new("bash")
        .arg(harness_dir().join("run_suite.sh"))
        .arg(fixtures_dir().join("python/template_step.yaml"))
        .args(["step", "python-reference"])
        .arg(cmd.to_string())
        .env("CONF_VENV", &venv)
        .env("OUT", &out)
        .env("EMULATOR_PORT", eport.to_string())
        .env("SHIM_PORT", sport.to_string())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("HANDLER_MODE")
        .stdin(Stdio::null())
        .output()
        .expect("run bash");
    let log = format!(
        "run_suite.sh exited {}; outputs in {} (runner.log, shim.log, handlers.log)\n{}{}",
        result.status,
        out.display(),
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(result.status.success(), "{log}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("report.json")).expect("report.json"),
    )
    .expect("report.json is JSON");
    let summary = &report["summary"];
    assert_eq!(summary["passed"], 1, "{summary}\n{log}");
    assert_eq!(summary["failed"], 0, "{summary}\n{log}");
    let one = report["results"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["id"] == "1-1"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(one["status"], "PASSED", "{one}\n{log}");
}
