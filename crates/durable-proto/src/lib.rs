//! Sans-IO replay engine for AWS Lambda durable functions.

mod api_failure;
mod checkpoint;
mod config;
mod error;
mod execution;
mod ids;
mod journal;
mod retry;
mod rng;
mod step;
mod wait;
mod wire;

pub use api_failure::{ApiFailure, FailureClass};
pub use checkpoint::FlushTicket;
pub use config::ExecutionConfig;
pub use error::{ExecutionError, OperationShape};
pub use execution::{Execution, InvocationFailure, InvocationOutcome, ServiceRequest};
pub use ids::is_valid_operation_id;
pub use journal::ContextRef;
/// The RNG trait retry strategies draw jitter from (re-exported from `rand_core`).
pub use rand_core::RngCore;
pub use retry::*;
pub use rng::SeededRng;
pub use step::{OperationRef, StepEnd, StepRequest, StepResult, StepSemantics, StepStart};
pub use wait::WaitStart;
pub use wire::*;
#[cfg(test)]
mod tests;
