//! Run AWS Lambda durable functions with async (tokio) handlers.

mod aws;
mod client;
mod context;
mod driver;
mod error;
mod logging;
mod panic;
mod runtime;
mod serdes;

pub use aws::LambdaClient;
pub use client::{BoxFuture, CheckpointClient};
pub use context::{DurableContext, EngineHandle, Logger, OperationFuture, Step, StepContext, Wait};
pub use driver::{handle, Options};
/// The engine crate, for lower-level access (wire types, the engine itself).
pub use durable_proto as proto;
pub use durable_proto::{
    retry_fn, Backoff, ErrorObject, ExecutionConfig, FnRetryStrategy, InvocationOutcome, Jitter,
    RetryConfigError, RetryDecision, RetryPolicy, RetryStrategy, RngCore, StepSemantics,
};
pub use error::{error_object_of, DurableError};
pub use logging::{init_logging, JsonLogLayer, EXECUTION_ARN_KEY};
pub use panic::{catch_panic, panic_error, PANIC_ERROR_TYPE};
pub use runtime::{outcome_to_response, run, run_with_client};
pub use serdes::{decode_step_result, serdes_fn, FnSerdes, Json, Serdes};
