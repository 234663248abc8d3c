//! The remote runner (`durable_local::remote::RemoteRunner`) against AWS's emulator
//! `dex-local-runner`, which serves the same REST API as Lambda: each test body below is
//! written once against `&mut impl DurableRunner` and runs on the emulator through the real
//! API calls (`Invoke`, `GetDurableExecution`, `GetDurableExecutionHistory`, the callback
//! calls) and on the local runner, with the same assertions. The emulator runs the
//! `e2e-tokio` bootstrap in real time; the local runner runs the same handlers
//! (`e2e_scenarios::…`) in-process on virtual time.
//!
//! The client is configured the standard AWS way, from the environment: this binary sets
//! `AWS_ENDPOINT_URL_LAMBDA` to the shim of one emulator shared by its tests, plus a region
//! and dummy credentials, before any client is built (and never again).
//!
//! The emulator tests are ignored by default; `scripts/test.sh` runs them, or
//! `cargo test -p e2e-scenarios --test remote -- --ignored`. The local runs are ordinary
//! tests.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use durable_local::remote::{RemoteError, RemoteRunner};
use durable_local::{
    CallbackResponse, DurableRunner, EventType, ExecutionStatus, InvocationResult, LocalRunner,
    TestExecution,
};
use durable_tokio::proto::{ErrorObject, OperationStatus, OperationType};
use e2e_support::{build_binary, Emulator, HandlerMode, Options};
use serde_json::{json, Value};

// ---- the test bodies, one per workflow, for any runner --------------------------------

/// A step that fails twice and succeeds on its third attempt, one second apart.
async fn step_workflow(runner: &mut impl DurableRunner) {
    let execution = runner.run("RetryTwice", json!({})).await.unwrap();
    let context = describe(&execution);
    assert_eq!(execution.status(), ExecutionStatus::Succeeded, "{context}");
    assert_eq!(
        execution.result::<Value>().unwrap(),
        json!({"succeeded_on": 3})
    );
    let step = execution.operation("flaky").expect("the step");
    assert_eq!(
        (&step.id[..], &step.operation_type, &step.status),
        ("1", &OperationType::Step, &OperationStatus::Succeeded),
        "{context}"
    );
    assert_eq!(execution.step_attempts("flaky"), Some(3), "{context}");
    assert_eq!(
        types_of(&execution, "flaky"),
        [
            EventType::StepStarted,
            EventType::StepFailed,
            EventType::StepStarted,
            EventType::StepFailed,
            EventType::StepStarted,
            EventType::StepSucceeded
        ],
        "{context}"
    );
    let retries = execution.events_of_type(EventType::StepFailed);
    assert!(retries.iter().all(|e| e
        .error()
        .is_some_and(|err| err.type_name() == "PaymentDeclined")));
    assert_eq!(execution.invocation_count(), 3, "{context}");
    assert_invocations_end_with(&execution, InvocationResult::Succeeded);
    // Two one-second retry delays.
    assert!(execution.elapsed_millis() >= 2_000, "{context}");
}

/// A two-second wait, then a step.
async fn wait_workflow(runner: &mut impl DurableRunner) {
    let execution = runner.run("WaitThenStep", json!({})).await.unwrap();
    let context = describe(&execution);
    assert_eq!(execution.status(), ExecutionStatus::Succeeded, "{context}");
    assert_eq!(execution.result::<String>().unwrap(), "done");
    let wait = execution.operation("pause").expect("the wait");
    assert_eq!(wait.operation_type, OperationType::Wait);
    assert_eq!(wait.status, OperationStatus::Succeeded);
    let scheduled = wait
        .wait_details
        .as_ref()
        .and_then(|d| d.scheduled_end_timestamp)
        .expect("the wait's scheduled end");
    let started = wait.start_timestamp.expect("the wait's start");
    let planned = scheduled.as_millis() - started.as_millis();
    assert!((2_000..3_000).contains(&planned), "planned {planned} ms");
    assert_eq!(
        types_of(&execution, "pause"),
        [EventType::WaitStarted, EventType::WaitSucceeded]
    );
    assert_eq!(
        types_of(&execution, "after"),
        [EventType::StepStarted, EventType::StepSucceeded]
    );
    // Suspended in the wait, invoked again when it elapsed.
    assert_eq!(execution.invocation_count(), 2, "{context}");
    assert_invocations_end_with(&execution, InvocationResult::Succeeded);
    assert!(execution.elapsed_millis() >= 2_000, "{context}");
}

/// A step that fails on both attempts fails the execution with its error.
async fn failing_execution(runner: &mut impl DurableRunner) {
    let execution = runner.run("RetryExhausted", json!({})).await.unwrap();
    let context = describe(&execution);
    assert_eq!(execution.status(), ExecutionStatus::Failed, "{context}");
    let error = execution.error().expect("the execution's error");
    assert_eq!(error.type_name(), "PaymentDeclined", "{context}");
    assert_eq!(error.message(), "payment declined: attempt 2");
    assert!(execution.result::<Value>().is_err());
    let step = execution.operation("doomed").expect("the step");
    assert_eq!(step.status, OperationStatus::Failed, "{context}");
    assert_eq!(execution.step_attempts("doomed"), Some(2));
    assert_eq!(execution.events_of_type(EventType::StepFailed).len(), 2);
    assert_eq!(
        execution.events_of_type(EventType::ExecutionFailed).len(),
        1
    );
    assert_eq!(execution.invocation_count(), 2, "{context}");
    assert_invocations_end_with(&execution, InvocationResult::Failed);
}

/// A callback completed by a declared responder, through the real callback call remotely.
async fn callback_by_responder(runner: &mut impl DurableRunner) {
    runner.on_callback("approval", CallbackResponse::succeed("yes"));
    let execution = runner.run("Approval", json!({})).await.unwrap();
    let context = describe(&execution);
    assert_eq!(execution.status(), ExecutionStatus::Succeeded, "{context}");
    assert_eq!(execution.result::<String>().unwrap(), "recorded yes");
    let callback = execution.operation("approval").expect("the callback");
    assert_eq!(callback.operation_type, OperationType::Callback);
    assert_eq!(callback.status, OperationStatus::Succeeded);
    let details = callback
        .callback_details
        .as_ref()
        .expect("callback details");
    assert_eq!(details.result.as_deref(), Some("\"yes\""));
    assert!(execution
        .callback_id("approval")
        .is_some_and(|id| !id.is_empty()));
    assert_eq!(
        types_of(&execution, "approval"),
        [EventType::CallbackStarted, EventType::CallbackSucceeded]
    );
    assert_eq!(
        execution.operation("record").map(|op| op.status.clone()),
        Some(OperationStatus::Succeeded)
    );
    assert_eq!(execution.invocation_count(), 2, "{context}");
}

/// A callback failed by a declared responder fails the execution.
async fn callback_failed_by_responder(runner: &mut impl DurableRunner) {
    runner.on_callback(
        "approval",
        CallbackResponse::fail(ErrorObject::new("Rejected", "not today")),
    );
    let execution = runner.run("Approval", json!({})).await.unwrap();
    let context = describe(&execution);
    assert_eq!(execution.status(), ExecutionStatus::Failed, "{context}");
    let callback = execution.operation("approval").expect("the callback");
    assert_eq!(callback.status, OperationStatus::Failed, "{context}");
    let error = callback
        .callback_details
        .as_ref()
        .and_then(|d| d.error.as_ref())
        .expect("the callback's error");
    assert_eq!(
        (error.type_name(), error.message()),
        ("Rejected", "not today")
    );
    assert!(execution.operation("record").is_none(), "{context}");
}

// ---- helpers ---------------------------------------------------------------------------

fn types_of(execution: &TestExecution, name: &str) -> Vec<EventType> {
    execution
        .events_of(name)
        .iter()
        .map(|e| e.event_type)
        .collect()
}

/// Every invocation but the last returned PENDING; the last one ended the execution.
fn assert_invocations_end_with(execution: &TestExecution, last: InvocationResult) {
    let results: Vec<_> = execution.invocations().iter().map(|i| i.result).collect();
    let mut expected = vec![Some(InvocationResult::Pending); results.len() - 1];
    expected.push(Some(last));
    assert_eq!(results, expected, "{}", describe(execution));
}

fn describe(execution: &TestExecution) -> String {
    format!(
        "execution {} ({}):\n{}\nhistory: {}",
        execution.arn(),
        execution.status(),
        execution.timeline(),
        execution.history_json()
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The local runner with the handlers registered under the template's function names.
fn local_runner() -> LocalRunner {
    let mut runner = LocalRunner::new();
    runner.register("RetryTwice", e2e_scenarios::retry_twice);
    runner.register("WaitThenStep", e2e_scenarios::wait_then_step);
    runner.register("RetryExhausted", e2e_scenarios::retry_exhausted);
    runner.register("Approval", e2e_scenarios::approval);
    runner
}

/// The emulator shared by this binary's tests, with the environment pointing the standard
/// AWS configuration at its shim. Set once, before any client reads it; the emulator's
/// processes stop when this process ends (e2e-support's watchdog).
fn emulator() -> &'static Emulator {
    static EMULATOR: OnceLock<Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        let bootstrap =
            build_binary("e2e-scenarios", "e2e-tokio").unwrap_or_else(|e| panic!("{e}"));
        let cmd = json!({"mode": "runtime-api", "cmd": [bootstrap, "{handler}"]}).to_string();
        let options = Options {
            mode: HandlerMode::RuntimeApi,
            label: "remote".to_owned(),
            ..Options::default()
        };
        let template = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("template.yaml");
        let emu = Emulator::start_with(template, &cmd, &options).unwrap_or_else(|e| panic!("{e}"));
        // What a developer's shell would export to point the SDK at an emulator.
        for (key, value) in [
            ("AWS_ENDPOINT_URL_LAMBDA", emu.shim_url()),
            ("AWS_REGION", "us-west-2"),
            ("AWS_ACCESS_KEY_ID", "emulator"),
            ("AWS_SECRET_ACCESS_KEY", "emulator"),
        ] {
            std::env::set_var(key, value);
        }
        for key in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"] {
            std::env::remove_var(key);
        }
        emu
    })
}

/// A remote runner on the emulator: the standard configuration chain, quick polls. The
/// emulator has `$LATEST` only; on AWS the qualifier is a version or alias.
async fn remote_runner(timeout: Duration) -> RemoteRunner {
    emulator();
    RemoteRunner::builder()
        .qualifier("$LATEST")
        .poll_interval(Duration::from_millis(100))
        .timeout(timeout)
        .build_from_env()
        .await
}

macro_rules! on_both {
    ($body:ident, $local:ident, $remote:ident) => {
        #[test]
        fn $local() {
            runtime().block_on($body(&mut local_runner()));
        }

        #[test]
        #[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
        fn $remote() {
            runtime()
                .block_on(async { $body(&mut remote_runner(Duration::from_secs(90)).await).await });
        }
    };
}

on_both!(
    step_workflow,
    step_workflow_on_the_local_runner,
    step_workflow_on_the_emulator
);
on_both!(
    wait_workflow,
    wait_workflow_on_the_local_runner,
    wait_workflow_on_the_emulator
);
on_both!(
    failing_execution,
    failing_execution_on_the_local_runner,
    failing_execution_on_the_emulator
);
on_both!(
    callback_by_responder,
    callback_by_responder_on_the_local_runner,
    callback_by_responder_on_the_emulator
);
on_both!(
    callback_failed_by_responder,
    callback_failed_by_responder_on_the_local_runner,
    callback_failed_by_responder_on_the_emulator
);

// ---- the remote runner alone -------------------------------------------------------------

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn a_callback_is_found_by_name_and_completed_by_hand_with_the_real_calls() {
    runtime().block_on(async {
        let runner = remote_runner(Duration::from_secs(90)).await;
        let arn = runner.start("Approval", json!({})).await.unwrap();
        let id = runner.wait_for_callback(&arn, "approval").await.unwrap();
        // Still waiting: the snapshot shows the open callback with that id.
        let open = runner.execution(&arn).await.unwrap();
        assert_eq!(open.status(), ExecutionStatus::Running);
        assert_eq!(open.callback_id("approval"), Some(id.as_str()));
        assert_eq!(
            open.operation("approval").map(|op| op.status.clone()),
            Some(OperationStatus::Started)
        );
        runner.send_callback_heartbeat(&id).await.unwrap();
        runner
            .send_callback_success(&id, Some("\"by hand\"".to_owned()))
            .await
            .unwrap();
        let done = runner.drive(&arn).await.unwrap();
        assert_eq!(
            done.status(),
            ExecutionStatus::Succeeded,
            "{}",
            describe(&done)
        );
        assert_eq!(done.result::<String>().unwrap(), "recorded by hand");
        // A closed callback cannot be completed again: the API's refusal comes back typed.
        let again = runner
            .send_callback_failure(&id, ErrorObject::new("Late", "too late"))
            .await
            .unwrap_err();
        assert_eq!(again.code(), "DL-A006", "{again}");
        assert!(
            again
                .to_string()
                .starts_with("SendDurableExecutionCallbackFailure failed: "),
            "{again}"
        );
    });
}

#[test]
#[ignore = "e2e: needs the emulator venv (scripts/test.sh runs it)"]
fn errors_name_the_problem() {
    runtime().block_on(async {
        let runner = remote_runner(Duration::from_secs(2)).await;
        let missing = runner.start("NoSuchFunction", json!({})).await.unwrap_err();
        assert!(
            matches!(&missing, RemoteError::FunctionNotFound { function, .. } if function == "NoSuchFunction"),
            "{missing:?}"
        );
        assert_eq!(missing.code(), "DL-A001");

        let plain = runner.start("NotDurable", json!({})).await.unwrap_err();
        assert!(matches!(plain, RemoteError::NotDurable { .. }), "{plain:?}");
        assert!(plain.to_string().contains("DurableConfig"), "{plain}");

        let unknown = runner
            .execution("arn:aws:lambda:us-west-2:123456789012:function:Approval:$LATEST/durable-execution/none/none")
            .await
            .unwrap_err();
        assert!(
            matches!(unknown, RemoteError::ExecutionNotFound { .. }),
            "{unknown:?}"
        );
        assert_eq!(unknown.code(), "DL-A003");

        // Nobody completes the callback: the timeout says what the execution waits for.
        let arn = runner.start("Approval", json!({})).await.unwrap();
        let waiting = runner.drive(&arn).await.unwrap_err();
        let RemoteError::Timeout { status, hint, .. } = &waiting else {
            panic!("expected a timeout, got {waiting:?}");
        };
        assert_eq!(*status, ExecutionStatus::Running);
        assert!(hint.contains("callback `approval`"), "{waiting}");
        assert_eq!(waiting.code(), "DL-A004");
        // Clean up through the API: the execution is stopped.
        runner.stop_execution(&arn, None).await.unwrap();
        let stopped = runner.execution(&arn).await.unwrap();
        assert_eq!(stopped.status(), ExecutionStatus::Stopped, "{}", describe(&stopped));
    });
}
