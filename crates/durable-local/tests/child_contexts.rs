//! Child-context options through both drivers: unnamed contexts and sub-types of their own.

use durable_local::LocalRunner;
use durable_proto::OperationType;
use durable_tokio::{DurableContext, DurableError};

#[tokio::test]
async fn unnamed_child_contexts_are_recorded_without_a_name() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        ctx.run_in_unnamed_child_context(
            |c| async move { c.step("inner", |_| async { Ok(1u8) }).await },
        )
        .await
    });
    runner.register_blocking(
        "blocking",
        |_: (), ctx: &durable_blocking::DurableContext| {
            ctx.run_in_unnamed_child_context(|c| c.step("inner", |_| Ok(1u8)).run())
        },
    );
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(execution.result::<u8>().unwrap(), 1);
        let context = &execution.operations()[1];
        assert_eq!(context.operation_type, OperationType::Context, "{function}");
        assert_eq!(context.name, None, "{function}");
        assert_eq!(
            execution.operation("inner").unwrap().parent_id.as_deref(),
            Some(context.id.as_str())
        );
    }
}

#[tokio::test]
async fn a_child_context_may_carry_a_sub_type_of_its_own_and_a_bad_one_is_refused() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let refused = ctx
            .run_in_child_context("bad", |_| async { Ok::<_, DurableError>(0u8) })
            .sub_type("has spaces")
            .await
            .unwrap_err();
        assert!(
            matches!(refused, DurableError::InvalidArgument(_)),
            "{refused:?}"
        );
        ctx.run_in_child_context("batch", |c| async move {
            c.step("inner", |_| async { Ok(1u8) }).await
        })
        .sub_type("Batch")
        .await
    });
    runner.register_blocking(
        "blocking",
        |_: (), ctx: &durable_blocking::DurableContext| {
            ctx.run_in_child_context_with_sub_type("batch", "Batch", |c| {
                c.step("inner", |_| Ok(1u8)).run()
            })
        },
    );
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(execution.result::<u8>().unwrap(), 1, "{function}");
        let batch = execution.operation("batch").unwrap();
        assert_eq!(batch.sub_type.as_deref(), Some("Batch"), "{function}");
        assert!(
            execution.operation("bad").is_none(),
            "nothing checkpointed for the refusal"
        );
    }
}
