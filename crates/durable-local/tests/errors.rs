//! What user code sees of a failed operation, in both drivers: a typed variant per kind, the
//! recorded error (type, message, data) identical on every replay, and the original Rust
//! error in the invocation that decided the failure only.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_tokio::{DurableContext, DurableError, RetryPolicy, StepError};

#[derive(Debug)]
struct Declined {
    code: u16,
}

impl fmt::Display for Declined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "card declined ({})", self.code)
    }
}

impl std::error::Error for Declined {}

/// What the handler saw of one failure in one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    variant: &'static str,
    operation: Option<String>,
    error_type: String,
    message: String,
    /// `Declined::code` from the original error, when it was there.
    original_code: Option<u16>,
    data: Option<serde_json::Value>,
    matches_type: bool,
    code: &'static str,
}

fn seen(e: &DurableError) -> Seen {
    let failure = e
        .failure()
        .unwrap_or_else(|| panic!("a failure variant, got {e:?}"));
    Seen {
        variant: match e {
            DurableError::StepFailed(_) => "StepFailed",
            DurableError::ChildContextFailed(_) => "ChildContextFailed",
            _ => "other",
        },
        operation: failure.name().map(str::to_owned),
        error_type: failure.error_type().to_owned(),
        message: failure.message().to_owned(),
        original_code: failure.downcast_ref::<Declined>().map(|d| d.code),
        data: e
            .error_data::<serde_json::Value>()
            .map(|r| r.expect("JSON data")),
        matches_type: e.is_failure_of::<Declined>(),
        code: e.code(),
    }
}

type Log = Arc<Mutex<Vec<Vec<Seen>>>>;

async fn workflow(log: Log, ctx: DurableContext) -> Result<String, DurableError> {
    let mut this_invocation = Vec::new();
    let charge = ctx
        .step("charge", |_| async {
            Err::<u32, _>(Declined { code: 51 }.into())
        })
        .retry(RetryPolicy::none())
        .await
        .unwrap_err();
    this_invocation.push(seen(&charge));
    let named = ctx
        .step("refund", |_| async {
            Err::<u32, _>(
                StepError::new("RefundRefused", "window closed")
                    .with_data(&serde_json::json!({"days": 31})),
            )
        })
        .retry(RetryPolicy::none())
        .await
        .unwrap_err();
    this_invocation.push(seen(&named));
    let child = ctx
        .run_in_child_context("settle", |child| async move {
            child
                .step("capture", |_| async {
                    Err::<u32, _>(Declined { code: 5 }.into())
                })
                .retry(RetryPolicy::none())
                .await?;
            Ok::<_, DurableError>(0u32)
        })
        .await
        .unwrap_err();
    this_invocation.push(seen(&child));
    log.lock().unwrap().push(this_invocation);
    // A second invocation replays all three failures from the history.
    ctx.wait("later", Duration::from_secs(60)).await?;
    Ok("done".to_owned())
}

fn expected(first_run: bool) -> Vec<Seen> {
    vec![
        Seen {
            variant: "StepFailed",
            operation: Some("charge".into()),
            error_type: "Declined".into(),
            message: "card declined (51)".into(),
            original_code: first_run.then_some(51),
            data: None,
            matches_type: true,
            code: "DT-E001",
        },
        Seen {
            variant: "StepFailed",
            operation: Some("refund".into()),
            error_type: "RefundRefused".into(),
            message: "window closed".into(),
            original_code: None,
            data: Some(serde_json::json!({"days": 31})),
            matches_type: false,
            code: "DT-E001",
        },
        Seen {
            variant: "ChildContextFailed",
            operation: Some("settle".into()),
            // The child returned the step's failure: it records the step's error.
            error_type: "Declined".into(),
            message: "card declined (5)".into(),
            // Found through the source chain: child failure → step failure → Declined.
            original_code: first_run.then_some(5),
            data: None,
            matches_type: true,
            code: "DT-E006",
        },
    ]
}

#[tokio::test]
async fn failures_are_typed_keep_their_record_and_the_original_error_on_the_first_run_only() {
    let log: Log = Arc::default();
    let mut runner = LocalRunner::new();
    let handler_log = log.clone();
    runner.register("errors", move |_: (), ctx: DurableContext| {
        workflow(handler_log.clone(), ctx)
    });
    let execution = runner.run("errors", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let log = log.lock().unwrap().clone();
    assert_eq!(log, vec![expected(true), expected(false)]);
}

fn workflow_blocking(
    log: &Log,
    ctx: &durable_blocking::DurableContext,
) -> Result<String, DurableError> {
    let mut this_invocation = Vec::new();
    let charge = ctx
        .step("charge", |_| Err::<u32, _>(Declined { code: 51 }.into()))
        .retry(RetryPolicy::none())
        .run()
        .unwrap_err();
    this_invocation.push(seen(&charge));
    let named = ctx
        .step("refund", |_| {
            Err::<u32, _>(
                StepError::new("RefundRefused", "window closed")
                    .with_data(&serde_json::json!({"days": 31})),
            )
        })
        .retry(RetryPolicy::none())
        .run()
        .unwrap_err();
    this_invocation.push(seen(&named));
    let child = ctx
        .run_in_child_context("settle", |child| {
            child
                .step("capture", |_| Err::<u32, _>(Declined { code: 5 }.into()))
                .retry(RetryPolicy::none())
                .run()?;
            Ok::<_, DurableError>(0u32)
        })
        .unwrap_err();
    this_invocation.push(seen(&child));
    log.lock().unwrap().push(this_invocation);
    ctx.wait("later", Duration::from_secs(60))?;
    Ok("done".to_owned())
}

#[tokio::test]
async fn the_blocking_driver_reports_failures_the_same_way() {
    let log: Log = Arc::default();
    let mut runner = LocalRunner::new();
    let handler_log = log.clone();
    runner.register_blocking(
        "errors",
        move |_: (), ctx: &durable_blocking::DurableContext| workflow_blocking(&handler_log, ctx),
    );
    let execution = runner.run("errors", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let log = log.lock().unwrap().clone();
    assert_eq!(log, vec![expected(true), expected(false)]);
}
