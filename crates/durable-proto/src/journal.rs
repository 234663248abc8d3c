//! The recorded history and the one chokepoint through which every operation the user code
//! asks for is matched against it.

use std::borrow::Cow;

use crate::error::{ExecutionError, OperationShape};
use crate::ids;
use crate::records::{Record, Records};
use crate::wire::{Operation, OperationType};

/// A context in which operations are numbered: the root, or a child context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextRef(pub(crate) u32);

impl ContextRef {
    /// The execution's root context.
    pub const ROOT: ContextRef = ContextRef(0);
}

#[derive(Debug)]
pub(crate) struct ContextState {
    /// The CONTEXT operation's id; `None` for the root.
    pub(crate) id: Option<String>,
    /// Operations started so far in this context.
    pub(crate) started: u32,
    /// Operations recorded in this context by earlier invocations.
    prior: u32,
    /// Whether the code in this context is re-tracing recorded operations.
    pub(crate) replaying: bool,
    /// Operations of this context in progress: awaited and unfinished (running, awaiting an
    /// acknowledgement, blocked on the service, running their children).
    pub(crate) active: usize,
    /// The operation position the draw counter belongs to (see `deterministic.rs`).
    pub(crate) draw_position: u32,
    /// Deterministic draws made since operation `draw_position` was begun.
    pub(crate) draws: u32,
    /// The id recorded as the parent of this context's operations, when it is not the
    /// context's own id: a flat batch item is a virtual context whose operations take ids
    /// under the item's path but belong to the batch's CONTEXT operation.
    pub(crate) reported_parent: Option<String>,
    /// The context this one was opened in (`None` for the root).
    pub(crate) parent: Option<ContextRef>,
    /// A batch item abandoned because its batch completed: nothing more begins in it or in
    /// the contexts below it.
    pub(crate) abandoned: bool,
}

impl ContextState {
    fn new(id: Option<String>, prior: u32) -> Self {
        Self {
            id,
            started: 0,
            prior,
            replaying: prior > 0,
            active: 0,
            draw_position: 0,
            draws: 0,
            reported_parent: None,
            parent: None,
            abandoned: false,
        }
    }
}

/// What the user code asks for, before an id is assigned.
pub(crate) struct Request<'a> {
    pub(crate) operation_type: OperationType,
    pub(crate) sub_type: &'static str,
    pub(crate) name: Option<&'a str>,
}

/// An operation claimed by the user code: its id, parent, and the recorded state if any.
pub(crate) struct Claim<'j> {
    pub(crate) id: String,
    pub(crate) parent_id: Option<String>,
    pub(crate) record: Option<Record<'j>>,
}

#[derive(Debug)]
pub(crate) struct Journal {
    /// The records, as positions into the pages they came in (`records.rs`).
    records: Records,
    contexts: Vec<ContextState>,
    /// Records of earlier invocations per child context id, counted once when replay starts.
    prior_children: std::collections::HashMap<String, u32>,
}

impl Journal {
    pub(crate) fn new(records: Records) -> Self {
        Self {
            records,
            contexts: vec![ContextState::new(None, 0)],
            prior_children: std::collections::HashMap::new(),
        }
    }

    /// Inserts or replaces records (later pages and checkpoint responses carry newer state).
    pub(crate) fn merge(&mut self, operations: Vec<Operation>) {
        self.records.add_operations(operations);
    }

    pub(crate) fn get(&self, id: &str) -> Option<Record<'_>> {
        self.records.get(id)
    }

    /// Counts the operations recorded so far (other than EXECUTION) per context: the work
    /// replay re-traces. Returns how many there are.
    pub(crate) fn start_replay(&mut self) -> usize {
        let mut root = 0u32;
        let mut total = 0;
        for op in self.records.iter() {
            if op.is_execution() {
                continue;
            }
            total += 1;
            match op.parent_id() {
                None => root += 1,
                Some(p) => {
                    // An operation of a virtual context (a flat batch item) is recorded
                    // under the batch but numbered under the item's path: count it there
                    // too, so the item's replay ends where its own records end.
                    let id = op.id();
                    if let Some((path, _)) = id.rsplit_once('-') {
                        if path != p.as_ref() {
                            *self.prior_children.entry(path.to_owned()).or_default() += 1;
                        }
                    }
                    *self.prior_children.entry(p.into_owned()).or_default() += 1;
                }
            }
        }
        self.contexts[0] = ContextState::new(None, root);
        total
    }

    pub(crate) fn context(&self, ctx: ContextRef) -> Option<&ContextState> {
        self.contexts.get(ctx.0 as usize)
    }

    pub(crate) fn context_mut(&mut self, ctx: ContextRef) -> Option<&mut ContextState> {
        self.contexts.get_mut(ctx.0 as usize)
    }

    /// Finds the EXECUTION operation: by id (the ARN's last segment); failing that, the only
    /// EXECUTION operation present.
    pub(crate) fn execution_operation(&self, execution_id: &str) -> Option<Record<'_>> {
        if let Some(op) = self.get(execution_id) {
            if op.is_execution() {
                return Some(op);
            }
        }
        let mut executions = self.records.iter().filter(Record::is_execution);
        match (executions.next(), executions.next()) {
            (Some(op), None) => Some(op),
            _ => None,
        }
    }

    /// Registers a child context, opened in `parent`, whose CONTEXT operation has id `id`.
    pub(crate) fn open_context(&mut self, parent: ContextRef, id: String) -> ContextRef {
        let prior = self.prior_children.get(&id).copied().unwrap_or(0);
        let mut state = ContextState::new(Some(id), prior);
        state.parent = Some(parent);
        self.contexts.push(state);
        ContextRef((self.contexts.len() - 1) as u32)
    }

    /// Registers a virtual context, opened in `parent`: its operations are numbered under
    /// `path` but recorded with `reported_parent` as their parent (no CONTEXT operation of its
    /// own is recorded).
    pub(crate) fn open_virtual_context(
        &mut self,
        parent: ContextRef,
        path: String,
        reported_parent: String,
    ) -> ContextRef {
        let ctx = self.open_context(parent, path);
        if let Some(c) = self.context_mut(ctx) {
            c.reported_parent = Some(reported_parent);
        }
        ctx
    }

    /// Marks `ctx` abandoned (see [`ContextState::abandoned`]).
    pub(crate) fn abandon(&mut self, ctx: ContextRef) {
        if let Some(c) = self.context_mut(ctx) {
            c.abandoned = true;
        }
    }

    /// Whether `ctx` or a context it was opened in was abandoned.
    pub(crate) fn is_abandoned(&self, mut ctx: ContextRef) -> bool {
        while let Some(c) = self.context(ctx) {
            if c.abandoned {
                return true;
            }
            match c.parent {
                Some(p) => ctx = p,
                None => return false,
            }
        }
        false
    }

    /// The chokepoint: assigns the next id in `ctx` and matches the request against the
    /// history. A record whose type, sub-type, name or parent differs is a non-determinism
    /// error, whatever its status (PENDING, READY and STARTED records included).
    ///
    /// `position` fixes the position instead of taking the context's next one: batch items
    /// are numbered by their index, so their ids never depend on which item finished first.
    /// A context either claims by position or by counting, never both.
    pub(crate) fn claim_at(
        &mut self,
        ctx: ContextRef,
        position: Option<u32>,
        request: &Request<'_>,
    ) -> Result<Claim<'_>, ExecutionError> {
        let context = self
            .contexts
            .get_mut(ctx.0 as usize)
            .ok_or(ExecutionError::Misuse {
                what: "unknown context handle",
            })?;
        let n = match position {
            Some(p) => p,
            None => {
                context.started += 1;
                context.started
            }
        };
        let id = ids::operation_id(context.id.as_deref(), n);
        let parent_id = context
            .reported_parent
            .clone()
            .or_else(|| context.id.clone());
        let record = self.records.get(&id);
        // Replay in this context ends at the first operation that is not finished on record,
        // or once every recorded operation of the context has been asked for.
        context.replaying =
            context.replaying && n < context.prior && record.is_some_and(|r| r.is_terminal());
        if let Some(rec) = record {
            // A record without a sub-type predates sub-types; type, name and parent still
            // have to match.
            let sub_type = rec.sub_type();
            let name = rec.name();
            let parent = rec.parent_id();
            let matches = rec.is_type(&request.operation_type)
                && sub_type.as_deref().map_or(true, |s| s == request.sub_type)
                && normalized(name.as_deref()) == request.name
                && parent.as_deref() == parent_id.as_deref();
            if !matches {
                return Err(ExecutionError::NonDeterminism {
                    recorded: Box::new(OperationShape {
                        operation_type: rec.operation_type().into_owned(),
                        sub_type: sub_type.map(Cow::into_owned),
                        name: name.map(Cow::into_owned),
                        parent_id: parent.map(Cow::into_owned),
                    }),
                    requested: Box::new(OperationShape {
                        operation_type: request.operation_type.clone(),
                        sub_type: Some(request.sub_type.to_owned()),
                        name: request.name.map(str::to_owned),
                        parent_id: parent_id.clone(),
                    }),
                    id,
                });
            }
        }
        Ok(Claim {
            id,
            parent_id,
            record,
        })
    }
}

/// Names are compared with empty treated as absent.
fn normalized(name: Option<&str>) -> Option<&str> {
    name.filter(|n| !n.is_empty())
}

/// Checks a user-given name against the service's rule (1..=256 printable ASCII). An empty
/// name is refused: pass `None` for an unnamed operation.
pub(crate) fn validate_name(name: Option<&str>) -> Result<Option<&str>, ExecutionError> {
    let Some(name) = name else {
        return Ok(None);
    };
    if name.is_empty() {
        return Err(ExecutionError::InvalidName {
            name: String::new(),
            reason: "names must not be empty (use an unnamed operation instead)",
        });
    }
    if name.len() > 256 {
        return Err(ExecutionError::InvalidName {
            name: name.chars().take(64).collect::<String>() + "…",
            reason: "names are limited to 256 characters",
        });
    }
    if !name.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        return Err(ExecutionError::InvalidName {
            name: name.to_owned(),
            reason: "names may contain printable ASCII characters only (0x20..=0x7E)",
        });
    }
    Ok(Some(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::OperationStatus;

    fn op(id: &str, name: &str) -> Operation {
        serde_json::from_value(serde_json::json!({
            "Id": id, "Type": "STEP", "Status": "SUCCEEDED", "Name": name
        }))
        .unwrap()
    }

    fn journal_of(ops: Vec<Operation>) -> Journal {
        let mut records = Records::default();
        records.add_operations(ops);
        Journal::new(records)
    }

    #[test]
    fn finds_every_record_of_a_long_history() {
        let ops: Vec<Operation> = (1..=10_000).map(|i| op(&i.to_string(), "s")).collect();
        let journal = journal_of(ops);
        for i in (1..=10_000).step_by(7) {
            assert_eq!(journal.get(&i.to_string()).unwrap().id(), i.to_string());
        }
        assert!(journal.get("10001").is_none());
        assert!(journal.get("").is_none());
    }

    #[test]
    fn later_records_replace_earlier_ones() {
        let mut journal = journal_of(vec![op("1", "a"), op("2", "b"), op("1", "a2")]);
        assert_eq!(journal.get("1").unwrap().name().as_deref(), Some("a2"));
        assert_eq!(journal.records.len(), 2, "a repeated id is stored once");
        let mut pending = op("2", "b");
        pending.status = OperationStatus::Pending;
        journal.merge(vec![pending, op("3", "c")]);
        assert_eq!(
            *journal.get("2").unwrap().status(),
            OperationStatus::Pending
        );
        assert_eq!(journal.get("3").unwrap().name().as_deref(), Some("c"));
        assert_eq!(journal.records.len(), 3);
    }
}
