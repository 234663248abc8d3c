//! [`RemoteRunner`]: runs an execution of a **deployed** durable function through the real
//! Lambda API and returns the same [`TestExecution`] as [`LocalRunner`](crate::LocalRunner),
//! so one test body can assert on both (see [`DurableRunner`](crate::DurableRunner)).
//!
//! It starts an execution with `Invoke` (asynchronous, with the function's qualifier), polls
//! `GetDurableExecution` until the execution ends, reads `GetDurableExecutionHistory` (every
//! page) and rebuilds the execution's operations and invocations from it
//! ([`ExecutionRecord::from_history`](crate::ExecutionRecord::from_history)). Callbacks are
//! completed with `SendDurableExecutionCallbackSuccess` / `…Failure` / `…Heartbeat`, by
//! declared responders ([`on_callback`](RemoteRunner::on_callback)) or by hand.
//!
//! The client is configured the standard AWS way (environment, profile, SSO when the
//! application enables it, instance or container credentials; `AWS_ENDPOINT_URL_LAMBDA`
//! for an emulator), with durable-tokio's HTTPS client. Feature `remote`. Guide:
//! `docs/remote-testing.md`.
//!
//! ```no_run
//! use durable_local::remote::RemoteRunner;
//! use durable_local::{CallbackResponse, ExecutionStatus};
//!
//! # async fn example() -> Result<(), durable_local::remote::RemoteError> {
//! let mut runner = RemoteRunner::builder().qualifier("live").build_from_env().await;
//! runner.on_callback("approval", CallbackResponse::succeed("yes"));
//! let execution = runner.run("orders", serde_json::json!({"id": "o-1"})).await?;
//! assert_eq!(execution.status(), ExecutionStatus::Succeeded);
//! assert_eq!(execution.step_attempts("charge"), Some(1));
//! # Ok(())
//! # }
//! ```

mod callbacks;
mod convert;
mod error;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use durable_proto::{ErrorObject, OperationStatus, OperationType, Timestamp};
use serde::Serialize;

pub use aws_sdk_lambda;
pub use error::RemoteError;

use crate::{CallbackResponse, EventType, ExecutionRecord, TestExecution};

const INVOKE: &str = "Invoke";
const GET_EXECUTION: &str = "GetDurableExecution";
const GET_HISTORY: &str = "GetDurableExecutionHistory";
const STOP: &str = "StopDurableExecution";
/// The most events one history page may hold (the API's maximum).
const HISTORY_PAGE: i32 = 1000;

/// Settings of a [`RemoteRunner`]; start from [`RemoteRunner::builder`].
#[derive(Debug, Clone)]
pub struct RemoteRunnerBuilder {
    poll_interval: Duration,
    timeout: Duration,
    qualifier: Option<String>,
}

impl Default for RemoteRunnerBuilder {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            timeout: Duration::from_secs(300),
            qualifier: None,
        }
    }
}

impl RemoteRunnerBuilder {
    /// How long to sleep between two polls of the execution (default 500 ms). Each poll is
    /// one `GetDurableExecution` call, plus a history read while callback responders are
    /// registered.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// How long one wait may take in all — [`drive`](RemoteRunner::drive) until the
    /// execution ends, [`wait_for_callback`](RemoteRunner::wait_for_callback) until the
    /// callback exists — before it fails with [`RemoteError::Timeout`] (default 5 minutes).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The version or alias every execution is started on (`Invoke`'s `Qualifier`), e.g.
    /// `"live"`; unset, the function name or ARN passed to
    /// [`start`](RemoteRunner::start) must carry it (`orders:live`, a qualified ARN).
    pub fn qualifier(mut self, qualifier: impl Into<String>) -> Self {
        self.qualifier = Some(qualifier.into());
        self
    }

    /// A runner calling the API with `client`, configured by the caller.
    pub fn build(self, client: aws_sdk_lambda::Client) -> RemoteRunner {
        RemoteRunner {
            client,
            settings: self,
            responders: HashMap::new(),
        }
    }

    /// A runner whose client comes from the standard AWS configuration chain, as
    /// [`durable_tokio::LambdaClient::from_env`] builds it: region and credentials from the
    /// environment or the shared config files, the endpoint from `AWS_ENDPOINT_URL_LAMBDA`
    /// when set. Makes no API call.
    pub async fn build_from_env(self) -> RemoteRunner {
        let client = durable_tokio::LambdaClient::from_env().await;
        self.build(client.sdk_client().clone())
    }
}

/// Starts executions of deployed durable functions through the Lambda API, waits for them
/// and returns [`TestExecution`]s rebuilt from their history. See the
/// [module documentation](self).
#[derive(Debug, Clone)]
pub struct RemoteRunner {
    client: aws_sdk_lambda::Client,
    settings: RemoteRunnerBuilder,
    responders: HashMap<String, CallbackResponse>,
}

impl RemoteRunner {
    /// Settings: poll interval, timeout, qualifier.
    pub fn builder() -> RemoteRunnerBuilder {
        RemoteRunnerBuilder::default()
    }

    /// A runner with default settings calling the API with `client`.
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self::builder().build(client)
    }

    /// A runner with default settings and a client from the standard AWS configuration
    /// chain (see [`RemoteRunnerBuilder::build_from_env`]).
    pub async fn from_env() -> Self {
        Self::builder().build_from_env().await
    }

    /// The SDK client the runner calls the API with.
    pub fn sdk_client(&self) -> &aws_sdk_lambda::Client {
        &self.client
    }

    /// Completes every callback named `name` with `response` once the history shows it
    /// created, while [`drive`](Self::drive) (or [`run`](Self::run)) waits, as
    /// [`LocalRunner::on_callback`](crate::LocalRunner::on_callback) does locally. A
    /// [`CallbackResponse::after`] delay is wall-clock time from when the runner first saw
    /// the callback.
    pub fn on_callback(&mut self, name: &str, response: CallbackResponse) -> &mut Self {
        self.responders.insert(name.to_owned(), response);
        self
    }

    /// Starts an execution of `function` (a name, `name:qualifier`, or a function ARN) with
    /// `input` serialized as JSON: an asynchronous `Invoke` with the runner's qualifier.
    /// Returns the execution's ARN.
    pub async fn start<I: Serialize>(
        &self,
        function: &str,
        input: I,
    ) -> Result<String, RemoteError> {
        self.invoke(function, None, input).await
    }

    /// [`start`](Self::start) with a `DurableExecutionName`: starting the same name again
    /// returns the execution already started rather than a second one (the service's rule).
    pub async fn start_named<I: Serialize>(
        &self,
        function: &str,
        execution_name: &str,
        input: I,
    ) -> Result<String, RemoteError> {
        self.invoke(function, Some(execution_name), input).await
    }

    async fn invoke<I: Serialize>(
        &self,
        function: &str,
        execution_name: Option<&str>,
        input: I,
    ) -> Result<String, RemoteError> {
        let payload = serde_json::to_vec(&input).map_err(|e| RemoteError::Input {
            message: e.to_string(),
        })?;
        let output = self
            .client
            .invoke()
            .function_name(function)
            .set_qualifier(self.settings.qualifier.clone())
            .invocation_type(InvocationType::Event)
            .set_durable_execution_name(execution_name.map(str::to_owned))
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|err| RemoteError::from_sdk(INVOKE, &err).about_function(function))?;
        match output.durable_execution_arn {
            Some(arn) if !arn.is_empty() => Ok(arn),
            _ => Err(RemoteError::NotDurable {
                function: function.to_owned(),
                status_code: output.status_code,
                function_error: output.function_error,
            }),
        }
    }

    /// Starts an execution and [`drive`](Self::drive)s it to its end.
    pub async fn run<I: Serialize>(
        &self,
        function: &str,
        input: I,
    ) -> Result<TestExecution, RemoteError> {
        let arn = self.start(function, input).await?;
        self.drive(&arn).await
    }

    /// Polls the execution until it ends, completing callbacks through the registered
    /// responders meanwhile, and returns it. Unlike the local runner's `drive`, which
    /// returns a RUNNING execution that only the outside world can move on, this waits for
    /// the end (the service runs the function on its own) and fails with
    /// [`RemoteError::Timeout`] after the runner's timeout, naming what holds it up.
    pub async fn drive(&self, arn: &str) -> Result<TestExecution, RemoteError> {
        let began = Instant::now();
        let mut served = callbacks::Served::default();
        loop {
            let description = self.describe(arn).await?;
            let status = description.status;
            if status.is_terminal() {
                let events = self.history(arn).await?;
                // The history may lag the status by a moment: wait for its closing event.
                if has_closing_event(&events) || began.elapsed() >= self.settings.timeout {
                    return Ok(snapshot(description, events));
                }
            } else if !self.responders.is_empty() {
                let record = ExecutionRecord::from_history(description, self.history(arn).await?);
                self.serve_callbacks(&record, &mut served).await?;
            }
            if began.elapsed() >= self.settings.timeout {
                let record = ExecutionRecord::from_history(
                    self.describe(arn).await?,
                    self.history(arn).await?,
                );
                return Err(RemoteError::Timeout {
                    arn: arn.to_owned(),
                    waiting_for: "the execution to end".to_owned(),
                    after: began.elapsed(),
                    status: record.status(),
                    hint: self.holdup(&record),
                });
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }

    /// A snapshot of the execution now: `GetDurableExecution` and its whole history.
    pub async fn execution(&self, arn: &str) -> Result<TestExecution, RemoteError> {
        let description = self.describe(arn).await?;
        Ok(snapshot(description, self.history(arn).await?))
    }

    /// Stops a running execution (`StopDurableExecution`), with `error` as its error.
    pub async fn stop_execution(
        &self,
        arn: &str,
        error: Option<ErrorObject>,
    ) -> Result<(), RemoteError> {
        self.client
            .stop_durable_execution()
            .durable_execution_arn(arn)
            .set_error(error.map(convert::error_to_aws))
            .send()
            .await
            .map_err(|err| RemoteError::from_sdk(STOP, &err).about_execution(arn))?;
        Ok(())
    }

    async fn describe(&self, arn: &str) -> Result<crate::ExecutionDescription, RemoteError> {
        let output = self
            .client
            .get_durable_execution()
            .durable_execution_arn(arn)
            .send()
            .await
            .map_err(|err| RemoteError::from_sdk(GET_EXECUTION, &err).about_execution(arn))?;
        Ok(convert::description_from_aws(&output))
    }

    /// Every history event, oldest first, with execution data (inputs, results, errors).
    async fn history(&self, arn: &str) -> Result<Vec<crate::HistoryEvent>, RemoteError> {
        let mut events = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .get_durable_execution_history()
                .durable_execution_arn(arn)
                .include_execution_data(true)
                .max_items(HISTORY_PAGE)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|err| RemoteError::from_sdk(GET_HISTORY, &err).about_execution(arn))?;
            events.extend(page.events.iter().filter_map(convert::event_from_aws));
            match page.next_marker {
                Some(next) if !next.is_empty() => marker = Some(next),
                _ => return Ok(events),
            }
        }
    }

    /// What keeps a running execution from ending, as far as its history shows.
    fn holdup(&self, record: &ExecutionRecord) -> String {
        let open: Vec<String> = record
            .operations()
            .iter()
            .filter(|op| op.status == OperationStatus::Started)
            .filter_map(|op| {
                let name = op.name.as_deref().unwrap_or(op.id.as_str());
                match op.operation_type {
                    OperationType::Callback if !self.responders.contains_key(name) => {
                        Some(format!(
                            "callback `{name}` is waiting to be completed (register a \
                             responder with on_callback, or call send_callback_success)"
                        ))
                    }
                    OperationType::ChainedInvoke => {
                        Some(format!("chained invoke `{name}` has not returned"))
                    }
                    _ => None,
                }
            })
            .collect();
        open.join("; ")
    }
}

/// Whether the history holds the execution's closing event.
fn has_closing_event(events: &[crate::HistoryEvent]) -> bool {
    events.iter().any(|e| {
        matches!(
            e.event_type,
            EventType::ExecutionSucceeded
                | EventType::ExecutionFailed
                | EventType::ExecutionTimedOut
                | EventType::ExecutionStopped
        )
    })
}

fn snapshot(
    description: crate::ExecutionDescription,
    events: Vec<crate::HistoryEvent>,
) -> TestExecution {
    let record = ExecutionRecord::from_history(description, events);
    TestExecution::new(record, wall_clock())
}

/// Now, for the snapshot of a running execution (its timeline runs up to here).
fn wall_clock() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    Timestamp::from_millis(millis)
}

impl crate::DurableRunner for RemoteRunner {
    type Error = RemoteError;

    async fn start<I: Serialize + Send>(
        &self,
        function: &str,
        input: I,
    ) -> Result<String, RemoteError> {
        RemoteRunner::start(self, function, input).await
    }

    async fn drive(&self, arn: &str) -> Result<TestExecution, RemoteError> {
        RemoteRunner::drive(self, arn).await
    }

    async fn execution(&self, arn: &str) -> Result<TestExecution, RemoteError> {
        RemoteRunner::execution(self, arn).await
    }

    fn on_callback(&mut self, name: &str, response: CallbackResponse) -> &mut Self {
        RemoteRunner::on_callback(self, name, response)
    }
}
