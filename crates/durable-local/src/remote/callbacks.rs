//! Completing callbacks of a remote execution with the real callback calls: by hand
//! ([`RemoteRunner::send_callback_success`] and the others, with the id
//! [`RemoteRunner::wait_for_callback`] finds), or by the responders declared with
//! [`RemoteRunner::on_callback`] while the runner drives the execution.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use aws_sdk_lambda::primitives::Blob;
use durable_proto::{ErrorObject, OperationStatus, OperationType};

use super::{convert, RemoteError, RemoteRunner};
use crate::ExecutionRecord;

const SUCCESS: &str = "SendDurableExecutionCallbackSuccess";
const FAILURE: &str = "SendDurableExecutionCallbackFailure";
const HEARTBEAT: &str = "SendDurableExecutionCallbackHeartbeat";

/// What the responders did during one [`RemoteRunner::drive`]: when each open callback was
/// first seen (an `after` delay counts from then) and which were answered.
#[derive(Debug, Default)]
pub(super) struct Served {
    first_seen: HashMap<String, Instant>,
    answered: HashSet<String>,
}

impl RemoteRunner {
    /// Answers the open callbacks of `record` that have a responder whose delay is up.
    pub(super) async fn serve_callbacks(
        &self,
        record: &ExecutionRecord,
        served: &mut Served,
    ) -> Result<(), RemoteError> {
        for op in record.operations() {
            if op.operation_type != OperationType::Callback || op.status != OperationStatus::Started
            {
                continue;
            }
            let (Some(name), Some(id)) = (
                op.name.as_deref(),
                op.callback_details
                    .as_ref()
                    .and_then(|d| d.callback_id.as_deref()),
            ) else {
                continue;
            };
            let Some(response) = self.responders.get(name) else {
                continue;
            };
            if served.answered.contains(id) {
                continue;
            }
            let seen = *served
                .first_seen
                .entry(id.to_owned())
                .or_insert_with(Instant::now);
            if seen.elapsed() < response.delay() {
                continue;
            }
            match response.outcome() {
                Ok(result) => self.send_callback_success(id, result.clone()).await?,
                Err(error) => self.send_callback_failure(id, error.clone()).await?,
            }
            served.answered.insert(id.to_owned());
        }
        Ok(())
    }

    /// Polls the execution's history until it shows a callback named `name` (the first one,
    /// in creation order) and returns its callback id, for the `send_callback_*` calls.
    /// Fails with [`RemoteError::CallbackNotCreated`] if the execution ends without one, and
    /// [`RemoteError::Timeout`] after the runner's timeout.
    pub async fn wait_for_callback(&self, arn: &str, name: &str) -> Result<String, RemoteError> {
        let began = Instant::now();
        loop {
            let execution = self.execution(arn).await?;
            if let Some(id) = execution.callback_id(name) {
                return Ok(id.to_owned());
            }
            if execution.status().is_terminal() {
                return Err(RemoteError::CallbackNotCreated {
                    arn: arn.to_owned(),
                    name: name.to_owned(),
                    status: execution.status(),
                });
            }
            if began.elapsed() >= self.settings.timeout {
                return Err(RemoteError::Timeout {
                    arn: arn.to_owned(),
                    waiting_for: format!("callback `{name}` to be created"),
                    after: began.elapsed(),
                    status: execution.status(),
                    hint: String::new(),
                });
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }

    /// Completes a callback successfully (`SendDurableExecutionCallbackSuccess`) with
    /// `result` (the callback's result bytes: JSON text for this SDK's callbacks; `None`
    /// sends none).
    pub async fn send_callback_success(
        &self,
        callback_id: &str,
        result: Option<String>,
    ) -> Result<(), RemoteError> {
        self.client
            .send_durable_execution_callback_success()
            .callback_id(callback_id)
            .set_result(result.map(|r| Blob::new(r.into_bytes())))
            .send()
            .await
            .map_err(|err| RemoteError::from_sdk(SUCCESS, &err))?;
        Ok(())
    }

    /// Completes a callback with a failure (`SendDurableExecutionCallbackFailure`).
    pub async fn send_callback_failure(
        &self,
        callback_id: &str,
        error: ErrorObject,
    ) -> Result<(), RemoteError> {
        self.client
            .send_durable_execution_callback_failure()
            .callback_id(callback_id)
            .error(convert::error_to_aws(error))
            .send()
            .await
            .map_err(|err| RemoteError::from_sdk(FAILURE, &err))?;
        Ok(())
    }

    /// Sends a heartbeat for a callback (`SendDurableExecutionCallbackHeartbeat`), which
    /// restarts its heartbeat timeout.
    pub async fn send_callback_heartbeat(&self, callback_id: &str) -> Result<(), RemoteError> {
        self.client
            .send_durable_execution_callback_heartbeat()
            .callback_id(callback_id)
            .send()
            .await
            .map_err(|err| RemoteError::from_sdk(HEARTBEAT, &err))?;
        Ok(())
    }
}
