//! Support for end-to-end tests against AWS's durable-execution emulator.
//!
//! [`Emulator::start`] brings up, on loopback, the emulator (`dex-local-runner` from PyPI
//! `aws-durable-execution-sdk-python-testing`, pinned in `tests/harness/constraints.txt`) and the
//! harness shim (`tests/harness/shim.py`), which plays Lambda for the functions of a SAM-style
//! template and runs their handler processes. The emulator invokes handlers through the shim;
//! handlers reach the emulator's checkpoint/state APIs through `AWS_ENDPOINT_URL_LAMBDA` (the
//! shim). Everything is stopped, by PID, when the [`Emulator`] is dropped.
//!
//! ```no_run
//! use std::time::Duration;
//! use e2e_support::{history, Emulator};
//!
//! let emu = Emulator::start(
//!     "tests/e2e/template.yaml",
//!     r#"["/abs/path/target/debug/bootstrap", "{handler}"]"#,
//! )?;
//! let arn = emu.start_execution("MyFunction", r#"{"name":"x"}"#)?;
//! let done = emu.wait_for_completion(&arn, Duration::from_secs(60))?;
//! assert_eq!(done.status, "SUCCEEDED", "{}", emu.diagnostics());
//! let events = emu.history(&arn)?;
//! assert_eq!(history::of_type(&events, "StepSucceeded").len(), 1);
//! # Ok::<(), e2e_support::Error>(())
//! ```
//!
//! Tests that need the emulator are `#[ignore]`d and run by `scripts/test.sh` (or
//! `cargo test -p <crate> -- --ignored`); the first [`Emulator::start`] in a process runs
//! `scripts/emulator.sh setup`, which creates the Python venv if it is missing.

pub mod history;
mod http;
mod process;
mod setup;

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::http::{clip, encode, Http};
use crate::process::{kill, pid_alive, tail};
use crate::setup::emulator_script;
pub use crate::setup::{
    build_binary, build_example, ensure_setup, fixtures_dir, free_ports, harness_dir, new_workdir,
    venv_python, workspace_root,
};

/// An actionable failure: what went wrong, plus where to look (log paths and their tails).
/// `Debug` prints the message as is, so `.unwrap()` / `.expect()` show readable logs.
#[derive(Clone)]
pub struct Error(String);

impl Error {
    fn new(msg: impl Into<String>) -> Self {
        Error(msg.into())
    }

    /// The full message.
    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Result with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// How the shim runs handler processes (see `tests/harness/README.md`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HandlerMode {
    /// A warm process per function speaking the Lambda Runtime API (a real `bootstrap`).
    #[default]
    RuntimeApi,
    /// One process per invocation: payload on stdin, `@@SHIM_RESULT@@{...}` as last stdout line.
    Stdin,
}

impl HandlerMode {
    /// The shim's name for the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            HandlerMode::RuntimeApi => "runtime-api",
            HandlerMode::Stdin => "stdin",
        }
    }
}

/// Options for [`Emulator::start_with`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Handler mode (default: runtime-api).
    pub mode: HandlerMode,
    /// Let the shim fill the emulator's known history gaps (default: true), so histories look
    /// like the real service's. `false` shows the emulator's raw history.
    pub normalize: bool,
    /// Prefix of the work directory under `target/e2e/` (default: `"e2e"`).
    pub label: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: HandlerMode::RuntimeApi,
            normalize: true,
            label: "e2e".to_string(),
        }
    }
}

/// Final state of an execution (GetDurableExecution).
#[derive(Debug, Clone)]
pub struct ExecutionSummary {
    /// `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `STOPPED`, ...
    pub status: String,
    /// The execution result: a JSON document as a string, as the API returns it.
    pub result: Option<String>,
    /// The ErrorObject of a failed execution.
    pub error: Option<Value>,
    /// The whole GetDurableExecution response.
    pub raw: Value,
}

impl ExecutionSummary {
    /// [`Self::result`] parsed as JSON (`None` if absent or not JSON).
    pub fn result_json(&self) -> Option<Value> {
        serde_json::from_str(self.result.as_deref()?).ok()
    }
}

/// Response of a synchronous Lambda Invoke through the shim ([`Emulator::invoke`]).
#[derive(Debug, Clone)]
pub struct InvokeOutput {
    /// HTTP status (200 for any completed invocation, even a function error).
    pub status: u16,
    /// `X-Amz-Function-Error` (set when the function or execution failed).
    pub function_error: Option<String>,
    /// The response payload.
    pub payload: String,
    /// `X-Amz-Durable-Execution-Arn`, for a durable function.
    pub execution_arn: Option<String>,
}

const TERMINAL: [&str; 5] = ["SUCCEEDED", "FAILED", "TIMED_OUT", "STOPPED", "CANCELLED"];
const LOG_TAIL_LINES: usize = 20;

/// Puts the mode into the handler command: a JSON argv list becomes `{"mode", "cmd"}`; an
/// object keeps its `cmd` and must not name another mode.
fn handler_spec(cmd_json: &str, mode: HandlerMode) -> Result<String> {
    let spec: Value = serde_json::from_str(cmd_json).map_err(|e| {
        Error::new(format!(
            "handler command is not JSON ({e}): {cmd_json}; expected [\"/abs/bin\", \"{{handler}}\"] \
             or {{\"cmd\": [...]}}"
        ))
    })?;
    let cmd = match &spec {
        Value::Array(_) => spec.clone(),
        Value::Object(o) => {
            if let Some(m) = o.get("mode").and_then(Value::as_str) {
                if m != mode.as_str() {
                    return Err(Error::new(format!(
                        "handler command says mode {m:?} but the options say {:?}; make them agree",
                        mode.as_str()
                    )));
                }
            }
            o.get("cmd").cloned().unwrap_or(Value::Null)
        }
        _ => Value::Null,
    };
    let ok = cmd
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
    if !ok {
        return Err(Error::new(format!(
            "handler command must be a non-empty JSON list of strings (or {{\"cmd\": [...]}}): {cmd_json}"
        )));
    }
    Ok(json!({"mode": mode.as_str(), "cmd": cmd}).to_string())
}

/// A running emulator + shim pair on loopback; stopped (by PID) on drop.
pub struct Emulator {
    workdir: PathBuf,
    template: PathBuf,
    emulator_url: String,
    shim_url: String,
    emulator_pid: u32,
    shim_pid: u32,
    mode: HandlerMode,
    http: Http,
    stopped: bool,
}

impl Emulator {
    /// Starts emulator + shim in runtime-api mode for the functions of `template` (a SAM-style
    /// template; see `tests/harness/README.md`). `handler_cmd_json` is the handler argv as a JSON
    /// list, with `{handler}`, `{function}` and `{template_dir}` substituted per function; use
    /// absolute paths (relative ones resolve against the test's working directory).
    pub fn start(template: impl AsRef<Path>, handler_cmd_json: &str) -> Result<Emulator> {
        Self::start_with(template, handler_cmd_json, &Options::default())
    }

    /// [`Emulator::start`] with explicit [`Options`] (for example the stdin handler mode).
    pub fn start_with(
        template: impl AsRef<Path>,
        handler_cmd_json: &str,
        options: &Options,
    ) -> Result<Emulator> {
        let template = template.as_ref();
        let template = template.canonicalize().map_err(|e| {
            Error::new(format!(
                "template {} not found ({e}); the path is relative to {}",
                template.display(),
                std::env::current_dir().unwrap_or_default().display()
            ))
        })?;
        let spec = handler_spec(handler_cmd_json, options.mode)?;
        let venv = ensure_setup()?;
        let script = emulator_script();
        let mut last_error = String::new();
        for _attempt in 0..3 {
            let (eport, sport) = free_ports()?;
            let workdir = new_workdir(&options.label)?;
            let out = Command::new("bash")
                .arg(&script)
                .arg("start")
                .arg(eport.to_string())
                .arg(sport.to_string())
                .arg(&workdir)
                .arg(&template)
                .arg(&spec)
                .env("CONF_VENV", &venv)
                .env("OWNER_PID", std::process::id().to_string())
                .env("NORMALIZE", if options.normalize { "1" } else { "0" })
                .env_remove("HANDLER_MODE")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| Error::new(format!("cannot run {}: {e}", script.display())))?;
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            if out.status.success() {
                let field = |key: &str| {
                    stdout
                        .lines()
                        .find_map(|l| l.strip_prefix(&format!("{key}=")))
                        .map(str::to_string)
                        .ok_or_else(|| {
                            Error::new(format!(
                                "{} start printed no {key}= line; output:\n{stdout}{stderr}",
                                script.display()
                            ))
                        })
                };
                let pid = |key: &str| -> Result<u32> {
                    field(key)?.parse().map_err(|e| {
                        Error::new(format!("{} start: bad {key} ({e})", script.display()))
                    })
                };
                return Ok(Emulator {
                    emulator_pid: pid("emulator_pid")?,
                    shim_pid: pid("shim_pid")?,
                    emulator_url: field("emulator_url")?,
                    shim_url: field("shim_url")?,
                    workdir,
                    template,
                    mode: options.mode,
                    http: Http::new(),
                    stopped: false,
                });
            }
            last_error = format!(
                "`{} start {eport} {sport} {} ...` failed ({}).\n  read: {}/emulator.log and \
                 {}/shim.log\n  output:\n{stdout}{stderr}",
                script.display(),
                workdir.display(),
                out.status,
                workdir.display(),
                workdir.display()
            );
            // Only a lost race for a port is worth another try.
            if !stderr.contains("in use") {
                break;
            }
        }
        Err(Error::new(last_error))
    }

    /// Base URL of the shim: Lambda Invoke front door and proxied durable-execution APIs.
    pub fn shim_url(&self) -> &str {
        &self.shim_url
    }

    /// Base URL of the emulator itself (raw, not normalised).
    pub fn emulator_url(&self) -> &str {
        &self.emulator_url
    }

    /// Work directory holding `emulator.log`, `shim.log`, `handlers.log` and the pid files.
    pub fn workdir(&self) -> &Path {
        &self.workdir
    }

    /// The handler mode this emulator runs.
    pub fn mode(&self) -> HandlerMode {
        self.mode
    }

    /// PIDs of the emulator and the shim.
    pub fn pids(&self) -> (u32, u32) {
        (self.emulator_pid, self.shim_pid)
    }

    /// Path of the shim's log (one line per invocation; runtime-api process lifecycle).
    pub fn shim_log_path(&self) -> PathBuf {
        self.workdir.join("shim.log")
    }

    /// Path of the handlers' log (every line handler processes printed, tagged by function).
    pub fn handler_log_path(&self) -> PathBuf {
        self.workdir.join("handlers.log")
    }

    /// Path of the emulator's log (warnings: failed invocations, retries, execution failures).
    pub fn emulator_log_path(&self) -> PathBuf {
        self.workdir.join("emulator.log")
    }

    /// Contents of `shim.log`.
    pub fn shim_log(&self) -> String {
        fs::read_to_string(self.shim_log_path()).unwrap_or_default()
    }

    /// Contents of `handlers.log`.
    pub fn handler_log(&self) -> String {
        fs::read_to_string(self.handler_log_path()).unwrap_or_default()
    }

    /// Contents of `emulator.log`.
    pub fn emulator_log(&self) -> String {
        fs::read_to_string(self.emulator_log_path()).unwrap_or_default()
    }

    /// Log paths plus the last lines of each log, for assertion messages.
    pub fn diagnostics(&self) -> String {
        let mut out = format!(
            "emulator diagnostics (template {}, mode {}, work dir {}):\n",
            self.template.display(),
            self.mode.as_str(),
            self.workdir.display()
        );
        for path in [
            self.shim_log_path(),
            self.handler_log_path(),
            self.emulator_log_path(),
        ] {
            out.push_str(&format!(
                "  {} (last {LOG_TAIL_LINES} lines):\n",
                path.display()
            ));
            out.push_str(&tail(&path, LOG_TAIL_LINES));
        }
        out
    }

    fn fail(&self, what: impl fmt::Display) -> Error {
        Error::new(format!("{what}\n{}", self.diagnostics()))
    }

    fn durable_url(&self, base: &str, arn: &str, suffix: &str) -> String {
        format!(
            "{base}/2025-12-01/durable-executions/{}{suffix}",
            encode(arn)
        )
    }

    /// Starts an execution of durable function `function` with `input` (JSON text) through
    /// the shim's Lambda Invoke front door (asynchronous `Event` invoke) and returns its ARN.
    /// The emulator's ARNs look like `uuid/uuid`; treat them as opaque.
    pub fn start_execution(&self, function: &str, input: &str) -> Result<String> {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.shim_url,
            encode(function)
        );
        let headers = [
            ("X-Amz-Invocation-Type", "Event"),
            ("Content-Type", "application/json"),
        ];
        let res = self
            .http
            .post(&url, &headers, input.as_bytes(), None)
            .map_err(|e| self.fail(format!("start_execution({function}): {e}")))?;
        if res.status == 404 {
            return Err(self.fail(format!(
                "start_execution: no function {function:?} in {} (function names are the \
                 template's logical ids)",
                self.template.display()
            )));
        }
        match res.header("X-Amz-Durable-Execution-Arn") {
            Some(arn) if res.status == 202 => Ok(arn.to_string()),
            _ => Err(self.fail(format!(
                "start_execution({function}): expected 202 with X-Amz-Durable-Execution-Arn, got \
                 HTTP {} {} (is the function durable, i.e. has DurableConfig?)",
                res.status,
                clip(&res.body, 1000)
            ))),
        }
    }

    /// Synchronous (`RequestResponse`) Lambda Invoke through the shim: for a durable function
    /// it waits for the execution to finish; for a plain function it runs the handler once.
    pub fn invoke(&self, function: &str, payload: &str, timeout: Duration) -> Result<InvokeOutput> {
        let url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.shim_url,
            encode(function)
        );
        let headers = [
            ("X-Amz-Invocation-Type", "RequestResponse"),
            ("Content-Type", "application/json"),
        ];
        let res = self
            .http
            .post(&url, &headers, payload.as_bytes(), Some(timeout))
            .map_err(|e| self.fail(format!("invoke({function}): {e}")))?;
        Ok(InvokeOutput {
            status: res.status,
            function_error: res.header("X-Amz-Function-Error").map(str::to_string),
            execution_arn: res
                .header("X-Amz-Durable-Execution-Arn")
                .map(str::to_string),
            payload: res.body,
        })
    }

    /// GetDurableExecution, as returned.
    pub fn get_execution(&self, arn: &str) -> Result<Value> {
        let url = self.durable_url(&self.shim_url, arn, "");
        let res = self
            .http
            .get(&url)
            .map_err(|e| self.fail(format!("GetDurableExecution({arn}): {e}")))?;
        if res.status != 200 {
            return Err(self.fail(format!(
                "GetDurableExecution({arn}): HTTP {} {}",
                res.status,
                clip(&res.body, 1000)
            )));
        }
        res.json()
            .map_err(|e| self.fail(format!("GetDurableExecution({arn}): {e}")))
    }

    /// Polls GetDurableExecution until the execution reaches a terminal status, or fails
    /// after `timeout` (with the last status and the logs' tails in the error).
    pub fn wait_for_completion(&self, arn: &str, timeout: Duration) -> Result<ExecutionSummary> {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.get_execution(arn)?;
            let status = d.get("Status").and_then(Value::as_str).unwrap_or("");
            if TERMINAL.contains(&status) {
                return Ok(ExecutionSummary {
                    status: status.to_string(),
                    result: d.get("Result").and_then(Value::as_str).map(str::to_string),
                    error: d.get("Error").cloned(),
                    raw: d,
                });
            }
            if Instant::now() >= deadline {
                let events = self
                    .history(arn)
                    .map(|h| history::describe(&h))
                    .unwrap_or_else(|e| format!("(history unavailable: {e})"));
                return Err(self.fail(format!(
                    "execution {arn} not finished after {timeout:?} (status {status:?}); \
                     history so far:\n{events}"
                )));
            }
            if !pid_alive(self.shim_pid, "shim.py")
                || !pid_alive(self.emulator_pid, "dex-local-runner")
            {
                return Err(self.fail(format!(
                    "while waiting for {arn}: the emulator or the shim exited"
                )));
            }
            sleep(Duration::from_millis(100));
        }
    }

    fn paged_history(&self, base: &str, arn: &str) -> Result<Vec<Value>> {
        let mut events = Vec::new();
        let mut marker: Option<String> = None;
        for _ in 0..1000 {
            let mut url = self.durable_url(
                base,
                arn,
                "/history?IncludeExecutionData=true&MaxItems=1000",
            );
            if let Some(m) = &marker {
                url.push_str(&format!("&Marker={}", encode(m)));
            }
            let res = self
                .http
                .get(&url)
                .map_err(|e| self.fail(format!("GetDurableExecutionHistory({arn}): {e}")))?;
            if res.status != 200 {
                return Err(self.fail(format!(
                    "GetDurableExecutionHistory({arn}): HTTP {} {}",
                    res.status,
                    clip(&res.body, 1000)
                )));
            }
            let page = res
                .json()
                .map_err(|e| self.fail(format!("GetDurableExecutionHistory({arn}): {e}")))?;
            if let Some(list) = page.get("Events").and_then(Value::as_array) {
                events.extend(list.iter().cloned());
            }
            match page.get("NextMarker").and_then(Value::as_str) {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => return Ok(events),
            }
        }
        Err(self.fail(format!(
            "GetDurableExecutionHistory({arn}): more than 1000 pages"
        )))
    }

    /// GetDurableExecutionHistory (all pages, with execution data) through the shim, which
    /// fills the emulator's known gaps when [`Options::normalize`] is on.
    pub fn history(&self, arn: &str) -> Result<Vec<Value>> {
        self.paged_history(&self.shim_url, arn)
    }

    /// GetDurableExecutionHistory straight from the emulator (no shim fills).
    pub fn raw_history(&self, arn: &str) -> Result<Vec<Value>> {
        self.paged_history(&self.emulator_url, arn)
    }

    fn callback(&self, id: &str, action: &str, ctype: &str, body: &[u8]) -> Result<()> {
        let url = format!(
            "{}/2025-12-01/durable-execution-callbacks/{}/{action}",
            self.shim_url,
            encode(id)
        );
        let res = self
            .http
            .post(&url, &[("Content-Type", ctype)], body, None)
            .map_err(|e| self.fail(format!("callback {action} ({id}): {e}")))?;
        if !(200..300).contains(&res.status) {
            return Err(self.fail(format!(
                "callback {action} ({id}): HTTP {} {}",
                res.status,
                clip(&res.body, 1000)
            )));
        }
        Ok(())
    }

    /// SendDurableExecutionCallbackSuccess: `payload` becomes the callback's result bytes.
    pub fn send_callback_success(&self, callback_id: &str, payload: &[u8]) -> Result<()> {
        self.callback(callback_id, "succeed", "application/octet-stream", payload)
    }

    /// SendDurableExecutionCallbackFailure with an ErrorObject (`ErrorType`, `ErrorMessage`, ...).
    pub fn send_callback_failure(&self, callback_id: &str, error: &Value) -> Result<()> {
        let body = error.to_string();
        self.callback(callback_id, "fail", "application/json", body.as_bytes())
    }

    /// SendDurableExecutionCallbackHeartbeat.
    pub fn send_callback_heartbeat(&self, callback_id: &str) -> Result<()> {
        self.callback(callback_id, "heartbeat", "application/json", b"")
    }

    /// The shim's runtime-api process table (`GET /_shim/runtime-envs`): per function, the live
    /// and exited environments with pid, invocation count and exit status.
    pub fn runtime_envs(&self) -> Result<Value> {
        let url = format!("{}/_shim/runtime-envs", self.shim_url);
        let res = self
            .http
            .get(&url)
            .map_err(|e| self.fail(format!("runtime_envs: {e}")))?;
        res.json()
            .map_err(|e| self.fail(format!("runtime_envs: {e}")))
    }

    fn handler_pids(&self) -> Vec<u32> {
        let Ok(envs) = self.runtime_envs() else {
            return Vec::new();
        };
        let mut pids = Vec::new();
        for f in envs.as_object().into_iter().flat_map(|o| o.values()) {
            for e in f
                .get("live")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(pid) = e.get("pid").and_then(Value::as_u64) {
                    pids.push(pid as u32);
                }
            }
        }
        pids
    }

    /// Stops handler processes, shim and emulator (SIGTERM, then SIGKILL). Called by `Drop`;
    /// call it directly to see failures. Idempotent.
    pub fn stop(&mut self) -> Result<()> {
        if self.stopped {
            return Ok(());
        }
        self.stopped = true;
        let handlers = if self.mode == HandlerMode::RuntimeApi {
            self.handler_pids()
        } else {
            Vec::new()
        };
        let script = emulator_script();
        let out = Command::new("bash")
            .arg(&script)
            .arg("stop")
            .arg(&self.workdir)
            .stdin(Stdio::null())
            .output();
        let mut survivors = Vec::new();
        for (pid, pattern) in [
            (self.shim_pid, "shim.py"),
            (self.emulator_pid, "dex-local-runner"),
        ] {
            if pid_alive(pid, pattern) {
                kill("KILL", pid);
                survivors.push(pid);
            }
        }
        // Handler processes: the shim stops them on SIGTERM; make sure (they run in their
        // own sessions, so nothing else would).
        for pid in handlers {
            if pid_alive(pid, "") {
                kill("KILL", pid);
                survivors.push(pid);
            }
        }
        match out {
            Ok(o) if o.status.success() && survivors.is_empty() => Ok(()),
            Ok(o) => Err(Error::new(format!(
                "stopping the emulator in {}: {} stop exited {}, SIGKILLed survivors {survivors:?}; \
                 output: {}{}",
                self.workdir.display(),
                script.display(),
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ))),
            Err(e) => Err(Error::new(format!(
                "cannot run {} stop: {e}; SIGKILLed survivors {survivors:?}",
                script.display()
            ))),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            eprintln!("e2e-support: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_spec_adds_or_checks_the_mode() {
        let s = handler_spec(r#"["/bin/x", "{handler}"]"#, HandlerMode::RuntimeApi).unwrap();
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(
            v,
            json!({"mode": "runtime-api", "cmd": ["/bin/x", "{handler}"]})
        );
        let s = handler_spec(r#"{"cmd": ["/bin/x"]}"#, HandlerMode::Stdin).unwrap();
        assert!(s.contains(r#""mode":"stdin""#));
        assert!(handler_spec(
            r#"{"mode": "stdin", "cmd": ["x"]}"#,
            HandlerMode::RuntimeApi
        )
        .is_err());
        assert!(handler_spec("[]", HandlerMode::Stdin).is_err());
        assert!(handler_spec("[1]", HandlerMode::Stdin).is_err());
        assert!(handler_spec("not json", HandlerMode::Stdin).is_err());
    }
}
