//! The one chokepoint every operation begins through, and the transitions every kind
//! shares (finish, block, release).
//!
//! `begin` does, in this order: the phase check, the refusal of durable calls from inside
//! a step body, the name check, the concurrency check, the claim of the next id, the
//! non-determinism comparison (type, sub-type, name, parent; on records of every status),
//! and the slot. It returns an owned view of the record, so each operation kind is a small
//! match on the recorded status.

use crate::error::ExecutionError;
use crate::event::Event;
use crate::execution::Execution;
use crate::journal::{validate_name, ContextRef, Request};
use crate::operation::{OperationHandle, OperationIdentity, OperationState, Slot};
use crate::wire::{ErrorObject, OperationStatus, OperationType};

/// What kind of operation user code asks for.
#[derive(Debug, Clone)]
pub(crate) struct Kind {
    pub(crate) operation_type: OperationType,
    pub(crate) sub_type: &'static str,
}

/// The fields of a record that replay decisions read, copied out of the journal.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordView {
    pub(crate) status: Option<OperationStatus>,
    /// `StepDetails.Attempt`: attempts already finished.
    pub(crate) attempt: u32,
    /// The recorded result (step or context).
    pub(crate) result: Option<String>,
    /// The recorded error.
    pub(crate) error: Option<ErrorObject>,
    /// `ContextDetails.ReplayChildren`.
    pub(crate) replay_children: bool,
}

/// A begun operation.
pub(crate) struct Begun {
    pub(crate) op: OperationHandle,
    pub(crate) record: RecordView,
}

impl Execution {
    /// The chokepoint: begins an operation of `kind` named `name` in context `ctx`.
    ///
    /// The concurrency check: no other operation of the context may be in progress (awaited
    /// and unfinished). Ids are positions in the context's creation order; an operation
    /// begun while another is in progress gets a position that depends on when that one
    /// finishes, and a replay, where finished operations return at once, would hand its id
    /// to another operation.
    ///
    /// Fatal refusals (non-determinism, a timing-dependent id) fail the execution before
    /// returning; argument refusals (a bad name) leave everything as it was.
    pub(crate) fn begin(
        &mut self,
        ctx: ContextRef,
        kind: Kind,
        name: Option<&str>,
    ) -> Result<Begun, ExecutionError> {
        self.begin_at(ctx, kind, name, None)
    }

    /// [`begin`](Self::begin) at a fixed position of `ctx` (a batch item, numbered by its
    /// index); `None` is the context's next position. Positioned operations skip the
    /// concurrency check: their ids do not depend on timing.
    pub(crate) fn begin_at(
        &mut self,
        ctx: ContextRef,
        kind: Kind,
        name: Option<&str>,
        position: Option<u32>,
    ) -> Result<Begun, ExecutionError> {
        self.ensure_running()?;
        if let Some(step) = self.in_body {
            let step = self
                .identity(step)
                .map_or_else(String::new, |i| i.label().to_owned());
            let e = ExecutionError::OperationInsideStep { step };
            // Fatal: the body cannot go on without the operation, and its replay would
            // assign the id to another operation.
            self.fail_execution(&e);
            return Err(e);
        }
        let name = validate_name(name)?;
        let context = self.journal.context(ctx).ok_or(ExecutionError::Misuse {
            what: "unknown context handle",
        })?;
        if self.journal.is_abandoned(ctx) {
            // The item's batch completed: its result is final, so nothing the abandoned item
            // still asks for may be recorded (a blocking front end's thread unwinds on this).
            return Err(ExecutionError::Abandoned);
        }
        if self.config.check_concurrent_begins && position.is_none() && context.active > 0 {
            let e = ExecutionError::TimingDependentId {
                context: context.id.clone(),
                name: name.map(str::to_owned),
            };
            self.fail_execution(&e);
            return Err(e);
        }
        let claimed = self.journal.claim_at(
            ctx,
            position,
            &Request {
                operation_type: kind.operation_type.clone(),
                sub_type: kind.sub_type,
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
        let record = claim
            .record
            .map_or_else(RecordView::default, |r| RecordView {
                status: Some(r.status().into_owned()),
                attempt: r.attempt(),
                result: r.result().map(std::borrow::Cow::into_owned),
                error: r.error(),
                replay_children: r.replay_children(),
            });
        let identity = OperationIdentity {
            id: claim.id,
            parent_id: claim.parent_id,
            operation_type: kind.operation_type,
            sub_type: kind.sub_type,
            name: name.map(str::to_owned),
        };
        let op = self.table.insert(Slot {
            identity,
            context: ctx,
            state: OperationState::Created,
            attempt: record.attempt.saturating_add(1),
            child: None,
            on_await: None,
        });
        let replayed = record.status.as_ref().is_some_and(|s| s.is_terminal());
        self.emit(Event::OperationBegun { op, replayed });
        Ok(Begun { op, record })
    }

    /// The operation finished with `status`; its result goes to user code now.
    pub(crate) fn finish(&mut self, op: OperationHandle, status: OperationStatus) {
        if self.close(op, OperationState::Done) {
            self.emit(Event::OperationFinished { op, status });
        }
    }

    /// The operation waits on the service and cannot finish in this invocation.
    pub(crate) fn block(&mut self, op: OperationHandle) {
        if self.transition(op, OperationState::Blocked) {
            self.emit(Event::OperationBlocked { op });
        }
    }

    /// What `op` becomes once user code awaits it (blocked, awaiting an acknowledgement,
    /// running its children).
    pub(crate) fn on_await(&mut self, op: OperationHandle, state: OperationState) {
        if let Some(slot) = self.table.get_mut(op) {
            slot.on_await = Some(state);
        }
    }

    /// User code began awaiting `op` (the first poll of its future, or the blocking call).
    ///
    /// Until then a begun operation is `Created`: it neither keeps the invocation running
    /// nor holds it suspended, and operations created together (`join!` of operation
    /// futures) do not count as in progress for each other. From now on it is what its
    /// recorded state says: blocked on the service, awaiting an acknowledgement, or
    /// running its children.
    pub fn activate(&mut self, op: OperationHandle) {
        if !self.is_ready() {
            // Frozen once the outcome is being decided, like `release`.
            return;
        }
        let Some(slot) = self.table.get_mut(op) else {
            return;
        };
        if slot.state != OperationState::Created {
            return;
        }
        let Some(state) = slot.on_await.take() else {
            return;
        };
        match state {
            OperationState::Blocked => self.block(op),
            // The acknowledgement already arrived: the body may start at once.
            OperationState::AwaitingAck(t) if self.outbox.is_acknowledged(t) => {}
            other => {
                self.transition(op, other);
            }
        }
        // A callback whose acknowledgement arrived before it was awaited.
        self.promote_recorded();
    }

    /// The user code dropped an operation (its future, or its handle in a blocking front
    /// end). An operation that had not finished stops counting as running or blocked, so
    /// suspension is decided as if it had never been begun; what it already queued is
    /// still recorded. Releasing a finished operation does nothing.
    pub fn release(&mut self, op: OperationHandle) {
        if !self.is_ready() {
            // Once the outcome is being decided the table is frozen: the check before
            // PENDING reads what was blocked, whatever user code drops while unwinding.
            return;
        }
        if self.in_body == Some(op) {
            self.in_body = None;
        }
        if self.close(op, OperationState::Released) {
            self.emit(Event::OperationReleased { op });
        }
    }

    /// Moves an open slot to a closed state; `false` if it was already closed or unknown.
    fn close(&mut self, op: OperationHandle, state: OperationState) -> bool {
        match self.table.get(op) {
            Some(slot) if slot.state.is_open() => self.transition(op, state),
            _ => false,
        }
    }

    /// The one way an operation changes state: the table's counts and the context's count
    /// of active operations (running, awaiting an acknowledgement, blocked) follow.
    pub(crate) fn transition(&mut self, op: OperationHandle, state: OperationState) -> bool {
        let Some(slot) = self.table.get(op) else {
            return false;
        };
        let ctx = slot.context;
        let Some(before) = self.table.set_state(op, state) else {
            return false;
        };
        if let Some(c) = self.journal.context_mut(ctx) {
            match (is_active(before), is_active(state)) {
                (false, true) => c.active += 1,
                (true, false) => c.active = c.active.saturating_sub(1),
                _ => {}
            }
        }
        true
    }

    /// Promotes every operation whose acknowledgement arrived from `AwaitingAck` to
    /// `Created`: its user code may go on, but it no longer moves by itself.
    pub(crate) fn promote_acknowledged(&mut self) {
        for op in self.table.take_acks() {
            match self.table.get(op).map(|s| s.state) {
                Some(OperationState::AwaitingAck(t)) if self.outbox.is_acknowledged(t) => {
                    self.transition(op, OperationState::Created);
                }
                Some(OperationState::AwaitingAck(_)) => self.table.keep_ack(op),
                _ => {}
            }
        }
    }

    /// User code is about to run the body of step `op` (until [`leave_body`]): durable
    /// calls made meanwhile are refused, because replay skips the body and would assign
    /// their ids to other operations.
    ///
    /// [`leave_body`]: Execution::leave_body
    pub fn enter_body(&mut self, op: OperationHandle) {
        self.in_body = Some(op);
    }

    /// The body of step `op` stopped running (returned, or yielded in an async driver).
    pub fn leave_body(&mut self, op: OperationHandle) {
        if self.in_body == Some(op) {
            self.in_body = None;
        }
    }

    /// The slot of `op`, or a misuse error.
    pub(crate) fn slot(&self, op: OperationHandle) -> Result<&Slot, ExecutionError> {
        self.table.get(op).ok_or(ExecutionError::Misuse {
            what: "unknown operation handle",
        })
    }
}

/// Whether an operation in `state` is being worked on: user code runs, an acknowledgement
/// is on its way, or the service holds it. Begun-but-untouched and closed ones are not.
fn is_active(state: OperationState) -> bool {
    matches!(
        state,
        OperationState::Running
            | OperationState::AwaitingAck(_)
            | OperationState::Blocked
            | OperationState::AwaitingChildren
    )
}
