//! Replay-safe helpers through both drivers: deterministic random draws and UUIDs are the
//! same on every replay of the same point, differ between points and executions, and draws
//! inside a step body do not shift the draws after it; `now` is recorded once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_tokio::{DurableContext, DurableError, RngCore};

type Log = Arc<Mutex<Vec<Vec<String>>>>;

async fn draws(log: Log, ctx: DurableContext) -> Result<String, DurableError> {
    let mut seen = vec![
        ctx.random()?.next_u64().to_string(),
        ctx.uuid()?,
        ctx.uuid()?,
    ];
    let inner = ctx.clone();
    // A draw inside the body: the body is skipped on replay, so it must not shift the
    // draws after the step.
    let in_body: u64 = ctx
        .step(
            "work",
            move |_| async move { Ok(inner.random()?.next_u64()) },
        )
        .await?;
    seen.push(ctx.uuid()?);
    let now = ctx.now("now").await?;
    seen.push(format!("{now:?}"));
    log.lock().unwrap().push(seen.clone());
    ctx.wait("later", Duration::from_secs(60)).await?;
    Ok(format!("{in_body}"))
}

fn runner(log: &Log) -> LocalRunner {
    let mut runner = LocalRunner::new();
    let log = log.clone();
    runner.register("draws", move |_: (), ctx: DurableContext| {
        draws(log.clone(), ctx)
    });
    runner
}

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && s.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn draws_repeat_on_replay_and_differ_between_points_and_executions() {
    let log: Log = Arc::default();
    let runner = runner(&log);
    let first = runner.run("draws", ()).await.unwrap();
    assert_eq!(first.status(), ExecutionStatus::Succeeded);
    let second = runner.run("draws", ()).await.unwrap();
    assert_eq!(second.status(), ExecutionStatus::Succeeded);
    let log = log.lock().unwrap().clone();
    // Two invocations per execution (before and after the wait), two executions.
    assert_eq!(log.len(), 4);
    assert_eq!(log[0], log[1], "the replay drew the same values");
    assert_eq!(log[2], log[3]);
    assert_ne!(
        log[0][..4],
        log[2][..4],
        "another execution draws other values"
    );
    let points = &log[0];
    assert!(is_uuid_v4(&points[1]) && is_uuid_v4(&points[2]) && is_uuid_v4(&points[3]));
    assert_ne!(points[1], points[2], "two draws at one point differ");
    assert_ne!(points[2], points[3]);
    assert_eq!(
        first.operations_named("now").len(),
        1,
        "now is one recorded step"
    );
}

#[tokio::test]
async fn the_blocking_driver_draws_the_same_way() {
    let log: Log = Arc::default();
    let mut runner = LocalRunner::new();
    let seen = log.clone();
    runner.register_blocking(
        "draws",
        move |_: (), ctx: &durable_blocking::DurableContext| {
            let values = vec![
                ctx.random()?.next_u64().to_string(),
                ctx.uuid()?,
                format!("{:?}", ctx.now("now")?),
            ];
            seen.lock().unwrap().push(values);
            ctx.wait("later", Duration::from_secs(60))?;
            Ok::<_, DurableError>("done".to_owned())
        },
    );
    let execution = runner.run("draws", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0], log[1]);
    assert!(is_uuid_v4(&log[0][1]));
}
