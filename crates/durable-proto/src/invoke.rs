//! Chained invokes: calling another Lambda function durably. The service invokes the target
//! and records its result on the CHAINED_INVOKE operation; the caller's branch blocks until
//! then, and on replay a finished invoke returns its record without invoking again.

use crate::begin::Kind;
use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::{OperationHandle, OperationState};
use crate::wire::{
    ChainedInvokeDetails, ChainedInvokeOptions, ErrorObject, OperationAction, OperationStatus,
    OperationType,
};

/// Sub-type of a chained invoke.
pub const INVOKE_SUB_TYPE: &str = "ChainedInvoke";

/// What user code asks for when it invokes another function.
#[derive(Debug, Clone, Copy)]
pub struct InvokeRequest<'a> {
    /// The operation's name, if any.
    pub name: Option<&'a str>,
    /// The target function: a name or ARN, qualified with a version or alias for a durable
    /// target.
    pub function_name: &'a str,
    /// The serialized input.
    pub payload: &'a str,
    /// The tenant to invoke the target as, if any.
    pub tenant_id: Option<&'a str>,
    /// The X-Ray trace header to start the target with (the caller's, where the runtime
    /// provides one); `None` lets the service pass the execution's own on.
    pub trace_header: Option<&'a str>,
}

/// Why a chained invoke did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvokeFailureKind {
    /// The target failed.
    Failed,
    /// The target timed out.
    TimedOut,
    /// The target's execution was stopped (or the invoke cancelled).
    Stopped,
}

/// A chained invoke that did not succeed: why, and the error the service recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeFailure {
    /// Why.
    pub kind: InvokeFailureKind,
    /// The recorded error.
    pub error: ErrorObject,
}

/// How a chained invoke started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvokeStart {
    /// Finished on record: the target's serialized result (`None` if it returned nothing),
    /// or why it did not succeed.
    Done {
        /// The operation.
        op: OperationHandle,
        /// The outcome.
        result: Result<Option<String>, InvokeFailure>,
    },
    /// The target runs (or is about to be invoked): once awaited the branch blocks, and the
    /// invocation suspends until the service records the target's outcome.
    Blocked {
        /// The operation.
        op: OperationHandle,
    },
}

impl InvokeStart {
    /// The operation this start belongs to.
    pub fn op(&self) -> OperationHandle {
        match self {
            Self::Done { op, .. } | Self::Blocked { op } => *op,
        }
    }
}

impl Execution {
    /// The user code invokes another function from context `ctx`.
    ///
    /// The payload must fit the per-operation payload limit
    /// ([`ExecutionConfig::max_operation_payload_bytes`](crate::ExecutionConfig)); a larger
    /// one is refused before anything is checkpointed.
    pub fn begin_invoke(
        &mut self,
        ctx: ContextRef,
        request: InvokeRequest<'_>,
    ) -> Result<InvokeStart, ExecutionError> {
        self.ensure_running()?;
        if request.function_name.is_empty() {
            return Err(ExecutionError::InvalidInvoke {
                reason: "the target function name is empty".to_owned(),
            });
        }
        let limit = self.config.max_operation_payload_bytes;
        if request.payload.len() > limit {
            return Err(ExecutionError::InvalidInvoke {
                reason: format!(
                    "the serialized input is {} bytes, above the {limit}-byte limit of one \
                     operation's payload",
                    request.payload.len()
                ),
            });
        }
        let kind = Kind {
            operation_type: OperationType::ChainedInvoke,
            sub_type: INVOKE_SUB_TYPE,
        };
        let begun = self.begin(ctx, kind, request.name)?;
        let op = begun.op;
        let Some(status) = begun.record.status else {
            let mut update = self.slot(op)?.identity.update(OperationAction::Start);
            update.payload = Some(request.payload.to_owned());
            update.chained_invoke_options = Some(ChainedInvokeOptions {
                function_name: request.function_name.to_owned(),
                tenant_id: request.tenant_id.map(str::to_owned),
                x_amzn_trace_id: request.trace_header.map(str::to_owned),
            });
            self.outbox.push(update);
            self.awaiting_record.push(op);
            self.on_await(op, OperationState::Blocked);
            return Ok(InvokeStart::Blocked { op });
        };
        let recorded = self
            .journal
            .get(&self.slot(op)?.identity.id)
            .map(|r| ChainedInvokeDetails {
                result: r.result().map(std::borrow::Cow::into_owned),
                error: r.error(),
            })
            .unwrap_or_default();
        let failure = |kind| InvokeFailure {
            kind,
            error: recorded.error.clone().unwrap_or_else(|| {
                ErrorObject::new(
                    "ChainedInvokeFailed",
                    "the invoked function did not succeed",
                )
            }),
        };
        let result = match &status {
            OperationStatus::Started | OperationStatus::Pending | OperationStatus::Ready => {
                self.on_await(op, OperationState::Blocked);
                return Ok(InvokeStart::Blocked { op });
            }
            OperationStatus::Succeeded => Ok(recorded.result.clone()),
            OperationStatus::Failed => Err(failure(InvokeFailureKind::Failed)),
            OperationStatus::TimedOut => Err(failure(InvokeFailureKind::TimedOut)),
            OperationStatus::Unknown(s) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: self.slot(op)?.identity.id.clone(),
                    operation_type: OperationType::ChainedInvoke,
                    status: s.clone(),
                };
                self.release(op);
                self.fail_execution(&e);
                return Err(e);
            }
            // STOPPED, CANCELLED.
            _ => Err(failure(InvokeFailureKind::Stopped)),
        };
        self.finish(op, status);
        Ok(InvokeStart::Done { op, result })
    }
}
