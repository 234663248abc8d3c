//! Callbacks: an operation an external system completes, through the service's
//! `SendDurableExecutionCallback{Success,Failure,Heartbeat}` calls, with the id the service
//! issues when it records the START.
//!
//! A callback has two waits: for its id (one round trip: the START's acknowledgement
//! carries the record, possibly on a later page of the response) and for its result (the
//! branch blocks; the invocation suspends until the service re-invokes it).

use std::borrow::Cow;
use std::time::Duration;

use crate::begin::Kind;
use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::{OperationHandle, OperationState};
use crate::wait::wait_seconds;
use crate::wire::{CallbackOptions, ErrorObject, OperationAction, OperationStatus, OperationType};

/// Sub-type of a callback created by user code.
pub const CALLBACK_SUB_TYPE: &str = "Callback";

/// Sub-type of the child context `wait_for_callback` runs in (the callback, then the
/// submitter step).
pub const WAIT_FOR_CALLBACK_SUB_TYPE: &str = "WaitForCallback";

/// `ErrorType` the service records for a callback whose heartbeat timeout elapsed (the
/// emulator's; the real service's is not published).
pub const CALLBACK_HEARTBEAT_ERROR_TYPE: &str = "Callback.Heartbeat";

/// `ErrorType` the service records for a callback whose overall timeout elapsed.
pub const CALLBACK_TIMEOUT_ERROR_TYPE: &str = "Callback.Timeout";

/// What user code asks for when it creates a callback.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallbackRequest<'a> {
    /// The operation's name, if any.
    pub name: Option<&'a str>,
    /// How long the external system has to complete it (whole seconds, rounded up; at most
    /// 366 days). `None`: no timeout.
    pub timeout: Option<Duration>,
    /// The longest gap allowed between heartbeats (same rules). `None`: no heartbeat
    /// timeout.
    pub heartbeat_timeout: Option<Duration>,
}

/// How creating a callback started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackStart {
    /// The callback is on record: its id is known.
    Created {
        /// The operation.
        op: OperationHandle,
        /// The service-issued id the external system completes it with.
        callback_id: String,
    },
    /// The START is queued: once user code awaits, the id arrives with the service's
    /// acknowledgement; read it with [`Execution::callback_id`]. Until then the operation
    /// counts as making progress, so the invocation does not suspend before the id is here.
    Creating {
        /// The operation.
        op: OperationHandle,
    },
}

impl CallbackStart {
    /// The operation this start belongs to.
    pub fn op(&self) -> OperationHandle {
        match self {
            Self::Created { op, .. } | Self::Creating { op } => *op,
        }
    }
}

/// Why a callback did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackFailureKind {
    /// The external system reported a failure.
    Failed,
    /// The overall timeout elapsed.
    TimedOut,
    /// No heartbeat arrived within the heartbeat timeout.
    HeartbeatTimedOut,
}

/// A callback that did not succeed: why, and the error the service recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackFailure {
    /// Why.
    pub kind: CallbackFailureKind,
    /// The recorded error (the external system's, or the service's timeout error).
    pub error: ErrorObject,
}

/// Where awaiting a callback's result stands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackEnd {
    /// Completed: the raw result the external system sent (`None` for an empty one), or why
    /// it did not succeed.
    Done(Result<Option<String>, CallbackFailure>),
    /// Not completed yet: the branch waits on the service and the invocation will suspend.
    Blocked,
}

fn seconds(d: Option<Duration>, what: &'static str) -> Result<Option<u32>, ExecutionError> {
    d.map(|d| {
        wait_seconds(d).map_err(|_| ExecutionError::InvalidTimeout {
            what,
            millis: d.as_millis(),
        })
    })
    .transpose()
}

impl Execution {
    /// The user code creates a callback in context `ctx`.
    pub fn begin_callback(
        &mut self,
        ctx: ContextRef,
        request: CallbackRequest<'_>,
    ) -> Result<CallbackStart, ExecutionError> {
        self.ensure_running()?;
        let options = CallbackOptions {
            timeout_seconds: seconds(request.timeout, "callback timeout")?,
            heartbeat_timeout_seconds: seconds(request.heartbeat_timeout, "heartbeat timeout")?,
        };
        let kind = Kind {
            operation_type: OperationType::Callback,
            sub_type: CALLBACK_SUB_TYPE,
        };
        let begun = self.begin(ctx, kind, request.name)?;
        let op = begun.op;
        if begun.record.status.is_none() {
            let mut update = self.slot(op)?.identity.update(OperationAction::Start);
            update.callback_options = Some(options);
            let ticket = self.outbox.push(update);
            self.awaiting_record.push(op);
            self.wanting_record.push(op);
            self.on_await(op, OperationState::AwaitingAck(ticket));
            return Ok(CallbackStart::Creating { op });
        }
        match self.callback_id(op) {
            Some(callback_id) => Ok(CallbackStart::Created {
                op,
                callback_id: callback_id.into_owned(),
            }),
            None => {
                let e = ExecutionError::MalformedRecord {
                    id: self.slot(op)?.identity.id.clone(),
                    what: "a CALLBACK record without CallbackDetails.CallbackId",
                };
                self.release(op);
                self.fail_execution(&e);
                Err(e)
            }
        }
    }

    /// The id the service issued for callback `op`, once its record is here.
    pub fn callback_id(&self, op: OperationHandle) -> Option<Cow<'_, str>> {
        let slot = self.table.get(op)?;
        self.journal.get(&slot.identity.id)?.callback_id()
    }

    /// Whether callback `op` is still waiting for the external system (or its record is not
    /// here yet): awaiting it would block.
    pub fn callback_pending(&self, op: OperationHandle) -> bool {
        let Some(slot) = self.table.get(op) else {
            return false;
        };
        self.journal.get(&slot.identity.id).map_or(true, |r| {
            matches!(
                *r.status(),
                OperationStatus::Started | OperationStatus::Pending | OperationStatus::Ready
            )
        })
    }

    /// The user code awaits the result of callback `op` (created earlier with
    /// [`begin_callback`](Self::begin_callback)).
    pub fn await_callback(&mut self, op: OperationHandle) -> Result<CallbackEnd, ExecutionError> {
        self.ensure_running()?;
        let slot = self.slot(op)?;
        let id = slot.identity.id.clone();
        let state = slot.state;
        if !state.is_open() {
            return Err(ExecutionError::Misuse {
                what: "a callback's result was awaited twice",
            });
        }
        let Some(record) = self.journal.get(&id) else {
            return Err(ExecutionError::Misuse {
                what: "a callback's result was awaited before its id arrived",
            });
        };
        let recorded_error = record.error();
        let result = record.result().map(Cow::into_owned);
        let failure = |kind, fallback: &str| CallbackFailure {
            kind,
            error: recorded_error
                .clone()
                .unwrap_or_else(|| ErrorObject::new(fallback, "the callback did not succeed")),
        };
        let status = record.status().into_owned();
        let end = match &status {
            OperationStatus::Started | OperationStatus::Pending | OperationStatus::Ready => {
                self.block(op);
                return Ok(CallbackEnd::Blocked);
            }
            OperationStatus::Succeeded => Ok(result),
            OperationStatus::TimedOut => {
                let f = failure(CallbackFailureKind::TimedOut, CALLBACK_TIMEOUT_ERROR_TYPE);
                let kind = if f.error.type_name() == CALLBACK_HEARTBEAT_ERROR_TYPE {
                    CallbackFailureKind::HeartbeatTimedOut
                } else {
                    CallbackFailureKind::TimedOut
                };
                Err(CallbackFailure { kind, ..f })
            }
            OperationStatus::Unknown(s) => {
                let e = ExecutionError::UnsupportedStatus {
                    id,
                    operation_type: OperationType::Callback,
                    status: s.clone(),
                };
                self.release(op);
                self.fail_execution(&e);
                return Err(e);
            }
            // FAILED, or ended some other way (cancelled, stopped).
            _ => Err(failure(CallbackFailureKind::Failed, "CallbackFailed")),
        };
        self.finish(op, status);
        Ok(CallbackEnd::Done(end))
    }

    /// Moves acknowledged callbacks on: to idle once their record (and id) is here, or to
    /// waiting for the record while further response pages may bring it. A response that
    /// acknowledged a START without its record, with no page left to read, ends the
    /// invocation (the next one gets the record in its envelope).
    pub(crate) fn promote_recorded(&mut self) {
        if self.wanting_record.is_empty() {
            return;
        }
        let mut missing = None;
        let wanting = std::mem::take(&mut self.wanting_record);
        for op in wanting {
            let Some(slot) = self.table.get(op) else {
                continue;
            };
            let waiting = match slot.state {
                OperationState::AwaitingAck(t) => !self.outbox.is_acknowledged(t),
                OperationState::Created | OperationState::AwaitingRecord => false,
                // Released, or moved on some other way: nothing to wait for.
                _ => continue,
            };
            if waiting || (slot.state == OperationState::Created && slot.on_await.is_some()) {
                // Not acknowledged yet, or not awaited yet: look again later.
                self.wanting_record.push(op);
                continue;
            }
            if self.callback_id(op).is_some() {
                self.transition(op, OperationState::Created);
            } else if self.response_pages_left() {
                self.transition(op, OperationState::AwaitingRecord);
                self.wanting_record.push(op);
            } else {
                missing = Some(op);
            }
        }
        if let Some(op) = missing {
            let label = self
                .identity(op)
                .map_or_else(String::new, |i| i.label().to_owned());
            self.fail_invocation(
                "CallbackIdMissing",
                format!(
                    "the service acknowledged the START of callback {label:?} without \
                     returning its record; the invocation ends so that the next one reads \
                     the callback id from its envelope"
                ),
            );
        }
    }
}
