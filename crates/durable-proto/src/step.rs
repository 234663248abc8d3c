//! STEP operations: run user code once per attempt, with retries decided by a strategy.
//!
//! The life of one step (wire status in capitals, engine reaction after the arrow):
//!
//! ```text
//!  no record ──START──▶ body runs (attempt 1)
//!  body Ok  ──SUCCEED──▶ SUCCEEDED ─replay─▶ cached value, body not run
//!  body Err ─strategy: stop──FAIL──▶ FAILED ─replay─▶ cached error
//!  body Err ─strategy: retry after D──RETRY(D)──▶ PENDING ─replay─▶ suspend
//!                                     service timer fires ──▶ READY ─replay─▶ START, attempt n+1
//!  STARTED on replay, at-least-once ─▶ body runs again, same attempt, no new START
//!  STARTED on replay, at-most-once  ─▶ StepInterruptedError through the strategy (RETRY or FAIL)
//! ```

use crate::begin::Kind;
use crate::checkpoint::FlushTicket;
use crate::error::ExecutionError;
use crate::event::Event;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::{OperationHandle, OperationState};
use crate::retry::{delay_to_wire_seconds, RetryDecision, RetryStrategy};
use crate::size::fit_error;
use crate::wire::{ErrorObject, OperationAction, OperationStatus, OperationType, StepOptions};

/// The sub-type label of plain steps.
pub(crate) const STEP_SUB_TYPE: &str = "Step";

/// The `ErrorType` recorded when a step's value cannot be serialized.
pub const SERIALIZATION_ERROR_TYPE: &str = "SerializationError";

/// The `ErrorType` recorded when a step's value exceeds the per-operation limit.
pub const PAYLOAD_TOO_LARGE_ERROR_TYPE: &str = "PayloadTooLarge";

/// The `ErrorType` an attempt that ran longer than its step's timeout is reported with (the
/// retry strategy decides on it like on any error: `retry_if_error_type("StepTimedOut")`).
pub const STEP_TIMED_OUT_ERROR_TYPE: &str = "StepTimedOut";

/// The `ErrorType` an interrupted at-most-once attempt is reported with.
pub const STEP_INTERRUPTED_ERROR_TYPE: &str = "StepInterruptedError";

/// When a step's body may run relative to its START checkpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StepSemantics {
    /// The body runs at once while START is recorded in the background. A crash can re-run
    /// an attempt whose result was not yet recorded.
    #[default]
    AtLeastOncePerRetry,
    /// The body runs only after START is acknowledged; an attempt interrupted by a crash is
    /// never re-run but reported as `StepInterruptedError` to the retry strategy.
    AtMostOncePerRetry,
}

/// What the user code asks for when it calls a step.
#[derive(Debug, Clone, Copy)]
pub struct StepRequest<'a> {
    /// The step's name (1..=256 printable ASCII), or `None` for an unnamed step.
    pub name: Option<&'a str>,
    /// The step's semantics.
    pub semantics: StepSemantics,
}

/// A finished operation's result: the serialized value (absent for a recorded null) or
/// the recorded error.
pub type OperationResult = Result<Option<String>, ErrorObject>;

/// What the driver does when user code calls a step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepStart {
    /// The step already finished: hand this result to the user code without running it.
    Done {
        /// The operation.
        op: OperationHandle,
        /// Its result.
        result: OperationResult,
    },
    /// Run the body for `attempt` (1-based): call [`Execution::activate`] when user code
    /// awaits the step, [`Execution::start_attempt`] right before the body runs, and report
    /// with [`Execution::handle_step_outcome`]. If `wait_for` is set, the body must not
    /// start until that ticket is acknowledged.
    Run {
        /// The operation.
        op: OperationHandle,
        /// The attempt about to run (1 for the first).
        attempt: u32,
        /// A checkpoint that must be acknowledged before the body runs.
        wait_for: Option<FlushTicket>,
    },
    /// The step waits for a retry timer on the service; this branch of user code cannot
    /// proceed in this invocation (it is blocked once [`Execution::activate`]d).
    Blocked {
        /// The operation.
        op: OperationHandle,
    },
}

impl StepStart {
    /// The operation this answer is about.
    pub fn op(&self) -> OperationHandle {
        match self {
            Self::Done { op, .. } | Self::Run { op, .. } | Self::Blocked { op } => *op,
        }
    }
}

/// How a step's body ended, as the front end saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepOutcome {
    /// The body returned a value, serialized to this text.
    Value(String),
    /// The body failed (or panicked) with this error; the retry strategy decides.
    Error(ErrorObject),
    /// The body returned a value that the serializer refused, with its message. Never
    /// retried: the same value would fail again.
    Unserializable(String),
}

/// What happens after a step's body finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepEnd {
    /// The step finished with this result.
    Done(OperationResult),
    /// A retry is scheduled on the service; this branch cannot proceed in this invocation.
    Blocked,
}

impl Execution {
    /// The user code calls a step in context `ctx`.
    ///
    /// The id is assigned now, in call order, so steps created together (e.g. joined
    /// futures) get deterministic ids whatever order they later finish in. `strategy`
    /// decides only when an interrupted at-most-once attempt must be rescheduled; jitter
    /// comes from the engine's seeded RNG.
    pub fn begin_step(
        &mut self,
        ctx: ContextRef,
        request: StepRequest<'_>,
        strategy: &dyn RetryStrategy,
    ) -> Result<StepStart, ExecutionError> {
        let kind = Kind {
            operation_type: OperationType::Step,
            sub_type: STEP_SUB_TYPE,
        };
        let begun = self.begin(ctx, kind, request.name)?;
        let (op, record) = (begun.op, begun.record);
        let Some(status) = record.status else {
            return Ok(self.queue_attempt(op, request.semantics, true));
        };
        match status {
            OperationStatus::Succeeded => {
                self.finish(op, OperationStatus::Succeeded);
                Ok(StepStart::Done {
                    op,
                    result: Ok(record.result),
                })
            }
            OperationStatus::Failed
            | OperationStatus::Cancelled
            | OperationStatus::TimedOut
            | OperationStatus::Stopped => {
                let id = self.slot(op)?.identity.id.clone();
                self.finish(op, status.clone());
                Ok(StepStart::Done {
                    op,
                    result: Err(record.error.unwrap_or_else(|| {
                        ErrorObject::new(
                            "StepFailed",
                            format!("step {id} ended with status {status}"),
                        )
                    })),
                })
            }
            OperationStatus::Pending => {
                self.on_await(op, OperationState::Blocked);
                Ok(StepStart::Blocked { op })
            }
            OperationStatus::Ready => Ok(self.queue_attempt(op, request.semantics, true)),
            OperationStatus::Started => match request.semantics {
                StepSemantics::AtLeastOncePerRetry => {
                    Ok(self.queue_attempt(op, request.semantics, false))
                }
                StepSemantics::AtMostOncePerRetry => {
                    let slot = self.slot(op)?;
                    let error = ErrorObject::new(
                        STEP_INTERRUPTED_ERROR_TYPE,
                        format!(
                            "attempt {} of step {} was interrupted before its result was \
                             recorded; at-most-once semantics forbid running it again",
                            slot.attempt,
                            slot.identity.label()
                        ),
                    );
                    // Blocked only once user code awaits it.
                    Ok(match self.fail_attempt(op, error, strategy, false) {
                        StepEnd::Done(result) => StepStart::Done { op, result },
                        StepEnd::Blocked => StepStart::Blocked { op },
                    })
                }
            },
            OperationStatus::Unknown(s) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: self.slot(op)?.identity.id.clone(),
                    operation_type: OperationType::Step,
                    status: s,
                };
                self.release(op);
                self.fail_execution(&e);
                Err(e)
            }
        }
    }

    pub(crate) fn queue_attempt(
        &mut self,
        op: OperationHandle,
        semantics: StepSemantics,
        send_start: bool,
    ) -> StepStart {
        let Some(slot) = self.table.get(op) else {
            return StepStart::Blocked { op };
        };
        let attempt = slot.attempt;
        let mut wait_for = None;
        if send_start {
            let update = slot.identity.update(OperationAction::Start);
            let ticket = self.outbox.push(update);
            if semantics == StepSemantics::AtMostOncePerRetry {
                wait_for = Some(ticket);
            }
        }
        let bound = self.config.max_unacknowledged_updates as u64;
        if wait_for.is_none() && self.outbox.unacknowledged() as u64 > bound {
            // Let only `bound` updates stay unacknowledged: wait for the older ones.
            wait_for = Some(FlushTicket(
                self.outbox.last_ticket().0.saturating_sub(bound),
            ));
        }
        if let Some(ticket) = wait_for {
            self.on_await(op, OperationState::AwaitingAck(ticket));
        }
        StepStart::Run {
            op,
            attempt,
            wait_for,
        }
    }

    /// User code is about to run the body of step `op` (after its `wait_for` ticket, if
    /// any, was acknowledged). Returns the attempt number; refused once the invocation is
    /// ending or if the step is not waiting to run, so that no body runs that could not be
    /// recorded.
    pub fn start_attempt(&mut self, op: OperationHandle) -> Result<u32, ExecutionError> {
        self.ensure_running()?;
        let slot = self.slot(op)?;
        let attempt = slot.attempt;
        match slot.state {
            OperationState::Created if slot.on_await.is_none() => {}
            OperationState::Created => {
                return Err(ExecutionError::Misuse {
                    what: "a step body was started before its START was acknowledged",
                })
            }
            OperationState::AwaitingAck(t) if self.outbox.is_acknowledged(t) => {}
            OperationState::AwaitingAck(_) => {
                return Err(ExecutionError::Misuse {
                    what: "a step body was started before its START was acknowledged",
                })
            }
            _ => {
                return Err(ExecutionError::Misuse {
                    what: "a step body was started twice",
                })
            }
        }
        self.transition(op, OperationState::Running);
        self.emit(Event::AttemptStarted { op, attempt });
        Ok(attempt)
    }

    /// The body of a running step finished. On error, the step's `strategy` decides
    /// whether to retry (drawing jitter from the engine's RNG); an unserializable value is
    /// never retried.
    pub fn handle_step_outcome(
        &mut self,
        op: OperationHandle,
        outcome: StepOutcome,
        strategy: &dyn RetryStrategy,
    ) -> Result<StepEnd, ExecutionError> {
        self.leave_body(op);
        let slot = self.slot(op)?;
        if slot.state != OperationState::Running {
            return Err(ExecutionError::Misuse {
                what: "a step outcome was reported for a step that is not running",
            });
        }
        if let Err(e) = self.ensure_running() {
            self.release(op);
            return Err(e);
        }
        let limit = self.config.max_operation_payload_bytes;
        let attempt = slot.attempt;
        let label = format!("{:?} (id {})", slot.identity.label(), slot.identity.id);
        match outcome {
            StepOutcome::Value(payload) if payload.len() <= limit => {
                let mut update = slot.identity.update(OperationAction::Succeed);
                update.payload = Some(payload.clone());
                self.outbox.push(update);
                self.emit(Event::AttemptFinished {
                    op,
                    attempt,
                    failed: false,
                    retry_after: None,
                });
                self.finish(op, OperationStatus::Succeeded);
                Ok(StepEnd::Done(Ok(Some(payload))))
            }
            StepOutcome::Value(payload) => {
                let error = ErrorObject::new(
                    PAYLOAD_TOO_LARGE_ERROR_TYPE,
                    format!(
                        "the serialized result of step {label} is {} bytes, above the \
                         {limit}-byte limit for one operation; return a smaller value or a \
                         reference to where the data is stored",
                        payload.len()
                    ),
                );
                Ok(self.fail_final(op, error))
            }
            StepOutcome::Unserializable(message) => {
                let error = ErrorObject::new(
                    SERIALIZATION_ERROR_TYPE,
                    format!("the result of step {label} could not be serialized: {message}"),
                );
                Ok(self.fail_final(op, error))
            }
            StepOutcome::Error(error) => Ok(self.fail_attempt(op, error, strategy, true)),
        }
    }

    /// Fails the step for good with `error`, whatever its strategy says.
    fn fail_final(&mut self, op: OperationHandle, error: ErrorObject) -> StepEnd {
        self.fail_attempt(op, error, &crate::retry::RetryPolicy::none(), true)
    }

    /// Routes a failed (or interrupted) attempt through the strategy: RETRY and block (now
    /// if user code awaits the step, `awaited`, else once it does), or FAIL.
    fn fail_attempt(
        &mut self,
        op: OperationHandle,
        error: ErrorObject,
        strategy: &dyn RetryStrategy,
        awaited: bool,
    ) -> StepEnd {
        let error = fit_error(error, self.config.max_operation_payload_bytes);
        let Some(slot) = self.table.get(op) else {
            return StepEnd::Blocked;
        };
        let attempt = slot.attempt;
        let mut update = slot.identity.update(OperationAction::Fail);
        let decision = strategy.decide(&error, attempt, &mut self.rng);
        match decision {
            RetryDecision::Retry { delay } => {
                update.action = OperationAction::Retry;
                update.error = Some(error);
                update.step_options = Some(StepOptions {
                    next_attempt_delay_seconds: Some(delay_to_wire_seconds(delay)),
                });
                self.outbox.push(update);
                self.emit(Event::AttemptFinished {
                    op,
                    attempt,
                    failed: true,
                    retry_after: Some(delay),
                });
                self.awaiting_record.push(op);
                if awaited {
                    self.block(op);
                } else {
                    self.on_await(op, OperationState::Blocked);
                }
                StepEnd::Blocked
            }
            RetryDecision::Stop => {
                update.error = Some(error.clone());
                self.outbox.push(update);
                self.emit(Event::AttemptFinished {
                    op,
                    attempt,
                    failed: true,
                    retry_after: None,
                });
                self.finish(op, OperationStatus::Failed);
                StepEnd::Done(Err(error))
            }
        }
    }
}
