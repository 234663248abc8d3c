//! The operation table: one slot per operation begun or replayed in this invocation.
//!
//! A slot holds the operation's identity (the one place every update of that operation is
//! built from) and its state. Progress and suspension are derived from the table: the
//! counts below change only through [`Table::set_state`], so they cannot drift from the
//! slots they count.

use crate::checkpoint::FlushTicket;
use crate::journal::ContextRef;
use crate::wire::{OperationAction, OperationType, OperationUpdate};

/// A handle to an operation begun in this invocation.
///
/// Returned by every `begin_*` call; pass it back with the operation's outcome, or to
/// [`Execution::release`](crate::Execution::release) when the user code drops the
/// operation. Handles are never reused within an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OperationHandle(pub(crate) u32);

/// Who an operation is: everything that must be identical on every update of it and on
/// every replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationIdentity {
    /// The wire id.
    pub id: String,
    /// The enclosing CONTEXT's id; `None` at the root.
    pub parent_id: Option<String>,
    /// The operation's type.
    pub operation_type: OperationType,
    /// The SDK's sub-type label (`Step`, `Wait`, `RunInChildContext`, …).
    pub sub_type: &'static str,
    /// The user-given name, if any.
    pub name: Option<String>,
}

impl OperationIdentity {
    /// An update of this operation with its identity stamped on it.
    pub(crate) fn update(&self, action: OperationAction) -> OperationUpdate {
        OperationUpdate {
            parent_id: self.parent_id.clone(),
            name: self.name.clone(),
            sub_type: Some(self.sub_type.to_owned()),
            ..OperationUpdate::new(self.id.clone(), self.operation_type.clone(), action)
        }
    }

    /// The name if there is one, else the id: how messages refer to the operation.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// Where an operation stands in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationState {
    /// Begun, and not awaited yet (or, for a step, its body has not started): it neither
    /// progresses nor blocks, and it does not count as in progress for the concurrency
    /// check.
    Created,
    /// Waiting for the service to acknowledge an update before user code may go on.
    AwaitingAck(FlushTicket),
    /// User code of this operation is running (a step body).
    Running,
    /// A child context's function runs; its own operations decide progress.
    AwaitingChildren,
    /// Acknowledged, but the record the service fills in (a callback's id) is on a response
    /// page still to be read: progress, so the invocation does not suspend before it.
    AwaitingRecord,
    /// Waiting for the service (a timer, a retry, a callback): cannot finish in this
    /// invocation.
    Blocked,
    /// Finished: its result was handed to user code.
    Done,
    /// The user code dropped it before it finished.
    Released,
}

impl OperationState {
    fn index(self) -> usize {
        match self {
            Self::Created => 0,
            Self::AwaitingAck(_) => 1,
            Self::Running => 2,
            Self::Blocked => 3,
            Self::Done => 4,
            Self::Released => 5,
            Self::AwaitingChildren => 6,
            Self::AwaitingRecord => 7,
        }
    }

    /// Whether the operation has neither finished nor been dropped.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Done | Self::Released)
    }
}

#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) identity: OperationIdentity,
    pub(crate) context: ContextRef,
    pub(crate) state: OperationState,
    /// The attempt now running or next to run (steps), 1-based.
    pub(crate) attempt: u32,
    /// The child context this operation opened, if it is a CONTEXT.
    pub(crate) child: Option<ContextRef>,
    /// The state the operation takes once user code awaits it (see `Execution::activate`).
    pub(crate) on_await: Option<OperationState>,
}

/// Every operation of this invocation, in the order they were begun.
#[derive(Debug, Default)]
pub(crate) struct Table {
    slots: Vec<Slot>,
    counts: [usize; 8],
    /// Slots that were put in `AwaitingAck`, for promotion once the ticket is acknowledged
    /// (kept apart so an acknowledgement never scans the whole table).
    acks: Vec<OperationHandle>,
}

impl Table {
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
    }

    pub(crate) fn insert(&mut self, slot: Slot) -> OperationHandle {
        self.counts[slot.state.index()] += 1;
        self.slots.push(slot);
        OperationHandle((self.slots.len() - 1) as u32)
    }

    pub(crate) fn get(&self, op: OperationHandle) -> Option<&Slot> {
        self.slots.get(op.0 as usize)
    }

    pub(crate) fn get_mut(&mut self, op: OperationHandle) -> Option<&mut Slot> {
        self.slots.get_mut(op.0 as usize)
    }

    /// The one way a slot changes state. Returns the previous state.
    pub(crate) fn set_state(
        &mut self,
        op: OperationHandle,
        state: OperationState,
    ) -> Option<OperationState> {
        let slot = self.slots.get_mut(op.0 as usize)?;
        let before = slot.state;
        self.counts[before.index()] -= 1;
        self.counts[state.index()] += 1;
        slot.state = state;
        if matches!(state, OperationState::AwaitingAck(_)) {
            self.acks.push(op);
        }
        Some(before)
    }

    /// Operations that can still move in this invocation without the service starting
    /// anything new: running user code, or an acknowledgement on its way.
    pub(crate) fn progressing(&self) -> usize {
        self.counts[OperationState::Running.index()]
            + self.counts[OperationState::AwaitingAck(FlushTicket(0)).index()]
            + self.counts[OperationState::AwaitingRecord.index()]
    }

    /// Operations blocked on the service.
    pub(crate) fn blocked(&self) -> usize {
        self.counts[OperationState::Blocked.index()]
    }

    /// The slots put in `AwaitingAck` since the last call (some may have moved on).
    pub(crate) fn take_acks(&mut self) -> Vec<OperationHandle> {
        std::mem::take(&mut self.acks)
    }

    /// Keeps watching `op` for its acknowledgement.
    pub(crate) fn keep_ack(&mut self, op: OperationHandle) {
        self.acks.push(op);
    }

    /// Every blocked slot, for the check before PENDING.
    pub(crate) fn blocked_slots(&self) -> impl Iterator<Item = &Slot> + '_ {
        self.slots
            .iter()
            .filter(|s| s.state == OperationState::Blocked)
    }
}
