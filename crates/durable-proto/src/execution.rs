//! The execution engine: one invocation's state machine.

use std::borrow::Cow;
use std::collections::VecDeque;

use crate::api_failure::{ApiFailure, FailureClass};
use crate::checkpoint::{FlushTicket, Outbox};
use crate::config::ExecutionConfig;
use crate::error::ExecutionError;
use crate::event::{Ending, Event};
use crate::journal::{ContextRef, Journal};
use crate::operation::{OperationHandle, OperationIdentity, OperationState, Table};
use crate::records::Envelope;
use crate::rng::SeededRng;
use crate::wire::{
    execution_id_from_arn, CheckpointResponse, EnvelopeError, ErrorObject, ExecutionState,
    InvocationOutput, InvocationStatus, Operation, OperationAction, OperationStatus, OperationType,
    OperationUpdate,
};

/// A call the driver must make to the durable-execution API on the engine's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServiceRequest {
    /// Call GetDurableExecutionState and hand the page to
    /// [`Execution::handle_state_page`].
    GetState {
        /// The checkpoint token to authorize the read with (reading does not consume it).
        checkpoint_token: String,
        /// The page marker.
        marker: String,
    },
    /// Call CheckpointDurableExecution and hand the response to
    /// [`Execution::handle_checkpoint_response`].
    Checkpoint {
        /// The token for this call; it is single-use and the engine has given it up.
        checkpoint_token: String,
        /// The updates, in order.
        updates: Vec<OperationUpdate>,
    },
}

/// Why an invocation ends with an error instead of an output, so that Lambda invokes the
/// function again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationFailure {
    /// A short error type, e.g. `CheckpointUnavailable`.
    pub error_type: String,
    /// What happened, for the logs.
    pub message: String,
}

/// How this invocation ends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvocationOutcome {
    /// Return this output to Lambda (SUCCEEDED, FAILED or PENDING).
    Output(InvocationOutput),
    /// Fail the invocation (return an error from the handler); Lambda retries it.
    Failure(InvocationFailure),
}

#[derive(Debug)]
enum Phase {
    /// Fetching further state pages before user code may run.
    Loading,
    /// User code runs.
    Running,
    /// Suspension was decided; flushing before returning PENDING.
    Suspending,
    /// The outcome is known; `flush` says whether queued updates must be acknowledged first.
    Finishing {
        outcome: InvocationOutcome,
        flush: bool,
    },
    /// The outcome was handed out.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    /// A page of the initial state.
    State,
    /// A further page of a checkpoint response, read because an operation needs its record.
    ResponsePage,
    Checkpoint,
}

/// The sans-IO engine for one invocation of a durable function.
///
/// The driver feeds it inputs (`handle_*`, and the user code's operation calls such as
/// [`begin_step`](Execution::begin_step)) and drains its outputs (`poll_*`). After any input, call
/// [`poll_request`](Execution::poll_request) and [`poll_output`](Execution::poll_output)
/// until they return `None`. At most one service request is outstanding at a time; user
/// code may keep calling operations while a request is in flight.
///
/// The engine never reads a clock, never draws ambient randomness, and performs no IO:
/// given the same inputs it produces the same requests, byte for byte.
///
/// ```
/// use durable_proto::{Execution, InvocationOutcome, ServiceRequest};
///
/// let envelope = br#"{"DurableExecutionArn":"fn/exec-1","CheckpointToken":"t0",
///   "InitialExecutionState":{"Operations":[{"Id":"exec-1","Type":"EXECUTION",
///   "Status":"STARTED","ExecutionDetails":{"InputPayload":"{\"n\":2}"}}]}}"#;
/// let mut execution = Execution::from_slice(envelope).unwrap();
/// assert!(execution.is_ready());
/// assert_eq!(execution.input_payload().as_deref(), Some("{\"n\":2}"));
/// execution.handle_handler_result(Ok("4".to_owned()));
/// assert!(execution.poll_request().is_none());
/// match execution.poll_output() {
///     Some(InvocationOutcome::Output(out)) => assert_eq!(out.result.as_deref(), Some("4")),
///     other => panic!("unexpected {other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct Execution {
    pub(crate) arn: String,
    pub(crate) execution_id: String,
    pub(crate) config: ExecutionConfig,
    pub(crate) journal: Journal,
    pub(crate) outbox: Outbox,
    token: Option<String>,
    phase: Phase,
    /// The next page of the initial state, while loading.
    next_marker: Option<String>,
    /// The next page of the last checkpoint response; read only if an operation needs it.
    response_marker: Option<String>,
    in_flight: Option<InFlight>,
    pub(crate) table: Table,
    events: VecDeque<Event>,
    pub(crate) rng: SeededRng,
    /// The step whose body user code is running right now, if the front end said so.
    pub(crate) in_body: Option<OperationHandle>,
    /// Operations that wait on the service and whose pending record has not arrived yet.
    pub(crate) awaiting_record: Vec<OperationHandle>,
    /// Draws made inside the body of this step (see `deterministic.rs`).
    pub(crate) body_draws: (Option<OperationHandle>, u32),
    /// Callbacks whose id user code waits for (see `promote_recorded`).
    pub(crate) wanting_record: Vec<OperationHandle>,
    /// The maps and parallels begun in this invocation.
    pub(crate) batches: Vec<crate::batch::BatchState>,
    /// Branches of user code that run outside any operation right now (see
    /// [`Execution::enter_branch`]).
    busy_branches: usize,
}

impl Execution {
    /// Parses an invocation envelope and builds the engine with default limits.
    pub fn from_slice(envelope: &[u8]) -> Result<Self, EnvelopeError> {
        Ok(Self::new(
            Envelope::from_slice(envelope)?,
            ExecutionConfig::default(),
        ))
    }

    /// Builds the engine from an invocation envelope: an [`Envelope`] read from the
    /// payload's bytes (the cheap path) or an [`InvocationInput`](crate::InvocationInput).
    pub fn new(envelope: impl Into<Envelope>, config: ExecutionConfig) -> Self {
        let (arn, token, next_marker, records) = envelope.into().into_parts();
        let execution_id = execution_id_from_arn(&arn).to_owned();
        let rng = match config.seed {
            Some(seed) => SeededRng::new(seed),
            None => {
                let mut key = arn.clone().into_bytes();
                key.push(0);
                key.extend_from_slice(token.as_bytes());
                SeededRng::from_key(&key)
            }
        };
        let mut execution = Self {
            arn,
            execution_id,
            config,
            journal: Journal::new(records),
            outbox: Outbox::default(),
            token: Some(token),
            phase: Phase::Loading,
            next_marker,
            response_marker: None,
            in_flight: None,
            table: Table::default(),
            events: VecDeque::new(),
            rng,
            in_body: None,
            awaiting_record: Vec::new(),
            wanting_record: Vec::new(),
            body_draws: (None, 0),
            batches: Vec::new(),
            busy_branches: 0,
        };
        if execution.next_marker.is_none() {
            execution.finish_loading();
        }
        execution
    }

    /// The limits this engine runs with.
    pub fn config(&self) -> &ExecutionConfig {
        &self.config
    }

    /// The durable execution ARN.
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// Whether all state is loaded and user code may run.
    pub fn is_ready(&self) -> bool {
        matches!(self.phase, Phase::Running)
    }

    /// Whether the code of the root context is still re-tracing operations recorded by
    /// earlier invocations; see [`is_replaying_in`](Execution::is_replaying_in).
    pub fn is_replaying(&self) -> bool {
        self.is_replaying_in(ContextRef::ROOT)
    }

    /// Whether the code of context `ctx` is still re-tracing operations recorded by
    /// earlier invocations. Logs emitted while replaying are duplicates and are usually
    /// suppressed.
    ///
    /// Tracked per context: replay of a context ends when its code asks for an operation
    /// that is not finished on record, or once it has asked for every operation recorded in
    /// it. A branch never visited does not keep the rest of the invocation replaying.
    pub fn is_replaying_in(&self, ctx: ContextRef) -> bool {
        self.journal.context(ctx).is_some_and(|c| c.replaying)
    }

    /// Whether context `ctx` belongs to a map or parallel item that was abandoned because its
    /// batch completed (nothing more is recorded for it).
    pub fn is_abandoned(&self, ctx: ContextRef) -> bool {
        self.journal.is_abandoned(ctx)
    }

    /// The identity of an operation begun in this invocation.
    pub fn identity(&self, op: OperationHandle) -> Option<&OperationIdentity> {
        self.table.get(op).map(|s| &s.identity)
    }

    /// The attempt of a step (or wait-for-condition check) now running or next to run,
    /// 1-based.
    pub fn attempt(&self, op: OperationHandle) -> Option<u32> {
        self.table.get(op).map(|s| s.attempt)
    }

    /// Where an operation begun in this invocation stands.
    pub fn state(&self, op: OperationHandle) -> Option<OperationState> {
        self.table.get(op).map(|s| s.state)
    }

    /// The next event, if any. Drain after every input, like the other outputs.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.events.push_back(event);
    }

    /// The user's event as the JSON text the execution was started with, if any.
    pub fn input_payload(&self) -> Option<Cow<'_, str>> {
        self.journal
            .execution_operation(&self.execution_id)?
            .input_payload()
            .filter(|p| !p.trim().is_empty())
    }

    /// The recorded state of an operation, as last seen from the service.
    ///
    /// Decoded from the kept history on each call (the engine itself reads records in
    /// place and never needs the owned form).
    pub fn operation(&self, id: &str) -> Option<Operation> {
        self.journal.get(id)?.decode()
    }

    /// Whether the update behind `ticket` has been acknowledged by the service.
    pub fn is_acknowledged(&self, ticket: FlushTicket) -> bool {
        self.outbox.is_acknowledged(ticket)
    }

    /// Whether user code can make no more progress in this invocation and it must suspend:
    /// no operation is running user code or waiting for an acknowledgement, and at least
    /// one is blocked on the service. Derived from the operation table.
    ///
    /// Drivers call [`suspend`](Execution::suspend) when this holds and the user code
    /// cannot proceed.
    pub fn should_suspend(&self) -> bool {
        matches!(self.phase, Phase::Running)
            && self.table.progressing() == 0
            && self.busy_branches == 0
            && self.table.blocked() > 0
    }

    /// A branch of user code that the engine cannot see runs (a thread of a blocking map
    /// item, between its operations): until [`leave_branch`](Self::leave_branch), the
    /// invocation does not suspend, since that branch may still begin or finish operations.
    /// Front ends whose branches are futures polled together never need it (the driver
    /// decides suspension only once every branch is pending).
    pub fn enter_branch(&mut self) {
        self.busy_branches += 1;
    }

    /// The branch of [`enter_branch`](Self::enter_branch) stopped running: it ended, or it
    /// waits on a blocked operation.
    pub fn leave_branch(&mut self) {
        self.busy_branches = self.busy_branches.saturating_sub(1);
    }

    /// Whether the outcome is decided (user code should stop; drain requests and output).
    pub fn is_closing(&self) -> bool {
        !matches!(self.phase, Phase::Loading | Phase::Running)
    }

    /// Ends the invocation with PENDING once every queued update is acknowledged.
    ///
    /// Returning PENDING with nothing pending makes the service fail the execution, so a
    /// call while no operation waits on the service is refused: the invocation then ends
    /// with an internal error instead.
    pub fn suspend(&mut self) {
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        if self.table.blocked() == 0 {
            self.fail_invocation(
                "DurableSdkInternalError",
                "suspension was requested while no operation waits on the service; \
                 returning PENDING now would fail the execution"
                    .to_owned(),
            );
            return;
        }
        self.phase = Phase::Suspending;
    }

    /// The invocation's time is about to run out (the driver's deadline minus a margin).
    ///
    /// From now on no operation begins and no outcome is recorded; every update queued so
    /// far is still flushed, so a step that finished is never run again because its SUCCEED
    /// was lost with the process. The invocation then ends: PENDING when something waits on
    /// the service, else an invocation failure (`InvocationDeadline`), so that Lambda invokes
    /// the function again to continue from what was recorded — instead of the process being
    /// killed half way through a checkpoint.
    pub fn handle_deadline(&mut self) {
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        if self.table.blocked() > 0 {
            self.phase = Phase::Suspending;
            return;
        }
        self.emit(Event::InvocationEnding {
            ending: Ending::InvocationFailed,
        });
        self.phase = Phase::Finishing {
            outcome: InvocationOutcome::Failure(InvocationFailure {
                error_type: "InvocationDeadline".to_owned(),
                message: "the invocation's deadline is near: the recorded work was flushed and \
                          the invocation ends so that Lambda invokes the function again to \
                          continue"
                    .to_owned(),
            }),
            flush: true,
        };
    }

    /// The user's handler returned: `Ok` with its serialized result, or `Err` with its error.
    ///
    /// Ignored once the outcome is already decided (for example after a fatal error that
    /// the user code caught and swallowed).
    pub fn handle_handler_result(&mut self, result: Result<String, ErrorObject>) {
        if !matches!(self.phase, Phase::Running) {
            return;
        }
        let cfg = &self.config;
        let output = match result {
            Ok(payload) if payload.len() <= cfg.max_inline_result_bytes => {
                InvocationOutput::succeeded(Some(payload))
            }
            Ok(payload) if payload.len() <= cfg.max_execution_result_bytes => {
                let update = self.execution_update(OperationAction::Succeed, Some(payload), None);
                self.outbox.push(update);
                InvocationOutput::succeeded(Some(String::new()))
            }
            Ok(payload) => InvocationOutput::failed(ErrorObject::new(
                "ResultTooLarge",
                format!(
                    "the handler's serialized result is {} bytes; the largest result an \
                     execution can record is {} bytes. Return a reference (e.g. an S3 key) \
                     instead of the data",
                    payload.len(),
                    cfg.max_execution_result_bytes
                ),
            )),
            Err(error) => {
                let error = crate::size::fit_error(error, cfg.max_operation_payload_bytes);
                InvocationOutput::failed(error)
            }
        };
        self.emit(Event::InvocationEnding {
            ending: ending_of(&output),
        });
        self.phase = Phase::Finishing {
            outcome: InvocationOutcome::Output(output),
            flush: true,
        };
    }

    /// The next service call to make, if any. Only one is outstanding at a time.
    pub fn poll_request(&mut self) -> Option<ServiceRequest> {
        if self.in_flight.is_some() {
            return None;
        }
        if let Phase::Finishing { flush: false, .. } | Phase::Done = self.phase {
            return None;
        }
        if let Some(marker) = &self.next_marker {
            let checkpoint_token = self.token.clone()?;
            self.in_flight = Some(InFlight::State);
            return Some(ServiceRequest::GetState {
                checkpoint_token,
                marker: marker.clone(),
            });
        }
        // A page of the last response holding a record an operation needs goes first: the
        // next checkpoint's response would replace its marker.
        if let Some(request) = self.poll_response_page() {
            return Some(request);
        }
        if !self.outbox.has_pending() {
            return None;
        }
        let Some(checkpoint_token) = self.token.take() else {
            self.fail_no_token();
            return None;
        };
        let updates = self.outbox.take_batch(&self.config)?;
        self.in_flight = Some(InFlight::Checkpoint);
        Some(ServiceRequest::Checkpoint {
            checkpoint_token,
            updates,
        })
    }

    /// Reads a further page of the last checkpoint response, but only while an operation
    /// that needs its record (a wait, a step waiting for its retry) has none yet.
    fn poll_response_page(&mut self) -> Option<ServiceRequest> {
        self.response_marker.as_ref()?;
        if !self.needs_records() {
            self.response_marker = None;
            return None;
        }
        let marker = self.response_marker.clone()?;
        let checkpoint_token = self.token.clone()?;
        self.in_flight = Some(InFlight::ResponsePage);
        Some(ServiceRequest::GetState {
            checkpoint_token,
            marker,
        })
    }

    /// Whether an open operation that waits on the service has no record yet. Only those
    /// need the service's records in this invocation (a step's own record never matters
    /// until the next one), which is why response pages are otherwise left unread.
    fn needs_records(&mut self) -> bool {
        let journal = &self.journal;
        let table = &self.table;
        self.awaiting_record.retain(|&op| {
            table.get(op).is_some_and(|slot| {
                slot.state.is_open()
                    && journal
                        .get(&slot.identity.id)
                        .map_or(true, |r| !is_pending_status(&r.status()))
            })
        });
        !self.awaiting_record.is_empty()
    }

    /// Whether a page of the last checkpoint response is still to be read (or being read).
    pub(crate) fn response_pages_left(&self) -> bool {
        self.response_marker.is_some() || self.in_flight == Some(InFlight::ResponsePage)
    }

    /// A blocked operation the service has no pending record of, if any.
    fn unrecorded_blocked(&self) -> Option<&OperationIdentity> {
        self.table
            .blocked_slots()
            .find(|slot| !self.record_pends(&slot.identity.id))
            .map(|slot| &slot.identity)
    }

    fn record_pends(&self, id: &str) -> bool {
        self.journal
            .get(id)
            .is_some_and(|r| is_pending_status(&r.status()))
    }

    /// Whether PENDING may be returned now: every blocked operation must be recorded on the
    /// service, or the next invocation would not find what it waits for.
    fn suspension_check(&self) -> SuspensionCheck {
        let Some(first) = self.unrecorded_blocked() else {
            return SuspensionCheck::Ready;
        };
        if self.response_marker.is_some() && self.token.is_some() {
            // The record may be on a page of the last response not read yet.
            return SuspensionCheck::ReadPages;
        }
        let mut any_pending = false;
        for slot in self.table.blocked_slots() {
            let id = &slot.identity.id;
            match self.journal.get(id).map(|r| r.status()).as_deref() {
                Some(s) if is_pending_status(s) => any_pending = true,
                // Finished on the service meanwhile (a timer fired during this invocation):
                // the next invocation replays it finished.
                Some(s) if s.is_terminal() || *s == OperationStatus::Ready => {}
                _ => {
                    return SuspensionCheck::Refuse(
                        "CheckpointLost",
                        format!(
                            "operation {id} ({}) waits on the service, but the service \
                             acknowledged its checkpoint without recording it; returning \
                             PENDING would leave nothing to resume it, so the invocation ends \
                             and Lambda retries it",
                            slot.identity.label()
                        ),
                    )
                }
            }
        }
        if any_pending {
            return SuspensionCheck::Ready;
        }
        SuspensionCheck::Refuse(
            "ResumeRequired",
            format!(
                "operation {} ({}) finished on the service while this invocation was \
                 suspending and nothing else pends, so PENDING would be rejected; the \
                 invocation ends so that Lambda invokes the function again to continue",
                first.id,
                first.label()
            ),
        )
    }

    /// A GetDurableExecutionState page arrived.
    pub fn handle_state_page(&mut self, page: ExecutionState) -> Result<(), ExecutionError> {
        match self.in_flight {
            Some(InFlight::State) => {
                self.in_flight = None;
                self.journal.merge(page.operations);
                self.next_marker = page.next_marker;
                if self.next_marker.is_none() && matches!(self.phase, Phase::Loading) {
                    self.finish_loading();
                }
                Ok(())
            }
            Some(InFlight::ResponsePage) => {
                self.in_flight = None;
                self.journal.merge(page.operations);
                self.response_marker = page.next_marker;
                self.promote_recorded();
                Ok(())
            }
            _ => Err(ExecutionError::Misuse {
                what: "a state page arrived that was not requested",
            }),
        }
    }

    /// A CheckpointDurableExecution call succeeded.
    pub fn handle_checkpoint_response(
        &mut self,
        response: CheckpointResponse,
    ) -> Result<(), ExecutionError> {
        if self.in_flight != Some(InFlight::Checkpoint) {
            return Err(ExecutionError::Misuse {
                what: "a checkpoint response arrived that was not requested",
            });
        }
        self.in_flight = None;
        self.outbox.acknowledge();
        self.promote_acknowledged();
        self.token = response.checkpoint_token.filter(|t| !t.is_empty());
        let state = response.new_execution_state;
        self.journal.merge(state.operations);
        // Further pages of this response are read with the new token, and only when an
        // operation needs a record from them (see `poll_response_page`).
        self.response_marker = state.next_marker.filter(|_| self.token.is_some());
        self.promote_recorded();
        if self.token.is_none() && self.outbox.has_pending() {
            // Decided now rather than at the next request, so that a driver whose user code
            // is parked sees the outcome at once.
            self.fail_no_token();
        }
        Ok(())
    }

    /// A service call failed; `failure` says how. The engine classifies it: transient
    /// failures end the invocation with an error (Lambda retries it), permanent ones fail
    /// the execution. User code never sees either.
    pub fn handle_request_failure(&mut self, failure: ApiFailure) {
        self.in_flight = None;
        // An outcome already handed out, or a failure already decided, stands: an invocation
        // ends exactly once.
        if matches!(
            self.phase,
            Phase::Done | Phase::Finishing { flush: false, .. }
        ) {
            return;
        }
        let what = failure
            .error_code
            .clone()
            .unwrap_or_else(|| match failure.http_status {
                Some(s) => format!("HTTP {s}"),
                None => "no response".to_owned(),
            });
        match failure.class() {
            FailureClass::RetryInvocation => self.fail_invocation(
                "CheckpointUnavailable",
                format!(
                    "a durable-execution API call failed transiently ({what}: {}); the \
                     invocation ends so that Lambda retries it with fresh state",
                    failure.message
                ),
            ),
            FailureClass::FailExecution => {
                let error = ErrorObject::new(
                    failure
                        .error_code
                        .unwrap_or_else(|| "CheckpointRejected".to_owned()),
                    format!(
                        "the durable-execution service rejected a call ({what}): {}",
                        failure.message
                    ),
                );
                self.emit(Event::InvocationEnding {
                    ending: Ending::Failed,
                });
                self.phase = Phase::Finishing {
                    outcome: InvocationOutcome::Output(InvocationOutput::failed(error)),
                    flush: false,
                };
            }
        }
    }

    /// The driver gave up on this invocation (its future was dropped, or its time ran out)
    /// while user code may still be running somewhere (a blocking handler's thread). From
    /// now on every operation call is refused, so no further step body runs and nothing
    /// more is recorded.
    pub fn handle_abandoned(&mut self) {
        if !matches!(self.phase, Phase::Done) {
            self.phase = Phase::Done;
        }
    }

    /// How the invocation ends, once it is decided and every needed update is acknowledged.
    pub fn poll_output(&mut self) -> Option<InvocationOutcome> {
        match &self.phase {
            Phase::Finishing { flush: false, .. } => {}
            Phase::Finishing { flush: true, .. } | Phase::Suspending
                if !self.outbox.is_flushed() || self.in_flight.is_some() =>
            {
                return None
            }
            Phase::Finishing { .. } => {}
            Phase::Suspending => {
                match self.suspension_check() {
                    SuspensionCheck::Ready => {}
                    SuspensionCheck::ReadPages => return None,
                    SuspensionCheck::Refuse(error_type, message) => {
                        self.fail_invocation(error_type, message);
                        return self.poll_output();
                    }
                }
                self.phase = Phase::Done;
                self.emit(Event::InvocationEnding {
                    ending: Ending::Suspended,
                });
                return Some(InvocationOutcome::Output(InvocationOutput::pending()));
            }
            Phase::Loading | Phase::Running | Phase::Done => return None,
        }
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Finishing { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    /// Fails the execution with a fatal engine error (non-determinism and the like). Updates
    /// already queued are still recorded first.
    pub(crate) fn fail_execution(&mut self, error: &ExecutionError) {
        if matches!(self.phase, Phase::Finishing { .. } | Phase::Done) {
            return;
        }
        let output =
            InvocationOutput::failed(ErrorObject::new(error.error_type(), error.to_string()));
        self.emit(Event::InvocationEnding {
            ending: Ending::Failed,
        });
        self.phase = Phase::Finishing {
            outcome: InvocationOutcome::Output(output),
            flush: true,
        };
    }

    pub(crate) fn fail_invocation(&mut self, error_type: &str, message: String) {
        if matches!(self.phase, Phase::Done) {
            return;
        }
        self.emit(Event::InvocationEnding {
            ending: Ending::InvocationFailed,
        });
        self.phase = Phase::Finishing {
            outcome: InvocationOutcome::Failure(InvocationFailure {
                error_type: error_type.to_owned(),
                message,
            }),
            flush: false,
        };
    }

    fn fail_no_token(&mut self) {
        self.fail_invocation(
            "CheckpointUnavailable",
            "the service returned no checkpoint token, so the remaining updates cannot be \
             recorded; the execution has probably ended on the service side"
                .to_owned(),
        );
    }

    fn finish_loading(&mut self) {
        if self
            .journal
            .execution_operation(&self.execution_id)
            .is_none()
        {
            let error = ExecutionError::MissingExecutionOperation {
                execution_id: self.execution_id.clone(),
            };
            self.phase = Phase::Running;
            self.fail_execution(&error);
            return;
        }
        // Replay begins one slot per recorded operation: size the table once.
        let prior = self.journal.start_replay();
        self.table.reserve(prior);
        self.phase = Phase::Running;
    }

    /// Refuses operation calls unless user code may run.
    pub(crate) fn ensure_running(&self) -> Result<(), ExecutionError> {
        match self.phase {
            Phase::Running => Ok(()),
            Phase::Loading => Err(ExecutionError::Misuse {
                what: "an operation was called before every state page was loaded",
            }),
            _ => Err(ExecutionError::Closed),
        }
    }

    fn execution_update(
        &self,
        action: OperationAction,
        payload: Option<String>,
        error: Option<ErrorObject>,
    ) -> OperationUpdate {
        OperationUpdate {
            payload,
            error,
            ..OperationUpdate::new(self.execution_id.clone(), OperationType::Execution, action)
        }
    }
}

enum SuspensionCheck {
    Ready,
    ReadPages,
    Refuse(&'static str, String),
}

/// Statuses under which an operation waits on the service, so that PENDING is valid.
fn is_pending_status(status: &OperationStatus) -> bool {
    matches!(status, OperationStatus::Started | OperationStatus::Pending)
}

fn ending_of(output: &InvocationOutput) -> Ending {
    match output.status {
        InvocationStatus::Succeeded => Ending::Succeeded,
        InvocationStatus::Pending => Ending::Suspended,
        _ => Ending::Failed,
    }
}
