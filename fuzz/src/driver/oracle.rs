//! What must hold of an invocation of the `operations` target beyond the engine's own
//! assertions: the waits and concurrency refusals the engine's answers imply, and, once it has
//! an outcome, the outcome against the operations it blocked on and what the service records.

use durable_proto::{
    ExecutionError, InvocationOutcome, InvocationStatus, OperationAction, OperationStatus,
    OperationType, OperationUpdate, ServiceRequest,
};

use super::Driver;
use crate::model::Answer;
use crate::ops::{check_ending, check_suspension};

impl Driver<'_> {
    /// Checks the outcome against what happened in the invocation and what the service
    /// records, then reports it to the service. With `apply_in_flight`, the service first
    /// receives the checkpoint still in flight, as if the engine's request arrived after the
    /// invocation gave up on it.
    pub fn end(mut self, apply_in_flight: bool) {
        let outcome = self.outcome.take().expect("an outcome");
        check_ending(&outcome, self.ending);
        let model = &*self.model;
        check_suspension(
            &outcome,
            &self.ops.blocked(),
            |id| model.operation(id).map(|o| o.status.clone()),
            self.suspended,
        );
        if self.refused {
            assert!(
                !matches!(
                    &outcome,
                    InvocationOutcome::Output(o) if o.status != InvocationStatus::Failed
                ),
                "the execution went on after a TimingDependentId refusal: {outcome:?}"
            );
        }
        if apply_in_flight {
            if let Some(ServiceRequest::Checkpoint {
                checkpoint_token,
                updates,
            }) = self.outstanding.take()
            {
                // Nobody reads the response any more.
                let _ = self
                    .model
                    .checkpoint(&checkpoint_token, &updates, Answer::Ack);
            }
        }
        match &outcome {
            InvocationOutcome::Output(output) => {
                if output.status == InvocationStatus::Succeeded
                    && output.result.as_deref() == Some("")
                    && self.handler_payload_len.is_some_and(|n| n > 0)
                {
                    assert_eq!(
                        self.model.execution_op().status,
                        OperationStatus::Succeeded,
                        "empty inline result without a checkpointed EXECUTION result"
                    );
                }
                self.model.finish(output);
            }
            InvocationOutcome::Failure(failure) => self.model.errored(failure),
            other => panic!("unknown outcome {other:?}"),
        }
    }

    /// A WAIT START carries the wait's duration rounded up to whole seconds.
    pub(super) fn check_waits(&self, updates: &[OperationUpdate]) {
        for u in updates {
            if u.operation_type == OperationType::Wait && u.action == OperationAction::Start {
                let expected = self.waits.get(&u.id);
                assert!(expected.is_some(), "WAIT START of {} never begun", u.id);
                assert_eq!(
                    u.wait_options.as_ref().and_then(|o| o.wait_seconds),
                    expected.copied(),
                    "WaitSeconds of wait {}",
                    u.id
                );
            }
        }
    }

    /// Whether the concurrency contract must refuse the operation about to be begun, if the
    /// engine gets as far as checking it (`valid`: its arguments are valid).
    pub(super) fn refusal_expected(&self, valid: bool) -> bool {
        self.config.check_concurrent_begins
            && valid
            && self.exec.is_ready()
            && self.ops.refuses_begin()
    }

    /// The engine refused a begin for the concurrency contract exactly when it had to.
    pub(super) fn check_refusal<T: std::fmt::Debug>(
        &mut self,
        expected: bool,
        r: &Result<T, ExecutionError>,
    ) {
        let refused = matches!(r, Err(ExecutionError::TimingDependentId { .. }));
        assert_eq!(
            refused, expected,
            "TimingDependentId expected: {expected}, got {r:?}"
        );
        self.refused |= refused;
    }
}
