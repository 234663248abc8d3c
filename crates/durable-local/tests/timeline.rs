//! The timeline of an execution: data for tests, text for terminals.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{EntryKind, ExecutionStatus, LocalRunner};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};

#[tokio::test]
async fn timeline_shows_invocations_attempts_retries_and_waits() {
    let runs = Arc::new(AtomicU32::new(0));
    let counter = runs.clone();
    let mut runner = LocalRunner::new();
    runner.register("checkout", move |_: (), ctx: DurableContext| {
        let counter = counter.clone();
        async move {
            let policy = RetryPolicy::try_exponential(
                4,
                Duration::from_secs(5),
                Duration::from_secs(60),
                2.0,
            )
            .unwrap()
            .with_jitter(Jitter::None);
            let id = ctx
                .step("reserve stock", move |_| async move {
                    match counter.fetch_add(1, Ordering::SeqCst) {
                        0 | 1 => Err(durable_tokio::StepError::msg("warehouse busy")),
                        n => Ok(n),
                    }
                })
                .retry(policy)
                .await?;
            ctx.wait("cooling-off period", Duration::from_secs(26 * 3600))
                .await?;
            ctx.step("ship", move |_| async move { Ok(id + 1) }).await?;
            Ok::<_, DurableError>(id)
        }
    });
    let execution = runner.run("checkout", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let timeline = execution.timeline();
    let text = timeline.to_string();
    println!("{text}");

    assert_eq!(timeline.status, ExecutionStatus::Succeeded);
    assert_eq!(timeline.invocation_count, 4);
    assert_eq!(timeline.elapsed_ms, (15 + 26 * 3600) * 1000);
    assert_eq!(timeline.entries_of(EntryKind::Invocation).count(), 4);
    // "FAILED <ErrorType>: <message>"; the type the SDK records for a `String` error is the
    // driver's business, so only the message is compared.
    let attempts: Vec<_> = timeline
        .entries_of(EntryKind::Step)
        .map(|e| {
            let outcome = match e.outcome.split_once(": ") {
                Some((head, message)) if head.starts_with("FAILED ") => {
                    format!("FAILED {message}")
                }
                _ => e.outcome.clone(),
            };
            (e.label.as_str(), outcome)
        })
        .collect();
    assert_eq!(
        attempts,
        [
            (
                "reserve stock (attempt 1)",
                "FAILED warehouse busy".to_owned()
            ),
            (
                "reserve stock (attempt 2)",
                "FAILED warehouse busy".to_owned()
            ),
            ("reserve stock (attempt 3)", "SUCCEEDED".to_owned()),
            ("ship (attempt 1)", "SUCCEEDED".to_owned()),
        ]
    );
    let retries: Vec<_> = timeline
        .entries_of(EntryKind::Retry)
        .map(|e| (e.start_ms, e.end_ms, e.outcome.as_str()))
        .collect();
    assert_eq!(
        retries,
        [
            (0, Some(5_000), "retry in 5s"),
            (5_000, Some(15_000), "retry in 10s"),
        ]
    );
    let wait = timeline.entries_of(EntryKind::Wait).next().unwrap();
    assert_eq!(
        (wait.start_ms, wait.duration_ms()),
        (15_000, Some(26 * 3600 * 1000))
    );
    // Entries are ordered by start time.
    let starts: Vec<_> = timeline.entries.iter().map(|e| e.start_ms).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));

    // The text: a header, column titles, one line per entry, relative times.
    let lines: Vec<_> = text.lines().collect();
    assert!(lines[0].contains("SUCCEEDED after 1d 2h"), "{}", lines[0]);
    assert!(lines[0].contains("4 invocations"));
    assert!(lines[1].starts_with("START"));
    assert_eq!(lines.len(), 2 + timeline.entries.len());
    assert!(text.contains("+1d 2h"));
    assert!(text.contains("retry in 10s"));
    assert!(text.contains("cooling-off period"));
    let kind_column: Vec<_> = lines[2..].iter().map(|l| l[30..40].trim()).collect();
    assert!(kind_column.contains(&"wait"), "{kind_column:?}");
}

#[tokio::test]
async fn open_entries_of_a_running_execution() {
    let mut runner = LocalRunner::new();
    runner.register("stuck", |_: (), ctx: DurableContext| async move {
        ctx.wait("forever-ish", Duration::from_secs(3600)).await?;
        Ok::<_, DurableError>(())
    });
    let arn = runner.start("stuck", ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    let timeline = runner.execution(&arn).unwrap().timeline();
    let wait = timeline.entries_of(EntryKind::Wait).next().unwrap();
    assert_eq!((wait.end_ms, wait.outcome.as_str()), (None, "waiting"));
    assert!(timeline.to_string().contains("RUNNING"));
}

#[test]
fn nested_operations_are_indented() {
    use durable_local::{LocalService, Timeline};
    use durable_proto::{OperationAction as A, OperationType as T, OperationUpdate};
    let update = |id: &str, t: T, a: A, parent: Option<&str>| {
        let mut u = OperationUpdate::new(id, t, a);
        u.name = Some(format!("op {id}"));
        u.parent_id = parent.map(str::to_owned);
        u
    };
    let mut svc = LocalService::default();
    let arn = svc.start_execution("nested", "{}").unwrap();
    let token = svc.begin_invocation(&arn).unwrap().checkpoint_token;
    let mut ok = update("c-1", T::Step, A::Succeed, Some("c"));
    ok.payload = Some("1".into());
    let mut done = update("c", T::Context, A::Succeed, None);
    done.payload = Some("1".into());
    svc.checkpoint(
        &arn,
        &token,
        vec![
            update("c", T::Context, A::Start, None),
            update("c-1", T::Step, A::Start, Some("c")),
            ok,
            done,
        ],
    )
    .unwrap();
    let record = svc.execution(&arn).unwrap();
    let timeline = Timeline::of(record, svc.now());
    let depths: Vec<_> = timeline
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::Invocation)
        .map(|e| (e.kind, e.depth))
        .collect();
    assert_eq!(depths, [(EntryKind::Context, 0), (EntryKind::Step, 1)]);
    assert!(timeline.to_string().contains("  op c-1 (attempt 1)"));
}
