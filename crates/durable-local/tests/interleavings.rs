//! Generated concurrent programs through the real async driver on the local runner: joined
//! branches of several operations (with and without child contexts), `select!`ed and
//! dropped operation futures, and timing that differs between the first run and the replays.
//!
//! Whatever the interleaving, an execution either returns every operation's own value or
//! fails with a typed error (the concurrency contract, non-determinism); it never returns
//! another operation's value and never hangs (finding 1 and 2 of the reliability probe).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_tokio::{DurableContext, DurableError, RetryPolicy};
use durable_workflows::{branch, tag, Branch, BranchOp as Op};
use proptest::prelude::*;

type Out = Pin<Box<dyn Future<Output = Result<Vec<String>, DurableError>> + Send>>;

fn run_branch(ctx: DurableContext, b: usize, ops: Vec<Op>) -> Out {
    Box::pin(async move {
        let mut out = Vec::new();
        for (i, op) in ops.into_iter().enumerate() {
            let t = tag(b, i);
            match op {
                Op::Step { io } => {
                    let v: String = ctx
                        .step("op", move |_| async move {
                            // Real time: the first run and the replays interleave differently.
                            tokio::time::sleep(Duration::from_millis(u64::from(io))).await;
                            Ok(t)
                        })
                        .retry(RetryPolicy::none())
                        .await?;
                    out.push(v);
                }
                Op::Wait { secs } => {
                    ctx.wait("op", Duration::from_secs(u64::from(secs))).await?;
                }
                Op::RacedStep => {
                    let v = tokio::select! {
                        biased;
                        v = ctx.step("op", move |_| async move { Ok(t) }) => v?,
                        _ = ctx.wait("timeout", Duration::from_secs(3600)) => "timed out".to_owned(),
                    };
                    out.push(v);
                }
                Op::DroppedWait => {
                    tokio::select! {
                        biased;
                        () = std::future::ready(()) => {}
                        _ = ctx.wait("dropped", Duration::from_secs(86_400)) => {}
                    }
                }
            }
        }
        Ok(out)
    })
}

async fn program(
    branches: Arc<Vec<Branch>>,
    ctx: DurableContext,
) -> Result<Vec<Vec<String>>, DurableError> {
    let futures: Vec<Out> = branches
        .iter()
        .enumerate()
        .map(|(b, branch)| {
            let ops = branch.ops.clone();
            if branch.child {
                let parent = ctx.clone();
                Box::pin(async move {
                    parent
                        .run_in_child_context(&format!("branch{b}"), move |c| run_branch(c, b, ops))
                        .await
                }) as Out
            } else {
                run_branch(ctx.clone(), b, ops)
            }
        })
        .collect();
    let results = futures_util::future::join_all(futures).await;
    results.into_iter().collect()
}

/// What each branch must return if the execution succeeds: the tags of its value steps.
fn expected(branches: &[Branch]) -> Vec<Vec<String>> {
    branches
        .iter()
        .enumerate()
        .map(|(b, branch)| {
            branch
                .ops
                .iter()
                .enumerate()
                .filter(|(_, op)| op.returns_tag())
                .map(|(i, _)| tag(b, i))
                .collect()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn replay_returns_each_operations_own_value_or_a_typed_error(
        branches in proptest::collection::vec(branch(), 1..4)
    ) {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let branches = Arc::new(branches);
        let shared = branches.clone();
        let execution = rt.block_on(async move {
            let mut runner = LocalRunner::new();
            runner.register("f", move |_: (), ctx: DurableContext| program(shared.clone(), ctx));
            tokio::time::timeout(Duration::from_secs(60), runner.run("f", ()))
                .await
                .expect("the execution hung")
                .unwrap()
        });
        match execution.status() {
            ExecutionStatus::Succeeded => {
                let got: Vec<Vec<String>> = execution.result().unwrap();
                prop_assert_eq!(got, expected(&branches));
            }
            ExecutionStatus::Failed => {
                let error = execution.error().unwrap();
                prop_assert!(
                    matches!(
                        error.type_name(),
                        "ConcurrencyContractError" | "NonDeterministicExecutionError"
                    ),
                    "untyped failure {:?} for {:?}",
                    error,
                    branches
                );
            }
            other => prop_assert!(false, "execution ended {other:?}"),
        }
    }
}
