//! The drivers' own account of the operations they began in one invocation, kept from what
//! each engine call answered (not from the engine's table), so that the targets can check
//!
//! * that `Execution::state` agrees with it after every input;
//! * the concurrency contract (`ExecutionConfig::check_concurrent_begins`): an operation begun
//!   in a context while another operation of that context is in progress (awaited and not
//!   finished: running, awaiting an acknowledgement, blocked) is refused with
//!   `TimingDependentId`, and only then; operations begun but not awaited yet
//!   (`Execution::activate`) do not count;
//! * the suspension outcomes against the operations that really are blocked.
//!
//! Only the root context is used by the targets, so one set of counters suffices.

use std::collections::BTreeMap;

use durable_proto::{
    Ending, Event, Execution, FlushTicket, InvocationOutcome, InvocationStatus, OperationHandle,
    OperationState, OperationStatus,
};

/// One operation as the driver sees it.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub id: String,
    pub state: OperationState,
    /// The state it takes once awaited (`Execution::activate`), while it is not yet.
    pub on_await: Option<OperationState>,
}

/// Every operation begun in this invocation, by handle.
#[derive(Debug, Default)]
pub struct Ops {
    ops: BTreeMap<OperationHandle, Tracked>,
    /// Operations in progress: running, awaiting an acknowledgement or blocked.
    active: usize,
}

/// Whether an operation in `state` is worked on: counted by the concurrency contract.
fn is_active(state: OperationState) -> bool {
    matches!(
        state,
        OperationState::Running
            | OperationState::AwaitingAck(_)
            | OperationState::Blocked
            | OperationState::AwaitingChildren
    )
}

impl Ops {
    /// The engine handed out `op` for the operation with id `id`, in state `Created`;
    /// `on_await` is what it becomes once awaited.
    pub fn begun(&mut self, op: OperationHandle, id: String, on_await: Option<OperationState>) {
        let old = self.ops.insert(
            op,
            Tracked {
                id,
                state: OperationState::Created,
                on_await,
            },
        );
        assert!(old.is_none(), "operation handle {op:?} handed out twice");
    }

    /// User code awaits `op` (`Execution::activate`): a begun operation takes the state its
    /// record gave it (awaiting an acknowledgement only if `acked` says it has not arrived
    /// yet); anything else stays as it is.
    pub fn activate(&mut self, op: OperationHandle, acked: impl Fn(FlushTicket) -> bool) {
        let t = self.ops.get_mut(&op).expect("a tracked operation");
        if t.state != OperationState::Created {
            return;
        }
        match t.on_await.take() {
            Some(OperationState::AwaitingAck(k)) if acked(k) => {}
            Some(state) => self.set(op, state),
            None => {}
        }
    }

    /// Whether `op` is begun and not awaited yet.
    pub fn awaits_activation(&self, op: OperationHandle) -> bool {
        self.ops
            .get(&op)
            .is_some_and(|t| t.state == OperationState::Created && t.on_await.is_some())
    }

    /// `op` moved to `state`. Moving a finished or released operation to a closed state
    /// changes nothing (finishing and releasing are idempotent).
    pub fn set(&mut self, op: OperationHandle, state: OperationState) {
        let t = self.ops.get_mut(&op).expect("a tracked operation");
        let before = t.state;
        if !before.is_open() && !state.is_open() {
            return;
        }
        t.state = state;
        match (is_active(before), is_active(state)) {
            (false, true) => self.active += 1,
            (true, false) => self.active -= 1,
            _ => {}
        }
    }

    /// A checkpoint response arrived: every operation awaiting an acknowledgement that
    /// `acked` says arrived may go on (`Created` again).
    pub fn promote(&mut self, acked: impl Fn(FlushTicket) -> bool) {
        let ready: Vec<OperationHandle> = self
            .ops
            .iter()
            .filter(|(_, t)| matches!(t.state, OperationState::AwaitingAck(k) if acked(k)))
            .map(|(op, _)| *op)
            .collect();
        for op in ready {
            self.set(op, OperationState::Created);
        }
    }

    /// Whether the concurrency contract refuses the next operation begun in the context.
    pub fn refuses_begin(&self) -> bool {
        self.active > 0
    }

    pub fn get(&self, op: OperationHandle) -> Option<&Tracked> {
        self.ops.get(&op)
    }

    pub fn iter(&self) -> impl Iterator<Item = (OperationHandle, &Tracked)> + '_ {
        self.ops.iter().map(|(op, t)| (*op, t))
    }

    /// Whether user code can make no more progress: nothing runs a step body or awaits an
    /// acknowledgement, and something is blocked on the service.
    pub fn must_suspend(&self) -> bool {
        let mut blocked = false;
        for t in self.ops.values() {
            match t.state {
                OperationState::Running | OperationState::AwaitingAck(_) => return false,
                OperationState::Blocked => blocked = true,
                _ => {}
            }
        }
        blocked
    }

    /// Checks that the engine reports every tracked operation in the state tracked here, and
    /// decides suspension the same way.
    pub fn check_engine(&self, exec: &Execution) {
        for (op, t) in &self.ops {
            assert_eq!(
                exec.state(*op),
                Some(t.state),
                "operation {} ({op:?}) is in another state than its calls imply",
                t.id
            );
            assert_eq!(
                exec.identity(*op).map(|i| i.id.as_str()),
                Some(t.id.as_str()),
                "the id of {op:?} changed"
            );
        }
        assert_eq!(
            exec.should_suspend(),
            exec.is_ready() && self.must_suspend(),
            "should_suspend disagrees with the operations' states"
        );
    }

    /// The ids of the operations blocked on the service.
    pub fn blocked(&self) -> Vec<&str> {
        self.ops
            .values()
            .filter(|t| t.state == OperationState::Blocked)
            .map(|t| t.id.as_str())
            .collect()
    }
}

/// Whether a record in `status` makes PENDING valid: the service still holds the operation.
fn pends(status: &OperationStatus) -> bool {
    matches!(status, OperationStatus::Started | OperationStatus::Pending)
}

/// Checks how an invocation ended against the operations blocked in it (`blocked`, their ids)
/// and what the service records for them (`status`). `suspended`: the driver asked the engine
/// to suspend.
///
/// * PENDING: something is blocked, every blocked operation is recorded (pending, or finished
///   or READY meanwhile), and at least one of them still pends;
/// * `CheckpointLost`: after a suspension, some blocked operation has no pending record;
/// * `ResumeRequired`: after a suspension, every blocked operation is recorded and none still
///   pends (all finished or READY on the service meanwhile).
pub fn check_suspension(
    outcome: &InvocationOutcome,
    blocked: &[&str],
    status: impl Fn(&str) -> Option<OperationStatus>,
    suspended: bool,
) {
    let settled = |s: &OperationStatus| s.is_terminal() || *s == OperationStatus::Ready;
    let unrecorded: Vec<&str> = blocked
        .iter()
        .copied()
        .filter(|id| !status(id).is_some_and(|s| pends(&s) || settled(&s)))
        .collect();
    let pending = blocked
        .iter()
        .filter(|id| status(id).is_some_and(|s| pends(&s)))
        .count();
    match outcome {
        InvocationOutcome::Output(o) if o.status == InvocationStatus::Pending => {
            assert!(suspended, "PENDING without a suspension");
            assert!(!blocked.is_empty(), "PENDING while nothing is blocked");
            assert!(
                unrecorded.is_empty(),
                "PENDING while the service has no record of blocked operations {unrecorded:?}"
            );
            assert!(
                pending > 0,
                "PENDING while none of the blocked operations {blocked:?} still pends"
            );
        }
        InvocationOutcome::Failure(f) if f.error_type == "CheckpointLost" => {
            assert!(suspended, "CheckpointLost without a suspension: {f:?}");
            assert!(
                !unrecorded.is_empty(),
                "CheckpointLost while the service records every blocked operation \
                 {blocked:?}: {f:?}"
            );
        }
        InvocationOutcome::Failure(f) if f.error_type == "ResumeRequired" => {
            assert!(suspended, "ResumeRequired without a suspension: {f:?}");
            assert!(
                !blocked.is_empty() && unrecorded.is_empty() && pending == 0,
                "ResumeRequired while blocked operations {blocked:?} still pend on the \
                 service or are unrecorded ({unrecorded:?}): {f:?}"
            );
        }
        _ => {}
    }
}

/// Drains the engine's events: each names an operation the engine knows; the last
/// `InvocationEnding` is kept in `ending`.
pub fn drain_events(exec: &mut Execution, ending: &mut Option<Ending>) {
    while let Some(event) = exec.poll_event() {
        let op = match &event {
            Event::OperationBegun { op, .. }
            | Event::AttemptStarted { op, .. }
            | Event::AttemptFinished { op, .. }
            | Event::OperationFinished { op, .. }
            | Event::OperationBlocked { op }
            | Event::OperationReleased { op } => Some(*op),
            Event::InvocationEnding { ending: e } => {
                *ending = Some(*e);
                None
            }
            _ => None,
        };
        if let Some(op) = op {
            assert!(
                exec.identity(op).is_some(),
                "event {event:?} about an unknown operation"
            );
        }
    }
}

/// The last `InvocationEnding` event announced the outcome that came.
pub fn check_ending(outcome: &InvocationOutcome, ending: Option<Ending>) {
    let expected = match outcome {
        InvocationOutcome::Output(o) => match o.status {
            InvocationStatus::Succeeded => Ending::Succeeded,
            InvocationStatus::Pending => Ending::Suspended,
            _ => Ending::Failed,
        },
        InvocationOutcome::Failure(_) => Ending::InvocationFailed,
        _ => return,
    };
    assert_eq!(
        ending,
        Some(expected),
        "the last InvocationEnding event does not match the outcome {outcome:?}"
    );
}
