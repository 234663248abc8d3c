//! Wire types of the durable-execution protocol, PascalCase as the service sends them.

mod de;
mod enums;
mod envelope;
mod error_object;
mod operation;
mod output;
pub(crate) mod raw;
pub(crate) mod scan;
mod timestamp;
mod update;

#[cfg(test)]
mod tests;

pub use enums::{OperationAction, OperationStatus, OperationType};
pub use envelope::{
    execution_id_from_arn, CheckpointResponse, EnvelopeError, ExecutionState, InvocationInput,
};
pub use error_object::ErrorObject;
pub use operation::{
    CallbackDetails, ChainedInvokeDetails, ContextDetails, ExecutionDetails, Operation,
    StepDetails, WaitDetails,
};
pub use output::{InvocationOutput, InvocationStatus};
pub(crate) use timestamp::lenient_ts;
pub use timestamp::Timestamp;
pub use update::{
    CallbackOptions, ChainedInvokeOptions, ContextOptions, OperationUpdate, StepOptions,
    WaitOptions,
};
