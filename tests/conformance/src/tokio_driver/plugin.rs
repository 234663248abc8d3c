//! Suite `plugin` (requirements 10-1 .. 10-7) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, RetryPolicy, StepError};
use serde_json::Value;

use crate::{every_second, with_plugins, ConfPlugin, PluginReport, ServiceError};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run_with_options as run;
    let plugin = |report| vec![ConfPlugin::new("CONFPLUGIN", report)];
    Some(match name {
        "plugin_invocation_hooks" => {
            run(with_plugins(plugin(PluginReport::Invocations)), greet).await
        }
        "plugin_operation_hooks" => {
            run(with_plugins(plugin(PluginReport::Operations)), greet).await
        }
        "plugin_attempt_hooks" => {
            run(with_plugins(plugin(PluginReport::Attempts)), unreliable).await
        }
        "plugin_faulty" => {
            run(
                with_plugins(vec![ConfPlugin::faulty("CONFPLUGIN-FAULTY")]),
                greet,
            )
            .await
        }
        "plugin_two" => {
            let plugins = vec![
                ConfPlugin::new("CONFPLUGIN-A", PluginReport::Invocations),
                ConfPlugin::new("CONFPLUGIN-B", PluginReport::Invocations),
            ];
            run(with_plugins(plugins), greet).await
        }
        "plugin_across_invocations" => {
            run(with_plugins(plugin(PluginReport::Invocations)), waits).await
        }
        "plugin_failed_execution" => {
            run(with_plugins(plugin(PluginReport::Invocations)), fails).await
        }
        _ => return None,
    })
}

/// 10-1, 10-2, 10-4, 10-5: one step greeting the input, logging as it runs.
async fn greet(name: String, ctx: DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    ctx.step("greet", |_| async move {
        log.info(format!("Greeting step running for: {name}"));
        Ok(format!("Hello, {name}!"))
    })
    .await
}

/// 10-3: a step failing its first attempt, retried a second later.
async fn unreliable(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("unreliable", |s| async move {
        if s.attempt() == 1 {
            Err(StepError::from(ServiceError("first attempt fails".into())))
        } else {
            Ok("Operation succeeded".to_owned())
        }
    })
    .retry(every_second(3))
    .await
}

/// 10-6: a single two-second wait.
async fn waits(_: Value, ctx: DurableContext) -> Result<(), DurableError> {
    ctx.wait("pause", Duration::from_secs(2)).await
}

/// 10-7: a step that always fails, not retried.
async fn fails(_: Value, ctx: DurableContext) -> Result<String, DurableError> {
    ctx.step("failing", |_| async {
        Err::<String, _>(StepError::from(ServiceError("always fails".into())))
    })
    .retry(RetryPolicy::none())
    .await
}
