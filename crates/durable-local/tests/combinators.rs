//! Durable combinators (async driver) and block retry (both drivers) on the local service.

use std::future::IntoFuture;
use std::time::Duration;

use durable_local::LocalRunner;
use durable_proto::{Jitter, OperationStatus, RetryPolicy};
use durable_tokio::{DurableContext, DurableError, StepError};

type Blocking<'a> = &'a durable_blocking::DurableContext;

/// A fixed one-second retry, `attempts` attempts in all.
fn every_second(attempts: u32) -> RetryPolicy {
    let s = Duration::from_secs(1);
    RetryPolicy::try_linear(attempts, s, Duration::ZERO, s)
        .unwrap()
        .with_jitter(Jitter::None)
}

#[tokio::test]
async fn race_records_its_winner_and_a_replay_returns_the_same_one() {
    let mut runner = LocalRunner::new();
    runner.register("race", |_: (), ctx: DurableContext| async move {
        let slow = ctx.run_in_child_context("slow", |c| async move {
            c.wait("long", Duration::from_secs(3600)).await?;
            Ok::<_, DurableError>("slow".to_owned())
        });
        let fast = ctx.run_in_child_context("fast", |c| async move {
            c.step("work", |_| async { Ok("fast".to_owned()) }).await
        });
        // Different operations have one future type: `OperationFuture`.
        let winner = ctx
            .race("first", [slow.into_future(), fast.into_future()])
            .await?;
        // A second invocation replays the race: the slow branch is not awaited again.
        ctx.wait("after", Duration::from_secs(1)).await?;
        Ok::<_, DurableError>(winner)
    });
    let execution = runner.run("race", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "fast");
    assert_eq!(execution.invocation_count(), 2);
    let decision = execution.operation("first").unwrap();
    assert_eq!(decision.status, OperationStatus::Succeeded);
    let recorded = decision.step_details.as_ref().unwrap().result.as_deref();
    assert_eq!(recorded, Some("1"), "the index of the winner is recorded");
    // The loser's wait was started and is left to the service.
    assert_eq!(
        execution.operation("long").unwrap().status,
        OperationStatus::Started
    );
}

#[tokio::test]
async fn all_fails_with_the_failure_any_succeeds_with_the_success_all_settled_keeps_both() {
    let mut runner = LocalRunner::new();
    runner.register("combinators", |_: (), ctx: DurableContext| async move {
        let ok = |name: &'static str| ctx.step(name, |_| async { Ok(1u8) }).into_future();
        let failing = |name: &'static str| {
            ctx.step(name, |_| async { Err::<u8, _>(StepError::msg("no")) })
                .retry(RetryPolicy::none())
                .into_future()
        };
        let all = ctx.all("all", [ok("a1"), ok("a2")]).await?;
        let all_failed = ctx.all("all failing", [ok("b1"), failing("b2")]).await;
        let any = ctx.any("any", [failing("c1"), ok("c2")]).await?;
        let settled = ctx.all_settled([ok("d1"), failing("d2")]).await;
        Ok::<_, DurableError>((
            all,
            matches!(all_failed, Err(DurableError::StepFailed(_))),
            any,
            settled.iter().map(Result::is_ok).collect::<Vec<_>>(),
        ))
    });
    let execution = runner.run("combinators", ()).await.unwrap();
    assert_eq!(
        execution
            .result::<(Vec<u8>, bool, u8, Vec<bool>)>()
            .unwrap(),
        (vec![1, 1], true, 1, vec![true, false])
    );
    let recorded = |name: &str| {
        execution
            .operation(name)
            .unwrap()
            .step_details
            .as_ref()
            .unwrap()
            .result
            .clone()
    };
    assert_eq!(
        recorded("all").as_deref(),
        Some("null"),
        "no single operation decided"
    );
    assert_eq!(recorded("all failing").as_deref(), Some("1"));
    assert_eq!(recorded("any").as_deref(), Some("1"));
}

#[tokio::test]
async fn with_retry_runs_the_block_again_after_a_durable_wait_in_both_drivers() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        ctx.with_retry("block", |c, attempt| async move {
            let n: u32 = c.step("work", move |_| async move { Ok(attempt) }).await?;
            if n < 3 {
                return Err(StepError::msg(format!("attempt {n} not good enough")));
            }
            Ok(n)
        })
        .retry(every_second(5))
        .await
    });
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        ctx.with_retry("block", |c, attempt| {
            let n: u32 = c.step("work", |_| Ok(attempt)).run()?;
            if n < 3 {
                return Err(StepError::msg(format!("attempt {n} not good enough")));
            }
            Ok(n)
        })
        .retry(every_second(5))
        .run()
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(execution.result::<u32>().unwrap(), 3, "{function}");
        let attempts: Vec<_> = execution
            .operations()
            .iter()
            .filter(|o| o.sub_type.as_deref() == Some("RetryAttempt"))
            .map(|o| o.status.clone())
            .collect();
        assert_eq!(
            attempts,
            vec![
                OperationStatus::Failed,
                OperationStatus::Failed,
                OperationStatus::Succeeded
            ],
            "{function}"
        );
        // One invocation per attempt: each retry waits durably.
        assert_eq!(execution.invocation_count(), 3, "{function}");
    }
}

#[tokio::test]
async fn with_retry_gives_up_with_the_last_failure() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let outcome = ctx
            .with_retry("block", |_, attempt| async move {
                Err::<u8, _>(StepError::new("Flaky", format!("attempt {attempt}")))
            })
            .retry(every_second(2))
            .await;
        match outcome {
            Err(DurableError::ChildContextFailed(f)) => {
                Ok::<_, DurableError>(format!("{}: {}", f.error_type(), f.message()))
            }
            other => panic!("{other:?}"),
        }
    });
    let execution = runner.run("async", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "Flaky: attempt 2");
}
