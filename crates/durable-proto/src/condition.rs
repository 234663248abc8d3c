//! Wait-for-condition: a check run as a STEP (sub-type `WaitForCondition`) on a state value,
//! polled with durable delays between checks. The state travels in the step's record: each
//! "not yet" is a RETRY carrying the new state as its payload (no error), so the next
//! invocation's check starts from it.
//!
//! ```text
//!  no record ──START──▶ check(initial state)
//!  check → stop     ──SUCCEED(state)──▶ SUCCEEDED ─replay─▶ recorded state, no check
//!  check → continue ──RETRY(state, delay)──▶ PENDING ─replay─▶ suspend
//!                     timer fires ──▶ READY ─replay─▶ START, check(recorded state)
//!  check fails, or attempts run out ──FAIL──▶ FAILED ─replay─▶ recorded error
//!  STARTED on replay ─▶ the interrupted check runs again on the state it started from
//! ```

use std::time::Duration;

use crate::begin::Kind;
use crate::error::ExecutionError;
use crate::event::Event;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::{OperationHandle, OperationState};
use crate::retry::{delay_to_wire_seconds, Jitter};
use crate::size::fit_error;
use crate::step::{
    OperationResult, StepSemantics, StepStart, PAYLOAD_TOO_LARGE_ERROR_TYPE,
    SERIALIZATION_ERROR_TYPE,
};
use crate::wire::{ErrorObject, OperationAction, OperationStatus, OperationType, StepOptions};

/// The sub-type of wait-for-condition steps.
pub const WAIT_FOR_CONDITION_SUB_TYPE: &str = "WaitForCondition";

/// What the driver does when user code waits for a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConditionStart {
    /// The wait finished on record: hand this result (the final state) to user code.
    Done {
        /// The operation.
        op: OperationHandle,
        /// Its result.
        result: OperationResult,
    },
    /// Run a check: call [`Execution::activate`], then (once `wait_for`, if set, is
    /// acknowledged) [`Execution::start_attempt`], run the check
    /// on `state` (the recorded state, or the initial state when `None`), and report with
    /// [`Execution::handle_condition_outcome`].
    Check {
        /// The operation.
        op: OperationHandle,
        /// The check about to run (1 for the first).
        attempt: u32,
        /// The state the previous check left, if any.
        state: Option<String>,
        /// A checkpoint that must be acknowledged before the check runs.
        wait_for: Option<crate::checkpoint::FlushTicket>,
    },
    /// The next check is scheduled on the service; this branch cannot go on in this
    /// invocation (blocked once activated).
    Blocked {
        /// The operation.
        op: OperationHandle,
    },
}

/// How a check ended, as the front end decided with its wait strategy.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConditionOutcome {
    /// The condition holds: finish with this state (serialized).
    Stop(String),
    /// Not yet: check again on this state after `delay` (jittered with `jitter` from the
    /// engine's seeded RNG; whole seconds on the wire, at least one).
    Continue {
        /// The new state, serialized.
        state: String,
        /// The delay before the next check.
        delay: Duration,
        /// The jitter applied to `delay`.
        jitter: Jitter,
    },
    /// The check failed, or the strategy ran out of attempts: fail for good.
    Error(ErrorObject),
    /// The new state could not be serialized (never retried).
    Unserializable(String),
}

impl Execution {
    /// The user code waits for a condition named `name` in context `ctx`.
    pub fn begin_wait_for_condition(
        &mut self,
        ctx: ContextRef,
        name: Option<&str>,
    ) -> Result<ConditionStart, ExecutionError> {
        let kind = Kind {
            operation_type: OperationType::Step,
            sub_type: WAIT_FOR_CONDITION_SUB_TYPE,
        };
        let begun = self.begin(ctx, kind, name)?;
        let (op, record) = (begun.op, begun.record);
        let check = |exec: &mut Self, send_start: bool, state: Option<String>| match exec
            .queue_attempt(op, StepSemantics::AtLeastOncePerRetry, send_start)
        {
            StepStart::Run {
                attempt, wait_for, ..
            } => ConditionStart::Check {
                op,
                attempt,
                state,
                wait_for,
            },
            _ => ConditionStart::Blocked { op },
        };
        let Some(status) = record.status else {
            return Ok(check(self, true, None));
        };
        Ok(match status {
            OperationStatus::Succeeded => {
                self.finish(op, OperationStatus::Succeeded);
                ConditionStart::Done {
                    op,
                    result: Ok(record.result),
                }
            }
            OperationStatus::Pending => {
                self.on_await(op, OperationState::Blocked);
                ConditionStart::Blocked { op }
            }
            OperationStatus::Ready => check(self, true, record.result),
            OperationStatus::Started => check(self, false, record.result),
            OperationStatus::Unknown(s) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: self.slot(op)?.identity.id.clone(),
                    operation_type: OperationType::Step,
                    status: s,
                };
                self.release(op);
                self.fail_execution(&e);
                return Err(e);
            }
            status => {
                let id = self.slot(op)?.identity.id.clone();
                self.finish(op, status.clone());
                ConditionStart::Done {
                    op,
                    result: Err(record.error.unwrap_or_else(|| {
                        ErrorObject::new(
                            "WaitForConditionFailed",
                            format!("wait for condition {id} ended with status {status}"),
                        )
                    })),
                }
            }
        })
    }

    /// The check of `op` ended with `outcome`. `Ok(Some(result))` when the wait finished,
    /// `Ok(None)` when the next check is scheduled (this branch is blocked).
    pub fn handle_condition_outcome(
        &mut self,
        op: OperationHandle,
        outcome: ConditionOutcome,
    ) -> Result<Option<OperationResult>, ExecutionError> {
        self.leave_body(op);
        if self.slot(op)?.state != OperationState::Running {
            return Err(ExecutionError::Misuse {
                what: "a check outcome was reported for a check that is not running",
            });
        }
        if let Err(e) = self.ensure_running() {
            self.release(op);
            return Err(e);
        }
        // The jitter is drawn before the identity is borrowed.
        let jitter_rng = &mut self.rng;
        let outcome = match outcome {
            ConditionOutcome::Continue {
                state,
                delay,
                jitter,
            } => ConditionOutcome::Continue {
                state,
                delay: jitter.apply(delay, jitter_rng),
                jitter: Jitter::None,
            },
            other => other,
        };
        let slot = self.slot(op)?;
        let limit = self.config.max_operation_payload_bytes;
        let attempt = slot.attempt;
        let label = format!("{:?} (id {})", slot.identity.label(), slot.identity.id);
        let too_large = |bytes: usize| {
            ErrorObject::new(
                PAYLOAD_TOO_LARGE_ERROR_TYPE,
                format!(
                    "the serialized state of wait for condition {label} is {bytes} bytes, \
                     above the {limit}-byte limit for one operation; keep the state small"
                ),
            )
        };
        let error = match outcome {
            ConditionOutcome::Stop(state) if state.len() <= limit => {
                let mut update = slot.identity.update(OperationAction::Succeed);
                update.payload = Some(state.clone());
                self.outbox.push(update);
                self.attempt_finished(op, attempt, false, None);
                self.finish(op, OperationStatus::Succeeded);
                return Ok(Some(Ok(Some(state))));
            }
            ConditionOutcome::Continue { state, delay, .. } if state.len() <= limit => {
                let mut update = slot.identity.update(OperationAction::Retry);
                update.payload = Some(state);
                update.step_options = Some(StepOptions {
                    next_attempt_delay_seconds: Some(delay_to_wire_seconds(delay)),
                });
                self.outbox.push(update);
                self.attempt_finished(op, attempt, false, Some(delay));
                self.awaiting_record.push(op);
                self.block(op);
                return Ok(None);
            }
            ConditionOutcome::Stop(state) | ConditionOutcome::Continue { state, .. } => {
                too_large(state.len())
            }
            ConditionOutcome::Error(error) => error,
            ConditionOutcome::Unserializable(message) => ErrorObject::new(
                SERIALIZATION_ERROR_TYPE,
                format!(
                    "the state of wait for condition {label} could not be serialized: {message}"
                ),
            ),
        };
        let error = fit_error(error, limit);
        let mut update = slot.identity.update(OperationAction::Fail);
        update.error = Some(error.clone());
        self.outbox.push(update);
        self.attempt_finished(op, attempt, true, None);
        self.finish(op, OperationStatus::Failed);
        Ok(Some(Err(error)))
    }

    fn attempt_finished(
        &mut self,
        op: OperationHandle,
        attempt: u32,
        failed: bool,
        retry_after: Option<Duration>,
    ) {
        self.emit(Event::AttemptFinished {
            op,
            attempt,
            failed,
            retry_after,
        });
    }
}
