//! Instrumentation plugins through both drivers: which hooks fire, in which order, across
//! invocations, and that a failing plugin changes nothing.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_local::{ExecutionStatus, LocalRunner};
use durable_proto::{Jitter, OperationStatus, RetryPolicy};
use durable_tokio::{
    AttemptOutcome, DurableContext, DurableError, HookResult, InvocationEnd, InvocationInfo,
    OperationInfo, Plugin, StepError,
};

/// Records every hook as a line.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, line: String) -> HookResult {
        self.0.lock().unwrap().push(line);
        Ok(())
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

fn label(op: &OperationInfo) -> String {
    format!(
        "{} {}{}",
        op.sub_type,
        op.name.as_deref().unwrap_or(&op.id),
        if op.replayed { " (replayed)" } else { "" }
    )
}

impl Plugin for Recorder {
    fn on_invocation_start(&self, i: &InvocationInfo) -> HookResult {
        self.push(format!("invocation start first={}", i.first_invocation))
    }
    fn on_invocation_end(&self, _: &InvocationInfo, end: InvocationEnd) -> HookResult {
        self.push(format!("invocation end {}", end.as_str()))
    }
    fn on_user_function_start(&self, _: &InvocationInfo) -> HookResult {
        self.push("handler start".into())
    }
    fn on_user_function_end(&self, _: &InvocationInfo, ok: bool) -> HookResult {
        self.push(format!("handler end ok={ok}"))
    }
    fn on_operation_start(&self, op: &OperationInfo) -> HookResult {
        self.push(format!("start {}", label(op)))
    }
    fn on_operation_end(&self, op: &OperationInfo, status: &OperationStatus) -> HookResult {
        self.push(format!("end {} {status}", label(op)))
    }
    fn on_attempt_start(&self, op: &OperationInfo, n: u32) -> HookResult {
        self.push(format!("attempt {n} start {}", label(op)))
    }
    fn on_attempt_end(&self, op: &OperationInfo, n: u32, o: AttemptOutcome) -> HookResult {
        self.push(format!("attempt {n} end {} {}", label(op), o.as_str()))
    }
}

/// Fails or panics in every hook.
struct Faulty;

impl Plugin for Faulty {
    fn on_invocation_start(&self, _: &InvocationInfo) -> HookResult {
        Err("invocation start fails".into())
    }
    fn on_operation_start(&self, _: &OperationInfo) -> HookResult {
        panic!("operation start panics")
    }
    fn on_attempt_start(&self, _: &OperationInfo, _: u32) -> HookResult {
        panic!("attempt start panics")
    }
    fn on_attempt_end(&self, _: &OperationInfo, _: u32, _: AttemptOutcome) -> HookResult {
        Err("attempt end fails".into())
    }
    fn on_invocation_end(&self, _: &InvocationInfo, _: InvocationEnd) -> HookResult {
        panic!("invocation end panics")
    }
}

fn once_a_second(attempts: u32) -> RetryPolicy {
    let s = Duration::from_secs(1);
    RetryPolicy::try_linear(attempts, s, Duration::ZERO, s)
        .unwrap()
        .with_jitter(Jitter::None)
}

fn runner(plugins: Vec<Arc<dyn Plugin>>) -> LocalRunner {
    let mut builder = LocalRunner::builder();
    for p in plugins {
        builder = builder.shared_plugin(p);
    }
    let mut runner = builder.build();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let n: u32 = ctx
            .step("flaky", |s| async move {
                if s.attempt() == 1 {
                    Err(StepError::msg("first attempt fails"))
                } else {
                    Ok(s.attempt())
                }
            })
            .retry(once_a_second(2))
            .await?;
        ctx.wait("nap", Duration::from_secs(5)).await?;
        Ok::<_, DurableError>(n)
    });
    runner.register_blocking(
        "blocking",
        |_: (), ctx: &durable_blocking::DurableContext| {
            let n: u32 = ctx
                .step("flaky", |s| {
                    if s.attempt() == 1 {
                        Err(StepError::msg("first attempt fails"))
                    } else {
                        Ok(s.attempt())
                    }
                })
                .retry(once_a_second(2))
                .run()?;
            ctx.wait("nap", Duration::from_secs(5))?;
            Ok::<_, DurableError>(n)
        },
    );
    runner
}

#[tokio::test]
async fn hooks_follow_the_invocations_operations_and_attempts_in_both_drivers() {
    let recorder = Arc::new(Recorder::default());
    let runner = runner(vec![recorder.clone()]);
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(execution.result::<u32>().unwrap(), 2, "{function}");
        assert_eq!(
            recorder.take(),
            [
                // Invocation 1: the first attempt fails and a retry is scheduled.
                "invocation start first=true",
                "handler start",
                "start Step flaky",
                "attempt 1 start Step flaky",
                "attempt 1 end Step flaky FAILED",
                "invocation end PENDING",
                // Invocation 2: the retry succeeds; the wait blocks.
                "invocation start first=false",
                "handler start",
                "start Step flaky",
                "attempt 2 start Step flaky",
                "attempt 2 end Step flaky SUCCEEDED",
                "end Step flaky SUCCEEDED",
                "start Wait nap",
                "invocation end PENDING",
                // Invocation 3: both replay.
                "invocation start first=false",
                "handler start",
                "start Step flaky (replayed)",
                "end Step flaky (replayed) SUCCEEDED",
                "start Wait nap (replayed)",
                "end Wait nap (replayed) SUCCEEDED",
                "handler end ok=true",
                "invocation end SUCCEEDED",
            ],
            "{function}"
        );
    }
}

#[tokio::test]
async fn a_failing_plugin_changes_nothing_and_other_plugins_still_run() {
    let recorder = Arc::new(Recorder::default());
    let plain = runner(Vec::new());
    let instrumented = runner(vec![Arc::new(Faulty), recorder.clone()]);
    for function in ["async", "blocking"] {
        let without = plain.run(function, ()).await.unwrap();
        let with = instrumented.run(function, ()).await.unwrap();
        assert_eq!(with.status(), ExecutionStatus::Succeeded, "{function}");
        assert_eq!(with.result_json(), without.result_json(), "{function}");
        assert_eq!(with.event_types(), without.event_types(), "{function}");
        let lines = recorder.take();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.starts_with("invocation start"))
                .count(),
            3,
            "{function}: the recorder after the faulty plugin still sees every invocation"
        );
    }
}
