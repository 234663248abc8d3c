//! Which operations the handler sees, and how they are split into pages.
//!
//! Markers are opaque to clients: `s<offset>` continues the full state listing and
//! `d<seq>.<offset>` continues the operations changed by the checkpoint that returned token
//! number `seq`.

use std::collections::HashSet;

use durable_proto::{ExecutionState, Operation, OperationType};

use crate::error::ServiceError;
use crate::service::record::ExecutionRecord;

/// Operations the handler sees, in creation order: everything except the descendants of a
/// completed CONTEXT that did not ask for `ReplayChildren`.
pub(crate) fn visible_operations(record: &ExecutionRecord) -> Vec<&Operation> {
    let mut hidden_parents: HashSet<&str> = HashSet::new();
    let mut visible = Vec::with_capacity(record.operations.len());
    for op in &record.operations {
        let hidden = op
            .parent_id
            .as_deref()
            .is_some_and(|p| hidden_parents.contains(p));
        if hidden {
            // Its own children are hidden too.
            hidden_parents.insert(&op.id);
            continue;
        }
        visible.push(op);
        let closed_context = op.operation_type == OperationType::Context
            && op.status.is_terminal()
            && op.context_details.as_ref().and_then(|d| d.replay_children) != Some(true);
        if closed_context {
            hidden_parents.insert(&op.id);
        }
    }
    visible
}

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

fn listing_page(record: &ExecutionRecord, offset: usize, size: usize) -> ExecutionState {
    let visible = visible_operations(record);
    let start = offset.min(visible.len());
    let end = start.saturating_add(size).min(visible.len());
    ExecutionState {
        operations: visible[start..end].iter().map(|op| (*op).clone()).collect(),
        next_marker: (end < visible.len()).then(|| format!("s{end}")),
    }
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
