//! The invocation loop: runs user code and the engine's service calls side by side.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use durable_proto::{
    ApiFailure, CheckpointResponse, Envelope, ErrorObject, Execution, ExecutionConfig,
    ExecutionState, InvocationFailure, InvocationOutcome, ServiceRequest,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::client::CheckpointClient;
use crate::context::{DurableContext, Shared};
use crate::error::error_object_of;
use crate::panic::CatchPanic;
use crate::plugin::{InvocationInfo, Plugin, Plugins};
use crate::replay_filter::InContext;

/// Settings of one invocation.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// The engine's limits.
    pub execution: ExecutionConfig,
    /// Seed for retry jitter. By default it is derived from the execution ARN and the
    /// invocation's first checkpoint token, so the same inputs give the same updates.
    pub seed: Option<u64>,
    /// The Lambda context handed to user code, when running under the Lambda runtime.
    pub lambda_context: Option<lambda_runtime::Context>,
    /// The instrumentation plugins, in the order they are called.
    pub plugins: Plugins,
    /// When the invocation's time runs out; under the Lambda runtime, its context's deadline
    /// when unset. A margin before it, the invocation flushes what it queued and ends (see
    /// `Execution::handle_deadline`).
    pub deadline: Option<std::time::SystemTime>,
    /// How long before the deadline the invocation ends (default 500 ms, at most half the
    /// time left when the invocation starts).
    pub deadline_margin: Option<std::time::Duration>,
}

/// The margin before the deadline when none is set.
const DEFAULT_DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_millis(500);

impl Options {
    /// Installs an instrumentation plugin (after those installed already).
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Installs a plugin that is shared with other code (an OpenTelemetry exporter, say).
    pub fn shared_plugin(mut self, plugin: Arc<dyn Plugin>) -> Self {
        self.plugins.push(plugin);
        self
    }
}

enum Reply {
    State(Result<ExecutionState, ApiFailure>),
    Checkpoint(Result<CheckpointResponse, ApiFailure>),
}

type UserFuture = Pin<Box<dyn Future<Output = Result<String, ErrorObject>> + Send>>;

/// Runs one invocation of a durable handler to its outcome.
///
/// This is the entry point without the Lambda runtime: give it the envelope (an
/// [`Envelope`] read from the payload's bytes, or an owned `InvocationInput`), a
/// checkpoint client and the handler; return the outcome's output to the service (or fail
/// the invocation on [`InvocationOutcome::Failure`]).
pub async fn handle<E, O, Err, F, Fut, C>(
    input: impl Into<Envelope>,
    client: Arc<C>,
    options: Options,
    handler: F,
) -> InvocationOutcome
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: FnOnce(E, DurableContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<O, Err>> + Send + 'static,
    C: CheckpointClient + ?Sized,
{
    let deadline = deadline_of(&options);
    let mut config = options.execution;
    if options.seed.is_some() {
        config.seed = options.seed;
    }
    let exec = Execution::new(input, config);
    let span = tracing::info_span!("durable_invocation", execution_arn = %exec.arn());
    let shared = Arc::new(Shared::new(exec, options.lambda_context, options.plugins));
    // If this future is dropped before the outcome (a caller's timeout), user code that
    // outlives it (a blocking handler's thread) must not run or record anything more.
    let _abandon = AbandonOnDrop(shared.clone());
    let outcome = drive(shared.clone(), client, handler, deadline)
        .instrument(span)
        .await;
    if !shared.plugins.is_empty() {
        let info = invocation_info(&shared);
        let end = crate::plugin::end_of(&outcome);
        shared
            .plugins
            .call("invocation-end", |p| p.on_invocation_end(&info, end));
    }
    outcome
}

/// When, on tokio's clock, the invocation must start ending: the deadline (set, or the
/// Lambda context's) minus the margin.
fn deadline_of(options: &Options) -> Option<tokio::time::Instant> {
    let deadline = options.deadline.or_else(|| {
        let ms = options.lambda_context.as_ref()?.deadline;
        Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms))
    })?;
    let remaining = deadline
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    // A margin larger than half the time left would leave user code no time at all.
    let margin = options
        .deadline_margin
        .unwrap_or(DEFAULT_DEADLINE_MARGIN)
        .min(remaining / 2);
    Some(tokio::time::Instant::now() + (remaining - margin))
}

/// What the invocation hooks receive.
fn invocation_info(shared: &Shared) -> InvocationInfo {
    let first = shared
        .first_invocation
        .load(std::sync::atomic::Ordering::Relaxed);
    InvocationInfo {
        execution_arn: shared.arn.clone(),
        first_invocation: first,
        request_id: shared.lambda.as_ref().map(|c| c.request_id.clone()),
    }
}

async fn drive<E, O, Err, F, Fut, C>(
    shared: Arc<Shared>,
    client: Arc<C>,
    handler: F,
    deadline: Option<tokio::time::Instant>,
) -> InvocationOutcome
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: FnOnce(E, DurableContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<O, Err>> + Send + 'static,
    C: CheckpointClient + ?Sized,
{
    let mut handler = Some(handler);
    let mut user: Option<UserFuture> = None;
    let mut request: Option<AbortOnDrop> = None;
    let mut deadline = deadline.map(|at| Box::pin(tokio::time::sleep_until(at)));
    let mut deadline_hit = false;
    loop {
        if deadline_hit {
            let mut guard = shared.lock();
            // Applied once the state is loaded (the engine ignores it before).
            if guard.exec.is_ready() {
                tracing::warn!("the invocation's deadline is near; flushing and ending it");
                guard.exec.handle_deadline();
                deadline_hit = false;
            } else if guard.exec.is_closing() {
                deadline_hit = false;
            }
        }
        let mut dropped: Option<UserFuture> = None;
        {
            let mut guard = shared.lock();
            let exec = &mut guard.exec;
            if let Some(outcome) = exec.poll_output() {
                return outcome;
            }
            if exec.is_closing() {
                // Dropped outside the lock below: dropping operation futures releases them,
                // which takes the lock.
                dropped = user.take();
            }
            if user.is_none() && exec.is_ready() {
                if let Some(h) = handler.take() {
                    user = Some(start_user(&shared, exec, h));
                }
            }
            if request.is_none() {
                if let Some(req) = exec.poll_request() {
                    request = Some(spawn_request(&*client, exec.arn().to_owned(), req));
                }
                // Asking for a request can decide the outcome (no checkpoint token left):
                // observe it now, since parked user code would never wake the loop.
                if let Some(outcome) = exec.poll_output() {
                    return outcome;
                }
            }
            if request.is_none() && user.is_none() {
                // Nothing can move: the engine must already have an outcome.
                if let Some(outcome) = exec.poll_output() {
                    return outcome;
                }
                return InvocationOutcome::Failure(InvocationFailure {
                    error_type: "DurableSdkInternalError".into(),
                    message: "the invocation stalled with no pending work and no outcome".into(),
                });
            }
        }
        drop(dropped);
        tokio::select! {
            biased;
            result = async { user.as_mut().expect("guarded").await }, if user.is_some() => {
                user = None;
                shared.lock().exec.handle_handler_result(result);
            }
            reply = async { (&mut request.as_mut().expect("guarded").0).await }, if request.is_some() => {
                request = None;
                apply_reply(&shared, reply);
            }
            () = shared.changed.notified() => {}
            () = async { deadline.as_mut().expect("guarded").await }, if deadline.is_some() => {
                deadline = None;
                deadline_hit = true;
            }
        }
        if user.is_some() {
            // The user future was polled first and is pending: if no step body is running
            // and something waits on the service, nothing more can happen here.
            let mut guard = shared.lock();
            if guard.exec.should_suspend() {
                guard.exec.suspend();
                drop(guard);
                user = None;
            }
        }
    }
}

fn start_user<E, O, Err, F, Fut>(shared: &Arc<Shared>, exec: &Execution, handler: F) -> UserFuture
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: FnOnce(E, DurableContext) -> Fut + Send + 'static,
    Fut: Future<Output = Result<O, Err>> + Send + 'static,
{
    let event = parse_event::<E>(exec.input_payload().as_deref());
    let ctx = DurableContext::new(shared.clone(), durable_proto::ContextRef::ROOT);
    let hooks = (!shared.plugins.is_empty()).then(|| {
        shared
            .first_invocation
            .store(!exec.is_replaying(), std::sync::atomic::Ordering::Relaxed);
        (shared.clone(), invocation_info(shared))
    });
    Box::pin(async move {
        let event = event?;
        if let Some((shared, info)) = &hooks {
            shared
                .plugins
                .call("invocation-start", |p| p.on_invocation_start(info));
            shared
                .plugins
                .call("user-function-start", |p| p.on_user_function_start(info));
        }
        // The handler's code runs in the root context (for replay-aware tracing).
        let root = InContext {
            shared: ctx.shared().clone(),
            ctx: durable_proto::ContextRef::ROOT,
            fut: Box::pin(handler(event, ctx)),
        };
        let result = CatchPanic(Box::pin(root)).await;
        if let Some((shared, info)) = &hooks {
            // A blocking handler that unwinds from a suspension did not end: the outcome was
            // decided without it.
            let decided = shared.lock().exec.is_closing();
            if !decided {
                let ok = matches!(result, Ok(Ok(_)));
                shared
                    .plugins
                    .call("user-function-end", |p| p.on_user_function_end(info, ok));
            }
        }
        let result = result?;
        match result {
            Ok(output) => serde_json::to_string(&output).map_err(|e| {
                ErrorObject::new(
                    "SerializationError",
                    format!("the handler's result could not be serialized as JSON: {e}"),
                )
            }),
            Err(e) => Err(error_object_of(&e)),
        }
    })
}

/// Reads the user's event. A blank input reads as `null`, or as `{}` for event types that
/// need an object.
fn parse_event<E: DeserializeOwned>(payload: Option<&str>) -> Result<E, ErrorObject> {
    let parsed = match payload {
        Some(text) => serde_json::from_str(text),
        None => serde_json::from_str("null").or_else(|_| serde_json::from_str("{}")),
    };
    parsed.map_err(|e| {
        ErrorObject::new(
            "InvalidInput",
            format!(
                "the execution's input does not match the handler's event type {}: {e}",
                std::any::type_name::<E>()
            ),
        )
    })
}

/// Tells the engine its invocation was given up when `handle`'s future is dropped.
struct AbandonOnDrop(Arc<Shared>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.abandon();
    }
}

/// An API call on its own task, cancelled if the invocation is dropped (a caller's timeout,
/// say), so no call outlives the invocation that made it.
struct AbortOnDrop(JoinHandle<Reply>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn spawn_request<C: CheckpointClient + ?Sized>(
    client: &C,
    arn: String,
    request: ServiceRequest,
) -> AbortOnDrop {
    AbortOnDrop(match request {
        ServiceRequest::GetState {
            checkpoint_token,
            marker,
        } => {
            let call = client.get_state(arn, checkpoint_token, marker);
            tokio::spawn(async move { Reply::State(call.await) })
        }
        ServiceRequest::Checkpoint {
            checkpoint_token,
            updates,
        } => {
            tracing::debug!(updates = updates.len(), "checkpoint");
            let call = client.checkpoint(arn, checkpoint_token, updates);
            tokio::spawn(async move { Reply::Checkpoint(call.await) })
        }
        _ => tokio::spawn(async {
            Reply::Checkpoint(Err(ApiFailure::new(
                None,
                Some("UnsupportedRequest"),
                "this driver version does not know the engine's request",
            )))
        }),
    })
}

fn apply_reply(shared: &Shared, reply: Result<Reply, tokio::task::JoinError>) {
    let mut guard = shared.lock();
    let exec = &mut guard.exec;
    let applied = match reply {
        Ok(Reply::State(Ok(page))) => exec.handle_state_page(page),
        Ok(Reply::Checkpoint(Ok(response))) => exec.handle_checkpoint_response(response),
        Ok(Reply::State(Err(failure)) | Reply::Checkpoint(Err(failure))) => {
            tracing::warn!(?failure, "durable-execution API call failed");
            exec.handle_request_failure(failure);
            Ok(())
        }
        Err(join) => {
            exec.handle_request_failure(ApiFailure::new(
                None,
                None,
                format!("the API call task failed: {join}"),
            ));
            Ok(())
        }
    };
    if let Err(e) = applied {
        exec.handle_request_failure(ApiFailure::new(None, None, e.to_string()));
    }
    drop(guard);
    shared.acked.send_modify(|n| *n += 1);
}
