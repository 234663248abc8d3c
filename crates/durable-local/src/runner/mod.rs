//! [`LocalRunner`]: runs registered handlers against the local service until their
//! executions end, jumping virtual time from timer to timer.

mod api;
mod builder;
mod control;
mod execution;
mod external;
mod register;

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use durable_proto::{ErrorObject, ExecutionConfig, InvocationInput, InvocationOutcome, Timestamp};
use durable_tokio::BoxFuture;
use serde::Serialize;

pub use api::DurableRunner;
pub use builder::LocalRunnerBuilder;
pub use execution::TestExecution;
pub use external::CallbackResponse;

use crate::client::{lock_service, LocalClient, SharedService};
use crate::TimeMode;
use crate::{ChainedInvokeEnd, InvocationEnd, InvocationRecord};
use crate::{RunnerError, ServiceError};

/// The error type recorded for an invocation the runner ended abruptly
/// ([`LocalClient::crash_after_checkpoints`]), as Lambda records a crashed runtime.
pub const CRASH_ERROR_TYPE: &str = "Runtime.ExitError";
/// The error type recorded for an invocation that ran past the runner's invocation timeout.
pub const TIMEOUT_ERROR_TYPE: &str = "Sandbox.Timedout";
/// The error type recorded for an invocation whose task panicked outside user code (the
/// drivers turn panics in handlers and step bodies into `durable_tokio::PANIC_ERROR_TYPE`
/// failures, so this means a bug below them), as Lambda records a crashed runtime.
pub const INVOCATION_PANIC_ERROR_TYPE: &str = "Runtime.HandlerPanic";

/// What one invocation of a registered function runs: `durable_tokio::handle` (or
/// `durable_blocking::handle`) with the registered handler.
type Invoker =
    Arc<dyn Fn(InvocationInput, Arc<LocalClient>) -> BoxFuture<InvocationOutcome> + Send + Sync>;

/// Knobs of the runner itself (the service has its own, in [`ServiceConfig`](crate::ServiceConfig)).
#[derive(Debug, Clone)]
pub(crate) struct RunnerSettings {
    pub(crate) max_invocations: u32,
    pub(crate) invocation_timeout: Option<Duration>,
    pub(crate) execution: ExecutionConfig,
    pub(crate) handler_seed: Option<u64>,
    pub(crate) plugins: durable_tokio::Plugins,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            max_invocations: 200,
            invocation_timeout: None,
            execution: ExecutionConfig::default(),
            handler_seed: None,
            plugins: durable_tokio::Plugins::default(),
        }
    }
}

/// Runs durable handlers locally: an in-memory service, virtual time, the real SDK driver.
///
/// ```
/// use durable_local::{ExecutionStatus, LocalRunner};
/// use durable_tokio::{DurableContext, DurableError};
///
/// async fn greet(name: String, ctx: DurableContext) -> Result<String, DurableError> {
///     let greeting = ctx
///         .step("greet", |_| async move { Ok(format!("hello {name}")) })
///         .await?;
///     ctx.wait("nap", std::time::Duration::from_secs(24 * 3600)).await?;
///     Ok(greeting)
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut runner = LocalRunner::new();
/// runner.register("greeter", greet);
/// let execution = runner.run("greeter", "world").await.unwrap();
/// assert_eq!(execution.status(), ExecutionStatus::Succeeded);
/// assert_eq!(execution.result::<String>().unwrap(), "hello world");
/// assert_eq!(execution.invocation_count(), 2); // the day-long nap took no wall time
/// println!("{}", execution.timeline());
/// # });
/// ```
pub struct LocalRunner {
    service: SharedService,
    client: Arc<LocalClient>,
    functions: HashMap<String, Invoker>,
    /// Plain chained-invoke targets (see `register_plain`).
    plain: HashMap<String, external::PlainTarget>,
    /// Declarative callback responders by callback name (see `on_callback`).
    responders: HashMap<String, CallbackResponse>,
    settings: RunnerSettings,
}

impl Debug for LocalRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&String> = self.functions.keys().collect();
        names.sort();
        f.debug_struct("LocalRunner")
            .field("functions", &names)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for LocalRunner {
    fn default() -> Self {
        Self::new()
    }
}

enum Ended {
    Outcome(InvocationOutcome),
    Crashed,
    TimedOut,
    Panicked(String),
}

impl LocalRunner {
    /// A runner with default settings: virtual time, page size 100.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a runner with custom settings.
    pub fn builder() -> LocalRunnerBuilder {
        LocalRunnerBuilder::default()
    }

    /// The shared service (lock it with [`lock_service`](crate::lock_service)).
    pub fn service(&self) -> &SharedService {
        &self.service
    }

    /// The client handlers use; configure faults and read call counters here.
    pub fn client(&self) -> &Arc<LocalClient> {
        &self.client
    }

    /// Crashes the next invocation right after its `n`-th acknowledged checkpoint call:
    /// the handler is dropped mid-flight and the service records `InvocationCompleted` with
    /// a `Runtime.ExitError` error, then invokes again.
    pub fn crash_after_checkpoints(&self, n: u64) {
        self.client.crash_after_checkpoints(n);
    }

    /// Starts an execution of a registered function and returns its ARN, without invoking
    /// it (see [`drive`](Self::drive) and [`run_one_invocation`](Self::run_one_invocation)).
    pub fn start<I: Serialize>(
        &self,
        function_name: &str,
        input: I,
    ) -> Result<String, RunnerError> {
        if !self.functions.contains_key(function_name) {
            return Err(RunnerError::UnknownFunction {
                name: function_name.to_owned(),
            });
        }
        let input = serde_json::to_string(&input).map_err(|e| RunnerError::Input {
            message: e.to_string(),
        })?;
        Ok(lock_service(&self.service).start_execution(function_name, &input)?)
    }

    /// Starts an execution and drives it until it ends (or blocks on something only the
    /// outside world can do, such as completing a callback).
    pub async fn run<I: Serialize>(
        &self,
        function_name: &str,
        input: I,
    ) -> Result<TestExecution, RunnerError> {
        let arn = self.start(function_name, input)?;
        self.drive(&arn).await
    }

    /// Invokes the execution whenever the service would, moving time to the next due timer
    /// whenever nothing else can happen, until the execution ends, is paused, or only an
    /// external event (callback, chained invoke) could move it on; the returned execution
    /// then still has status RUNNING (or PAUSED).
    pub async fn drive(&self, arn: &str) -> Result<TestExecution, RunnerError> {
        loop {
            let (running, needs, next, count) = {
                let svc = lock_service(&self.service);
                let record = svc.execution(arn).ok_or_else(|| unknown(arn))?;
                (
                    // A paused execution waits for `resume_execution`, which only the
                    // test can call: driving it on would only race virtual time ahead.
                    !record.status().is_terminal() && !record.status().is_paused(),
                    record.needs_invocation(),
                    record.next_timer(),
                    record.invocation_count(),
                )
            };
            if !running {
                break;
            }
            if needs {
                if count >= self.settings.max_invocations {
                    return Err(RunnerError::InvocationLimit {
                        arn: arn.to_owned(),
                        limit: self.settings.max_invocations,
                    });
                }
                self.run_one_invocation(arn).await?;
                continue;
            }
            // The outside world (invoke targets, callback responders) moves before the
            // service's next timer when it is due first.
            if self.serve_external(arn).await? {
                continue;
            }
            match next {
                Some(timer) => self.wait_until(timer.due).await,
                None => break,
            }
        }
        self.execution(arn)
    }

    /// Runs exactly one invocation now (whether or not the service would), for stepwise
    /// tests, and returns its record.
    pub async fn run_one_invocation(&self, arn: &str) -> Result<InvocationRecord, RunnerError> {
        let (input, invoker) = {
            let mut svc = lock_service(&self.service);
            let record = svc.execution(arn).ok_or_else(|| unknown(arn))?;
            let function = record.function_name().to_owned();
            let invoker = self
                .functions
                .get(&function)
                .cloned()
                .ok_or(RunnerError::UnknownFunction { name: function })?;
            (svc.begin_invocation(arn)?, invoker)
        };
        let ended = self.invoke(invoker, input).await;
        let end = match ended {
            Ended::Outcome(InvocationOutcome::Output(output)) => InvocationEnd::Returned(output),
            Ended::Outcome(InvocationOutcome::Failure(f)) => {
                InvocationEnd::Errored(ErrorObject::new(f.error_type, f.message))
            }
            Ended::Outcome(other) => InvocationEnd::Errored(ErrorObject::new(
                "UnknownInvocationOutcome",
                format!("{other:?}"),
            )),
            Ended::Crashed => InvocationEnd::Errored(ErrorObject::new(
                CRASH_ERROR_TYPE,
                "Runtime exited without providing a reason (the local runner ended the \
                 invocation abruptly after an acknowledged checkpoint)",
            )),
            Ended::TimedOut => InvocationEnd::Errored(ErrorObject::new(
                TIMEOUT_ERROR_TYPE,
                format!(
                    "Task timed out after {:.2} seconds",
                    self.settings
                        .invocation_timeout
                        .unwrap_or_default()
                        .as_secs_f64()
                ),
            )),
            Ended::Panicked(message) => InvocationEnd::Errored(ErrorObject::new(
                INVOCATION_PANIC_ERROR_TYPE,
                format!("the handler panicked: {message}"),
            )),
        };
        let mut svc = lock_service(&self.service);
        svc.complete_invocation(arn, end)?;
        svc.execution(arn)
            .and_then(|r| r.invocations().last().cloned())
            .ok_or_else(|| unknown(arn))
    }

    async fn invoke(&self, invoker: Invoker, input: InvocationInput) -> Ended {
        let mut crash = self.client.crash_signal();
        let mut task = tokio::spawn(invoker(input, self.client.clone()));
        let run = async {
            tokio::select! {
                biased;
                Ok(()) = crash.changed() => Ended::Crashed,
                joined = &mut task => match joined {
                    Ok(outcome) => Ended::Outcome(outcome),
                    Err(e) if e.is_panic() => Ended::Panicked(panic_message(e.into_panic())),
                    Err(e) => Ended::Panicked(e.to_string()),
                },
            }
        };
        let ended = match self.settings.invocation_timeout {
            Some(limit) => tokio::time::timeout(limit, run)
                .await
                .unwrap_or(Ended::TimedOut),
            None => run.await,
        };
        // A crashed or timed-out handler is dropped where it stands.
        task.abort();
        self.client.end_invocation();
        ended
    }

    async fn wait_until(&self, due: Timestamp) {
        let delay = {
            let mut svc = lock_service(&self.service);
            match svc.clock().mode() {
                TimeMode::Virtual => {
                    svc.advance_to(due);
                    None
                }
                TimeMode::Real => Some(svc.clock().until(due)),
            }
        };
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
            lock_service(&self.service).fire_due_timers();
        }
    }

    /// Moves virtual time forward by `by`, firing whatever becomes due.
    pub fn advance_time(&self, by: Duration) {
        lock_service(&self.service).advance_by(by);
    }

    /// Moves virtual time to the next timer of `arn` and fires it; returns the new time
    /// (`None` without a timer, or on real time).
    pub fn advance_to_next_timer(&self, arn: &str) -> Option<Timestamp> {
        lock_service(&self.service).advance_to_next_timer(arn)
    }

    /// Continues an execution that has not ended — typically one found in a store after a
    /// restart (see [`LocalRunnerBuilder::store_path`]) — exactly as
    /// [`drive`](Self::drive) does, once its function is registered again. An execution
    /// that already ended is returned as it is.
    pub async fn resume(&self, arn: &str) -> Result<TestExecution, RunnerError> {
        let function = {
            let svc = lock_service(&self.service);
            let record = svc.execution(arn).ok_or_else(|| unknown(arn))?;
            record.function_name().to_owned()
        };
        if !self.functions.contains_key(&function) {
            return Err(RunnerError::UnknownFunction { name: function });
        }
        self.drive(arn).await
    }

    /// Snapshots of every execution the service holds, oldest first (after reopening a
    /// store: everything it kept).
    pub fn executions(&self) -> Vec<TestExecution> {
        let svc = lock_service(&self.service);
        let now = svc.now();
        svc.executions()
            .into_iter()
            .map(|record| TestExecution::new(record.clone(), now))
            .collect()
    }

    /// A snapshot of an execution.
    pub fn execution(&self, arn: &str) -> Result<TestExecution, RunnerError> {
        let svc = lock_service(&self.service);
        let record = svc.execution(arn).ok_or_else(|| unknown(arn))?;
        Ok(TestExecution::new(record.clone(), svc.now()))
    }

    /// Completes a callback successfully (`SendDurableExecutionCallbackSuccess`).
    pub fn send_callback_success(
        &self,
        callback_id: &str,
        result: Option<String>,
    ) -> Result<(), ServiceError> {
        lock_service(&self.service).send_callback_success(callback_id, result)
    }

    /// Completes a callback with a failure (`SendDurableExecutionCallbackFailure`).
    pub fn send_callback_failure(
        &self,
        callback_id: &str,
        error: ErrorObject,
    ) -> Result<(), ServiceError> {
        lock_service(&self.service).send_callback_failure(callback_id, error)
    }

    /// Ends the STARTED chained invoke `operation_id` of execution `arn` as its target
    /// would (the runner does not run invoke targets itself yet).
    pub fn complete_chained_invoke(
        &self,
        arn: &str,
        operation_id: &str,
        end: ChainedInvokeEnd,
    ) -> Result<(), ServiceError> {
        lock_service(&self.service).complete_chained_invoke(arn, operation_id, end)
    }

    /// Sends a callback heartbeat (`SendDurableExecutionCallbackHeartbeat`).
    pub fn send_callback_heartbeat(&self, callback_id: &str) -> Result<(), ServiceError> {
        lock_service(&self.service).send_callback_heartbeat(callback_id)
    }
}

fn unknown(arn: &str) -> RunnerError {
    RunnerError::Service(ServiceError::ResourceNotFound {
        message: format!("Execution not found: {arn}"),
    })
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}
