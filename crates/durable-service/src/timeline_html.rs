//! A picture of an execution: one self-contained HTML file (inline style and script, no
//! network) with a lane per operation, nested under its context, and bars for step attempts,
//! retry back-offs, waits, callbacks, contexts and chained invokes on the (virtual) time
//! axis; the top lane holds the invocations, with marks where one crashed or failed.
//! Details (attempts, outcomes, errors, payload sizes) show on hover.
//!
//! Virtual time spans milliseconds and days in one execution, so the axis is compressed:
//! every instant where something starts or ends gets a tick, and the space between two ticks
//! grows with the logarithm of the gap, so a one-second step stays visible next to a
//! one-day wait. Tick labels give the real offsets.

use serde_json::{json, Value};

use durable_proto::{OperationType, Timestamp};

use crate::service::ExecutionRecord;
use crate::timeline::{format_duration, format_offset, EntryKind, Timeline, TimelineEntry};

/// The error types that mean the runtime process died during an invocation.
const CRASH_ERROR_TYPES: [&str; 2] = ["Runtime.ExitError", "Runtime.HandlerPanic"];

/// The HTML page of `record`'s timeline as of `now` (see the module documentation).
pub fn timeline_html(record: &ExecutionRecord, now: Timestamp) -> String {
    let timeline = Timeline::of(record, now);
    let data = page_data(record, &timeline);
    // `<` only occurs inside JSON strings, where `\u003c` means the same, so the data can
    // never close the script element.
    let data = data.to_string().replace('<', "\\u003c");
    let title = escape(&format!(
        "{} — {} ({})",
        timeline.function_name, timeline.execution_name, timeline.status
    ));
    TEMPLATE
        .replace("{{TITLE}}", &title)
        .replace("{{DATA}}", &data)
}

/// The axis: each distinct instant's position in percent of the width.
struct Axis {
    points: Vec<(i64, f64)>,
}

impl Axis {
    fn new(mut instants: Vec<i64>) -> Self {
        instants.push(0);
        instants.sort_unstable();
        instants.dedup();
        let mut raw = Vec::with_capacity(instants.len());
        let mut x = 0.0_f64;
        let mut previous = instants[0];
        for &t in &instants {
            let gap = (t - previous).max(0) as f64;
            if gap > 0.0 {
                x += 1.0 + (1.0 + gap / 100.0).log10();
            }
            raw.push((t, x));
            previous = t;
        }
        let width = x.max(1.0);
        let points = raw
            .into_iter()
            .map(|(t, x)| (t, x * 100.0 / width))
            .collect();
        Self { points }
    }

    fn x(&self, t: i64) -> f64 {
        match self.points.binary_search_by_key(&t, |&(at, _)| at) {
            Ok(i) => self.points[i].1,
            Err(0) => 0.0,
            Err(i) if i >= self.points.len() => 100.0,
            Err(i) => {
                let (t0, x0) = self.points[i - 1];
                let (t1, x1) = self.points[i];
                x0 + (x1 - x0) * (t - t0) as f64 / (t1 - t0) as f64
            }
        }
    }
}

fn page_data(record: &ExecutionRecord, timeline: &Timeline) -> Value {
    let end_of = |e: &TimelineEntry| e.end_ms.unwrap_or(timeline.elapsed_ms);
    let mut instants: Vec<i64> = timeline
        .entries
        .iter()
        .flat_map(|e| [e.start_ms, end_of(e)])
        .collect();
    instants.push(timeline.elapsed_ms);
    let axis = Axis::new(instants);
    let bar = |e: &TimelineEntry, tip: String| {
        json!({
            "kind": e.kind.as_str(),
            "x0": axis.x(e.start_ms),
            "x1": axis.x(end_of(e)),
            "open": e.end_ms.is_none(),
            "label": e.label,
            "tip": tip,
        })
    };
    let span = |e: &TimelineEntry| {
        let duration = format_duration(end_of(e) - e.start_ms);
        let end = e.end_ms.map_or("now".to_owned(), format_offset);
        format!("{} → {} ({duration})", format_offset(e.start_ms), end)
    };

    let mut invocation_bars = Vec::new();
    let mut marks = Vec::new();
    for (entry, invocation) in timeline
        .entries_of(EntryKind::Invocation)
        .zip(record.invocations())
    {
        let mut tip = format!(
            "invocation {}\n{}\n{}\nrequest {}",
            entry.label,
            span(entry),
            entry.outcome,
            invocation.request_id
        );
        if !invocation.updated_operation_ids.is_empty() {
            tip.push_str(&format!(
                "\nwoken by {} operation(s)",
                invocation.updated_operation_ids.len()
            ));
        }
        invocation_bars.push(bar(entry, tip));
        if let Some(error) = &invocation.error {
            let error_type = error.error_type.as_deref().unwrap_or("Error");
            let crashed = CRASH_ERROR_TYPES.contains(&error_type);
            marks.push(json!({
                "kind": if crashed { "crash" } else { "error" },
                "x": axis.x(end_of(entry)),
                "tip": format!(
                    "{} at {}: {error}",
                    if crashed { "process crashed" } else { "invocation failed" },
                    format_offset(end_of(entry))
                ),
            }));
        }
    }
    let mut lanes = vec![json!({
        "id": "invocations",
        "label": "invocations",
        "depth": 0,
        "bars": invocation_bars,
    })];
    for op in record.operations() {
        if op.operation_type == OperationType::Execution {
            continue;
        }
        let depth = timeline
            .entries
            .iter()
            .find(|e| e.operation_id.as_deref() == Some(op.id.as_str()))
            .map_or(0, |e| e.depth);
        let size = payload_size(op);
        let bars: Vec<Value> = timeline
            .entries
            .iter()
            .filter(|e| e.operation_id.as_deref() == Some(op.id.as_str()))
            .map(|e| {
                let mut tip = format!(
                    "{} {}\n{}\n{}",
                    e.kind.as_str(),
                    e.label,
                    span(e),
                    e.outcome
                );
                if let (Some(bytes), false) = (size, e.kind == EntryKind::Retry) {
                    tip.push_str(&format!("\nresult: {bytes} bytes"));
                }
                bar(e, tip)
            })
            .collect();
        lanes.push(json!({
            "id": op.id,
            "label": op.name.clone().unwrap_or_else(|| op.id.clone()),
            "type": format!("{:?}", op.operation_type).to_lowercase(),
            "depth": depth,
            "bars": bars,
        }));
    }
    let ticks: Vec<Value> = axis
        .points
        .iter()
        .map(|&(t, x)| json!({ "x": x, "label": format_offset(t) }))
        .collect();
    json!({
        "function": timeline.function_name,
        "execution": timeline.execution_name,
        "status": timeline.status.as_str(),
        "elapsed": format_duration(timeline.elapsed_ms),
        "invocations": timeline.invocation_count,
        "checkpoints": timeline.checkpoint_calls,
        "ticks": ticks,
        "lanes": lanes,
        "marks": marks,
    })
}

fn payload_size(op: &durable_proto::Operation) -> Option<usize> {
    let text = op
        .step_details
        .as_ref()
        .and_then(|d| d.result.as_ref())
        .or_else(|| op.context_details.as_ref().and_then(|d| d.result.as_ref()))
        .or_else(|| op.callback_details.as_ref().and_then(|d| d.result.as_ref()))
        .or_else(|| {
            op.chained_invoke_details
                .as_ref()
                .and_then(|d| d.result.as_ref())
        })?;
    Some(text.len())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const TEMPLATE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{TITLE}}</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 16px; color: #222; }
  h1 { font-size: 16px; margin: 0 0 4px; }
  .summary { color: #555; margin-bottom: 12px; }
  #chart { border-top: 1px solid #ddd; }
  .lane { display: flex; align-items: center; border-bottom: 1px solid #eee; height: 24px; }
  .lane-label { width: 220px; flex: none; overflow: hidden; white-space: nowrap;
                text-overflow: ellipsis; padding-right: 8px; }
  .track { position: relative; flex: 1; height: 16px; }
  .bar { position: absolute; top: 2px; height: 12px; min-width: 3px; border-radius: 2px;
         cursor: default; }
  .bar.open { opacity: .5; }
  .kind-invocation { background: #7a8ca3; }
  .kind-step { background: #3c8d5a; }
  .kind-retry { background: repeating-linear-gradient(45deg, #e3a33b, #e3a33b 4px,
                #f4d7a1 4px, #f4d7a1 8px); }
  .kind-wait { background: #9bb7d9; }
  .kind-callback { background: #b48ad6; }
  .kind-context { background: #d8d8d8; top: 0; height: 16px; }
  .kind-invoke { background: #d98c8c; }
  .failed { outline: 2px solid #c0392b; }
  .mark { position: absolute; top: -2px; width: 0; height: 20px; border-left: 2px solid #c0392b; }
  .mark.crash::after { content: "✕"; position: absolute; left: -5px; top: -12px;
                       color: #c0392b; font-weight: bold; }
  .axis { position: relative; height: 28px; margin-left: 220px; }
  .tick { position: absolute; top: 4px; font-size: 10px; color: #666;
          transform: translateX(-50%); white-space: nowrap; }
  .tick::before { content: ""; position: absolute; left: 50%; top: -4px; height: 4px;
                  border-left: 1px solid #999; }
  #detail { white-space: pre; background: #f6f6f6; border: 1px solid #ddd; padding: 6px;
            margin-top: 12px; min-height: 3em; font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<h1 id="title"></h1>
<div class="summary" id="summary"></div>
<div id="chart"></div>
<div class="axis" id="axis"></div>
<div id="detail">Hover over a bar for its details.</div>
<script id="timeline-data" type="application/json">{{DATA}}</script>
<script>
(function () {
  var data = JSON.parse(document.getElementById("timeline-data").textContent);
  var el = function (tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  };
  var detail = document.getElementById("detail");
  var hover = function (node, tip) {
    node.title = tip;
    node.addEventListener("mouseenter", function () { detail.textContent = tip; });
  };
  document.getElementById("title").textContent = data["function"] + " — " + data.execution;
  document.getElementById("summary").textContent = data.status + " after " + data.elapsed +
    " · " + data.invocations + " invocations · " + data.checkpoints + " checkpoint calls";
  var chart = document.getElementById("chart");
  data.lanes.forEach(function (lane) {
    var row = el("div", "lane");
    row.dataset.lane = lane.id;
    var label = el("div", "lane-label", lane.label);
    label.style.paddingLeft = (lane.depth * 14) + "px";
    row.appendChild(label);
    var track = el("div", "track");
    lane.bars.forEach(function (b) {
      var bar = el("div", "bar kind-" + b.kind + (b.open ? " open" : ""));
      if (/FAILED|ERROR|TIMED_OUT/.test(b.tip)) bar.className += " failed";
      bar.style.left = b.x0 + "%";
      bar.style.width = Math.max(b.x1 - b.x0, 0) + "%";
      bar.dataset.kind = b.kind;
      hover(bar, b.tip);
      track.appendChild(bar);
    });
    if (lane.id === "invocations") {
      data.marks.forEach(function (m) {
        var mark = el("div", "mark " + m.kind);
        mark.style.left = m.x + "%";
        mark.dataset.kind = m.kind;
        hover(mark, m.tip);
        track.appendChild(mark);
      });
    }
    row.appendChild(track);
    chart.appendChild(row);
  });
  var axis = document.getElementById("axis");
  var last = -100;
  data.ticks.forEach(function (t) {
    if (t.x - last < 4) return;
    var tick = el("div", "tick", t.label);
    tick.style.left = t.x + "%";
    axis.appendChild(tick);
    last = t.x;
  });
  document.body.dataset.rendered = "true";
})();
</script>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_keeps_short_spans_visible_next_to_long_ones() {
        let axis = Axis::new(vec![1_000, 86_401_000]);
        let one_second = axis.x(1_000);
        assert!(one_second > 5.0, "{one_second}");
        assert!((axis.x(86_401_000) - 100.0).abs() < 1e-9);
        assert!(axis.x(43_000_000) > one_second && axis.x(43_000_000) < 100.0);
        assert_eq!(axis.x(-5), 0.0);
    }

    #[test]
    fn text_is_escaped_for_html() {
        assert_eq!(
            escape(r#"<a href="x">&"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;"
        );
    }
}
