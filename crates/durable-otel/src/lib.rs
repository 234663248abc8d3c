//! OpenTelemetry spans for AWS Lambda durable functions.
//!
//! [`OtelPlugin`] is a `durable_tokio::Plugin` (the blocking driver takes the same plugins)
//! that turns the SDK's instrumentation hooks into spans through the `opentelemetry` API:
//!
//! * one span per invocation (`durable.invocation`), a child of the OpenTelemetry context
//!   current when the invocation starts;
//! * under it, one span per operation that runs in this invocation (`Step charge`,
//!   `Wait nap`, `Map items`, …), nested under the span of its enclosing child context when
//!   that context runs in the same invocation. Replayed operations get no span: their work
//!   was traced by the invocation that did it. An operation that blocks (a wait, a scheduled
//!   retry) ends its span with `durable.outcome = "blocked"`; the invocation that finishes it
//!   has a span of its own for it;
//! * under an operation, one span per attempt (`attempt 2`), with an error status when the
//!   attempt failed and `durable.retry_after_seconds` when it is retried.
//!
//! Every span carries `durable.execution_arn`, so one execution's spans can be found across
//! its invocations; operation and attempt spans carry `durable.operation.id`, `.type`,
//! `.sub_type`, `.name` and `durable.attempt`.
//!
//! ```
//! use durable_otel::OtelPlugin;
//! // With the globally installed tracer provider:
//! let options = durable_tokio::Options::default().plugin(OtelPlugin::global());
//! # let _ = options;
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use durable_tokio::proto::OperationStatus;
use durable_tokio::{
    AttemptOutcome, HookResult, InvocationEnd, InvocationInfo, OperationChange, OperationInfo,
    Plugin,
};
use opentelemetry::global::BoxedTracer;
use opentelemetry::trace::{Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

/// The attribute every span carries: the durable execution's ARN.
pub const EXECUTION_ARN: &str = "durable.execution_arn";

/// A plugin that records the invocation, its operations and their attempts as spans.
pub struct OtelPlugin<T = BoxedTracer> {
    tracer: T,
    /// Open spans per execution (a local runner may run several executions at once).
    open: Mutex<HashMap<String, Open>>,
}

impl<T> std::fmt::Debug for OtelPlugin<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtelPlugin").finish_non_exhaustive()
    }
}

/// The spans of one invocation still open.
#[derive(Default)]
struct Open {
    invocation: Option<Context>,
    operations: HashMap<String, Context>,
    attempts: HashMap<String, Context>,
}

impl OtelPlugin<BoxedTracer> {
    /// Spans through the globally installed tracer provider (`opentelemetry::global`).
    pub fn global() -> Self {
        Self::new(opentelemetry::global::tracer("durable-lambda"))
    }
}

impl<T> OtelPlugin<T>
where
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    /// Spans through `tracer`.
    pub fn new(tracer: T) -> Self {
        Self {
            tracer,
            open: Mutex::new(HashMap::new()),
        }
    }

    fn with_open<R>(&self, arn: &str, f: impl FnOnce(&mut Open) -> R) -> R {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        f(open.entry(arn.to_owned()).or_default())
    }

    fn start(&self, name: String, parent: &Context, attributes: Vec<KeyValue>) -> Context {
        let span = self
            .tracer
            .span_builder(name)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, parent);
        parent.with_span(span)
    }
}

fn operation_attributes(op: &OperationInfo) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(EXECUTION_ARN, op.execution_arn.to_string()),
        KeyValue::new("durable.operation.id", op.id.clone()),
        KeyValue::new("durable.operation.type", op.operation_type.to_string()),
        KeyValue::new("durable.operation.sub_type", op.sub_type),
    ];
    if let Some(name) = &op.name {
        attributes.push(KeyValue::new("durable.operation.name", name.clone()));
    }
    attributes
}

fn end(cx: &Context, outcome: &str, failed: bool) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("durable.outcome", outcome.to_owned()));
    if failed {
        span.set_status(Status::error(outcome.to_owned()));
    }
    span.end();
}

impl<T> Plugin for OtelPlugin<T>
where
    T: Tracer + Send + Sync + 'static,
    T::Span: Send + Sync + 'static,
{
    fn on_invocation_start(&self, invocation: &InvocationInfo) -> HookResult {
        let mut attributes = vec![
            KeyValue::new(EXECUTION_ARN, invocation.execution_arn.clone()),
            KeyValue::new("durable.first_invocation", invocation.first_invocation),
        ];
        if let Some(id) = &invocation.request_id {
            attributes.push(KeyValue::new("faas.invocation_id", id.clone()));
        }
        let cx = self.start(
            "durable.invocation".to_owned(),
            &Context::current(),
            attributes,
        );
        self.with_open(&invocation.execution_arn, |open| {
            *open = Open {
                invocation: Some(cx),
                ..Open::default()
            };
        });
        Ok(())
    }

    fn on_invocation_end(&self, invocation: &InvocationInfo, end_as: InvocationEnd) -> HookResult {
        let open = self
            .open
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&invocation.execution_arn);
        let Some(open) = open else {
            return Ok(());
        };
        // Whatever is still open ends with the invocation.
        for cx in open.attempts.values().chain(open.operations.values()) {
            end(cx, "unfinished", false);
        }
        if let Some(cx) = open.invocation {
            let failed = matches!(
                end_as,
                InvocationEnd::Failed | InvocationEnd::InvocationFailed
            );
            end(&cx, end_as.as_str(), failed);
        }
        Ok(())
    }

    fn on_operation_start(&self, op: &OperationInfo) -> HookResult {
        if op.replayed {
            return Ok(());
        }
        let name = format!("{} {}", op.sub_type, op.name.as_deref().unwrap_or(&op.id));
        self.with_open(&op.execution_arn, |open| {
            let parent = op
                .parent_id
                .as_ref()
                .and_then(|p| open.operations.get(p))
                .or(open.invocation.as_ref())
                .cloned()
                .unwrap_or_else(Context::current);
            let cx = self.start(name, &parent, operation_attributes(op));
            open.operations.insert(op.id.clone(), cx);
        });
        Ok(())
    }

    fn on_operation_change(&self, op: &OperationInfo, change: OperationChange) -> HookResult {
        let outcome = match change {
            OperationChange::Blocked => "blocked",
            _ => "released",
        };
        if let Some(cx) = self.with_open(&op.execution_arn, |open| open.operations.remove(&op.id)) {
            end(&cx, outcome, false);
        }
        Ok(())
    }

    fn on_operation_end(&self, op: &OperationInfo, status: &OperationStatus) -> HookResult {
        if let Some(cx) = self.with_open(&op.execution_arn, |open| open.operations.remove(&op.id)) {
            end(
                &cx,
                &status.to_string(),
                *status != OperationStatus::Succeeded,
            );
        }
        Ok(())
    }

    fn on_attempt_start(&self, op: &OperationInfo, attempt: u32) -> HookResult {
        self.with_open(&op.execution_arn, |open| {
            let parent = open
                .operations
                .get(&op.id)
                .or(open.invocation.as_ref())
                .cloned()
                .unwrap_or_else(Context::current);
            let mut attributes = operation_attributes(op);
            attributes.push(KeyValue::new("durable.attempt", i64::from(attempt)));
            let cx = self.start(format!("attempt {attempt}"), &parent, attributes);
            open.attempts.insert(op.id.clone(), cx);
        });
        Ok(())
    }

    fn on_attempt_end(
        &self,
        op: &OperationInfo,
        _attempt: u32,
        outcome: AttemptOutcome,
    ) -> HookResult {
        if let Some(cx) = self.with_open(&op.execution_arn, |open| open.attempts.remove(&op.id)) {
            if let Some(delay) = outcome.retry_after {
                cx.span().set_attribute(KeyValue::new(
                    "durable.retry_after_seconds",
                    delay.as_secs_f64(),
                ));
            }
            end(&cx, outcome.as_str(), outcome.failed);
        }
        Ok(())
    }
}
