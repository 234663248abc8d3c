//! Which operations the handler sees, and how they are split into pages.
//!
//! Markers are opaque to clients: `s<position>` continues the full state listing at that
//! position of the execution's operation list (so a page costs its own size, not a scan
//! from the start) and `d<seq>.<offset>` continues the operations changed by the
//! checkpoint that returned token number `seq`.

use durable_proto::{ExecutionState, Operation, OperationType};

use crate::error::ServiceError;
use crate::service::record::ExecutionRecord;

/// A page of the full state listing starting at `marker` (`None`: the first page).
pub(crate) fn state_page(
    record: &ExecutionRecord,
    marker: Option<&str>,
    size: usize,
) -> Result<ExecutionState, ServiceError> {
    match marker.filter(|m| !m.is_empty()) {
        None => Ok(listing_page(record, 0, size)),
        Some(m) => match parse_marker(m) {
            Some(Marker::State(offset)) => Ok(listing_page(record, offset, size)),
            Some(Marker::Delta(seq, offset)) => delta_page(record, seq, offset, size),
            None => Err(ServiceError::invalid("Invalid marker.")),
        },
    }
}

fn listing_page(record: &ExecutionRecord, from: usize, size: usize) -> ExecutionState {
    let all: &[Operation] = &record.operations;
    let mut operations = Vec::new();
    let mut pos = from.min(all.len());
    while pos < all.len() && operations.len() < size.max(1) {
        if is_visible(record, &all[pos]) {
            operations.push(all[pos].clone());
        }
        pos += 1;
    }
    // The next page starts at the next visible operation, if there is one.
    while pos < all.len() && !is_visible(record, &all[pos]) {
        pos += 1;
    }
    ExecutionState {
        operations,
        next_marker: (pos < all.len()).then(|| format!("s{pos}")),
    }
}

/// Whether the handler sees `op`: everything except the descendants of a completed CONTEXT
/// that did not ask for `ReplayChildren`, decided by walking up the parents.
fn is_visible(record: &ExecutionRecord, op: &Operation) -> bool {
    let mut parent = op.parent_id.as_deref();
    // Parents precede children and ids are unique, so the walk ends; the bound guards
    // against a corrupt store.
    for _ in 0..=record.operations.len() {
        let Some(id) = parent else { return true };
        let Some(p) = record.operation(id) else {
            return true;
        };
        let closed = p.operation_type == OperationType::Context
            && p.status.is_terminal()
            && p.context_details.as_ref().and_then(|d| d.replay_children) != Some(true);
        if closed {
            return false;
        }
        parent = p.parent_id.as_deref();
    }
    true
}

/// The first page of a checkpoint response listing `changed`; the rest stays readable
/// through `GetDurableExecutionState` with the returned marker.
pub(crate) fn delta_first_page(
    record: &mut ExecutionRecord,
    seq: u64,
    changed: Vec<String>,
    size: usize,
) -> ExecutionState {
    let page = delta_slice(record, seq, &changed, 0, size);
    record.last_delta = page.next_marker.is_some().then_some((seq, changed));
    page
}

fn delta_page(
    record: &ExecutionRecord,
    seq: u64,
    offset: usize,
    size: usize,
) -> Result<ExecutionState, ServiceError> {
    match &record.last_delta {
        Some((stored, changed)) if *stored == seq => {
            Ok(delta_slice(record, seq, changed, offset, size))
        }
        _ => Err(ServiceError::invalid("Invalid marker.")),
    }
}

fn delta_slice(
    record: &ExecutionRecord,
    seq: u64,
    changed: &[String],
    offset: usize,
    size: usize,
) -> ExecutionState {
    let start = offset.min(changed.len());
    let end = start.saturating_add(size).min(changed.len());
    ExecutionState {
        operations: changed[start..end]
            .iter()
            .filter_map(|id| record.operation(id).cloned())
            .collect(),
        next_marker: (end < changed.len()).then(|| format!("d{seq}.{end}")),
    }
}

enum Marker {
    State(usize),
    Delta(u64, usize),
}

fn parse_marker(marker: &str) -> Option<Marker> {
    if let Some(rest) = marker.strip_prefix('s') {
        return rest.parse().ok().map(Marker::State);
    }
    let (seq, offset) = marker.strip_prefix('d')?.split_once('.')?;
    Some(Marker::Delta(seq.parse().ok()?, offset.parse().ok()?))
}
