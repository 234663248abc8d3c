//! Generated workflows through the real driver (`durable_tokio::handle`) on the local service,
//! crashed after every possible number of checkpoint calls of the first invocation.
//!
//! The engine-level simulation in `durable-proto` explores more cases faster; this one runs the
//! same kind of programs through the production driver loop, pipelining and all, against the
//! Rust implementation of the service (with its validation of every batch).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::{CallbackResponse, EventType, ExecutionStatus, LocalRunner, TestExecution};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy, StepSemantics};
use durable_workflows::{OpSpec, BACKOFF};
use proptest::prelude::*;

type Bodies = Arc<Mutex<BTreeMap<(usize, u32), u32>>>;

async fn program(
    ops: Arc<Vec<OpSpec>>,
    bodies: Bodies,
    ctx: DurableContext,
) -> Result<Vec<String>, DurableError> {
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match *op {
            OpSpec::Step {
                at_most_once,
                max_attempts,
                failures,
            } => {
                let (initial, max, factor) = BACKOFF;
                let policy = RetryPolicy::try_exponential(max_attempts, initial, max, factor)
                    .unwrap()
                    .with_jitter(Jitter::None);
                let semantics = if at_most_once {
                    StepSemantics::AtMostOncePerRetry
                } else {
                    StepSemantics::AtLeastOncePerRetry
                };
                let bodies = bodies.clone();
                let r: Result<String, DurableError> = ctx
                    .step(&format!("op{i}"), move |s| async move {
                        *bodies.lock().unwrap().entry((i, s.attempt())).or_default() += 1;
                        if s.attempt() <= failures {
                            Err(durable_tokio::StepError::msg(format!(
                                "op{i} attempt {}",
                                s.attempt()
                            )))
                        } else {
                            Ok(format!("op{i}:{}", s.attempt()))
                        }
                    })
                    .retry(policy)
                    .semantics(semantics)
                    .await;
                out.push(match r {
                    Ok(v) => v,
                    Err(DurableError::StepFailed(e)) => format!("failed: {}", e.message()),
                    Err(other) => return Err(other),
                });
            }
            OpSpec::Wait { secs } => {
                ctx.wait(&format!("op{i}"), Duration::from_secs(secs))
                    .await?;
                out.push("waited".to_owned());
            }
            OpSpec::Callback { .. } => {
                let callback = ctx.create_callback::<String>(&format!("op{i}")).await?;
                out.push(match callback.await {
                    Ok(v) => v,
                    Err(DurableError::CallbackFailed(e)) => format!("failed: {}", e.error_type()),
                    Err(other) => return Err(other),
                });
            }
            OpSpec::Invoke { fail } => {
                let target = if fail { "fails:1" } else { "echoes:1" };
                let r = ctx.invoke::<String, _>(&format!("op{i}"), target, &i).await;
                out.push(match r {
                    Ok(v) => v,
                    Err(DurableError::InvokeFailed(e)) => format!("failed: {}", e.error_type()),
                    Err(other) => return Err(other),
                });
            }
        }
    }
    Ok(out)
}

async fn run(
    ops: &Arc<Vec<OpSpec>>,
    crash_after: Option<u64>,
) -> (TestExecution, BTreeMap<(usize, u32), u32>) {
    let bodies: Bodies = Arc::default();
    let mut runner = LocalRunner::builder().handler_seed(7).build();
    let (program_ops, program_bodies) = (ops.clone(), bodies.clone());
    runner.register("generated", move |_: (), ctx: DurableContext| {
        program(program_ops.clone(), program_bodies.clone(), ctx)
    });
    // The outside world: responders for the callbacks, targets for the invokes.
    for (i, op) in ops.iter().enumerate() {
        if let OpSpec::Callback { fail } = op {
            let response = if *fail {
                CallbackResponse::fail(durable_proto::ErrorObject::new("Rejected", "no"))
            } else {
                CallbackResponse::succeed(format!("cb:{i}"))
            };
            runner.on_callback(&format!("op{i}"), response.after(Duration::from_secs(60)));
        }
    }
    runner.register_plain("echoes", |i: usize| Ok(format!("inv:{i}")));
    runner.register_plain("fails", |_: usize| {
        Err::<String, _>(durable_proto::ErrorObject::new("TargetFailed", "x"))
    });
    if let Some(n) = crash_after {
        runner.crash_after_checkpoints(n);
    }
    let execution = runner
        .run("generated", ())
        .await
        .expect("the runner reaches an end");
    let counts = bodies.lock().unwrap().clone();
    (execution, counts)
}

fn check(
    ops: &[OpSpec],
    execution: &TestExecution,
    bodies: &BTreeMap<(usize, u32), u32>,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    for (i, op) in ops.iter().enumerate() {
        let OpSpec::Step { at_most_once, .. } = op else {
            continue;
        };
        let name = format!("op{i}");
        let succeeded = execution
            .events_of(&name)
            .iter()
            .filter(|e| e.event_type == EventType::StepSucceeded)
            .count();
        prop_assert!(succeeded <= 1, "{name} succeeded {succeeded} times");
        let attempts = execution.step_attempts(&name).unwrap_or(0);
        for attempt in 1..=attempts {
            let runs = bodies.get(&(i, attempt)).copied().unwrap_or(0);
            if *at_most_once {
                prop_assert!(
                    runs <= 1,
                    "at-most-once {name} attempt {attempt} ran {runs} times"
                );
            } else {
                prop_assert!(
                    runs >= 1,
                    "at-least-once {name} attempt {attempt} never ran"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn crashes_through_the_driver_lose_nothing(ops in durable_workflows::program(1..6, 100_000)) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let ops = Arc::new(ops);
        let (clean, clean_bodies) = rt.block_on(run(&ops, None));
        check(&ops, &clean, &clean_bodies)?;
        let at_least_once_only = ops.iter().all(OpSpec::is_at_least_once);
        // The first invocation's calls are the crash points (the crash applies to it).
        let first_calls = u64::from(clean.invocations()[0].checkpoint_calls);
        for n in 1..=first_calls {
            let (crashed, bodies) = rt.block_on(run(&ops, Some(n)));
            let crash_recorded = crashed.invocations().iter().any(|inv| {
                inv.error.as_ref().is_some_and(|e| e.type_name() == durable_local::CRASH_ERROR_TYPE)
            });
            prop_assert!(crash_recorded || n == first_calls, "no crash after {n} of {first_calls} calls");
            check(&ops, &crashed, &bodies)?;
            if at_least_once_only {
                prop_assert_eq!(crashed.result_json(), clean.result_json());
            }
        }
    }
}
