//! `ExecutionRecord::from_history`, which the remote runner builds its `TestExecution`s with:
//! a record rebuilt from a local execution's description and history has the original's
//! operations (ids, names, types, parents, statuses, attempts, results, errors, timestamps),
//! the same invocations (less the checkpoint counts no event carries) and the same timeline.
//! Checked for hand-written workflows covering every operation kind and ending, and for
//! generated programs with and without a crash.

use std::sync::Arc;
use std::time::Duration;

use durable_local::{
    CallbackResponse, ExecutionDescription, ExecutionRecord, ExecutionStatus, LocalRunner,
    TestExecution,
};
use durable_proto::{ErrorObject, Operation};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy, StepSemantics};
use durable_workflows::{OpSpec, BACKOFF};
use proptest::prelude::*;
use serde_json::{json, Value};

/// What `GetDurableExecution` would say about `execution`.
fn description(execution: &TestExecution) -> ExecutionDescription {
    let record = execution.record();
    ExecutionDescription {
        arn: record.arn().to_owned(),
        function_name: record.function_name().to_owned(),
        execution_name: record.execution_name().to_owned(),
        status: record.status(),
        input: Some(record.input().to_owned()),
        result: record.result().map(str::to_owned),
        error: record.error().cloned(),
        start: record.start_timestamp(),
        end: record.end_timestamp(),
    }
}

/// `ContextDetails.ReplayChildren` is in no event.
fn without_replay_flag(ops: &[Operation]) -> Vec<Operation> {
    ops.iter()
        .cloned()
        .map(|mut op| {
            if let Some(d) = op.context_details.as_mut() {
                d.replay_children = None;
            }
            op
        })
        .collect()
}

fn rebuilt_matches(execution: &TestExecution) -> Result<(), String> {
    let original = execution.record();
    let rebuilt = ExecutionRecord::from_history(description(execution), original.events().to_vec());
    let context = || format!("\n{}", execution.timeline());
    if without_replay_flag(rebuilt.operations()) != without_replay_flag(original.operations()) {
        return Err(format!(
            "operations differ\nrebuilt:  {:#?}\noriginal: {:#?}{}",
            rebuilt.operations(),
            original.operations(),
            context()
        ));
    }
    let invocations = |r: &ExecutionRecord| {
        r.invocations()
            .iter()
            .map(|i| {
                (
                    i.number,
                    i.request_id.clone(),
                    i.start,
                    i.end,
                    i.result,
                    i.error.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    if invocations(&rebuilt) != invocations(original) {
        return Err(format!(
            "invocations differ\nrebuilt:  {:?}\noriginal: {:?}{}",
            invocations(&rebuilt),
            invocations(original),
            context()
        ));
    }
    // The timeline's entries (its header counts checkpoint calls, which no event carries).
    let end = original
        .end_timestamp()
        .unwrap_or(original.start_timestamp());
    let entries = |r: &ExecutionRecord| {
        let text = durable_local::Timeline::of(r, end).to_string();
        text.lines().skip(1).collect::<Vec<_>>().join("\n")
    };
    let (a, b) = (entries(&rebuilt), entries(original));
    if a != b {
        return Err(format!("timelines differ\nrebuilt:\n{a}\noriginal:\n{b}"));
    }
    if (
        rebuilt.status(),
        rebuilt.result(),
        rebuilt.error(),
        rebuilt.input(),
    ) != (
        original.status(),
        original.result(),
        original.error(),
        original.input(),
    ) {
        return Err("status, result, error or input differ".to_owned());
    }
    Ok(())
}

fn every_second(attempts: u32) -> RetryPolicy {
    RetryPolicy::try_exponential(
        attempts,
        Duration::from_secs(1),
        Duration::from_secs(1),
        1.0,
    )
    .unwrap()
    .with_jitter(Jitter::None)
}

/// Every kind of operation once, and most of their endings.
async fn kitchen_sink(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let retried: u32 = ctx
        .step("flaky", |s| async move {
            if s.attempt() < 3 {
                Err(durable_tokio::StepError::msg("not yet"))
            } else {
                Ok(s.attempt())
            }
        })
        .retry(every_second(3))
        .await?;
    let failed = ctx
        .step("doomed", |_| async {
            Err::<u32, _>(durable_tokio::StepError::new("Declined", "no"))
        })
        .retry(RetryPolicy::none())
        .await
        .is_err();
    ctx.wait("pause", Duration::from_secs(90)).await?;
    let grouped = ctx
        .run_in_child_context("group", |c| async move {
            let n: u32 = c.step("inner", |_| async { Ok(2u32) }).await?;
            c.wait("inner-pause", Duration::from_secs(5)).await?;
            Ok::<_, DurableError>(n * 10)
        })
        .await?;
    let child_failed = ctx
        .run_in_child_context("broken", |c| async move {
            c.step("inside", |_| async {
                Err::<u32, _>(durable_tokio::StepError::new("Broken", "inside"))
            })
            .retry(RetryPolicy::none())
            .await
        })
        .await
        .is_err();
    let approved: String = ctx.create_callback::<String>("approval").await?.await?;
    let rejected = ctx
        .create_callback::<String>("rejection")
        .await?
        .await
        .is_err();
    let timed_out = ctx
        .create_callback::<String>("forgotten")
        .timeout(Duration::from_secs(30))
        .await?
        .await
        .is_err();
    let echoed: Value = ctx.invoke("call", "echo", &json!({"n": 1})).await?;
    let invoke_failed = ctx
        .invoke::<Value, _>("bad-call", "broken-target", &json!(null))
        .await
        .is_err();
    let polled: u32 = ctx
        .wait_for_condition("poll", 0u32, |n, _| async move { Ok(n + 1) })
        .strategy(
            durable_tokio::WaitStrategy::until(|n: &u32| *n >= 3).fixed(Duration::from_secs(2)),
        )
        .await?;
    let squares = ctx
        .map("squares", vec![1u32, 2, 3], |c, n, _| async move {
            Ok(c.step("square", move |_| async move { Ok(n * n) }).await?)
        })
        .await?
        .into_values();
    Ok(json!({
        "retried": retried, "failed": failed, "grouped": grouped, "child_failed": child_failed,
        "approved": approved, "rejected": rejected, "timed_out": timed_out, "echoed": echoed,
        "invoke_failed": invoke_failed, "polled": polled, "squares": squares,
    }))
}

async fn echo(input: Value, _: DurableContext) -> Result<Value, DurableError> {
    Ok(input)
}

async fn fails(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    ctx.step("charge", |_| async {
        Err::<Value, _>(durable_tokio::StepError::new(
            "PaymentDeclined",
            "card expired",
        ))
    })
    .retry(every_second(2))
    .await
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn every_operation_kind_rebuilds_from_the_history() {
    let mut runner = LocalRunner::new();
    runner.register("sink", kitchen_sink);
    runner.register("echo", echo);
    runner.register_plain("broken-target", |_: Value| {
        Err::<Value, _>(ErrorObject::new("TargetFailed", "x"))
    });
    runner.on_callback(
        "approval",
        CallbackResponse::succeed("yes").after(Duration::from_secs(10)),
    );
    runner.on_callback(
        "rejection",
        CallbackResponse::fail(ErrorObject::new("Rejected", "no")),
    );
    let execution = runtime().block_on(runner.run("sink", json!({}))).unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Succeeded,
        "{:?}",
        execution.error()
    );
    let result: Value = execution.result().unwrap();
    assert_eq!(result["polled"], 3);
    assert_eq!(result["timed_out"], true);
    rebuilt_matches(&execution).unwrap();
    // The rebuilt record reads the same through TestExecution's accessors.
    let rebuilt = ExecutionRecord::from_history(
        description(&execution),
        execution.record().events().to_vec(),
    );
    assert_eq!(
        rebuilt.operation("1").unwrap().name.as_deref(),
        Some("flaky")
    );
    assert_eq!(rebuilt.invocation_count(), execution.invocation_count());
}

#[test]
fn failed_and_crashed_executions_rebuild_from_the_history() {
    let rt = runtime();
    let mut runner = LocalRunner::new();
    runner.register("fails", fails);
    let failed = rt.block_on(runner.run("fails", json!({}))).unwrap();
    assert_eq!(failed.status(), ExecutionStatus::Failed);
    rebuilt_matches(&failed).unwrap();

    // Crashed invocations carry their error in InvocationCompleted.
    let mut runner = LocalRunner::new();
    runner.register("fails", fails);
    runner.crash_after_checkpoints(1);
    let crashed = rt.block_on(runner.run("fails", json!({}))).unwrap();
    assert!(crashed.invocations().iter().any(|i| i.error.is_some()));
    rebuilt_matches(&crashed).unwrap();
}

async fn program(ops: Arc<Vec<OpSpec>>, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let name = format!("op{i}");
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
                let r: Result<String, DurableError> = ctx
                    .step(&name, move |s| async move {
                        if s.attempt() <= failures {
                            Err(durable_tokio::StepError::msg("transient"))
                        } else {
                            Ok(format!("{}", s.attempt()))
                        }
                    })
                    .retry(policy)
                    .semantics(semantics)
                    .await;
                out.push(r.unwrap_or_else(|e| e.to_string()));
            }
            OpSpec::Wait { secs } => {
                ctx.wait(&name, Duration::from_secs(secs)).await?;
            }
            OpSpec::Callback { .. } => {
                let callback = ctx.create_callback::<String>(&name).await?;
                out.push(callback.await.unwrap_or_else(|e| e.to_string()));
            }
            OpSpec::Invoke { fail } => {
                let target = if fail { "fails" } else { "echoes" };
                let r = ctx.invoke::<String, _>(&name, target, &i).await;
                out.push(r.unwrap_or_else(|e| e.to_string()));
            }
        }
    }
    Ok(out)
}

fn run_program(ops: &Arc<Vec<OpSpec>>, crash_after: Option<u64>) -> TestExecution {
    let mut runner = LocalRunner::builder().handler_seed(7).build();
    let program_ops = ops.clone();
    runner.register("generated", move |_: (), ctx: DurableContext| {
        program(program_ops.clone(), ctx)
    });
    for (i, op) in ops.iter().enumerate() {
        if let OpSpec::Callback { fail } = op {
            let response = if *fail {
                CallbackResponse::fail(ErrorObject::new("Rejected", "no"))
            } else {
                CallbackResponse::succeed(format!("cb:{i}"))
            };
            runner.on_callback(&format!("op{i}"), response.after(Duration::from_secs(60)));
        }
    }
    runner.register_plain("echoes", |i: usize| Ok(format!("inv:{i}")));
    runner.register_plain("fails", |_: usize| {
        Err::<String, _>(ErrorObject::new("TargetFailed", "x"))
    });
    if let Some(n) = crash_after {
        runner.crash_after_checkpoints(n);
    }
    runtime().block_on(runner.run("generated", ())).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn generated_programs_rebuild_from_their_history(
        ops in durable_workflows::program(1..8, 3_600),
        crash in prop::option::of(1u64..4),
    ) {
        let execution = run_program(&Arc::new(ops), crash);
        prop_assert_eq!(execution.status(), ExecutionStatus::Succeeded);
        if let Err(difference) = rebuilt_matches(&execution) {
            return Err(TestCaseError::fail(difference));
        }
    }
}
