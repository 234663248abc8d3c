//! Chained invokes through both drivers on the local service: the START carries the target
//! and the input, the branch suspends until the target ends, and each way a target can end
//! reaches user code as its own typed result, on the run that sees it and on replay.

use std::time::Duration;

use durable_local::{ChainedInvokeEnd, ExecutionStatus, LocalRunner};
use durable_proto::{ErrorObject, OperationType};
use durable_tokio::{DurableContext, DurableError};

async fn order(ctx: DurableContext) -> Result<String, DurableError> {
    let charged = ctx
        .invoke::<String, _>(
            "charge",
            "payments:live",
            &serde_json::json!({"cents": 1299}),
        )
        .tenant_id("shop-7")
        .await;
    let outcome = match charged {
        Ok(receipt) => format!("receipt {receipt}"),
        Err(DurableError::InvokeFailed(f)) => format!("failed: {}", f.error_type()),
        Err(DurableError::InvokeTimedOut(f)) => format!("timed out: {}", f.error_type()),
        Err(DurableError::InvokeStopped(f)) => format!("stopped: {}", f.error_type()),
        Err(e) => return Err(e),
    };
    // One more invocation, so the outcome is also read back from the record.
    ctx.wait("after", Duration::from_secs(1)).await?;
    Ok(outcome)
}

async fn run_with(end: ChainedInvokeEnd) -> String {
    let mut runner = LocalRunner::new();
    runner.register("order", |_: (), ctx: DurableContext| order(ctx));
    let arn = runner.start("order", ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    let execution = runner.execution(&arn).unwrap();
    assert_eq!(
        execution.status(),
        ExecutionStatus::Running,
        "waiting on the target"
    );
    let op = execution
        .operation("charge")
        .expect("the invoke is recorded");
    assert_eq!(op.operation_type, OperationType::ChainedInvoke);
    assert_eq!(op.sub_type.as_deref(), Some("ChainedInvoke"));
    let id = op.id.clone();
    runner.complete_chained_invoke(&arn, &id, end).unwrap();
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    execution.result::<String>().unwrap()
}

#[tokio::test]
async fn each_way_a_target_ends_is_its_own_result() {
    assert_eq!(
        run_with(ChainedInvokeEnd::Succeeded(Some("\"r-1\"".into()))).await,
        "receipt r-1"
    );
    assert_eq!(
        run_with(ChainedInvokeEnd::Failed(ErrorObject::new(
            "CardDeclined",
            "no"
        )))
        .await,
        "failed: CardDeclined"
    );
    assert_eq!(
        run_with(ChainedInvokeEnd::TimedOut(ErrorObject::new(
            "Lambda.Timeout",
            "slow"
        )))
        .await,
        "timed out: Lambda.Timeout"
    );
    assert_eq!(
        run_with(ChainedInvokeEnd::Stopped(ErrorObject::new(
            "Stopped",
            "by an operator"
        )))
        .await,
        "stopped: Stopped"
    );
}

#[tokio::test]
async fn the_start_carries_the_target_the_tenant_and_the_input() {
    let mut runner = LocalRunner::new();
    runner.register("order", |_: (), ctx: DurableContext| order(ctx));
    let arn = runner.start("order", ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    let execution = runner.execution(&arn).unwrap();
    let started: Vec<_> = execution
        .history()
        .iter()
        .filter(|e| e.event_type == durable_local::EventType::ChainedInvokeStarted)
        .collect();
    assert_eq!(started.len(), 1);
    let json = serde_json::to_string(&started[0].details).unwrap();
    assert!(json.contains("payments:live"), "{json}");
    assert!(json.contains("1299"), "{json}");
    assert!(json.contains("\"TenantId\":\"shop-7\""), "{json}");
}

#[tokio::test]
async fn the_blocking_driver_invokes_the_same_way() {
    let mut runner = LocalRunner::new();
    runner.register_blocking("order", |_: (), ctx: &durable_blocking::DurableContext| {
        let receipt: String = ctx
            .invoke(
                "charge",
                "payments:live",
                &serde_json::json!({"cents": 1299}),
            )
            .run()?;
        Ok::<_, DurableError>(format!("receipt {receipt}"))
    });
    let arn = runner.start("order", ()).unwrap();
    runner.run_one_invocation(&arn).await.unwrap();
    let execution = runner.execution(&arn).unwrap();
    let id = execution.operation("charge").unwrap().id.clone();
    runner
        .complete_chained_invoke(
            &arn,
            &id,
            ChainedInvokeEnd::Succeeded(Some("\"r-2\"".into())),
        )
        .unwrap();
    let execution = runner.drive(&arn).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "receipt r-2");
}

#[tokio::test]
async fn an_empty_target_name_is_refused_before_anything_is_checkpointed() {
    let mut runner = LocalRunner::new();
    runner.register("bad", |_: (), ctx: DurableContext| async move {
        let refused = ctx.invoke::<String, _>("charge", "", &1).await.unwrap_err();
        assert!(
            matches!(refused, DurableError::InvalidArgument(_)),
            "{refused:?}"
        );
        Ok::<_, DurableError>("refused".to_owned())
    });
    let execution = runner.run("bad", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "refused");
    assert!(execution.operation("charge").is_none());
}

#[tokio::test]
async fn a_pre_serialized_input_goes_to_the_target_as_it_is() {
    let mut runner = LocalRunner::new();
    runner.register_plain("shout", |s: String| Ok(s.to_uppercase()));
    runner.register("caller", |_: (), ctx: DurableContext| async move {
        ctx.invoke_serialized::<String>("call", "shout", "\"quiet\"")
            .await
    });
    runner.register_blocking(
        "blocking-caller",
        |_: (), ctx: &durable_blocking::DurableContext| {
            ctx.invoke_serialized::<String>("call", "shout", "\"calm\"")
                .run()
        },
    );
    let execution = runner.run("caller", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "QUIET");
    let execution = runner.run("blocking-caller", ()).await.unwrap();
    assert_eq!(execution.result::<String>().unwrap(), "CALM");
}
