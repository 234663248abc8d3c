//! durable-blocking's `run_in_child_context_with_serdes`: the context's result is recorded
//! through the given serializer and handed back through it, on the first run and on replay,
//! exactly like the async driver's `ChildContext::serdes`.

use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_tokio::{DurableError, Serdes};

/// Records a string upper-cased as raw text; reads raw text back.
struct Upper;

impl Serdes<String> for Upper {
    fn serialize(&self, value: &String) -> Result<String, String> {
        Ok(value.to_uppercase())
    }

    fn deserialize(&self, text: &str) -> Result<String, String> {
        Ok(text.to_owned())
    }
}

#[tokio::test]
async fn a_blocking_child_context_records_its_result_through_the_serdes() {
    fn blocking(
        input: String,
        ctx: &durable_blocking::DurableContext,
    ) -> Result<String, DurableError> {
        let value = ctx.run_in_child_context_with_serdes("upper", Upper, |c| {
            c.step("echo", |_| Ok(input)).run()
        })?;
        // The wait makes the second invocation replay the finished context.
        ctx.wait("pause", Duration::from_secs(1))?;
        Ok(value)
    }
    async fn asynchronous(
        input: String,
        ctx: durable_tokio::DurableContext,
    ) -> Result<String, DurableError> {
        let value = ctx
            .run_in_child_context("upper", |c| async move {
                c.step("echo", |_| async move { Ok(input) }).await
            })
            .serdes(Upper)
            .await?;
        ctx.wait("pause", Duration::from_secs(1)).await?;
        Ok(value)
    }
    let mut runner = LocalRunner::new();
    runner.register_blocking("blocking", blocking);
    runner.register("async", asynchronous);
    for name in ["blocking", "async"] {
        let e = runner.run(name, "hello child".to_owned()).await.unwrap();
        assert_eq!(
            e.status(),
            ExecutionStatus::Succeeded,
            "{name}: {:?}",
            e.error()
        );
        assert_eq!(e.result::<String>().unwrap(), "HELLO CHILD", "{name}");
        assert_eq!(e.invocation_count(), 2, "{name}");
        let context = e.operation("upper").unwrap();
        let recorded = context
            .context_details
            .as_ref()
            .and_then(|d| d.result.as_deref());
        assert_eq!(recorded, Some("HELLO CHILD"), "{name}");
    }
}
