//! A small model of the durable-execution service (adapted from durable-proto's in-crate
//! `FakeService`): it applies checkpoint updates with the service's status rules, rotates
//! single-use tokens, pages state, and fires timers between invocations.
//!
//! Anything the real service would reject with a validation error is an engine bug here and
//! panics.

use std::collections::BTreeMap;

use durable_proto::{
    ApiFailure, CheckpointResponse, ExecutionConfig, ExecutionDetails, ExecutionState,
    InvocationInput, InvocationOutput, InvocationStatus, Operation, OperationAction,
    OperationStatus, OperationType, OperationUpdate, Timestamp, WaitDetails,
};

use crate::checks::check_batch;

pub const ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:f:1/durable-execution/run/exec-1";
pub const EXEC_ID: &str = "exec-1";

pub struct Model {
    pub ops: BTreeMap<String, Operation>,
    token: u64,
    /// Whether the current token may still be used (false once a response carried none).
    token_live: bool,
    pub now: i64,
    /// Operations per page (0: everything on one page).
    pub page_size: usize,
    /// Checkpoint calls applied.
    pub checkpoints: usize,
}

/// How the model answers one checkpoint call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Apply and return the changed operations with a new token.
    Ack,
    /// Apply, but return the changed operations across pages (the rest via GetState).
    AckPaged,
    /// Apply and return no token: the service accepts no more checkpoints.
    AckNoToken,
    /// Apply, then lose the response (a timeout after the service recorded the batch).
    AppliedButLost,
    /// Reject without applying.
    Reject,
}

impl Model {
    pub fn new(input: &str, page_size: usize) -> Self {
        let mut ops = BTreeMap::new();
        ops.insert(
            EXEC_ID.to_owned(),
            Operation {
                id: EXEC_ID.to_owned(),
                parent_id: None,
                name: None,
                operation_type: OperationType::Execution,
                sub_type: None,
                start_timestamp: Some(Timestamp(1_000)),
                end_timestamp: None,
                status: OperationStatus::Started,
                execution_details: Some(Box::new(ExecutionDetails {
                    input_payload: Some(input.to_owned()),
                })),
                context_details: None,
                step_details: None,
                wait_details: None,
                callback_details: None,
                chained_invoke_details: None,
            },
        );
        Self {
            ops,
            token: 0,
            token_live: false,
            now: 1_000,
            page_size,
            checkpoints: 0,
        }
    }

    fn token(&self) -> String {
        format!("tok{}+/=", self.token)
    }

    fn rotate(&mut self) -> String {
        self.token += 1;
        self.token_live = true;
        self.token()
    }

    /// Operations from `from` on, one page.
    fn page(&self, from: usize) -> ExecutionState {
        let all: Vec<&Operation> = self.ops.values().collect();
        let size = if self.page_size == 0 {
            usize::MAX
        } else {
            self.page_size
        };
        let from = from.min(all.len());
        let end = from.saturating_add(size).min(all.len());
        ExecutionState {
            operations: all[from..end].iter().map(|o| (*o).clone()).collect(),
            next_marker: (end < all.len()).then(|| format!("m{end}")),
        }
    }

    /// The envelope of a new invocation.
    pub fn envelope(&mut self) -> InvocationInput {
        InvocationInput {
            durable_execution_arn: ARN.to_owned(),
            checkpoint_token: self.rotate(),
            initial_execution_state: self.page(0),
            updated_operation_ids: Vec::new(),
        }
    }

    /// Whether the execution reached a terminal status.
    pub fn finished(&self) -> bool {
        self.ops[EXEC_ID].status.is_terminal()
    }

    /// Whether something waits on the service: a STEP in PENDING or a started WAIT.
    pub fn pending(&self) -> bool {
        self.ops.values().any(|op| {
            matches!(
                (&op.operation_type, &op.status),
                (OperationType::Step, OperationStatus::Pending)
                    | (OperationType::Wait, OperationStatus::Started)
            )
        })
    }

    pub fn get_state(&self, token: &str, marker: &str) -> Result<ExecutionState, ApiFailure> {
        assert!(
            self.token_live,
            "state read after the service withdrew the token"
        );
        assert_eq!(token, self.token(), "state read with a stale token");
        match marker
            .strip_prefix('m')
            .and_then(|n| n.parse::<usize>().ok())
        {
            Some(from) => Ok(self.page(from)),
            None => Err(ApiFailure::new(
                Some(400),
                Some("InvalidParameterValueException"),
                format!("invalid marker {marker:?}"),
            )),
        }
    }

    /// Validates (panicking on what the service would reject), applies and answers one call.
    pub fn checkpoint(
        &mut self,
        token: &str,
        updates: &[OperationUpdate],
        config: &ExecutionConfig,
        answer: Answer,
    ) -> Result<CheckpointResponse, ApiFailure> {
        assert!(
            self.token_live,
            "checkpoint after the service withdrew the token"
        );
        assert_eq!(token, self.token(), "checkpoint token reused or stale");
        check_batch(updates, config);
        if answer == Answer::Reject {
            return Err(ApiFailure::new(
                Some(500),
                Some("ServiceException"),
                "injected",
            ));
        }
        self.checkpoints += 1;
        self.now += 1_000;
        let mut changed: Vec<Operation> = Vec::new();
        for u in updates {
            self.apply(u);
            changed.retain(|o| o.id != u.id);
            changed.push(self.ops[&u.id].clone());
        }
        let token = self.rotate();
        match answer {
            Answer::AppliedButLost => Err(ApiFailure::new(
                None,
                None,
                "response lost after the batch was applied",
            )),
            Answer::AckNoToken => {
                self.token_live = false;
                Ok(CheckpointResponse {
                    checkpoint_token: None,
                    new_execution_state: ExecutionState {
                        operations: changed,
                        next_marker: None,
                    },
                })
            }
            Answer::AckPaged if !changed.is_empty() => {
                changed.truncate(1);
                Ok(CheckpointResponse {
                    checkpoint_token: Some(token),
                    new_execution_state: ExecutionState {
                        operations: changed,
                        next_marker: Some("m0".into()),
                    },
                })
            }
            _ => Ok(CheckpointResponse {
                checkpoint_token: Some(token),
                new_execution_state: ExecutionState {
                    operations: changed,
                    next_marker: None,
                },
            }),
        }
    }

    fn apply(&mut self, u: &OperationUpdate) {
        let now = self.now;
        let new = !self.ops.contains_key(&u.id);
        assert!(
            !(new && u.operation_type == OperationType::Execution),
            "EXECUTION update for unknown id {}",
            u.id
        );
        if new {
            assert_eq!(
                u.action,
                OperationAction::Start,
                "{} of unknown operation {}",
                u.action,
                u.id
            );
        }
        let op = self.ops.entry(u.id.clone()).or_insert_with(|| Operation {
            id: u.id.clone(),
            parent_id: u.parent_id.clone(),
            name: u.name.clone(),
            operation_type: u.operation_type.clone(),
            sub_type: u.sub_type.clone(),
            start_timestamp: Some(Timestamp(now)),
            end_timestamp: None,
            status: OperationStatus::Started,
            execution_details: None,
            context_details: None,
            step_details: None,
            wait_details: None,
            callback_details: None,
            chained_invoke_details: None,
        });
        assert_eq!(
            op.operation_type, u.operation_type,
            "inconsistent type for {}",
            u.id
        );
        if op.operation_type != OperationType::Execution {
            assert_eq!(op.name, u.name, "inconsistent name for {}", u.id);
            assert_eq!(
                op.sub_type, u.sub_type,
                "inconsistent sub-type for {}",
                u.id
            );
            assert_eq!(
                op.parent_id, u.parent_id,
                "inconsistent parent for {}",
                u.id
            );
        }
        match (&u.operation_type, &u.action) {
            (OperationType::Step, OperationAction::Start) => {
                assert!(
                    new || op.status == OperationStatus::Ready,
                    "START of step {} in status {}",
                    u.id,
                    op.status
                );
                op.status = OperationStatus::Started;
                op.step_details.get_or_insert_with(Default::default);
            }
            (OperationType::Step, action) => {
                assert!(
                    matches!(op.status, OperationStatus::Started | OperationStatus::Ready),
                    "{action} of step {} in status {}",
                    u.id,
                    op.status
                );
                let d = op.step_details.get_or_insert_with(Default::default);
                d.attempt += 1;
                d.next_attempt_timestamp = None;
                match action {
                    OperationAction::Succeed => {
                        op.status = OperationStatus::Succeeded;
                        op.end_timestamp = Some(Timestamp(now));
                        d.result = u.payload.clone();
                        d.error = None;
                    }
                    OperationAction::Fail => {
                        op.status = OperationStatus::Failed;
                        op.end_timestamp = Some(Timestamp(now));
                        d.error = u.error.clone();
                    }
                    OperationAction::Retry => {
                        let secs = u
                            .step_options
                            .as_ref()
                            .and_then(|o| o.next_attempt_delay_seconds);
                        op.status = OperationStatus::Pending;
                        d.error = u.error.clone();
                        d.result = u.payload.clone();
                        d.next_attempt_timestamp =
                            Some(Timestamp(now).plus_seconds(u64::from(secs.unwrap_or(1))));
                    }
                    other => panic!("invalid step action {other}"),
                }
            }
            (OperationType::Wait, OperationAction::Start) => {
                assert!(new, "START of existing wait {}", u.id);
                let secs = u
                    .wait_options
                    .as_ref()
                    .and_then(|o| o.wait_seconds)
                    .unwrap_or(1);
                op.wait_details = Some(Box::new(WaitDetails {
                    scheduled_end_timestamp: Some(Timestamp(now).plus_seconds(u64::from(secs))),
                }));
            }
            (OperationType::Execution, OperationAction::Succeed | OperationAction::Fail) => {
                assert_eq!(
                    op.status,
                    OperationStatus::Started,
                    "EXECUTION completed twice"
                );
                op.status = if u.action == OperationAction::Succeed {
                    OperationStatus::Succeeded
                } else {
                    OperationStatus::Failed
                };
            }
            (t, a) => panic!("the service does not accept {a} on {t}"),
        }
    }

    /// What the service does with the invocation's output.
    pub fn finish(&mut self, output: &InvocationOutput) {
        let exec = self.ops.get_mut(EXEC_ID).expect("execution");
        match output.status {
            InvocationStatus::Pending => {
                assert!(
                    output.result.is_none() && output.error.is_none(),
                    "PENDING with fields"
                );
            }
            InvocationStatus::Succeeded => {
                assert!(output.error.is_none(), "SUCCEEDED with an Error");
                if exec.status == OperationStatus::Started {
                    exec.status = OperationStatus::Succeeded;
                }
            }
            InvocationStatus::Failed => {
                assert!(output.result.is_none(), "FAILED with a Result");
                assert!(output.error.is_some(), "FAILED without an Error");
                if exec.status == OperationStatus::Started {
                    exec.status = OperationStatus::Failed;
                }
            }
        }
        self.token_live = false;
    }

    /// Fires every timer: PENDING steps become READY, started waits succeed.
    pub fn fire_timers(&mut self) {
        self.now += 1_000_000;
        for op in self.ops.values_mut() {
            match (&op.operation_type, &op.status) {
                (OperationType::Step, OperationStatus::Pending) => {
                    op.status = OperationStatus::Ready
                }
                (OperationType::Wait, OperationStatus::Started) => {
                    op.status = OperationStatus::Succeeded
                }
                _ => {}
            }
        }
    }
}
