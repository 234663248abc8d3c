//! Chained invokes: another Lambda function called durably.

use std::future::IntoFuture;
use std::sync::{Arc, OnceLock};

use durable_proto::{InvokeFailureKind, InvokeRequest, InvokeStart};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::context::{DurableContext, Shared};
use crate::error::DurableError;
use crate::failure::OperationFailure;
use crate::ops::{decided_or_parked, refusal, Interrupt, ReleaseGuard};
use crate::serdes::{Json, Serdes};
use crate::OperationFuture;

/// A chained invoke being configured; await it for the target's result.
#[must_use = "a chained invoke does nothing until awaited"]
pub struct Invoke<'c, O> {
    ctx: &'c DurableContext,
    config: InvokeConfig<O>,
}

/// What a chained invoke calls and how its result is read.
#[doc(hidden)]
pub struct InvokeConfig<O> {
    pub name: String,
    pub function_name: String,
    /// The serialized input, or why it could not be serialized.
    pub payload: Result<String, String>,
    pub tenant_id: Option<String>,
    /// The X-Ray trace header; by default the Lambda context's, when there is one.
    pub trace_header: Option<String>,
    pub serdes: Arc<dyn Serdes<O>>,
}

impl<O: Serialize + DeserializeOwned + 'static> InvokeConfig<O> {
    /// A configuration with JSON for the input and the result.
    pub fn new<I: Serialize + ?Sized>(name: &str, function_name: &str, input: &I) -> Self {
        static JSON: OnceLock<Arc<Json>> = OnceLock::new();
        Self {
            name: name.to_owned(),
            function_name: function_name.to_owned(),
            payload: serde_json::to_string(input)
                .map_err(|e| format!("{e} (input of type {})", std::any::type_name::<I>())),
            tenant_id: None,
            trace_header: None,
            serdes: JSON.get_or_init(|| Arc::new(Json)).clone(),
        }
    }
}

/// The builder methods both front ends' invoke builders share, written once.
#[doc(hidden)]
#[macro_export]
macro_rules! invoke_builder_methods {
    () => {
        /// Invokes the target as this tenant.
        pub fn tenant_id(mut self, tenant_id: impl Into<String>) -> Self {
            self.config.tenant_id = Some(tenant_id.into());
            self
        }

        /// Starts the target with this X-Ray trace header instead of the invocation's own
        /// (the Lambda context's `xray_trace_id`, passed on by default).
        pub fn trace_header(mut self, header: impl Into<String>) -> Self {
            self.config.trace_header = Some(header.into());
            self
        }

        /// Replaces the JSON deserializer of the target's result.
        pub fn serdes(mut self, serdes: impl $crate::Serdes<O> + 'static) -> Self {
            self.config.serdes = ::std::sync::Arc::new(serdes);
            self
        }
    };
}

impl<'c, O: Serialize + DeserializeOwned + 'static> Invoke<'c, O> {
    pub(crate) fn new<I: Serialize + ?Sized>(
        ctx: &'c DurableContext,
        name: &str,
        function_name: &str,
        input: &I,
    ) -> Self {
        Self {
            ctx,
            config: InvokeConfig::new(name, function_name, input),
        }
    }
}

impl<'c, O: Serialize + DeserializeOwned + 'static> Invoke<'c, O> {
    pub(crate) fn serialized(
        ctx: &'c DurableContext,
        name: &str,
        function_name: &str,
        payload: String,
    ) -> Self {
        let mut config = InvokeConfig::new(name, function_name, &());
        config.payload = Ok(payload);
        Self { ctx, config }
    }
}

impl<O> Invoke<'_, O> {
    crate::invoke_builder_methods!();
}

impl<'c, O: Send + 'static> IntoFuture for Invoke<'c, O> {
    type Output = Result<O, DurableError>;
    type IntoFuture = OperationFuture<'c, O>;

    fn into_future(self) -> Self::IntoFuture {
        let call = InvokeCall::begin(self.ctx, self.config);
        let finished = call.finished();
        decided_or_parked(call, finished, InvokeCall::result)
    }
}

/// A begun chained invoke (both front ends).
#[doc(hidden)]
pub struct InvokeCall<O> {
    shared: Arc<Shared>,
    start: Result<InvokeStart, Interrupt>,
    serdes: Arc<dyn Serdes<O>>,
    _guard: Option<ReleaseGuard>,
}

impl<O> InvokeCall<O> {
    /// Begins the invoke in `ctx`'s context (an input that could not be serialized is
    /// refused before anything is checkpointed).
    pub fn begin(ctx: &DurableContext, config: InvokeConfig<O>) -> Self {
        let shared = ctx.shared().clone();
        let trace_header = config.trace_header.clone().or_else(|| {
            ctx.lambda_context()
                .and_then(|c| c.xray_trace_id.clone())
                .filter(|t| !t.is_empty())
        });
        let start = match &config.payload {
            Err(message) => Err(Interrupt::User(DurableError::Serialization {
                operation_id: String::new(),
                message: format!(
                    "the input of chained invoke {:?} cannot be serialized: {message}",
                    config.name
                ),
            })),
            Ok(payload) => shared
                .lock()
                .exec
                .begin_invoke(
                    ctx.context_ref(),
                    InvokeRequest {
                        name: Some(&config.name),
                        function_name: &config.function_name,
                        payload,
                        tenant_id: config.tenant_id.as_deref(),
                        trace_header: trace_header.as_deref(),
                    },
                )
                .map_err(refusal),
        };
        shared.changed.notify_one();
        let guard = ReleaseGuard::watching(&shared, start.as_ref().ok().map(|s| s.op()));
        Self {
            shared,
            start,
            serdes: config.serdes,
            _guard: guard,
        }
    }

    /// Whether the outcome is known without waiting (finished on record, or refused).
    pub fn finished(&self) -> bool {
        !matches!(self.start, Ok(InvokeStart::Blocked { .. }))
    }

    /// The target's result; [`Interrupt::Blocked`] while it runs. Keep the call alive while
    /// the branch is blocked: dropping it releases the invoke.
    pub fn result(&mut self) -> Result<O, Interrupt> {
        match std::mem::replace(&mut self.start, Err(Interrupt::Blocked)) {
            Err(e) => Err(e),
            Ok(InvokeStart::Done { op, result }) => {
                let identity = self.shared.lock().exec.identity(op).cloned();
                let (id, name) = identity.map_or((String::new(), None), |i| (i.id, i.name));
                match result {
                    Ok(text) => self
                        .serdes
                        .deserialize(text.as_deref().unwrap_or("null"))
                        .map_err(|message| {
                            Interrupt::User(DurableError::Serialization {
                                message: format!(
                                    "the result of chained invoke {:?} (id {id}) cannot be read \
                                     as {}: {message}",
                                    name.as_deref().unwrap_or(""),
                                    std::any::type_name::<O>()
                                ),
                                operation_id: id,
                            })
                        }),
                    Err(f) => {
                        let failure = OperationFailure::new(id, name, f.error);
                        Err(Interrupt::User(match f.kind {
                            InvokeFailureKind::TimedOut => DurableError::InvokeTimedOut(failure),
                            InvokeFailureKind::Stopped => DurableError::InvokeStopped(failure),
                            _ => DurableError::InvokeFailed(failure),
                        }))
                    }
                }
            }
            Ok(InvokeStart::Blocked { op }) => {
                // User code awaits the invoke now: it blocks (see `Execution::activate`).
                self.shared.lock().exec.activate(op);
                self.shared.changed.notify_one();
                Err(Interrupt::Blocked)
            }
            Ok(_) => Err(Interrupt::Blocked),
        }
    }
}
