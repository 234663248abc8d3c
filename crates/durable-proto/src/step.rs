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

use rand_core::RngCore;

use crate::checkpoint::FlushTicket;
use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::{validate_name, ContextRef, Request};
use crate::retry::{delay_to_wire_seconds, RetryDecision, RetryStrategy};
use crate::wire::{
    ErrorObject, OperationAction, OperationStatus, OperationType, OperationUpdate, StepOptions,
};

/// The sub-type label of plain steps.
pub(crate) const STEP_SUB_TYPE: &str = "Step";

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

/// A handle to an operation started in this invocation, for reporting its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationRef(pub(crate) u32);

/// What the user code asks for when it calls a step.
#[derive(Clone, Copy)]
pub struct StepRequest<'a> {
    /// The step's name (optional; 1..=256 printable ASCII).
    pub name: Option<&'a str>,
    /// The step's semantics.
    pub semantics: StepSemantics,
    /// Decides retries, including for an interrupted at-most-once attempt.
    pub strategy: &'a dyn RetryStrategy,
}

/// The result of a finished step: the serialized value (absent for a recorded null) or
/// the error.
pub type StepResult = Result<Option<String>, ErrorObject>;

/// What the driver does when user code calls a step.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepStart {
    /// The step already finished: hand this result to the user code without running it.
    Done(StepResult),
    /// Run the body for `attempt` (1-based) and report with
    /// [`Execution::handle_step_outcome`]. If `wait_for` is set, the body must not start
    /// until that ticket is acknowledged.
    Run {
        /// The handle to report the outcome with.
        op: OperationRef,
        /// The attempt about to run (1 for the first).
        attempt: u32,
        /// A checkpoint that must be acknowledged before the body runs.
        wait_for: Option<FlushTicket>,
    },
    /// The step waits for a retry timer on the service; this branch of user code cannot
    /// proceed in this invocation.
    Suspend,
}

/// What happens after a step's body finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepEnd {
    /// The step finished with this result.
    Done(StepResult),
    /// A retry is scheduled on the service; this branch cannot proceed in this invocation.
    Suspend,
}

/// A step started in this invocation.
#[derive(Debug)]
pub(crate) struct LiveOp {
    id: String,
    parent_id: Option<String>,
    name: Option<String>,
    attempt: u32,
    running: bool,
}

impl LiveOp {
    fn update(&self, action: OperationAction) -> OperationUpdate {
        OperationUpdate {
            parent_id: self.parent_id.clone(),
            name: self.name.clone(),
            sub_type: Some(STEP_SUB_TYPE.to_owned()),
            ..OperationUpdate::new(self.id.clone(), OperationType::Step, action)
        }
    }
}

impl Execution {
    /// The user code calls a step in context `ctx`.
    ///
    /// The id is assigned now, in call order, so steps created together (e.g. joined
    /// futures) get deterministic ids whatever order they later finish in. `rng` is used
    /// only when an interrupted at-most-once attempt must be rescheduled with jitter.
    pub fn step(
        &mut self,
        ctx: ContextRef,
        request: StepRequest<'_>,
        rng: &mut dyn RngCore,
    ) -> Result<StepStart, ExecutionError> {
        self.ensure_running()?;
        let name = validate_name(request.name)?;
        let claimed = self.journal.claim(
            ctx,
            &Request {
                operation_type: OperationType::Step,
                sub_type: STEP_SUB_TYPE,
                name,
            },
        );
        let claim = match claimed {
            Ok(c) => c,
            Err(e) => {
                self.fail_execution(&e);
                return Err(e);
            }
        };
        let record = claim.record.map(|r| {
            let details = r.step_details.as_ref();
            (
                r.status.clone(),
                details.map_or(0, |d| d.attempt),
                details.and_then(|d| d.result.clone()),
                details.and_then(|d| d.error.clone()),
            )
        });
        if !matches!(&record, Some((s, ..)) if s.is_terminal()) {
            self.replaying = false;
        }
        let mut live = LiveOp {
            id: claim.id,
            parent_id: claim.parent_id,
            name: name.map(str::to_owned),
            attempt: 1,
            running: false,
        };
        let (status, finished_attempts, result, error) = match record {
            None => return Ok(self.start_attempt(live, request.semantics, true)),
            Some(r) => r,
        };
        // A corrupt or hostile record must not overflow the counter.
        live.attempt = finished_attempts.saturating_add(1);
        match status {
            OperationStatus::Succeeded => Ok(StepStart::Done(Ok(result))),
            OperationStatus::Failed
            | OperationStatus::Cancelled
            | OperationStatus::TimedOut
            | OperationStatus::Stopped => Ok(StepStart::Done(Err(error.unwrap_or_else(|| {
                ErrorObject::new(
                    "StepFailed",
                    format!("step {} ended with status {status}", live.id),
                )
            })))),
            OperationStatus::Pending => {
                self.blocked += 1;
                Ok(StepStart::Suspend)
            }
            OperationStatus::Ready => Ok(self.start_attempt(live, request.semantics, true)),
            OperationStatus::Started => match request.semantics {
                StepSemantics::AtLeastOncePerRetry => {
                    Ok(self.start_attempt(live, request.semantics, false))
                }
                StepSemantics::AtMostOncePerRetry => {
                    let error = ErrorObject::new(
                        "StepInterruptedError",
                        format!(
                            "attempt {} of step {} was interrupted before its result was \
                             recorded; at-most-once semantics forbid running it again",
                            live.attempt,
                            name.unwrap_or(&live.id)
                        ),
                    );
                    let base = live.update(OperationAction::Fail);
                    let end = self.fail_attempt(base, live.attempt, error, request.strategy, rng);
                    Ok(match end {
                        StepEnd::Done(r) => StepStart::Done(r),
                        StepEnd::Suspend => StepStart::Suspend,
                    })
                }
            },
            OperationStatus::Unknown(s) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: live.id,
                    operation_type: OperationType::Step,
                    status: s,
                };
                self.fail_execution(&e);
                Err(e)
            }
        }
    }

    fn start_attempt(
        &mut self,
        mut live: LiveOp,
        semantics: StepSemantics,
        send_start: bool,
    ) -> StepStart {
        let mut wait_for = None;
        if send_start {
            let ticket = self.outbox.push(live.update(OperationAction::Start));
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
        live.running = true;
        self.running += 1;
        let attempt = live.attempt;
        self.live.push(live);
        StepStart::Run {
            op: OperationRef((self.live.len() - 1) as u32),
            attempt,
            wait_for,
        }
    }

    /// The body of a running step finished: `Ok` with the serialized value or `Err` with
    /// the error. On error, `strategy` decides whether to retry (drawing jitter from `rng`).
    pub fn handle_step_outcome(
        &mut self,
        op: OperationRef,
        outcome: Result<String, ErrorObject>,
        strategy: &dyn RetryStrategy,
        rng: &mut dyn RngCore,
    ) -> Result<StepEnd, ExecutionError> {
        self.finish_running(op)?;
        self.ensure_running()?;
        let limit = self.config.max_operation_payload_bytes;
        let Some(live) = self.live.get(op.0 as usize) else {
            return Err(ExecutionError::Misuse {
                what: "unknown step handle",
            });
        };
        match outcome {
            Ok(payload) if payload.len() <= limit => {
                let mut update = live.update(OperationAction::Succeed);
                update.payload = Some(payload.clone());
                self.outbox.push(update);
                Ok(StepEnd::Done(Ok(Some(payload))))
            }
            Ok(payload) => {
                let error = ErrorObject::new(
                    "PayloadTooLarge",
                    format!(
                        "the serialized result of step {} is {} bytes, above the {limit}-byte \
                         limit for one operation; return a smaller value or a reference to \
                         where the data is stored",
                        live.name.as_deref().unwrap_or(&live.id),
                        payload.len()
                    ),
                );
                let mut update = live.update(OperationAction::Fail);
                update.error = Some(error.clone());
                self.outbox.push(update);
                Ok(StepEnd::Done(Err(error)))
            }
            Err(error) => {
                let (base, attempt) = (live.update(OperationAction::Fail), live.attempt);
                Ok(self.fail_attempt(base, attempt, error, strategy, rng))
            }
        }
    }

    /// The id of a step started in this invocation.
    pub fn step_id(&self, op: OperationRef) -> Option<&str> {
        self.live.get(op.0 as usize).map(|l| l.id.as_str())
    }

    /// The user code dropped a running step without waiting for its body (for example a
    /// `select!` that took another branch). The step stops counting as running.
    pub fn abandon_step(&mut self, op: OperationRef) {
        let _ = self.finish_running(op);
    }

    fn finish_running(&mut self, op: OperationRef) -> Result<(), ExecutionError> {
        let live = self
            .live
            .get_mut(op.0 as usize)
            .ok_or(ExecutionError::Misuse {
                what: "unknown step handle",
            })?;
        if !live.running {
            return Err(ExecutionError::Misuse {
                what: "a step outcome was reported twice",
            });
        }
        live.running = false;
        self.running -= 1;
        Ok(())
    }

    /// Routes a failed (or interrupted) attempt through the strategy: RETRY and suspend, or
    /// FAIL.
    fn fail_attempt(
        &mut self,
        mut update: OperationUpdate,
        attempt: u32,
        error: ErrorObject,
        strategy: &dyn RetryStrategy,
        rng: &mut dyn RngCore,
    ) -> StepEnd {
        let error = fit_error(error, self.config.max_operation_payload_bytes);
        match strategy.decide(&error, attempt, rng) {
            RetryDecision::Retry { delay } => {
                update.action = OperationAction::Retry;
                update.error = Some(error);
                update.step_options = Some(StepOptions {
                    next_attempt_delay_seconds: Some(delay_to_wire_seconds(delay)),
                });
                self.outbox.push(update);
                self.blocked += 1;
                StepEnd::Suspend
            }
            RetryDecision::Stop => {
                update.action = OperationAction::Fail;
                update.error = Some(error.clone());
                self.outbox.push(update);
                StepEnd::Done(Err(error))
            }
        }
    }
}

/// Shrinks an error so that its fields fit in `limit` bytes, cutting the stack trace first,
/// then the data, then the message (on character boundaries).
pub(crate) fn fit_error(mut error: ErrorObject, limit: usize) -> ErrorObject {
    fn size(e: &ErrorObject) -> usize {
        e.error_type.as_ref().map_or(0, String::len)
            + e.error_message.as_ref().map_or(0, String::len)
            + e.error_data.as_ref().map_or(0, String::len)
            + e.stack_trace
                .as_ref()
                .map_or(0, |s| s.iter().map(|l| l.len() + 4).sum())
    }
    fn cut(s: &mut String, keep: usize) {
        if s.len() > keep {
            let mut end = keep;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push('…');
        }
    }
    if size(&error) <= limit {
        return error;
    }
    error.stack_trace = None;
    if let Some(t) = error.error_type.as_mut() {
        cut(t, 256);
    }
    if size(&error) > limit {
        error.error_data = None;
    }
    if size(&error) > limit {
        let room = limit.saturating_sub(
            size(&ErrorObject {
                error_message: None,
                ..error.clone()
            }) + 8,
        );
        if let Some(m) = error.error_message.as_mut() {
            cut(m, room);
        }
    }
    error
}
