//! The invocation deadline: a margin before it, the SDK flushes what it queued and ends the
//! invocation itself, so finished steps are not run again and nothing is cut off mid-way.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_tokio::{DurableContext, DurableError};

#[tokio::test]
async fn near_the_deadline_the_invocation_flushes_and_ends_before_it_is_killed() {
    let slow_runs = Arc::new(AtomicU32::new(0));
    let mut runner = LocalRunner::builder()
        .invocation_timeout(Duration::from_millis(1500))
        .build();
    let runs = slow_runs.clone();
    runner.register("async", move |_: (), ctx: DurableContext| {
        let runs = runs.clone();
        async move {
            let first: u8 = ctx.step("first", |_| async { Ok(1u8) }).await?;
            let second: u8 = ctx
                .step("slow", move |_| async move {
                    // The first run outlasts the invocation; the next one is quick.
                    if runs.fetch_add(1, Ordering::SeqCst) == 0 {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    Ok(2u8)
                })
                .await?;
            Ok::<_, DurableError>(first + second)
        }
    });
    let execution = runner.run("async", ()).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.result::<u8>().unwrap(), 3);
    let first = &execution.invocations()[0];
    // Ended by the SDK itself, not by the runner's timeout.
    assert_eq!(
        first.error.as_ref().and_then(|e| e.error_type.as_deref()),
        Some("InvocationDeadline")
    );
    assert_eq!(execution.step_attempts("first"), Some(1));
    assert_eq!(execution.operations_named("first").len(), 1);
    assert_eq!(slow_runs.load(Ordering::SeqCst), 2);
}
