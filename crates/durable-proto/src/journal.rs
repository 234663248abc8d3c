//! The recorded history and the one chokepoint through which every operation the user code
//! asks for is matched against it.

use std::collections::HashMap;

use crate::error::{ExecutionError, OperationShape};
use crate::ids;
use crate::wire::{Operation, OperationType};

/// A context in which operations are numbered: the root, or a child context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContextRef(pub(crate) u32);

impl ContextRef {
    /// The execution's root context.
    pub const ROOT: ContextRef = ContextRef(0);
}

#[derive(Debug)]
struct ContextState {
    /// The CONTEXT operation's id; `None` for the root.
    id: Option<String>,
    /// Operations started so far in this context.
    started: u32,
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
    pub(crate) record: Option<&'j Operation>,
}

#[derive(Debug)]
pub(crate) struct Journal {
    // Looked up by id only, never iterated into output, so a HashMap cannot make the
    // emitted updates depend on hashing order.
    records: HashMap<String, Operation>,
    contexts: Vec<ContextState>,
    /// Operations recorded by earlier invocations that the code has not asked for yet.
    unclaimed_prior: usize,
}

impl Journal {
    pub(crate) fn new(operations: Vec<Operation>) -> Self {
        let mut journal = Self {
            records: HashMap::with_capacity(operations.len()),
            contexts: vec![ContextState {
                id: None,
                started: 0,
            }],
            unclaimed_prior: 0,
        };
        journal.merge(operations);
        journal
    }

    /// Inserts or replaces records (later pages and checkpoint responses carry newer state).
    pub(crate) fn merge(&mut self, operations: Vec<Operation>) {
        for op in operations {
            self.records.insert(op.id.clone(), op);
        }
    }

    pub(crate) fn get(&self, id: &str) -> Option<&Operation> {
        self.records.get(id)
    }

    /// Marks every operation recorded so far (other than EXECUTION) as prior work that
    /// replay re-traces; returns how many there are.
    pub(crate) fn start_replay(&mut self) -> usize {
        self.unclaimed_prior = self
            .records
            .values()
            .filter(|op| op.operation_type != OperationType::Execution)
            .count();
        self.unclaimed_prior
    }

    /// Prior operations the code has not asked for yet.
    pub(crate) fn unclaimed_prior(&self) -> usize {
        self.unclaimed_prior
    }

    /// Finds the EXECUTION operation: by id (the ARN's last segment); failing that, the only
    /// EXECUTION operation present.
    pub(crate) fn execution_operation(&self, execution_id: &str) -> Option<&Operation> {
        if let Some(op) = self.records.get(execution_id) {
            if op.operation_type == OperationType::Execution {
                return Some(op);
            }
        }
        let mut executions = self
            .records
            .values()
            .filter(|op| op.operation_type == OperationType::Execution);
        match (executions.next(), executions.next()) {
            (Some(op), None) => Some(op),
            _ => None,
        }
    }

    /// Registers a child context whose CONTEXT operation has id `id`.
    #[allow(dead_code)] // used by child contexts, map and parallel
    pub(crate) fn open_context(&mut self, id: String) -> ContextRef {
        self.contexts.push(ContextState {
            id: Some(id),
            started: 0,
        });
        ContextRef((self.contexts.len() - 1) as u32)
    }

    /// The chokepoint: assigns the next id in `ctx` and matches the request against the
    /// history. A record whose type, sub-type, name or parent differs is a non-determinism
    /// error, whatever its status (PENDING, READY and STARTED records included).
    pub(crate) fn claim(
        &mut self,
        ctx: ContextRef,
        request: &Request<'_>,
    ) -> Result<Claim<'_>, ExecutionError> {
        let context = self
            .contexts
            .get_mut(ctx.0 as usize)
            .ok_or(ExecutionError::Misuse {
                what: "unknown context handle",
            })?;
        context.started += 1;
        let id = ids::operation_id(context.id.as_deref(), context.started);
        let parent_id = context.id.clone();
        let record = self.records.get(&id);
        if record.is_some() {
            self.unclaimed_prior = self.unclaimed_prior.saturating_sub(1);
        }
        if let Some(rec) = record {
            // A record without a sub-type predates sub-types; type, name and parent still
            // have to match.
            let matches = rec.operation_type == request.operation_type
                && rec
                    .sub_type
                    .as_deref()
                    .map_or(true, |s| s == request.sub_type)
                && normalized(rec.name.as_deref()) == request.name
                && rec.parent_id == parent_id;
            if !matches {
                return Err(ExecutionError::NonDeterminism {
                    recorded: Box::new(OperationShape {
                        operation_type: rec.operation_type.clone(),
                        sub_type: rec.sub_type.clone(),
                        name: rec.name.clone(),
                        parent_id: rec.parent_id.clone(),
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

/// Checks a user-given name against the service's rule (1..=256 printable ASCII) and
/// normalizes `Some("")` to `None`.
pub(crate) fn validate_name(name: Option<&str>) -> Result<Option<&str>, ExecutionError> {
    let Some(name) = normalized(name) else {
        return Ok(None);
    };
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
