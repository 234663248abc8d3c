//! What the outside world does to an execution, played by the runner: chained-invoke
//! targets (registered durable handlers or plain functions) and declarative callback
//! responders, all on the runner's clock.

use std::sync::Arc;
use std::time::Duration;

use durable_proto::{ErrorObject, OperationStatus, OperationType, Timestamp};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::client::lock_service;
use crate::runner::LocalRunner;
use crate::{ChainedInvokeEnd, EventDetails, ExecutionStatus, RunnerError};

/// A plain (non-durable) invoke target: the serialized input in, the serialized result or
/// an error out.
pub(crate) type PlainTarget =
    Arc<dyn Fn(&str) -> Result<Option<String>, ErrorObject> + Send + Sync>;

/// How a declarative responder completes a callback, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackResponse {
    after: Duration,
    outcome: Result<Option<String>, ErrorObject>,
}

impl CallbackResponse {
    /// Succeeds the callback with `result` serialized as JSON (as
    /// `SendDurableExecutionCallbackSuccess` would), at once unless [`after`](Self::after).
    /// A value that cannot be serialized succeeds it with no result.
    pub fn succeed(result: impl Serialize) -> Self {
        Self {
            after: Duration::ZERO,
            outcome: Ok(serde_json::to_string(&result).ok()),
        }
    }

    /// Fails the callback with `error` (as `SendDurableExecutionCallbackFailure` would).
    pub fn fail(error: ErrorObject) -> Self {
        Self {
            after: Duration::ZERO,
            outcome: Err(error),
        }
    }

    /// Responds this long after the callback was created, on the runner's clock (virtual
    /// time jumps there when nothing else happens first; a callback timeout that falls
    /// earlier fires first).
    pub fn after(mut self, delay: Duration) -> Self {
        self.after = delay;
        self
    }

    /// The delay set with [`after`](Self::after).
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn delay(&self) -> Duration {
        self.after
    }

    /// The result (JSON text) or error the callback is completed with.
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn outcome(&self) -> &Result<Option<String>, ErrorObject> {
        &self.outcome
    }
}

/// Something the outside world does next to one execution.
enum Next {
    /// A chained invoke to run now: (operation id, target name, input).
    Invoke(String, String, String),
    /// A callback response due at this time: (callback id, response).
    Respond(Timestamp, String, CallbackResponse),
}

impl LocalRunner {
    /// Registers a plain (non-durable) function as a chained-invoke target: it gets the
    /// invoke's input and its result (or error) completes the invoke. Durable handlers
    /// registered with [`register`](Self::register) or
    /// [`register_blocking`](Self::register_blocking) are targets too; the runner runs
    /// them as executions of their own. A target is looked up by the invoked name, then by
    /// that name without its `:version`/`:alias` qualifier.
    pub fn register_plain<I, O, F>(&mut self, function_name: &str, function: F) -> &mut Self
    where
        I: DeserializeOwned,
        O: Serialize,
        F: Fn(I) -> Result<O, ErrorObject> + Send + Sync + 'static,
    {
        let target: PlainTarget = Arc::new(move |payload: &str| {
            let input: I = serde_json::from_str(payload).map_err(|e| {
                ErrorObject::new("InvalidRequestContentException", format!("input: {e}"))
            })?;
            let output = function(input)?;
            serde_json::to_string(&output)
                .map(Some)
                .map_err(|e| ErrorObject::new("SerializationError", e.to_string()))
        });
        self.plain.insert(function_name.to_owned(), target);
        self
    }

    /// Completes every callback named `name` with `response` once it is created, as an
    /// external system would, without the test driving it by hand.
    pub fn on_callback(&mut self, name: &str, response: CallbackResponse) -> &mut Self {
        self.responders.insert(name.to_owned(), response);
        self
    }

    /// Plays the outside world's next move for `arn`, if it has one due before the
    /// service's next timer: runs a pending chained invoke's target, or delivers a
    /// callback response (moving virtual time to it). Returns whether anything happened.
    pub(crate) async fn serve_external(&self, arn: &str) -> Result<bool, RunnerError> {
        let (next, timer) = {
            let svc = lock_service(&self.service);
            let Some(record) = svc.execution(arn) else {
                return Ok(false);
            };
            (self.next_external(record), record.next_timer())
        };
        match next {
            None => Ok(false),
            Some(Next::Invoke(op_id, target, input)) => {
                let end = self.run_target(&target, &input).await?;
                let Some(end) = end else {
                    // The target itself waits on the outside world: nothing more to do here.
                    return Ok(false);
                };
                lock_service(&self.service).complete_chained_invoke(arn, &op_id, end)?;
                Ok(true)
            }
            Some(Next::Respond(due, callback_id, response)) => {
                if timer.is_some_and(|t| t.due < due) {
                    // The service's timer (a timeout, a retry) comes first.
                    return Ok(false);
                }
                self.wait_until(due).await;
                let mut svc = lock_service(&self.service);
                let still_open = svc.execution(arn).is_some_and(|r| {
                    r.operations().iter().any(|op| {
                        op.operation_type == OperationType::Callback
                            && op.status == OperationStatus::Started
                            && callback_id_of(op) == Some(callback_id.as_str())
                    })
                });
                if still_open {
                    match response.outcome {
                        Ok(result) => svc.send_callback_success(&callback_id, result)?,
                        Err(error) => svc.send_callback_failure(&callback_id, error)?,
                    }
                }
                Ok(true)
            }
        }
    }

    fn next_external(&self, record: &crate::ExecutionRecord) -> Option<Next> {
        if record.status().is_terminal() {
            return None;
        }
        let mut earliest: Option<Next> = None;
        for op in record.operations() {
            if op.status != OperationStatus::Started {
                continue;
            }
            match op.operation_type {
                OperationType::ChainedInvoke => {
                    let started = record.events().iter().find_map(|e| match &e.details {
                        EventDetails::ChainedInvokeStarted(d)
                            if e.id.as_deref() == Some(&op.id) =>
                        {
                            Some(d.clone())
                        }
                        _ => None,
                    });
                    if let Some(d) = started {
                        let input = d.input.and_then(|p| p.payload).unwrap_or_default();
                        return Some(Next::Invoke(op.id.clone(), d.function_name, input));
                    }
                }
                OperationType::Callback => {
                    let (Some(name), Some(id)) = (op.name.as_deref(), callback_id_of(op)) else {
                        continue;
                    };
                    let Some(response) = self.responders.get(name) else {
                        continue;
                    };
                    let created = op.start_timestamp.unwrap_or(record.start_timestamp());
                    let after = i64::try_from(response.after.as_millis()).unwrap_or(i64::MAX);
                    let due = Timestamp(created.as_millis().saturating_add(after));
                    let sooner = match &earliest {
                        Some(Next::Respond(t, ..)) => due < *t,
                        _ => true,
                    };
                    if sooner {
                        earliest = Some(Next::Respond(due, id.to_owned(), response.clone()));
                    }
                }
                _ => {}
            }
        }
        earliest
    }

    /// Runs invoke target `name` on `input`: a plain function at once, a durable handler as
    /// an execution of its own driven to its end. `None` when that execution is left
    /// waiting on the outside world.
    async fn run_target(
        &self,
        name: &str,
        input: &str,
    ) -> Result<Option<ChainedInvokeEnd>, RunnerError> {
        let unqualified = name.split(':').next().unwrap_or(name);
        if let Some(plain) = self.plain.get(name).or_else(|| self.plain.get(unqualified)) {
            return Ok(Some(match plain(input) {
                Ok(result) => ChainedInvokeEnd::Succeeded(result),
                Err(error) => ChainedInvokeEnd::Failed(error),
            }));
        }
        let registered = [name, unqualified]
            .into_iter()
            .find(|n| self.functions.contains_key(*n));
        let Some(function) = registered else {
            return Ok(Some(ChainedInvokeEnd::Failed(ErrorObject::new(
                "ResourceNotFoundException",
                format!("Function not found: {name} (register it with the runner)"),
            ))));
        };
        let child = lock_service(&self.service).start_execution(function, input)?;
        let ended = Box::pin(self.drive(&child)).await?;
        let error = || {
            ended
                .error()
                .cloned()
                .unwrap_or_else(|| ErrorObject::new("ChainedInvokeFailed", "the target failed"))
        };
        Ok(match ended.status() {
            ExecutionStatus::Succeeded => Some(ChainedInvokeEnd::Succeeded(
                ended.result_json().map(str::to_owned),
            )),
            ExecutionStatus::TimedOut => Some(ChainedInvokeEnd::TimedOut(error())),
            ExecutionStatus::Stopped => Some(ChainedInvokeEnd::Stopped(error())),
            ExecutionStatus::Failed => Some(ChainedInvokeEnd::Failed(error())),
            _ => None,
        })
    }
}

fn callback_id_of(op: &durable_proto::Operation) -> Option<&str> {
    op.callback_details.as_ref()?.callback_id.as_deref()
}
