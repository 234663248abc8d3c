//! The outside world played by the runner: chained-invoke targets (durable handlers of
//! either driver, plain functions) and declarative callback responders, on virtual time.

use std::time::Duration;

use durable_local::{CallbackResponse, ExecutionStatus, LocalRunner};
use durable_proto::ErrorObject;
use durable_tokio::{DurableContext, DurableError};

async fn caller(target: String, ctx: DurableContext) -> Result<String, DurableError> {
    let result = ctx
        .invoke::<serde_json::Value, _>("call", &target, &serde_json::json!({"cents": 1299}))
        .await;
    Ok(match result {
        Ok(v) => format!("ok {v}"),
        Err(DurableError::InvokeFailed(f)) => format!("failed {}", f.error_type()),
        Err(e) => return Err(e),
    })
}

async fn payments(input: serde_json::Value, ctx: DurableContext) -> Result<String, DurableError> {
    // A durable target that itself waits: the runner drives it to its end on virtual time.
    ctx.wait("settle", Duration::from_secs(3_600)).await?;
    let cents = input["cents"].as_u64().unwrap_or(0);
    if cents == 0 {
        return Err(DurableError::StepFailed(
            durable_tokio::OperationFailure::new(
                "0",
                None,
                ErrorObject::new("EmptyCharge", "nothing to charge"),
            ),
        ));
    }
    Ok(format!("receipt-{cents}"))
}

fn runner() -> LocalRunner {
    let mut runner = LocalRunner::new();
    runner.register("caller", caller);
    runner.register("payments", payments);
    runner.register_plain("echo", |v: serde_json::Value| Ok(v));
    runner.register_plain("broken", |_: serde_json::Value| {
        Err::<(), _>(ErrorObject::new("Boom", "the plain target failed"))
    });
    runner
}

#[tokio::test]
async fn a_durable_target_runs_as_its_own_execution_and_its_result_completes_the_invoke() {
    let runner = runner();
    let execution = runner.run("caller", "payments:live").await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(execution.result::<String>().unwrap(), "ok \"receipt-1299\"");
    // The target's hour-long wait passed on virtual time, and it is an execution of its own.
    assert!(
        execution.elapsed_millis() >= 3_600_000,
        "{}",
        execution.elapsed_millis()
    );
    let targets: Vec<_> = runner
        .executions()
        .into_iter()
        .filter(|e| e.record().function_name() == "payments")
        .collect();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].status(), ExecutionStatus::Succeeded);
}

#[tokio::test]
async fn plain_targets_and_missing_targets() {
    let runner = runner();
    let echoed = runner.run("caller", "echo").await.unwrap();
    assert_eq!(echoed.result::<String>().unwrap(), "ok {\"cents\":1299}");
    let broken = runner.run("caller", "broken").await.unwrap();
    assert_eq!(broken.result::<String>().unwrap(), "failed Boom");
    let missing = runner.run("caller", "nobody").await.unwrap();
    assert_eq!(
        missing.result::<String>().unwrap(),
        "failed ResourceNotFoundException"
    );
}

#[tokio::test]
async fn a_failing_durable_target_fails_the_invoke_with_its_error() {
    let mut runner = runner();
    runner.register("zero", |_: (), ctx: DurableContext| async move {
        let r = ctx
            .invoke::<String, _>("call", "payments", &serde_json::json!({"cents": 0}))
            .await;
        Ok::<_, DurableError>(match r {
            Err(DurableError::InvokeFailed(f)) => format!("failed {}", f.error_type()),
            other => format!("{other:?}"),
        })
    });
    let execution = runner.run("zero", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "failed EmptyCharge");
}

async fn approval(timeout_secs: u64, ctx: DurableContext) -> Result<String, DurableError> {
    let callback = ctx
        .create_callback::<bool>("approval")
        .timeout(Duration::from_secs(timeout_secs))
        .await?;
    Ok(match callback.await {
        Ok(approved) => format!("approved: {approved}"),
        Err(DurableError::CallbackTimedOut(_)) => "timed out".to_owned(),
        Err(DurableError::CallbackFailed(f)) => format!("failed: {}", f.error_type()),
        Err(e) => return Err(e),
    })
}

#[tokio::test]
async fn a_declared_responder_completes_the_callback_after_its_delay_on_virtual_time() {
    let mut runner = LocalRunner::new();
    runner.register("approval", approval);
    runner.on_callback(
        "approval",
        CallbackResponse::succeed(true).after(Duration::from_secs(2 * 3_600)),
    );
    let execution = runner.run("approval", 86_400u64).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "approved: true");
    let elapsed = execution.elapsed_millis();
    assert!((7_200_000..86_400_000).contains(&elapsed), "{elapsed}");

    // A timeout that falls before the response fires first.
    let execution = runner.run("approval", 3_600u64).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "timed out");

    runner.on_callback(
        "approval",
        CallbackResponse::fail(ErrorObject::new("Rejected", "no")),
    );
    let execution = runner.run("approval", 3_600u64).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "failed: Rejected");
}

#[tokio::test]
async fn a_blocking_handler_is_an_invoke_target_too() {
    let mut runner = runner();
    runner.register_blocking(
        "doubler",
        |n: u64, ctx: &durable_blocking::DurableContext| {
            let doubled: u64 = ctx.step("double", |_| Ok(n * 2)).run()?;
            Ok::<_, DurableError>(doubled)
        },
    );
    runner.register("calls-doubler", |_: (), ctx: DurableContext| async move {
        ctx.invoke::<u64, _>("call", "doubler:1", &21u64).await
    });
    let execution = runner.run("calls-doubler", ()).await.unwrap();
    assert_eq!(execution.result::<u64>().unwrap(), 42);
}
