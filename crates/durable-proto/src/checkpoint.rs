//! The outbox: updates waiting to be checkpointed, cut into batches the service accepts.
//!
//! Batch rules (protocol.md §4.4): at most `max_batch_updates` updates and
//! `max_batch_bytes` estimated bytes per call; at most one update per operation id, except
//! that a STEP or CONTEXT START may be followed by one completion of the same operation; an
//! EXECUTION update is always last. Updates leave in the order they were queued, so a
//! parent's START always precedes its children's updates.

use std::collections::VecDeque;

use crate::config::ExecutionConfig;
use crate::wire::{OperationAction, OperationType, OperationUpdate};

/// Marks a queued update; the update is durable once the ticket is
/// [acknowledged](crate::Execution::is_acknowledged).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FlushTicket(pub(crate) u64);

#[derive(Debug)]
struct Queued {
    seq: u64,
    size: usize,
    update: OperationUpdate,
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pending: VecDeque<Queued>,
    /// Sequence number of the last update queued (0: none yet).
    last_seq: u64,
    /// Every update with a sequence number up to this one is acknowledged.
    acked_through: u64,
    /// The last sequence number of the batch in flight, if one is.
    in_flight_through: Option<u64>,
    in_flight_len: usize,
}

impl Outbox {
    pub(crate) fn push(&mut self, update: OperationUpdate) -> FlushTicket {
        self.last_seq += 1;
        let size = update.estimated_size();
        self.pending.push_back(Queued {
            seq: self.last_seq,
            size,
            update,
        });
        FlushTicket(self.last_seq)
    }

    /// Whether a batch is waiting for its response.
    pub(crate) fn in_flight(&self) -> bool {
        self.in_flight_through.is_some()
    }

    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Nothing queued and nothing in flight.
    pub(crate) fn is_flushed(&self) -> bool {
        self.pending.is_empty() && self.in_flight_through.is_none()
    }

    pub(crate) fn is_acknowledged(&self, ticket: FlushTicket) -> bool {
        ticket.0 <= self.acked_through
    }

    /// Updates queued or in flight and not yet acknowledged.
    pub(crate) fn unacknowledged(&self) -> usize {
        self.pending.len() + self.in_flight_len
    }

    /// The ticket of the most recently queued update.
    pub(crate) fn last_ticket(&self) -> FlushTicket {
        FlushTicket(self.last_seq)
    }

    /// Cuts the next batch and marks it in flight. `None` while a batch is in flight or
    /// nothing is queued.
    pub(crate) fn take_batch(&mut self, config: &ExecutionConfig) -> Option<Vec<OperationUpdate>> {
        if self.in_flight() || self.pending.is_empty() {
            return None;
        }
        let mut batch: Vec<OperationUpdate> = Vec::new();
        let mut bytes = 0usize;
        let mut last = 0u64;
        while let Some(next) = self.pending.front() {
            if batch.len() >= config.max_batch_updates.max(1) {
                break;
            }
            if !batch.is_empty() && bytes + next.size > config.max_batch_bytes {
                break;
            }
            if !may_join(&batch, &next.update) {
                break;
            }
            let Some(q) = self.pending.pop_front() else {
                break;
            };
            bytes += q.size;
            last = q.seq;
            let is_execution = q.update.operation_type == OperationType::Execution;
            batch.push(q.update);
            if is_execution {
                break;
            }
        }
        self.in_flight_through = Some(last);
        self.in_flight_len = batch.len();
        Some(batch)
    }

    /// The batch in flight was accepted by the service.
    pub(crate) fn acknowledge(&mut self) {
        if let Some(last) = self.in_flight_through.take() {
            self.acked_through = last;
            self.in_flight_len = 0;
        }
    }
}

/// Whether `update` may go in the same call as the updates already in `batch`.
fn may_join(batch: &[OperationUpdate], update: &OperationUpdate) -> bool {
    if batch.is_empty() {
        return true;
    }
    if update.operation_type == OperationType::Execution
        && batch
            .iter()
            .any(|u| u.operation_type == OperationType::Execution)
    {
        return false;
    }
    let mut same = batch.iter().filter(|u| u.id == update.id);
    match (same.next(), same.next()) {
        (None, _) => true,
        (Some(first), None) => {
            first.action == OperationAction::Start
                && update.action != OperationAction::Start
                && matches!(
                    update.operation_type,
                    OperationType::Step | OperationType::Context
                )
        }
        (Some(_), Some(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(
        id: &str,
        ty: OperationType,
        action: OperationAction,
        payload: Option<&str>,
    ) -> OperationUpdate {
        OperationUpdate {
            payload: payload.map(str::to_owned),
            ..OperationUpdate::new(id, ty, action)
        }
    }

    fn step(id: &str, action: OperationAction) -> OperationUpdate {
        update(id, OperationType::Step, action, None)
    }

    fn ids(batch: &[OperationUpdate]) -> Vec<String> {
        batch
            .iter()
            .map(|u| format!("{}:{}", u.id, u.action))
            .collect()
    }

    #[test]
    fn start_and_completion_share_a_batch_but_not_two_completions() {
        let mut out = Outbox::default();
        out.push(step("1", OperationAction::Start));
        out.push(step("1", OperationAction::Succeed));
        out.push(step("2", OperationAction::Start));
        out.push(step("2", OperationAction::Retry));
        let cfg = ExecutionConfig::default();
        let b = out.take_batch(&cfg).unwrap();
        assert_eq!(ids(&b), ["1:START", "1:SUCCEED", "2:START", "2:RETRY"]);
        assert!(
            out.take_batch(&cfg).is_none(),
            "one batch in flight at a time"
        );
        out.acknowledge();
        assert!(out.is_flushed());

        let mut out = Outbox::default();
        out.push(step("1", OperationAction::Start));
        out.push(step("1", OperationAction::Succeed));
        out.push(step("1", OperationAction::Fail));
        let b = out.take_batch(&cfg).unwrap();
        assert_eq!(ids(&b), ["1:START", "1:SUCCEED"]);
        out.acknowledge();
        assert_eq!(ids(&out.take_batch(&cfg).unwrap()), ["1:FAIL"]);
    }

    #[test]
    fn wait_start_cannot_pair_and_execution_goes_last() {
        let cfg = ExecutionConfig::default();
        let mut out = Outbox::default();
        out.push(update(
            "w",
            OperationType::Wait,
            OperationAction::Start,
            None,
        ));
        out.push(update(
            "w",
            OperationType::Wait,
            OperationAction::Cancel,
            None,
        ));
        assert_eq!(ids(&out.take_batch(&cfg).unwrap()), ["w:START"]);
        out.acknowledge();
        out.take_batch(&cfg).unwrap();
        out.acknowledge();

        out.push(step("1", OperationAction::Start));
        out.push(update(
            "exec",
            OperationType::Execution,
            OperationAction::Succeed,
            Some("x"),
        ));
        out.push(step("2", OperationAction::Start));
        assert_eq!(
            ids(&out.take_batch(&cfg).unwrap()),
            ["1:START", "exec:SUCCEED"]
        );
        out.acknowledge();
        assert_eq!(ids(&out.take_batch(&cfg).unwrap()), ["2:START"]);
    }

    #[test]
    fn count_and_byte_limits_split_batches() {
        let cfg = ExecutionConfig {
            max_batch_updates: 3,
            max_batch_bytes: 2_000,
            ..ExecutionConfig::default()
        };
        let mut out = Outbox::default();
        for i in 0..7 {
            out.push(step(&i.to_string(), OperationAction::Start));
        }
        let mut sizes = Vec::new();
        while let Some(b) = out.take_batch(&cfg) {
            sizes.push(b.len());
            out.acknowledge();
        }
        assert_eq!(sizes, [3, 3, 1]);

        let big = "a".repeat(900);
        for i in 0..3 {
            out.push(update(
                &i.to_string(),
                OperationType::Step,
                OperationAction::Succeed,
                Some(&big),
            ));
        }
        let b = out.take_batch(&cfg).unwrap();
        assert_eq!(
            b.len(),
            1,
            "two 900-byte payloads plus overhead exceed 2,000 bytes"
        );
        let total: usize = b.iter().map(|u| serde_json::to_vec(u).unwrap().len()).sum();
        assert!(total <= cfg.max_batch_bytes);
    }

    #[test]
    fn an_oversize_single_update_still_goes_alone() {
        let cfg = ExecutionConfig {
            max_batch_bytes: 100,
            ..ExecutionConfig::default()
        };
        let mut out = Outbox::default();
        out.push(update(
            "e",
            OperationType::Execution,
            OperationAction::Succeed,
            Some(&"z".repeat(500)),
        ));
        assert_eq!(out.take_batch(&cfg).unwrap().len(), 1);
    }

    #[test]
    fn tickets_and_unacknowledged_counts() {
        let cfg = ExecutionConfig::default();
        let mut out = Outbox::default();
        let t1 = out.push(step("1", OperationAction::Start));
        assert!(!out.is_acknowledged(t1));
        assert_eq!(out.unacknowledged(), 1);
        out.take_batch(&cfg).unwrap();
        let t2 = out.push(step("1", OperationAction::Succeed));
        assert_eq!(out.unacknowledged(), 2);
        out.acknowledge();
        assert!(out.is_acknowledged(t1));
        assert!(!out.is_acknowledged(t2));
        assert_eq!(out.last_ticket(), t2);
        assert_eq!(out.unacknowledged(), 1);
    }
}
