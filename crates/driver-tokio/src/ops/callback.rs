//! Callbacks: an id for an external system, and a result it sends back through the
//! service.

use std::future::{Future, IntoFuture};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use durable_proto::{
    CallbackEnd, CallbackFailureKind, CallbackRequest, CallbackStart, OperationHandle,
    RetryStrategy,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::{DurableContext, Shared, StepContext};
use crate::error::DurableError;
use crate::error::StepError;
use crate::failure::OperationFailure;
use crate::ops::child::ChildCall;
use crate::ops::step::{Step, StepConfig};
use crate::ops::{decided_or_parked, or_park, refusal, Interrupt, ReleaseGuard};
use crate::serdes::{Json, Serdes};
use crate::OperationFuture;

/// A callback being configured; await it for a [`Callback`] holding the callback id.
///
/// Creating a callback costs one round trip: the service issues the id when it records the
/// callback.
#[must_use = "a callback is not created until awaited"]
pub struct CreateCallback<'c, T> {
    ctx: &'c DurableContext,
    config: CallbackConfig<T>,
}

/// How a callback is created and read: name, timeouts, deserializer.
#[doc(hidden)]
pub struct CallbackConfig<T> {
    pub name: Option<String>,
    pub timeout: Option<Duration>,
    pub heartbeat_timeout: Option<Duration>,
    pub serdes: Arc<dyn Serdes<T>>,
}

impl<T: Serialize + DeserializeOwned + 'static> CallbackConfig<T> {
    /// A configuration with the defaults: no timeouts, JSON.
    pub fn new(name: Option<&str>) -> Self {
        static JSON: OnceLock<Arc<Json>> = OnceLock::new();
        Self {
            name: name.map(str::to_owned),
            timeout: None,
            heartbeat_timeout: None,
            serdes: JSON.get_or_init(|| Arc::new(Json)).clone(),
        }
    }
}

/// The builder methods both front ends' callback builders share (each has a
/// `config: CallbackConfig<T>` field), written once.
#[doc(hidden)]
#[macro_export]
macro_rules! callback_builder_methods {
    () => {
        /// How long the external system has to complete the callback before it fails with
        /// `DurableError::CallbackTimedOut` (whole seconds, rounded up; 1 s to 366 days).
        /// Default: no timeout.
        pub fn timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.config.timeout = Some(timeout);
            self
        }

        /// The longest the external system may go without a heartbeat
        /// (`SendDurableExecutionCallbackHeartbeat`) before the callback fails with
        /// `DurableError::CallbackHeartbeatTimedOut`. Default: none.
        pub fn heartbeat_timeout(mut self, timeout: ::std::time::Duration) -> Self {
            self.config.heartbeat_timeout = Some(timeout);
            self
        }

        /// Replaces the JSON deserializer of the result the external system sends (for
        /// raw text, `serdes_fn` with an identity pair).
        pub fn serdes(mut self, serdes: impl $crate::Serdes<T> + 'static) -> Self {
            self.config.serdes = ::std::sync::Arc::new(serdes);
            self
        }
    };
}

impl<'c, T: Serialize + DeserializeOwned + 'static> CreateCallback<'c, T> {
    pub(crate) fn new(ctx: &'c DurableContext, name: Option<&str>) -> Self {
        Self {
            ctx,
            config: CallbackConfig::new(name),
        }
    }
}

impl<T> CreateCallback<'_, T> {
    crate::callback_builder_methods!();
}

impl<'c, T: Send + 'static> IntoFuture for CreateCallback<'c, T> {
    type Output = Result<Callback<T>, DurableError>;
    type IntoFuture = OperationFuture<'c, Callback<T>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call = CallbackCall::begin(self.ctx, self.config);
        if let Some(id) = call.recorded_id() {
            return OperationFuture::decided(Ok(Callback { id, call }));
        }
        OperationFuture::pending(async move {
            let id = or_park(call.id().await).await?;
            Ok(Callback { id, call })
        })
    }
}

/// A created callback: give [`id`](Callback::id) to the external system, then await the
/// callback for the result it sends.
///
/// Until the result is there the branch is blocked and the invocation suspends; the
/// service invokes the function again when the callback completes or times out. Dropping a
/// callback without awaiting it is fine: nothing waits for it.
pub struct Callback<T> {
    id: String,
    call: CallbackCall<T>,
}

impl<T> std::fmt::Debug for Callback<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl<T> Callback<T> {
    /// The service-issued callback id (the same on every replay).
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<T: Send + 'static> IntoFuture for Callback<T> {
    type Output = Result<T, DurableError>;
    type IntoFuture = OperationFuture<'static, T>;

    fn into_future(self) -> Self::IntoFuture {
        let finished = self.call.completed_on_record();
        decided_or_parked(self.call, finished, CallbackCall::result)
    }
}

/// A begun callback (both front ends).
#[doc(hidden)]
pub struct CallbackCall<T> {
    shared: Arc<Shared>,
    start: Result<CallbackStart, Interrupt>,
    serdes: Arc<dyn Serdes<T>>,
    blocked: bool,
    _guard: Option<ReleaseGuard>,
}

impl<T> CallbackCall<T> {
    /// Begins the callback in `ctx`'s context.
    pub fn begin(ctx: &DurableContext, config: CallbackConfig<T>) -> Self {
        let shared = ctx.shared().clone();
        let start = shared
            .lock()
            .exec
            .begin_callback(
                ctx.context_ref(),
                CallbackRequest {
                    name: config.name.as_deref(),
                    timeout: config.timeout,
                    heartbeat_timeout: config.heartbeat_timeout,
                },
            )
            .map_err(refusal);
        shared.changed.notify_one();
        let guard = ReleaseGuard::watching(&shared, start.as_ref().ok().map(|s| s.op()));
        Self {
            shared,
            start,
            serdes: config.serdes,
            blocked: false,
            _guard: guard,
        }
    }

    fn op(&self) -> Option<OperationHandle> {
        self.start.as_ref().ok().map(CallbackStart::op)
    }

    /// The id, when the callback is on record already (nothing to wait for).
    pub fn recorded_id(&self) -> Option<String> {
        match &self.start {
            Ok(CallbackStart::Created { callback_id, .. }) => Some(callback_id.clone()),
            _ => None,
        }
    }

    /// Waits for the callback id (one round trip for a new callback).
    pub async fn id(&mut self) -> Result<String, Interrupt> {
        let op = match &self.start {
            Err(_) => {
                return Err(std::mem::replace(&mut self.start, Err(Interrupt::Blocked))
                    .err()
                    .unwrap_or(Interrupt::Blocked))
            }
            Ok(CallbackStart::Created { callback_id, .. }) => return Ok(callback_id.clone()),
            Ok(start) => start.op(),
        };
        {
            // User code awaits the id now (see `Execution::activate`).
            self.shared.lock().exec.activate(op);
            self.shared.changed.notify_one();
        }
        self.shared
            .wait_until(|exec| exec.callback_id(op).is_some())
            .await;
        let g = self.shared.lock();
        match g.exec.callback_id(op) {
            Some(id) => Ok(id.into_owned()),
            None => Err(Interrupt::Closing(
                "the invocation ended before the callback id arrived".to_owned(),
            )),
        }
    }

    /// Whether the callback's outcome is on record already (or the callback was refused).
    pub fn completed_on_record(&self) -> bool {
        let Some(op) = self.op() else {
            return true;
        };
        let g = self.shared.lock();
        !g.exec.callback_pending(op)
    }

    /// The callback's result once it completed; [`Interrupt::Blocked`] until then. Keep
    /// the call alive while the branch is blocked: dropping it releases the callback.
    pub fn result(&mut self) -> Result<T, Interrupt> {
        let Some(op) = self.op() else {
            return Err(std::mem::replace(&mut self.start, Err(Interrupt::Blocked))
                .err()
                .unwrap_or(Interrupt::Blocked));
        };
        if self.blocked {
            return Err(Interrupt::Blocked);
        }
        let end = {
            let mut g = self.shared.lock();
            let end = g.exec.await_callback(op).map_err(refusal);
            let identity = g.exec.identity(op).cloned();
            (end, identity)
        };
        self.shared.changed.notify_one();
        let (end, identity) = end;
        match end? {
            CallbackEnd::Done(Ok(text)) => {
                let id = identity.as_ref().map_or("", |i| i.id.as_str()).to_owned();
                self.serdes
                    .deserialize(text.as_deref().unwrap_or("null"))
                    .map_err(|message| {
                        Interrupt::User(DurableError::Serialization {
                            operation_id: id,
                            message: format!(
                                "the result sent to callback {} cannot be read as {}: {message}",
                                identity.as_ref().map_or("", |i| i.label()),
                                std::any::type_name::<T>()
                            ),
                        })
                    })
            }
            CallbackEnd::Done(Err(f)) => {
                let (id, name) = identity.map_or((String::new(), None), |i| (i.id, i.name));
                let failure = OperationFailure::new(id, name, f.error);
                Err(Interrupt::User(match f.kind {
                    CallbackFailureKind::TimedOut => DurableError::CallbackTimedOut(failure),
                    CallbackFailureKind::HeartbeatTimedOut => {
                        DurableError::CallbackHeartbeatTimedOut(failure)
                    }
                    _ => DurableError::CallbackFailed(failure),
                }))
            }
            _ => {
                self.blocked = true;
                Err(Interrupt::Blocked)
            }
        }
    }
}

/// A wait for a callback, configured; await it for the result the external system sends.
///
/// Runs, in a child context of sub-type `WaitForCallback` named after the operation: the
/// callback, then the submitter as a step (with its own retry strategy) that hands the
/// callback id to the external system, then the wait for the result. On replay a finished
/// one returns its recorded result without running the submitter again.
#[must_use = "a wait for a callback does nothing until awaited"]
pub struct WaitForCallback<'c, T, S> {
    ctx: &'c DurableContext,
    name: String,
    submitter: S,
    config: CallbackConfig<T>,
    strategy: Arc<dyn RetryStrategy>,
}

impl<'c, T: Serialize + DeserializeOwned + 'static, S> WaitForCallback<'c, T, S> {
    pub(crate) fn new(ctx: &'c DurableContext, name: &str, submitter: S) -> Self {
        Self {
            ctx,
            name: name.to_owned(),
            submitter,
            config: CallbackConfig::new(None),
            strategy: StepConfig::<()>::default().strategy,
        }
    }
}

impl<T, S> WaitForCallback<'_, T, S> {
    crate::callback_builder_methods!();

    /// Sets the submitter step's retry strategy (default `RetryPolicy::default()`).
    pub fn retry(mut self, strategy: impl RetryStrategy + 'static) -> Self {
        self.strategy = Arc::new(strategy);
        self
    }
}

/// The names of the operations inside a `wait_for_callback` context named `name`.
#[doc(hidden)]
pub fn wait_for_callback_names(name: &str) -> (String, String) {
    (
        format!("{name} create callback id"),
        format!("{name} submitter"),
    )
}

impl<'c, T, S, Fut> IntoFuture for WaitForCallback<'c, T, S>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    S: FnOnce(String, StepContext) -> Fut + Send + 'c,
    Fut: Future<Output = Result<(), StepError>> + Send + 'c,
{
    type Output = Result<T, DurableError>;
    type IntoFuture = OperationFuture<'c, T>;

    fn into_future(self) -> Self::IntoFuture {
        let mut call = ChildCall::begin_with_sub_type(
            self.ctx,
            Some(&self.name),
            Some(durable_proto::WAIT_FOR_CALLBACK_SUB_TYPE),
        );
        let serdes = self.config.serdes.clone();
        if let Some(result) = call.finished_on_record(&*serdes) {
            return OperationFuture::decided(call.callback_outcome(result));
        }
        let WaitForCallback {
            name,
            submitter,
            mut config,
            strategy,
            ..
        } = self;
        OperationFuture::pending(async move {
            let function = move |child: DurableContext| async move {
                let (callback_name, submitter_name) = wait_for_callback_names(&name);
                config.name = Some(callback_name);
                let callback = CreateCallback {
                    ctx: &child,
                    config,
                }
                .await?;
                let id = callback.id().to_owned();
                let step = StepConfig {
                    strategy,
                    ..StepConfig::default()
                };
                Step::new(&child, &submitter_name, move |s| submitter(id, s), step).await?;
                callback.await
            };
            let result = call.run(function, &*serdes).await;
            or_park(call.callback_outcome(result)).await
        })
    }
}
