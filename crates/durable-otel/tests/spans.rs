//! The span tree of a workflow with a retried step and a wait, across three invocations,
//! through an in-memory exporter.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use durable_local::LocalRunner;
use durable_otel::{OtelPlugin, EXECUTION_ARN};
use durable_proto::{Jitter, RetryPolicy};
use durable_tokio::{DurableContext, DurableError, StepError};
use opentelemetry::trace::{SpanId, Status, TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

/// `name` of each span, indented under its parent, in start order.
fn tree(spans: &[SpanData]) -> Vec<String> {
    let by_id: HashMap<SpanId, &SpanData> = spans
        .iter()
        .map(|s| (s.span_context.span_id(), s))
        .collect();
    let depth = |s: &SpanData| {
        let mut d = 0;
        let mut parent = s.parent_span_id;
        while let Some(p) = by_id.get(&parent) {
            d += 1;
            parent = p.parent_span_id;
        }
        d
    };
    let mut ordered: Vec<&SpanData> = spans.iter().collect();
    ordered.sort_by_key(|s| s.start_time);
    ordered
        .iter()
        .map(|s| format!("{}{}", "  ".repeat(depth(s)), s.name))
        .collect()
}

fn once_a_second() -> RetryPolicy {
    let s = Duration::from_secs(1);
    RetryPolicy::try_linear(2, s, Duration::ZERO, s)
        .unwrap()
        .with_jitter(Jitter::None)
}

#[tokio::test]
async fn spans_of_invocations_operations_and_attempts_form_the_expected_tree() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let plugin = Arc::new(OtelPlugin::new(provider.tracer("test")));
    let mut runner = LocalRunner::builder().shared_plugin(plugin).build();
    runner.register("workflow", |_: (), ctx: DurableContext| async move {
        ctx.step("flaky", |s| async move {
            if s.attempt() == 1 {
                Err(StepError::msg("first attempt fails"))
            } else {
                Ok(s.attempt())
            }
        })
        .retry(once_a_second())
        .await?;
        ctx.wait("nap", Duration::from_secs(5)).await?;
        ctx.run_in_child_context("group", |c| async move {
            c.step("after", |_| async { Ok(1u8) }).await
        })
        .await?;
        Ok::<_, DurableError>(())
    });
    let execution = runner.run("workflow", ()).await.unwrap();
    assert_eq!(execution.invocation_count(), 3);

    let spans = exporter.get_finished_spans().unwrap();
    assert_eq!(
        tree(&spans),
        [
            // Invocation 1: attempt 1 fails; the step blocks on its retry.
            "durable.invocation",
            "  Step flaky",
            "    attempt 1",
            // Invocation 2: attempt 2 succeeds; the wait blocks.
            "durable.invocation",
            "  Step flaky",
            "    attempt 2",
            "  Wait nap",
            // Invocation 3: the step and the wait replay (no spans); the child context runs.
            "durable.invocation",
            "  RunInChildContext group",
            "    Step after",
            "      attempt 1",
        ]
    );
    for span in &spans {
        assert_eq!(
            attribute(span, EXECUTION_ARN).as_deref(),
            Some(execution.arn()),
            "{}",
            span.name
        );
    }
    let outcome = |name: &str, nth: usize| {
        let span = spans.iter().filter(|s| s.name == name).nth(nth).unwrap();
        (attribute(span, "durable.outcome"), span.status.clone())
    };
    assert_eq!(
        outcome("attempt 1", 0),
        (Some("FAILED".into()), Status::error("FAILED"))
    );
    assert_eq!(outcome("Step flaky", 0).0.as_deref(), Some("blocked"));
    assert_eq!(outcome("Step flaky", 1).0.as_deref(), Some("SUCCEEDED"));
    assert_eq!(outcome("Wait nap", 0).0.as_deref(), Some("blocked"));
    assert_eq!(
        outcome("durable.invocation", 0).0.as_deref(),
        Some("PENDING")
    );
    assert_eq!(
        outcome("durable.invocation", 2).0.as_deref(),
        Some("SUCCEEDED")
    );
    let retried = spans.iter().find(|s| s.name == "attempt 1").unwrap();
    assert_eq!(
        attribute(retried, "durable.retry_after_seconds").as_deref(),
        Some("1")
    );
}
