//! A readable account of an execution on its (virtual) time axis: invocations, step attempts,
//! retry delays, waits, callbacks, contexts and chained invokes.
//!
//! [`Timeline`] holds the data (for tests); its `Display` renders fixed-width columns with
//! times relative to the execution's start (`+5s`, `+1d 2h`).

use std::collections::HashMap;
use std::fmt::{self, Write as _};

use durable_proto::{ErrorObject, Timestamp};
use serde::{Deserialize, Serialize};

use crate::history::{EventDetails, HistoryEvent};
use crate::service::{ExecutionRecord, ExecutionStatus, InvocationResult};

/// What a timeline entry shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum EntryKind {
    /// One invocation of the handler.
    Invocation,
    /// One attempt of a step.
    Step,
    /// The delay between a failed step attempt and the next.
    Retry,
    /// A durable wait.
    Wait,
    /// A callback, from creation to completion.
    Callback,
    /// A child context.
    Context,
    /// A chained invoke.
    ChainedInvoke,
}

impl EntryKind {
    /// A short lowercase label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invocation => "invocation",
            Self::Step => "step",
            Self::Retry => "retry",
            Self::Wait => "wait",
            Self::Callback => "callback",
            Self::Context => "context",
            Self::ChainedInvoke => "invoke",
        }
    }
}

/// One row of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// What the row shows.
    pub kind: EntryKind,
    /// The operation's name (or id), or `#n` for an invocation; step attempts add
    /// ` (attempt n)`.
    pub label: String,
    /// The operation id (`None` for invocations).
    pub operation_id: Option<String>,
    /// Nesting depth (0 at the root, +1 per enclosing context).
    pub depth: usize,
    /// Start, in milliseconds after the execution started.
    pub start_ms: i64,
    /// End, in milliseconds after the execution started; `None` while still open.
    pub end_ms: Option<i64>,
    /// How it ended: `SUCCEEDED`, `FAILED`, `PENDING`, `retry in 5s`, `running`, …
    pub outcome: String,
}

impl TimelineEntry {
    /// The entry's length in milliseconds, if it ended.
    pub fn duration_ms(&self) -> Option<i64> {
        self.end_ms.map(|end| end - self.start_ms)
    }
}

/// An execution's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    /// The execution's name.
    pub execution_name: String,
    /// The function it runs.
    pub function_name: String,
    /// Its status.
    pub status: ExecutionStatus,
    /// When it started (absolute).
    pub start: Timestamp,
    /// How long it took (or has run so far), in milliseconds.
    pub elapsed_ms: i64,
    /// Number of invocations.
    pub invocation_count: u32,
    /// Number of checkpoint calls that reached the service.
    pub checkpoint_calls: u64,
    /// The rows, ordered by start time.
    pub entries: Vec<TimelineEntry>,
}

impl Timeline {
    /// Builds the timeline of `record` as of `now`.
    pub fn of(record: &ExecutionRecord, now: Timestamp) -> Self {
        let origin = record.start_timestamp().as_millis();
        let rel = |t: Timestamp| t.as_millis() - origin;
        let mut entries: Vec<TimelineEntry> = record
            .invocations()
            .iter()
            .map(|inv| TimelineEntry {
                kind: EntryKind::Invocation,
                label: format!("#{}", inv.number),
                operation_id: None,
                depth: 0,
                start_ms: rel(inv.start),
                end_ms: inv.end.map(rel),
                outcome: match (inv.result, &inv.error) {
                    (Some(InvocationResult::Errored), Some(e)) => format!("ERROR {}", brief(e)),
                    (Some(r), _) => invocation_result(r).to_owned(),
                    (None, _) => "running".to_owned(),
                },
            })
            .collect();
        entries.extend(operation_entries(record, origin));
        // By start; at the same instant invocations first, then operations in creation
        // order (a context before its children).
        entries.sort_by_key(|e| {
            let rank = e
                .operation_id
                .as_deref()
                .and_then(|id| record.operations.position(id))
                .map_or(0, |i| i + 1);
            (e.start_ms, rank)
        });
        let end = record.end_timestamp().unwrap_or(now);
        Self {
            execution_name: record.execution_name().to_owned(),
            function_name: record.function_name().to_owned(),
            status: record.status(),
            start: record.start_timestamp(),
            elapsed_ms: end.as_millis() - origin,
            invocation_count: record.invocation_count(),
            checkpoint_calls: record.checkpoint_call_count(),
            entries,
        }
    }

    /// Rows of one kind.
    pub fn entries_of(&self, kind: EntryKind) -> impl Iterator<Item = &TimelineEntry> {
        self.entries.iter().filter(move |e| e.kind == kind)
    }

    /// The rendering `Display` produces.
    pub fn render(&self) -> String {
        self.to_string()
    }
}

fn invocation_result(result: InvocationResult) -> &'static str {
    match result {
        InvocationResult::Succeeded => "SUCCEEDED",
        InvocationResult::Failed => "FAILED",
        InvocationResult::Pending => "PENDING",
        InvocationResult::Errored => "ERROR",
    }
}

fn brief(error: &ErrorObject) -> String {
    let text = error.to_string();
    if text.chars().count() > 60 {
        text.chars().take(59).collect::<String>() + "…"
    } else {
        text
    }
}

/// An operation event that opened an entry and has not been closed yet.
struct Open {
    kind: EntryKind,
    start: i64,
}

fn operation_entries(record: &ExecutionRecord, origin: i64) -> Vec<TimelineEntry> {
    let depth_of = depths(record);
    let mut open: HashMap<String, Open> = HashMap::new();
    let mut attempts: HashMap<String, u32> = HashMap::new();
    let mut entries = Vec::new();
    for event in record.events() {
        let Some(id) = event.id.clone() else { continue };
        let t = event.event_timestamp.as_millis() - origin;
        let label = event.name.clone().unwrap_or_else(|| id.clone());
        let entry = |kind, label: String, start, end: Option<i64>, outcome: String| TimelineEntry {
            kind,
            label,
            operation_id: Some(id.clone()),
            depth: depth_of.get(id.as_str()).copied().unwrap_or(0),
            start_ms: start,
            end_ms: end,
            outcome,
        };
        let opened = |kind| Open { kind, start: t };
        match &event.details {
            EventDetails::StepStarted(_) => {
                open.insert(id.clone(), opened(EntryKind::Step));
            }
            EventDetails::WaitStarted(_) => {
                open.insert(id.clone(), opened(EntryKind::Wait));
            }
            EventDetails::CallbackStarted(_) => {
                open.insert(id.clone(), opened(EntryKind::Callback));
            }
            EventDetails::ContextStarted(_) => {
                open.insert(id.clone(), opened(EntryKind::Context));
            }
            EventDetails::ChainedInvokeStarted(_) => {
                open.insert(id.clone(), opened(EntryKind::ChainedInvoke));
            }
            EventDetails::StepSucceeded(_) | EventDetails::StepFailed(_) => {
                let start = open.remove(&id).map_or(t, |o| o.start);
                let done = attempts.entry(id.clone()).or_insert(0);
                *done += 1;
                let attempt = event.retry_details().map_or(*done, |r| r.current_attempt);
                let retry = event
                    .retry_details()
                    .and_then(|r| r.next_attempt_delay_seconds);
                let outcome = step_outcome(event, retry.is_some());
                let step_label = format!("{label} (attempt {attempt})");
                entries.push(entry(EntryKind::Step, step_label, start, Some(t), outcome));
                if let Some(delay) = retry {
                    let end = t + i64::from(delay) * 1000;
                    let outcome = format!("retry in {}", format_duration(i64::from(delay) * 1000));
                    entries.push(entry(EntryKind::Retry, label, t, Some(end), outcome));
                }
            }
            details => {
                let Some(kind) = closing_kind(details) else {
                    continue;
                };
                let start = open.remove(&id).map_or(t, |o| o.start);
                let outcome = closing_outcome(event);
                entries.push(entry(kind, label, start, Some(t), outcome));
            }
        }
    }
    for (id, o) in open {
        let op = record.operation(&id);
        let label = op
            .and_then(|op| op.name.clone())
            .unwrap_or_else(|| id.clone());
        let outcome = match o.kind {
            EntryKind::Wait | EntryKind::Callback | EntryKind::ChainedInvoke => "waiting",
            _ => "running",
        };
        entries.push(TimelineEntry {
            kind: o.kind,
            label,
            depth: depth_of.get(id.as_str()).copied().unwrap_or(0),
            operation_id: Some(id),
            start_ms: o.start,
            end_ms: None,
            outcome: outcome.to_owned(),
        });
    }
    entries
}

fn depths(record: &ExecutionRecord) -> HashMap<&str, usize> {
    let mut depth: HashMap<&str, usize> = HashMap::new();
    for op in record.operations() {
        let d = op
            .parent_id
            .as_deref()
            .and_then(|p| depth.get(p))
            .map_or(0, |d| d + 1);
        depth.insert(&op.id, d);
    }
    depth
}

fn step_outcome(event: &HistoryEvent, retried: bool) -> String {
    let error = event.error().map(brief);
    match (&event.details, error) {
        (EventDetails::StepSucceeded(_), _) if retried => "CONTINUE".to_owned(),
        (EventDetails::StepSucceeded(_), _) => "SUCCEEDED".to_owned(),
        (_, Some(e)) => format!("FAILED {e}"),
        _ => "FAILED".to_owned(),
    }
}

fn closing_kind(details: &EventDetails) -> Option<EntryKind> {
    Some(match details {
        EventDetails::WaitSucceeded(_) | EventDetails::WaitCancelled(_) => EntryKind::Wait,
        EventDetails::CallbackSucceeded(_)
        | EventDetails::CallbackFailed(_)
        | EventDetails::CallbackTimedOut(_) => EntryKind::Callback,
        EventDetails::ContextSucceeded(_) | EventDetails::ContextFailed(_) => EntryKind::Context,
        EventDetails::ChainedInvokeSucceeded(_)
        | EventDetails::ChainedInvokeFailed(_)
        | EventDetails::ChainedInvokeTimedOut(_)
        | EventDetails::ChainedInvokeStopped(_) => EntryKind::ChainedInvoke,
        _ => return None,
    })
}

fn closing_outcome(event: &HistoryEvent) -> String {
    let word = match &event.details {
        EventDetails::WaitSucceeded(_)
        | EventDetails::CallbackSucceeded(_)
        | EventDetails::ContextSucceeded(_)
        | EventDetails::ChainedInvokeSucceeded(_) => "SUCCEEDED",
        EventDetails::WaitCancelled(_) => "CANCELLED",
        EventDetails::CallbackTimedOut(_) | EventDetails::ChainedInvokeTimedOut(_) => "TIMED_OUT",
        EventDetails::ChainedInvokeStopped(_) => "STOPPED",
        _ => "FAILED",
    };
    match event.error() {
        Some(e) => format!("{word} {}", brief(e)),
        None => word.to_owned(),
    }
}

/// A duration in milliseconds, two units at most: `0s`, `250ms`, `1.5s`, `42s`, `5m 3s`,
/// `2h 5m`, `1d 2h`.
pub fn format_duration(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    const S: u64 = 1000;
    const M: u64 = 60 * S;
    const H: u64 = 60 * M;
    const D: u64 = 24 * H;
    let two = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{sign}{big}{big_unit}")
        } else {
            format!("{sign}{big}{big_unit} {small}{small_unit}")
        }
    };
    match ms {
        0 => "0s".to_owned(),
        ms if ms < S => format!("{sign}{ms}ms"),
        ms if ms < M && ms % S == 0 => format!("{sign}{}s", ms / S),
        ms if ms < 10 * S => format!("{sign}{}.{}s", ms / S, (ms % S) / 100),
        ms if ms < M => format!("{sign}{}s", ms / S),
        ms if ms < H => two(ms / M, "m", (ms % M) / S, "s"),
        ms if ms < D => two(ms / H, "h", (ms % H) / M, "m"),
        ms => two(ms / D, "d", (ms % D) / H, "h"),
    }
}

/// A time relative to the execution's start: `+0s`, `+5s`, `+1d 2h`.
pub fn format_offset(ms: i64) -> String {
    if ms < 0 {
        format_duration(ms)
    } else {
        format!("+{}", format_duration(ms))
    }
}

const NAME_WIDTH: usize = 32;

fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        format!("{text:<width$}")
    } else {
        text.chars().take(width - 1).collect::<String>() + "…"
    }
}

impl fmt::Display for Timeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "execution {} of {}: {} after {} ({} invocation{}, {} checkpoint call{})",
            self.execution_name,
            self.function_name,
            self.status,
            format_duration(self.elapsed_ms),
            self.invocation_count,
            if self.invocation_count == 1 { "" } else { "s" },
            self.checkpoint_calls,
            if self.checkpoint_calls == 1 { "" } else { "s" },
        )?;
        writeln!(
            f,
            "{:<9} {:<9} {:<9} {:<10} {} OUTCOME",
            "START",
            "END",
            "DURATION",
            "KIND",
            fit("NAME", NAME_WIDTH),
        )?;
        for e in &self.entries {
            let mut name = "  ".repeat(e.depth);
            name.push_str(&e.label);
            let mut line = String::new();
            let _ = write!(
                line,
                "{:<9} {:<9} {:<9} {:<10} {} {}",
                format_offset(e.start_ms),
                e.end_ms.map_or_else(|| "…".to_owned(), format_offset),
                e.duration_ms().map_or_else(String::new, format_duration),
                e.kind.as_str(),
                fit(&name, NAME_WIDTH),
                e.outcome
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        let cases = [
            (0, "0s"),
            (250, "250ms"),
            (1_500, "1.5s"),
            (5_000, "5s"),
            (42_000, "42s"),
            (60_000, "1m"),
            (303_000, "5m 3s"),
            (3_600_000, "1h"),
            (7_500_000, "2h 5m"),
            (86_400_000, "1d"),
            (93_600_000, "1d 2h"),
            (-5_000, "-5s"),
        ];
        for (ms, text) in cases {
            assert_eq!(format_duration(ms), text, "{ms}");
        }
        assert_eq!(format_offset(93_600_000), "+1d 2h");
        assert_eq!(format_offset(0), "+0s");
    }

    #[test]
    fn long_names_are_cut_to_the_column() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdefgh", 5).chars().count(), 5);
    }
}
