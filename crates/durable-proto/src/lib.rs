//! Sans-IO replay engine for AWS Lambda durable functions.

mod api_failure;
mod begin;
mod checkpoint;
mod config;
mod context;
mod error;
mod event;
mod execution;
mod ids;
mod journal;
mod operation;
mod retry;
mod rng;
mod size;
mod step;
mod wait;
mod wire;

pub use api_failure::{ApiFailure, FailureClass};
pub use checkpoint::FlushTicket;
pub use config::ExecutionConfig;
pub use context::{ContextStart, CHILD_CONTEXT_SUB_TYPE};
pub use error::{ExecutionError, OperationShape};
pub use event::{Ending, Event};
pub use execution::{Execution, InvocationFailure, InvocationOutcome, ServiceRequest};
pub use ids::is_valid_operation_id;
pub use journal::ContextRef;
pub use operation::{OperationHandle, OperationIdentity, OperationState};
/// The RNG trait retry strategies draw jitter from (re-exported from `rand_core`).
pub use rand_core::RngCore;
pub use retry::*;
pub use rng::SeededRng;
pub use step::{
    OperationResult, StepEnd, StepOutcome, StepRequest, StepSemantics, StepStart,
    PAYLOAD_TOO_LARGE_ERROR_TYPE, SERIALIZATION_ERROR_TYPE, STEP_INTERRUPTED_ERROR_TYPE,
};
pub use wait::WaitStart;
pub use wire::*;
#[cfg(test)]
mod tests;
