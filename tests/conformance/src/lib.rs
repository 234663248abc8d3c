//! Handlers for the public durable-execution conformance suites, written from each
//! requirement's prose the way a user of the SDK would write them, with only the drivers'
//! public API.
//!
//! * [`tokio_driver`]: async handlers on `durable-tokio`; the binary `conformance-tokio`.
//! * [`blocking_driver`]: synchronous handlers on `durable-blocking`; `conformance-blocking`.
//!
//! Each driver has one module per suite (`step`, `wait`, ...) whose `run(handler)` starts the
//! Lambda runtime with the handler named by `_HANDLER`, or returns `None` when the name is not
//! one of that suite's. Both binaries answer the same handler names, so one template per suite
//! (`template_<suite>.yaml` next to this crate) serves both; `scripts/conformance.sh` runs
//! them. To add a suite: a module per driver, one line in each driver's `run`, and a template.

use std::fmt;
use std::time::Duration;

use durable_tokio::proto::OperationType;
use durable_tokio::{ErrorObject, RetryDecision, RetryStrategy, Serdes};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod blocking_driver;
pub mod tokio_driver;

/// The handler name Lambda passes in `_HANDLER` (the template's `Handler` property).
pub fn handler_name() -> String {
    std::env::var("_HANDLER").unwrap_or_default()
}

/// The error for a handler name no suite knows; Lambda reports it as an init error.
pub fn unknown_handler(name: &str) -> lambda_runtime::Error {
    format!("no conformance handler is called {name:?} (set _HANDLER)").into()
}

/// A failure worth retrying: its Rust type name ends in `TransientError`, which is what the
/// requirements' retry filters (and the expected `ErrorType`) look for.
#[derive(Debug)]
pub struct TransientError(pub String);

impl fmt::Display for TransientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transient failure: {}", self.0)
    }
}

impl std::error::Error for TransientError {}

/// An ordinary business failure.
#[derive(Debug)]
pub struct ServiceError(pub String);

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service error: {}", self.0)
    }
}

impl std::error::Error for ServiceError {}

/// A retry strategy that never retries a [`TransientError`] (requirement 1-16) and retries
/// anything else up to 3 attempts, one second apart.
///
/// Written against the `RetryStrategy` trait both drivers re-export; the same value works for
/// `durable-tokio` and `durable-blocking`.
#[derive(Debug, Clone, Copy)]
pub struct NoRetryOnTransient;

impl RetryStrategy for NoRetryOnTransient {
    fn decide(&self, error: &ErrorObject, attempt: u32, _rng: &mut dyn RngCore) -> RetryDecision {
        if error.type_name().ends_with("TransientError") || attempt >= 3 {
            RetryDecision::Stop
        } else {
            RetryDecision::Retry {
                delay: Duration::from_secs(1),
            }
        }
    }
}

/// Input of requirement 1-4.
#[derive(Debug, Clone, Deserialize)]
pub struct Person {
    /// The person's name.
    pub name: String,
    /// Free-form tags.
    pub tags: Vec<String>,
}

/// The nested object requirement 1-4's step returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The user part.
    pub user: User,
    /// How many tags the user has.
    pub count: usize,
}

/// The user part of a [`Profile`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// The user's tags.
    pub tags: Vec<String>,
}

impl Profile {
    /// Builds the profile of `person`.
    pub fn of(person: Person) -> Self {
        Self {
            count: person.tags.len(),
            user: User {
                name: person.name,
                tags: person.tags,
            },
        }
    }
}

/// The result of requirement 2-3.
#[derive(Debug, Clone, Serialize)]
pub struct WaitsDone {
    /// How many waits completed.
    #[serde(rename = "completedWaits")]
    pub completed_waits: u32,
}

/// What a step that "crashes the Lambda runtime" does: the process exits at once, as an
/// out-of-memory kill or a `process.exit` in other runtimes would end it.
pub fn crash_runtime() -> ! {
    std::process::exit(1)
}

/// Whether this is the first time the execution `execution_arn` got here; the first call for
/// an execution returns `true` and leaves a marker in the temp directory (requirement 3-12
/// crashes the runtime once: an at-least-once step re-runs with the same attempt number, so
/// the SDK's state cannot tell the re-run apart, and the harness manual suggests a local file).
pub fn first_time_for(execution_arn: &str, what: &str) -> bool {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    (execution_arn, what).hash(&mut hasher);
    let marker = std::env::temp_dir().join(format!("conformance-{what}-{:016x}", hasher.finish()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(marker)
        .is_ok()
}

/// Checkpoints a string upper-cased as raw text, and reads raw text back (requirement 3-14:
/// the child context's recorded payload is `HELLO CHILD`, not a JSON string).
#[derive(Debug, Clone, Copy)]
pub struct UppercaseText;

impl Serdes<String> for UppercaseText {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(value.to_uppercase())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
}

/// Reads a result by upper-casing its raw text (requirement 5-16: the target's `"hello"`
/// becomes the string `"HELLO"`, quotes included).
#[derive(Debug, Clone, Copy)]
pub struct UppercaseRaw;

impl Serdes<String> for UppercaseRaw {
    fn serialize(&self, value: &String) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        Ok(text.to_uppercase())
    }
}

/// Serializes a JSON value with every string upper-cased: the custom payload serializer of
/// requirement 5-15 (the input of `invoke` is serialized through `Serialize`).
#[derive(Debug)]
pub struct UppercaseStrings<'a>(pub &'a Value);

impl Serialize for UppercaseStrings<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn upper(value: &Value) -> Value {
            match value {
                Value::String(s) => Value::String(s.to_uppercase()),
                Value::Array(items) => Value::Array(items.iter().map(upper).collect()),
                Value::Object(map) => {
                    Value::Object(map.iter().map(|(k, v)| (k.clone(), upper(v))).collect())
                }
                other => other.clone(),
            }
        }
        upper(self.0).serialize(serializer)
    }
}

/// The typed message of requirement 4-15, its timestamp in seconds since the epoch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Message {
    /// The sender's id.
    pub id: String,
    /// The text.
    pub message: String,
    /// When it was sent, seconds since the Unix epoch.
    pub timestamp: i64,
}

/// Reads a callback payload `{"id", "message", "timestamp": "<RFC 3339 UTC>"}` into a
/// [`Message`] (requirement 4-15's custom deserializer).
#[derive(Debug, Clone, Copy)]
pub struct MessageSerdes;

impl Serdes<Message> for MessageSerdes {
    fn serialize(&self, value: &Message) -> Result<String, String> {
        serde_json::to_string(value).map_err(|e| e.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<Message, String> {
        #[derive(Deserialize)]
        struct Raw {
            id: String,
            message: String,
            timestamp: String,
        }
        let raw: Raw = serde_json::from_str(text).map_err(|e| e.to_string())?;
        Ok(Message {
            id: raw.id,
            message: raw.message,
            timestamp: rfc3339_utc_seconds(&raw.timestamp)?,
        })
    }
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.fff]Z`.
fn rfc3339_utc_seconds(text: &str) -> Result<i64, String> {
    let bad = || format!("not an RFC 3339 UTC timestamp: {text:?}");
    let field = |range: std::ops::Range<usize>| -> Result<i64, String> {
        text.get(range).and_then(|s| s.parse().ok()).ok_or_else(bad)
    };
    if !text.ends_with('Z') || text.len() < 20 {
        return Err(bad());
    }
    let (y, m, d) = (field(0..4)?, field(5..7)?, field(8..10)?);
    let (hh, mm, ss) = (field(11..13)?, field(14..16)?, field(17..19)?);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// Reads a callback payload such as `42` as a number (requirement 4-16's deserializer).
#[derive(Debug, Clone, Copy)]
pub struct NumberSerdes;

impl Serdes<i64> for NumberSerdes {
    fn serialize(&self, value: &i64) -> Result<String, String> {
        Ok(value.to_string())
    }

    fn deserialize(&self, text: &str) -> Result<i64, String> {
        let text = text.trim().trim_matches('"');
        text.parse()
            .map_err(|e| format!("not a number: {text:?} ({e})"))
    }
}

/// The result of requirement 4-16.
#[derive(Debug, Clone, Serialize)]
pub struct Counted {
    /// The number the callback carried.
    pub count: i64,
    /// Twice that.
    pub doubled: i64,
}

/// The callback payload of requirement 7-11.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Approval {
    /// The approval's status.
    pub status: String,
}

/// The name of the function an invoke requirement calls, from the template's environment.
pub fn target(variable: &str) -> String {
    std::env::var(variable).unwrap_or_else(|_| panic!("{variable} is not set (see the template)"))
}

/// The size of requirement 5-7's payload: near the 256 KiB an operation's payload may hold.
pub const LARGE_PAYLOAD_BYTES: usize = 250 * 1024;

/// `attempts` attempts in all, a fixed second apart (both drivers share the type).
pub fn every_second(attempts: u32) -> durable_tokio::RetryPolicy {
    let second = Duration::from_secs(1);
    durable_tokio::RetryPolicy::try_linear(attempts, second, Duration::ZERO, second)
        .expect("a valid retry policy")
        .with_jitter(durable_tokio::Jitter::None)
}

/// How long requirement 3-12's step works before it crashes the runtime.
pub const CRASH_AFTER: Duration = Duration::from_millis(500);

/// How long each invoke target works before it answers, as a real function takes a while.
/// The emulator records the caller's `InvocationCompleted` when it has processed the
/// caller's PENDING response, which on a loaded machine can be tens of milliseconds after
/// the SDK returned it; a warm target answering within a millisecond was then recorded
/// first (`ChainedInvokeSucceeded` before `InvocationCompleted`, seen once on 5-16).
pub const TARGET_LATENCY: Duration = Duration::from_millis(250);

/// Checkpoints a value as `{"wrapped": value}` and unwraps it when reading (requirement
/// 8-15's per-branch serializer).
#[derive(Debug, Clone, Copy)]
pub struct Wrapped;

impl Serdes<String> for Wrapped {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(serde_json::json!({ "wrapped": value }).to_string())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        v.get("wrapped")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("not a wrapped string: {text}"))
    }
}

/// Checkpoints a string as the raw text `wrapped:<value>` (requirement 9-14's item
/// serializer).
#[derive(Debug, Clone, Copy)]
pub struct PrefixedText;

impl Serdes<String> for PrefixedText {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(format!("wrapped:{value}"))
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        text.strip_prefix("wrapped:")
            .map(str::to_owned)
            .ok_or_else(|| format!("not a wrapped value: {text}"))
    }
}

/// Records a whole batch result of strings as `OPSERDE:<values joined by commas>` and
/// rebuilds it from that (requirements 9-19 and 9-20's operation-level serializer).
#[derive(Debug, Clone, Copy)]
pub struct OpSerde;

impl Serdes<durable_tokio::BatchResult<String>> for OpSerde {
    fn serialize(&self, value: &durable_tokio::BatchResult<String>) -> Result<String, String> {
        let values: Vec<&str> = value.values().into_iter().map(String::as_str).collect();
        Ok(format!("OPSERDE:{}", values.join(",")))
    }

    fn deserialize(&self, text: &str) -> Result<durable_tokio::BatchResult<String>, String> {
        let joined = text
            .strip_prefix("OPSERDE:")
            .ok_or_else(|| format!("not an OPSERDE payload: {text}"))?;
        let values = joined
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(durable_tokio::BatchResult::from_values(values))
    }
}

/// Checkpoints a string state as `state:<value>` (requirement 6-11's state serializer).
#[derive(Debug, Clone, Copy)]
pub struct TaggedState;

impl Serdes<String> for TaggedState {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(format!("state:{value}"))
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        text.strip_prefix("state:")
            .map(str::to_owned)
            .ok_or_else(|| format!("not a tagged state: {text}"))
    }
}

/// The projection most batch requirements return: `{completionReason, status, successCount,
/// failureCount, totalCount}`.
pub fn batch_summary<T>(batch: &durable_tokio::BatchResult<T>) -> Value {
    serde_json::json!({
        "completionReason": batch.completion_reason().as_str(),
        "status": batch.status().as_str(),
        "successCount": batch.success_count(),
        "failureCount": batch.failure_count(),
        "totalCount": batch.total_count(),
    })
}

/// Requirement 8-20 / the accessors' projection: `{hasFailure, successCount, failureCount,
/// errorCount}` from the accessor lists.
pub fn batch_accessors<T>(batch: &durable_tokio::BatchResult<T>) -> Value {
    serde_json::json!({
        "hasFailure": batch.has_failure(),
        "successCount": batch.succeeded().len(),
        "failureCount": batch.failed().len(),
        "errorCount": batch.errors().len(),
    })
}

/// The polling strategy of the wait-for-condition requirements that name none: stop once
/// the counter reaches `threshold`, check again a second later otherwise.
pub fn until_at_least(threshold: i64) -> durable_tokio::WaitStrategy<i64> {
    durable_tokio::WaitStrategy::until(move |n: &i64| *n >= threshold).fixed(Duration::from_secs(1))
}

/// A second between checks, whatever the state (with `until`-style strategies).
pub const POLL: Duration = Duration::from_secs(1);

/// What a conformance plugin reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PluginReport {
    /// `invocation-start` (with `first`) and `invocation-end` (with `status`).
    Invocations,
    /// `operation-start` / `operation-end` (with `op` and `status`) of steps.
    Operations,
    /// `attempt-start` / `attempt-end` (with `n`, `outcome` and `op`) of steps.
    Attempts,
}

/// The plugin of the plugin suite (10-*): prints one JSON line to plain stdout per hook it
/// reports, stamped with the execution ARN it received at invocation start.
pub struct ConfPlugin {
    label: &'static str,
    report: PluginReport,
    /// Log a line, then fail, in every hook (10-4).
    faulty: bool,
    arn: std::sync::Mutex<String>,
}

impl ConfPlugin {
    /// A plugin printing as `label`.
    pub fn new(label: &'static str, report: PluginReport) -> Self {
        Self {
            label,
            report,
            faulty: false,
            arn: std::sync::Mutex::new(String::new()),
        }
    }

    /// A plugin whose every hook prints its line and then fails (10-4).
    pub fn faulty(label: &'static str) -> Self {
        Self {
            faulty: true,
            ..Self::new(label, PluginReport::Invocations)
        }
    }

    fn print(
        &self,
        hook: &str,
        mut fields: serde_json::Map<String, Value>,
    ) -> durable_tokio::HookResult {
        fields.insert("plugin".into(), Value::from(self.label));
        fields.insert("hook".into(), Value::from(hook));
        let arn = self.arn.lock().unwrap_or_else(|p| p.into_inner()).clone();
        fields.insert("durableExecutionArn".into(), Value::from(arn));
        println!("{}", Value::Object(fields));
        if self.faulty {
            return Err(format!("{} fails in {hook} on purpose", self.label).into());
        }
        Ok(())
    }

    fn reports(&self, report: PluginReport) -> bool {
        self.faulty || self.report == report
    }
}

fn fields(pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

impl durable_tokio::Plugin for ConfPlugin {
    fn on_invocation_start(&self, i: &durable_tokio::InvocationInfo) -> durable_tokio::HookResult {
        *self.arn.lock().unwrap_or_else(|p| p.into_inner()) = i.execution_arn.clone();
        if !self.reports(PluginReport::Invocations) {
            return Ok(());
        }
        let extra = if self.faulty {
            fields(&[])
        } else {
            fields(&[("first", Value::from(i.first_invocation))])
        };
        self.print("invocation-start", extra)
    }

    fn on_invocation_end(
        &self,
        _: &durable_tokio::InvocationInfo,
        end: durable_tokio::InvocationEnd,
    ) -> durable_tokio::HookResult {
        if !self.reports(PluginReport::Invocations) {
            return Ok(());
        }
        self.print(
            "invocation-end",
            fields(&[("status", Value::from(end.as_str()))]),
        )
    }

    fn on_operation_start(&self, op: &durable_tokio::OperationInfo) -> durable_tokio::HookResult {
        if !self.reports(PluginReport::Operations) || op.operation_type != OperationType::Step {
            return Ok(());
        }
        self.print(
            "operation-start",
            fields(&[("op", Value::from(op.id.clone()))]),
        )
    }

    fn on_operation_end(
        &self,
        op: &durable_tokio::OperationInfo,
        status: &durable_tokio::proto::OperationStatus,
    ) -> durable_tokio::HookResult {
        if !self.reports(PluginReport::Operations) || op.operation_type != OperationType::Step {
            return Ok(());
        }
        self.print(
            "operation-end",
            fields(&[
                ("op", Value::from(op.id.clone())),
                ("status", Value::from(status.to_string())),
            ]),
        )
    }

    fn on_attempt_start(
        &self,
        op: &durable_tokio::OperationInfo,
        n: u32,
    ) -> durable_tokio::HookResult {
        if !self.reports(PluginReport::Attempts) || op.operation_type != OperationType::Step {
            return Ok(());
        }
        self.print(
            "attempt-start",
            fields(&[("n", Value::from(n)), ("op", Value::from(op.id.clone()))]),
        )
    }

    fn on_attempt_end(
        &self,
        op: &durable_tokio::OperationInfo,
        n: u32,
        outcome: durable_tokio::AttemptOutcome,
    ) -> durable_tokio::HookResult {
        if !self.reports(PluginReport::Attempts) || op.operation_type != OperationType::Step {
            return Ok(());
        }
        self.print(
            "attempt-end",
            fields(&[
                ("n", Value::from(n)),
                ("outcome", Value::from(outcome.as_str())),
                ("op", Value::from(op.id.clone())),
            ]),
        )
    }
}

/// The options of a plugin requirement: `plugins` installed in order.
pub fn with_plugins(plugins: Vec<ConfPlugin>) -> durable_tokio::Options {
    plugins
        .into_iter()
        .fold(durable_tokio::Options::default(), |o, p| o.plugin(p))
}
