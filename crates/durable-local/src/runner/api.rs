//! [`DurableRunner`]: what a test needs from a runner, so one test body runs on the
//! [`LocalRunner`] and, with feature `remote`, on the `RemoteRunner` against a deployed
//! function or an emulator.

use std::future::Future;

use serde::Serialize;

use crate::runner::{CallbackResponse, LocalRunner, TestExecution};
use crate::RunnerError;

/// A runner of durable executions that hands back [`TestExecution`]s: the local runner, or
/// (feature `remote`) the remote one. Write a test against `&impl DurableRunner` and it runs
/// on both with the same assertions.
///
/// The methods have the inherent methods' names and meaning; on a concrete runner the
/// inherent ones are called (the local runner's `start` and `execution` are synchronous
/// there), through this trait every one is async.
///
/// ```
/// use durable_local::{CallbackResponse, DurableRunner, ExecutionStatus, LocalRunner};
/// use durable_tokio::{DurableContext, DurableError};
///
/// async fn approve(_: (), ctx: DurableContext) -> Result<String, DurableError> {
///     let callback = ctx.create_callback::<String>("approval").await?;
///     callback.await
/// }
///
/// /// The same test for any runner: the function must be deployed (or registered) as
/// /// `approve`.
/// async fn approval_is_passed_through(runner: &mut impl DurableRunner) {
///     runner.on_callback("approval", CallbackResponse::succeed("yes"));
///     let execution = runner.run("approve", ()).await.unwrap();
///     assert_eq!(execution.status(), ExecutionStatus::Succeeded);
///     assert_eq!(execution.result::<String>().unwrap(), "yes");
///     assert!(execution.callback_id("approval").is_some());
/// }
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let mut runner = LocalRunner::new();
/// runner.register("approve", approve);
/// approval_is_passed_through(&mut runner).await;
/// # });
/// ```
pub trait DurableRunner: Sync {
    /// The runner's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Starts an execution of `function` with `input` serialized as JSON; returns its ARN.
    fn start<I: Serialize + Send>(
        &self,
        function: &str,
        input: I,
    ) -> impl Future<Output = Result<String, Self::Error>> + Send;

    /// Carries the execution on until it ends (the local runner also returns when only the
    /// outside world could move it on) and returns it.
    fn drive(&self, arn: &str) -> impl Future<Output = Result<TestExecution, Self::Error>> + Send;

    /// [`start`](Self::start), then [`drive`](Self::drive).
    fn run<I: Serialize + Send>(
        &self,
        function: &str,
        input: I,
    ) -> impl Future<Output = Result<TestExecution, Self::Error>> + Send {
        async move {
            let arn = self.start(function, input).await?;
            self.drive(&arn).await
        }
    }

    /// A snapshot of the execution now.
    fn execution(
        &self,
        arn: &str,
    ) -> impl Future<Output = Result<TestExecution, Self::Error>> + Send;

    /// Completes every callback named `name` with `response` once it is created.
    fn on_callback(&mut self, name: &str, response: CallbackResponse) -> &mut Self;
}

impl DurableRunner for LocalRunner {
    type Error = RunnerError;

    async fn start<I: Serialize + Send>(
        &self,
        function: &str,
        input: I,
    ) -> Result<String, RunnerError> {
        LocalRunner::start(self, function, input)
    }

    async fn drive(&self, arn: &str) -> Result<TestExecution, RunnerError> {
        LocalRunner::drive(self, arn).await
    }

    async fn execution(&self, arn: &str) -> Result<TestExecution, RunnerError> {
        LocalRunner::execution(self, arn)
    }

    fn on_callback(&mut self, name: &str, response: CallbackResponse) -> &mut Self {
        LocalRunner::on_callback(self, name, response)
    }
}
