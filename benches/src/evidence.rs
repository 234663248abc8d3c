//! Evidence for docs/performance.md, not SDK code: the envelope's records with every
//! details struct boxed (timestamps read as plain integers), to measure what a smaller
//! `Operation` would cost to parse and hold. Used by the `replay_memory` and
//! `replay_profile` binaries.

use durable_proto::{
    CallbackDetails, ChainedInvokeDetails, ContextDetails, ExecutionDetails, OperationStatus,
    OperationType, StepDetails, WaitDetails,
};
use serde::Deserialize;

/// One operation record with boxed details (224 bytes instead of 752 on x86-64).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)] // the fields are parsed to be measured, not read
pub struct BoxedOperation {
    id: String,
    parent_id: Option<String>,
    name: Option<String>,
    #[serde(rename = "Type")]
    operation_type: OperationType,
    sub_type: Option<String>,
    start_timestamp: Option<i64>,
    end_timestamp: Option<i64>,
    status: OperationStatus,
    execution_details: Option<Box<ExecutionDetails>>,
    context_details: Option<Box<ContextDetails>>,
    step_details: Option<Box<StepDetails>>,
    wait_details: Option<Box<WaitDetails>>,
    callback_details: Option<Box<CallbackDetails>>,
    chained_invoke_details: Option<Box<ChainedInvokeDetails>>,
}

impl BoxedOperation {
    /// The operation id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BoxedState {
    operations: Vec<BoxedOperation>,
}

/// The envelope with [`BoxedOperation`] records.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
pub struct BoxedInput {
    durable_execution_arn: String,
    checkpoint_token: String,
    initial_execution_state: BoxedState,
}

impl BoxedInput {
    /// The records.
    pub fn operations(&self) -> &[BoxedOperation] {
        &self.initial_execution_state.operations
    }
}
