//! CONTEXT operations: a child context with its own id space, whose result is checkpointed
//! on the context itself.
//!
//! ```text
//!  no record ──START──▶ function runs in the child context ──SUCCEED(result) | FAIL(error)
//!  STARTED   ─replay─▶ function runs again; its children replay from their own records
//!  SUCCEEDED ─replay─▶ recorded result, function not run
//!  SUCCEEDED + ReplayChildren ─replay─▶ function runs again to rebuild a result that was too
//!            large to record; nothing is checkpointed again
//!  FAILED    ─replay─▶ recorded error
//! ```

use crate::begin::{Kind, RecordView};
use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::{OperationHandle, OperationState};
use crate::size::fit_error;
use crate::step::{OperationResult, StepOutcome, SERIALIZATION_ERROR_TYPE};
use crate::wire::{ContextOptions, ErrorObject, OperationAction, OperationStatus, OperationType};

/// The sub-type label of plain child contexts.
pub const CHILD_CONTEXT_SUB_TYPE: &str = "RunInChildContext";

/// What the driver does when user code opens a child context.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContextStart {
    /// The context already finished: hand this result to the user code without running
    /// its function.
    Done {
        /// The operation.
        op: OperationHandle,
        /// Its result.
        result: OperationResult,
    },
    /// Call [`Execution::activate`], run the function with a context for `child`, then
    /// report with [`Execution::handle_context_outcome`].
    Run {
        /// The operation.
        op: OperationHandle,
        /// The context the function's operations are begun in.
        child: ContextRef,
    },
}

impl Execution {
    /// The user code opens a child context named `name` in context `ctx`; `sub_type` is the
    /// label recorded on it (`None` for [`CHILD_CONTEXT_SUB_TYPE`]).
    pub fn begin_child_context(
        &mut self,
        ctx: ContextRef,
        name: Option<&str>,
        sub_type: Option<&'static str>,
    ) -> Result<ContextStart, ExecutionError> {
        if let Some(s) = sub_type {
            let valid = (1..=32).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(ExecutionError::InvalidSubType {
                    sub_type: s.to_owned(),
                });
            }
        }
        let kind = Kind {
            operation_type: OperationType::Context,
            sub_type: sub_type.unwrap_or(CHILD_CONTEXT_SUB_TYPE),
        };
        let begun = self.begin(ctx, kind, name)?;
        self.start_context(ctx, begun.op, begun.record)
    }

    /// What a begun CONTEXT operation does given its record: run its function (a new,
    /// started or to-be-rebuilt context) or hand back the recorded result.
    pub(crate) fn start_context(
        &mut self,
        ctx: ContextRef,
        op: OperationHandle,
        record: RecordView,
    ) -> Result<ContextStart, ExecutionError> {
        let run = |exec: &mut Self| {
            let id = exec.slot(op)?.identity.id.clone();
            let child = exec.journal.open_context(ctx, id);
            if let Some(slot) = exec.table.get_mut(op) {
                slot.child = Some(child);
            }
            // Once awaited, the function's own operations decide progress and suspension.
            exec.on_await(op, OperationState::AwaitingChildren);
            Ok(ContextStart::Run { op, child })
        };
        match record.status {
            None => {
                let update = self.slot(op)?.identity.update(OperationAction::Start);
                self.outbox.push(update);
                run(self)
            }
            Some(OperationStatus::Started) => run(self),
            Some(OperationStatus::Succeeded) if record.replay_children => run(self),
            Some(OperationStatus::Succeeded) => {
                self.finish(op, OperationStatus::Succeeded);
                Ok(ContextStart::Done {
                    op,
                    result: Ok(record.result),
                })
            }
            Some(OperationStatus::Unknown(s)) => {
                let e = ExecutionError::UnsupportedStatus {
                    id: self.slot(op)?.identity.id.clone(),
                    operation_type: OperationType::Context,
                    status: s,
                };
                self.release(op);
                self.fail_execution(&e);
                Err(e)
            }
            Some(status) => {
                let id = self.slot(op)?.identity.id.clone();
                self.finish(op, status.clone());
                Ok(ContextStart::Done {
                    op,
                    result: Err(record.error.unwrap_or_else(|| {
                        ErrorObject::new(
                            "ChildContextFailed",
                            format!("child context {id} ended with status {status}"),
                        )
                    })),
                })
            }
        }
    }

    /// The function of child context `op` returned. A value above the per-operation limit
    /// is recorded as SUCCEEDED with `ReplayChildren` and an empty payload (a replay runs
    /// the function again to rebuild it); a context already recorded as finished records
    /// nothing again. Errors are never retried here.
    pub fn handle_context_outcome(
        &mut self,
        op: OperationHandle,
        outcome: StepOutcome,
    ) -> Result<OperationResult, ExecutionError> {
        self.end_context(op, outcome, String::new())
    }

    /// Records how CONTEXT operation `op` (a child context, a map, a parallel) ended; a value
    /// above the per-operation limit is recorded as `oversized` with `ReplayChildren`.
    pub(crate) fn end_context(
        &mut self,
        op: OperationHandle,
        outcome: StepOutcome,
        oversized: String,
    ) -> Result<OperationResult, ExecutionError> {
        let slot = self.slot(op)?;
        if slot.state != OperationState::AwaitingChildren {
            return Err(ExecutionError::Misuse {
                what: "a context outcome was reported for a context that is not running",
            });
        }
        if let Err(e) = self.ensure_running() {
            self.release(op);
            return Err(e);
        }
        let already = self
            .journal
            .get(&slot.identity.id)
            .is_some_and(|r| r.is_terminal());
        let label = format!("{:?} (id {})", slot.identity.label(), slot.identity.id);
        let limit = self.config.max_operation_payload_bytes;
        let (update, result, status) = match outcome {
            StepOutcome::Value(payload) => {
                let mut update = slot.identity.update(OperationAction::Succeed);
                if payload.len() > limit {
                    update.payload = Some(oversized);
                    update.context_options = Some(ContextOptions {
                        replay_children: Some(true),
                    });
                } else {
                    update.payload = Some(payload.clone());
                }
                (update, Ok(Some(payload)), OperationStatus::Succeeded)
            }
            StepOutcome::Error(error) => {
                let error = fit_error(error, limit);
                let mut update = slot.identity.update(OperationAction::Fail);
                update.error = Some(error.clone());
                (update, Err(error), OperationStatus::Failed)
            }
            StepOutcome::Unserializable(message) => {
                let error = ErrorObject::new(
                    SERIALIZATION_ERROR_TYPE,
                    format!("the result of context {label} could not be serialized: {message}"),
                );
                let mut update = slot.identity.update(OperationAction::Fail);
                update.error = Some(error.clone());
                (update, Err(error), OperationStatus::Failed)
            }
        };
        if !already {
            self.outbox.push(update);
        }
        self.finish(op, status);
        Ok(result)
    }

    /// The context operations of child context `op` are begun in.
    pub fn child_context(&self, op: OperationHandle) -> Option<ContextRef> {
        self.table.get(op).and_then(|s| s.child)
    }
}
