//! Suite `plugin` (requirements 10-1 .. 10-7) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, RetryPolicy, StepError};
use serde_json::Value;

use crate::{every_second, with_plugins, ConfPlugin, PluginReport, ServiceError};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run_with_options as run;
    let plugin = |report| vec![ConfPlugin::new("CONFPLUGIN", report)];
    Some(match name {
        "plugin_invocation_hooks" => run(with_plugins(plugin(PluginReport::Invocations)), greet),
        "plugin_operation_hooks" => run(with_plugins(plugin(PluginReport::Operations)), greet),
        "plugin_attempt_hooks" => run(with_plugins(plugin(PluginReport::Attempts)), unreliable),
        "plugin_faulty" => run(
            with_plugins(vec![ConfPlugin::faulty("CONFPLUGIN-FAULTY")]),
            greet,
        ),
        "plugin_two" => {
            let plugins = vec![
                ConfPlugin::new("CONFPLUGIN-A", PluginReport::Invocations),
                ConfPlugin::new("CONFPLUGIN-B", PluginReport::Invocations),
            ];
            run(with_plugins(plugins), greet)
        }
        "plugin_across_invocations" => run(with_plugins(plugin(PluginReport::Invocations)), waits),
        "plugin_failed_execution" => run(with_plugins(plugin(PluginReport::Invocations)), fails),
        _ => return None,
    })
}

/// 10-1, 10-2, 10-4, 10-5: one step greeting the input, logging as it runs.
fn greet(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
    let log = ctx.logger();
    ctx.step("greet", |_| {
        log.info(format!("Greeting step running for: {name}"));
        Ok(format!("Hello, {name}!"))
    })
    .run()
}

/// 10-3: a step failing its first attempt, retried a second later.
fn unreliable(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("unreliable", |s| {
        if s.attempt() == 1 {
            Err(StepError::from(ServiceError("first attempt fails".into())))
        } else {
            Ok("Operation succeeded".to_owned())
        }
    })
    .retry(every_second(3))
    .run()
}

/// 10-6: a single two-second wait.
fn waits(_: Value, ctx: &DurableContext) -> Result<(), DurableError> {
    ctx.wait("pause", Duration::from_secs(2))
}

/// 10-7: a step that always fails, not retried.
fn fails(_: Value, ctx: &DurableContext) -> Result<String, DurableError> {
    ctx.step("failing", |_| {
        Err::<String, _>(StepError::from(ServiceError("always fails".into())))
    })
    .retry(RetryPolicy::none())
    .run()
}
