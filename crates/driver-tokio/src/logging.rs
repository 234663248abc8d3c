//! Logging the way Lambda shows it: a `tracing` subscriber that honours Lambda's advanced
//! logging controls and puts the durable execution's identity on every line.
//!
//! [`run`](crate::run) installs it (through [`init_logging`]) unless the process already has
//! a global subscriber. With `AWS_LAMBDA_LOG_FORMAT=JSON` every event becomes one JSON object
//! per line, in the shape of Lambda's JSON log format, with the fields of the spans it happened
//! in lifted to top-level keys:
//!
//! ```json
//! {"timestamp":"2025-01-01T12:00:00.123456Z","level":"INFO","requestId":"8f5…",
//!  "durableExecutionArn":"arn:aws:lambda:…","operationId":"1","operationName":"greet",
//!  "attempt":1,"message":"charging card","target":"billing"}
//! ```
//!
//! * `durableExecutionArn` comes from the driver's `durable_invocation` span (and from the
//!   `execution_arn` field that [`Logger`](crate::Logger) events carry, so lines logged from
//!   threads outside that span are attributed too). CloudWatch's JSON filters and Logs
//!   Insights can then select one execution's lines.
//! * `operationId`, `operationName` and `attempt` come from the `durable_step` span a step
//!   body runs in; `requestId` (and `xrayTraceId`, `tenantId`) from `lambda_runtime`'s span.
//! * Fields of other spans and of the event itself keep their names; the innermost value wins,
//!   the event's own fields over all span fields. `timestamp` and `level` are never overridden.
//!
//! Otherwise lines use `tracing-subscriber`'s text format without timestamps (CloudWatch adds
//! them), like `lambda_runtime::tracing::init_default_subscriber`.
//!
//! The level is `AWS_LAMBDA_LOG_LEVEL` (`TRACE`, `DEBUG`, `INFO`, `WARN`, `ERROR`; `FATAL`
//! reads as `ERROR`) when set; otherwise `RUST_LOG` directives with `INFO` as the default:
//! a level (`debug`), a target (`my_fn`, everything it logs) or a target with a level
//! (`info,my_fn=debug,aws_config=warn`), separated by commas. Directives that filter on spans
//! or field values (`[span]=debug`, `target[{field}]=…`, which `EnvFilter` reads) are skipped:
//! the filter is tracing-subscriber's `Targets`, without `env-filter`'s regular expressions,
//! which would add 0.3 MB to every function's binary. To filter on spans, install an
//! `EnvFilter` subscriber of your own before `run` (with [`JsonLogLayer`] for the format).
//!
//! To keep a subscriber of your own and still get these JSON lines, add [`JsonLogLayer`] to it.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use serde_json::Value;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The key the execution ARN is logged under, as in Lambda's durable-function log records.
pub const EXECUTION_ARN_KEY: &str = "durableExecutionArn";

/// Installs the SDK's default subscriber as the global default, unless one is installed
/// already (then nothing changes). Returns whether this call installed it.
///
/// Reads `AWS_LAMBDA_LOG_FORMAT`, `AWS_LAMBDA_LOG_LEVEL` and `RUST_LOG` once, now. See the
/// [`JsonLogLayer`] for the format. [`run`](crate::run) calls this for you.
pub fn init_logging() -> bool {
    init_logging_with(crate::ReplayMode::default())
}

/// [`init_logging`] with `mode` for events emitted while their durable context replays
/// (default [`ReplayMode::Drop`](crate::ReplayMode::Drop); the text format knows no mark, so
/// `Mark` keeps them there). Call it before `run` to choose another mode.
pub fn init_logging_with(mode: crate::ReplayMode) -> bool {
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = filter_from_env(
        std::env::var("AWS_LAMBDA_LOG_LEVEL").ok().as_deref(),
        std::env::var("RUST_LOG").ok().as_deref(),
    );
    let registry = tracing_subscriber::registry().with(filter);
    let installed = if json {
        let layer = JsonLogLayer::stdout().replay_mode(mode);
        tracing::subscriber::set_global_default(registry.with(layer))
    } else {
        let drop_replayed = mode == crate::ReplayMode::Drop;
        let text = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .with_target(false)
            .with_writer(std::io::stdout)
            .with_filter(ReplayOnly(drop_replayed));
        tracing::subscriber::set_global_default(registry.with(text))
    };
    installed.is_ok()
}

/// [`ReplayFilter`](crate::ReplayFilter) when `.0`, else a filter that keeps everything.
struct ReplayOnly(bool);

impl<S> tracing_subscriber::layer::Filter<S> for ReplayOnly {
    fn enabled(&self, _meta: &tracing::Metadata<'_>, _cx: &Context<'_, S>) -> bool {
        true
    }

    fn event_enabled(&self, event: &Event<'_>, cx: &Context<'_, S>) -> bool {
        !self.0
            || <crate::ReplayFilter as tracing_subscriber::layer::Filter<S>>::event_enabled(
                &crate::ReplayFilter,
                event,
                cx,
            )
    }
}

/// The level filter Lambda's logging controls ask for: `lambda_level`
/// (`AWS_LAMBDA_LOG_LEVEL`) wins; else the `rust_log` directives with `INFO` as default.
///
/// `RUST_LOG` is read as comma-separated `level`, `target` and `target=level` directives (a
/// directive applies to the targets that start with its target, as with `env-filter`; the
/// longest match wins), without regular expressions: directives that filter on spans or field values (`[span]=debug`,
/// `target[{field}]=…`) are skipped, as is anything that does not parse.
fn filter_from_env(lambda_level: Option<&str>, rust_log: Option<&str>) -> Targets {
    if let Some(level) = lambda_level.and_then(lambda_level_filter) {
        return Targets::new().with_default(level);
    }
    let mut filter = Targets::new().with_default(LevelFilter::INFO);
    for directive in rust_log.unwrap_or_default().split(',').map(str::trim) {
        if directive.is_empty() || directive.contains('[') {
            continue;
        }
        let Ok(parsed) = directive.parse::<Targets>() else {
            continue;
        };
        if let Some(level) = parsed.default_level() {
            filter = filter.with_default(level);
        }
        filter = filter.with_targets(parsed.iter());
    }
    filter
}

fn lambda_level_filter(level: &str) -> Option<LevelFilter> {
    let level = level.trim().to_ascii_lowercase();
    match level.as_str() {
        "fatal" => Some(LevelFilter::ERROR),
        "" => None,
        other => other.parse().ok(),
    }
}

/// A [`Layer`] that writes every event as one JSON object per line, with the fields of the
/// enclosing spans as top-level keys and the durable fields renamed, in the shape of
/// Lambda's JSON log format:
///
/// ```json
/// {"timestamp":"2025-01-01T12:00:00.123456Z","level":"INFO","requestId":"8f5…",
///  "durableExecutionArn":"arn:aws:lambda:…","operationId":"1","operationName":"greet",
///  "attempt":1,"message":"charging card","target":"billing"}
/// ```
///
/// ```no_run
/// use tracing_subscriber::layer::SubscriberExt;
///
/// let subscriber = tracing_subscriber::registry().with(durable_tokio::JsonLogLayer::stdout());
/// tracing::subscriber::set_global_default(subscriber).ok();
/// ```
#[derive(Debug, Clone)]
pub struct JsonLogLayer<W = fn() -> std::io::Stdout> {
    make_writer: W,
    replay: crate::ReplayMode,
}

impl JsonLogLayer {
    /// Writes to standard output, where Lambda captures logs.
    pub fn stdout() -> Self {
        Self::with_writer(std::io::stdout)
    }
}

impl<W> JsonLogLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// Writes to writers made by `make_writer` (one per line).
    pub fn with_writer(make_writer: W) -> Self {
        Self {
            make_writer,
            replay: crate::ReplayMode::default(),
        }
    }

    /// What to do with events emitted while their durable context replays (default
    /// [`ReplayMode::Drop`](crate::ReplayMode::Drop): each line once per execution).
    pub fn replay_mode(mut self, mode: crate::ReplayMode) -> Self {
        self.replay = mode;
        self
    }
}

/// The fields a span was given, stored in its extensions (already renamed).
struct SpanFields(Fields);

impl<S, W> Layer<S> for JsonLogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Fields::new(span.name() == "durable_step");
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            values.record(fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let replayed = match self.replay {
            crate::ReplayMode::Keep => false,
            _ => crate::is_replaying_now() == Some(true),
        };
        if replayed && self.replay == crate::ReplayMode::Drop {
            return;
        }
        let mut line = Fields::new(false);
        let mut timestamp = String::new();
        if SystemTime
            .format_time(&mut Writer::new(&mut timestamp))
            .is_err()
        {
            timestamp.clear();
        }
        line.set("timestamp", Value::String(timestamp));
        line.set(
            "level",
            Value::String(level_name(event.metadata().level()).into()),
        );
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    line.merge(fields);
                }
            }
        }
        let mut own = Fields::new(false);
        event.record(&mut own);
        line.merge(&own);
        line.set_if_absent("message", Value::String(String::new()));
        line.set("target", Value::String(event.metadata().target().into()));
        if replayed {
            line.set("replayed", Value::Bool(true));
        }
        let mut text = line.to_json();
        text.push('\n');
        // One write per line, so lines of concurrent events do not interleave. A failed
        // write has nowhere to be reported.
        let _ = self.make_writer.make_writer().write_all(text.as_bytes());
    }
}

fn level_name(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => "INFO",
        Level::WARN => "WARN",
        Level::ERROR => "ERROR",
    }
}

/// An ordered set of JSON fields; setting an existing key replaces its value in place.
#[derive(Debug, Clone, Default)]
struct Fields {
    entries: Vec<(String, Value)>,
    /// Inside a `durable_step` span, `name` is the operation's name.
    step_span: bool,
}

/// Keys an event or span field cannot override.
const RESERVED: [&str; 2] = ["timestamp", "level"];

impl Fields {
    fn new(step_span: bool) -> Self {
        Self {
            entries: Vec::new(),
            step_span,
        }
    }

    fn key_for<'a>(&self, field: &'a str) -> &'a str {
        match field {
            "execution_arn" => EXECUTION_ARN_KEY,
            "operation_id" => "operationId",
            "name" if self.step_span => "operationName",
            other => other,
        }
    }

    fn set(&mut self, key: &str, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    fn set_if_absent(&mut self, key: &str, value: Value) {
        if !self.entries.iter().any(|(k, _)| k == key) {
            self.entries.push((key.to_owned(), value));
        }
    }

    fn merge(&mut self, other: &Fields) {
        for (key, value) in &other.entries {
            if !RESERVED.contains(&key.as_str()) {
                self.set(key, value.clone());
            }
        }
    }

    fn record(&mut self, field: &Field, value: Value) {
        let key = self.key_for(field.name()).to_owned();
        self.set(&key, value);
    }

    fn to_json(&self) -> String {
        let mut out = String::from("{");
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Serializing a string or a `Value` cannot fail.
            let _ = write!(
                out,
                "{}:{}",
                Value::String(key.clone()),
                serde_json::to_string(value).unwrap_or_else(|_| "null".into())
            );
        }
        out.push('}');
        out
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.record(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.record(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.record(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.record(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.record(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.record(field, Value::String(value.to_string()));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Buffer {
        fn lines(&self) -> Vec<serde_json::Map<String, Value>> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
                .collect()
        }
    }

    fn capture(f: impl FnOnce()) -> Vec<serde_json::Map<String, Value>> {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber =
            tracing_subscriber::registry().with(JsonLogLayer::with_writer(move || writer.clone()));
        tracing::subscriber::with_default(subscriber, f);
        buffer.lines()
    }

    #[test]
    fn durable_span_fields_become_top_level_keys() {
        let lines = capture(|| {
            let invocation = tracing::info_span!("Lambda runtime invoke", requestId = "req-1");
            let _i = invocation.enter();
            let durable = tracing::info_span!("durable_invocation", execution_arn = "arn:x:1");
            let _d = durable.enter();
            tracing::info!("outside any step");
            let step = tracing::info_span!(
                "durable_step",
                operation_id = "2",
                name = "greet",
                attempt = 3u32
            );
            let _s = step.enter();
            tracing::warn!(order = 7, "inside \"quoted\"");
        });
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["durableExecutionArn"], "arn:x:1");
        assert_eq!(lines[0]["requestId"], "req-1");
        assert_eq!(lines[0]["message"], "outside any step");
        assert_eq!(lines[0]["level"], "INFO");
        assert!(lines[0].get("operationId").is_none());
        assert_eq!(lines[1]["operationId"], "2");
        assert_eq!(lines[1]["operationName"], "greet");
        assert_eq!(lines[1]["attempt"], 3);
        assert_eq!(lines[1]["order"], 7);
        assert_eq!(lines[1]["level"], "WARN");
        assert_eq!(lines[1]["message"], "inside \"quoted\"");
        let keys: Vec<&str> = lines[1].keys().map(String::as_str).collect();
        assert!(
            keys.contains(&"timestamp") && keys.contains(&"target"),
            "{keys:?}"
        );
    }

    #[test]
    fn event_fields_win_but_not_over_timestamp_or_level() {
        let lines = capture(|| {
            let span = tracing::info_span!("durable_invocation", execution_arn = "arn:span");
            let _g = span.enter();
            tracing::error!(execution_arn = %"arn:event", level = "fake", "m");
        });
        assert_eq!(lines[0]["durableExecutionArn"], "arn:event");
        assert_eq!(lines[0]["level"], "ERROR");
        assert!(lines[0]["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn fields_recorded_later_are_seen() {
        let lines = capture(|| {
            let span = tracing::info_span!("work", phase = tracing::field::Empty);
            span.record("phase", "two");
            let _g = span.enter();
            tracing::info!("m");
        });
        assert_eq!(lines[0]["phase"], "two");
        // `name` is renamed only inside durable_step spans.
        let lines = capture(|| {
            let span = tracing::info_span!("other", name = "n");
            let _g = span.enter();
            tracing::info!("m");
        });
        assert_eq!(lines[0]["name"], "n");
    }

    #[test]
    fn lambda_level_wins_over_rust_log() {
        assert_eq!(lambda_level_filter("FATAL"), Some(LevelFilter::ERROR));
        assert_eq!(lambda_level_filter("Debug"), Some(LevelFilter::DEBUG));
        assert_eq!(lambda_level_filter("WARN"), Some(LevelFilter::WARN));
        assert_eq!(lambda_level_filter("nonsense"), None);
        let filter = filter_from_env(Some("WARN"), Some("trace"));
        assert_eq!(filter.default_level(), Some(LevelFilter::WARN));
        assert!(!filter.would_enable("my_fn", &Level::INFO));
        let filter = filter_from_env(None, Some("debug"));
        assert_eq!(filter.default_level(), Some(LevelFilter::DEBUG));
        let filter = filter_from_env(None, None);
        assert_eq!(filter.default_level(), Some(LevelFilter::INFO));
        assert!(!filter.would_enable("my_fn", &Level::DEBUG));
    }

    #[test]
    fn rust_log_directives_by_target() {
        let filter = filter_from_env(None, Some("WARN, my_fn=debug,aws_config=off"));
        assert_eq!(filter.default_level(), Some(LevelFilter::WARN));
        assert!(!filter.would_enable("hyper", &Level::INFO));
        assert!(filter.would_enable("my_fn::billing", &Level::DEBUG));
        assert!(!filter.would_enable("my_fn::billing", &Level::TRACE));
        assert!(!filter.would_enable("aws_config::imds", &Level::ERROR));
        // A bare target enables everything it logs.
        let filter = filter_from_env(None, Some("my_fn"));
        assert!(filter.would_enable("my_fn", &Level::TRACE));
        assert!(filter.would_enable("other", &Level::INFO));
        assert!(!filter.would_enable("other", &Level::DEBUG));
        // Span and field filters, and what does not parse, are skipped; the rest applies.
        let filter = filter_from_env(None, Some("[request]=trace,a=b=c,x[{id}]=debug,,error"));
        assert_eq!(filter.default_level(), Some(LevelFilter::ERROR));
        assert_eq!(filter.iter().count(), 0);
        assert_eq!(
            filter_from_env(None, Some("off")).default_level(),
            Some(LevelFilter::OFF)
        );
    }
}
