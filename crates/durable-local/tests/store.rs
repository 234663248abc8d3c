//! The file-backed store: executions survive a restart of the runner (or of the service),
//! resume where they stopped, and a write that never committed changes nothing.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{
    EventType, ExecutionStatus, InvocationResult, LocalRunner, LocalService, TimeMode,
    RESTART_ERROR_TYPE,
};
use durable_proto::{OperationAction, OperationType, OperationUpdate};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};

/// A fresh directory for one test's store file.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("durable-local-tests-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self) -> PathBuf {
        self.0.join("executions.redb")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const DAY: Duration = Duration::from_secs(24 * 3600);

/// Reserve (fails once, retried after 10 s), wait a day, ship; counts body runs.
fn register(runner: &mut LocalRunner, runs: &Arc<AtomicU32>) {
    let runs = runs.clone();
    runner.register("orders", move |order: String, ctx: DurableContext| {
        let runs = runs.clone();
        async move {
            let policy = RetryPolicy::try_linear(3, Duration::from_secs(10), Duration::ZERO, DAY)
                .unwrap()
                .with_jitter(Jitter::None);
            let counter = runs.clone();
            let reservation: String = ctx
                .step("reserve", move |s| async move {
                    counter.fetch_add(1, Ordering::SeqCst);
                    if s.attempt() == 1 {
                        Err(durable_tokio::StepError::msg("warehouse busy"))
                    } else {
                        Ok(format!("res-{order}"))
                    }
                })
                .retry(policy)
                .await?;
            ctx.wait("cool-off", DAY).await?;
            let shipped: String = ctx
                .step("ship", move |_| async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    Ok(format!("shipped {reservation}"))
                })
                .await?;
            Ok::<_, DurableError>(shipped)
        }
    });
}

#[tokio::test]
async fn an_execution_survives_a_restart_and_resumes_to_completion() {
    let dir = TempDir::new("resume");
    let runs = Arc::new(AtomicU32::new(0));

    // First process: two invocations, up to the day-long wait, and half the day.
    let (arn, before) = {
        let mut runner = LocalRunner::builder().store_path(dir.file()).build();
        register(&mut runner, &runs);
        let arn = runner.start("orders", "A-7").unwrap();
        let first = runner.run_one_invocation(&arn).await.unwrap();
        assert_eq!(first.result, Some(InvocationResult::Pending));
        runner.advance_to_next_timer(&arn).unwrap();
        let second = runner.run_one_invocation(&arn).await.unwrap();
        assert_eq!(second.result, Some(InvocationResult::Pending));
        runner.advance_time(DAY / 2);
        let before = runner.execution(&arn).unwrap();
        assert_eq!(before.status(), ExecutionStatus::Running);
        (arn, before)
    }; // dropped: the process "ends"
    assert_eq!(runs.load(Ordering::SeqCst), 2);

    // Second process: everything is where it was.
    let mut runner = LocalRunner::builder().store_path(dir.file()).build();
    let found = runner.executions();
    assert_eq!(found.len(), 1);
    let restored = &found[0];
    assert_eq!(restored.arn(), arn);
    assert_eq!(restored.status(), ExecutionStatus::Running);
    assert_eq!(restored.history(), before.history());
    assert_eq!(restored.operations(), before.operations());
    assert_eq!(restored.invocations(), before.invocations());
    assert_eq!(
        restored.elapsed_millis(),
        10_000 + DAY.as_millis() as i64 / 2
    );
    assert_eq!(
        restored.record().next_timer().map(|t| t.due),
        before.record().next_timer().map(|t| t.due)
    );

    register(&mut runner, &runs);
    let done = runner.resume(&arn).await.unwrap();
    assert_eq!(done.status(), ExecutionStatus::Succeeded);
    assert_eq!(done.result::<String>().unwrap(), "shipped res-A-7");
    assert_eq!(runs.load(Ordering::SeqCst), 3, "nothing ran twice");
    assert_eq!(done.invocation_count(), 3);
    assert_eq!(done.step_attempts("reserve"), Some(2));
    // The wait ended a day after it started, not half a day after the restart.
    assert_eq!(done.elapsed_millis(), 10_000 + DAY.as_millis() as i64);
    use EventType::*;
    assert_eq!(
        done.event_types(),
        [
            ExecutionStarted,
            StepStarted,
            StepFailed,
            InvocationCompleted,
            StepStarted,
            StepSucceeded,
            WaitStarted,
            InvocationCompleted,
            WaitSucceeded,
            StepStarted,
            StepSucceeded,
            InvocationCompleted,
            ExecutionSucceeded,
        ]
    );
    let ids: Vec<u64> = done.history().iter().map(|e| e.event_id).collect();
    assert_eq!(ids, (1..=13).collect::<Vec<_>>());
    drop(runner);

    // A third process sees the finished execution, and new ids do not repeat old ones.
    let mut runner = LocalRunner::builder().store_path(dir.file()).build();
    register(&mut runner, &runs);
    let found = runner.executions();
    assert_eq!(found[0].status(), ExecutionStatus::Succeeded);
    assert_eq!(found[0].history(), done.history());
    let again = runner.resume(&arn).await.unwrap();
    assert_eq!(again.history(), done.history());
    let other = runner.run("orders", "B-1").await.unwrap();
    assert_ne!(other.arn(), arn);
    assert_eq!(other.status(), ExecutionStatus::Succeeded);
    assert_eq!(runner.executions().len(), 2);
}

#[tokio::test]
async fn an_invocation_cut_short_by_a_restart_is_retried() {
    let dir = TempDir::new("orphan");
    let runs = Arc::new(AtomicU32::new(0));
    let arn = {
        let mut runner = LocalRunner::builder().store_path(dir.file()).build();
        register(&mut runner, &runs);
        let arn = runner.start("orders", "C-3").unwrap();
        // The process dies during the first invocation, after its envelope was issued.
        lock(&runner).begin_invocation(&arn).unwrap();
        arn
    };
    let mut runner = LocalRunner::builder().store_path(dir.file()).build();
    register(&mut runner, &runs);
    let done = runner.resume(&arn).await.unwrap();
    assert_eq!(done.status(), ExecutionStatus::Succeeded);
    let first = &done.invocations()[0];
    assert_eq!(first.result, Some(InvocationResult::Errored));
    assert_eq!(
        first.error.as_ref().unwrap().type_name(),
        RESTART_ERROR_TYPE
    );
    assert_eq!(done.invocation_count(), 4);
}

fn lock(runner: &LocalRunner) -> std::sync::MutexGuard<'_, LocalService> {
    durable_local::lock_service(runner.service())
}

#[test]
fn the_service_restores_tokens_virtual_time_and_ids() {
    let dir = TempDir::new("service");
    let (arn, token, now) = {
        let mut svc = LocalService::open(dir.file()).unwrap();
        assert_eq!(svc.store_path(), Some(dir.file().as_path()));
        let arn = svc.start_execution("orders", "{}").unwrap();
        let token = svc.begin_invocation(&arn).unwrap().checkpoint_token;
        let mut start = OperationUpdate::new("1", OperationType::Step, OperationAction::Start);
        start.name = Some("charge".into());
        let response = svc.checkpoint(&arn, &token, vec![start]).unwrap();
        svc.advance_by(Duration::from_secs(90));
        (arn, response.checkpoint_token.unwrap(), svc.now())
    };
    let mut svc = LocalService::open(dir.file()).unwrap();
    assert_eq!(svc.now(), now);
    assert_eq!(svc.clock().mode(), TimeMode::Virtual);
    let record = svc.execution(&arn).unwrap();
    assert_eq!(record.checkpoint_token(), Some(token.as_str()));
    assert!(record.invocation_in_flight());
    assert_eq!(record.operation("1").unwrap().status.to_string(), "STARTED");
    // The restored token is the current one: the invocation carries on.
    let mut succeed = OperationUpdate::new("1", OperationType::Step, OperationAction::Succeed);
    succeed.name = Some("charge".into());
    succeed.payload = Some("\"ch_1\"".into());
    svc.checkpoint(&arn, &token, vec![succeed]).unwrap();
    assert_eq!(
        svc.checkpoint(&arn, &token, vec![]).unwrap_err().message(),
        "Invalid checkpoint token"
    );
    let other = svc.start_execution("orders", "{}").unwrap();
    assert_ne!(other, arn);
    drop(svc);

    let svc = LocalService::open(dir.file()).unwrap();
    let record = svc.execution(&arn).unwrap();
    assert_eq!(
        record.operation("1").unwrap().status.to_string(),
        "SUCCEEDED"
    );
    assert_eq!(svc.executions().len(), 2);
    assert_eq!(svc.now(), now);
}

#[test]
fn one_runner_per_store_file_at_a_time() {
    let dir = TempDir::new("locked");
    let _first = LocalRunner::builder().store_path(dir.file()).build();
    let error = LocalRunner::builder()
        .store_path(dir.file())
        .try_build()
        .unwrap_err();
    assert!(error.to_string().starts_with("ServiceException"), "{error}");
    let missing = dir.0.join("no/such/dir/x.redb");
    let error = LocalService::open(&missing).unwrap_err();
    assert_eq!(error.code(), "DL-S005");
}
