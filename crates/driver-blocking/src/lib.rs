//! Run AWS Lambda durable functions with plain synchronous handlers.
//!
//! User code is ordinary blocking Rust: `fn(event, &DurableContext) -> Result<O, E>`.
//! Operations return [`DurableError`]; propagate it with `?`. When an operation cannot
//! proceed in this invocation (a wait, a scheduled retry) it returns
//! [`DurableError::Suspended`]; the handler must return it, and the invocation ends with
//! PENDING. Swallowing it does not change the outcome: the engine already decided.
//!
//! Under the hood the handler runs on a blocking thread while an internal current-thread
//! tokio runtime drives the Lambda Runtime API and pipelined checkpoint calls, sharing the
//! async driver's loop so both drivers behave identically.

mod batch;
mod condition;
mod context;
mod driver;

pub use batch::{Branch, Map, Parallel, WithRetry};
pub use condition::WaitForCondition;
pub use context::{
    Callback, CreateCallback, DurableContext, Invoke, Step, TimedStep, WaitForCallback,
};
pub use driver::{handle, handle_async, run, run_with_client, run_with_options};
/// The engine crate, for lower-level access (wire types, the engine itself).
pub use durable_proto as proto;
pub use durable_proto::InvocationOutcome;
/// The Lambda runtime's error type, what `main` returns (`Result<(), LambdaError>`).
pub use durable_tokio::LambdaError;
/// Why [`run`] refuses to start outside a Lambda execution environment, and the check itself.
pub use durable_tokio::{check_lambda_environment, NotInLambda, LAMBDA_ENVIRONMENT};
pub use durable_tokio::{init_logging, init_logging_with, ReplayFilter, ReplayMode};
pub use durable_tokio::{
    retry_fn, serdes_fn, Backoff, CheckpointClient, DurableError, ErrorObject, ExecutionConfig,
    FnRetryStrategy, FnSerdes, Jitter, Json, LambdaClient, Logger, OperationFailure, Options,
    RetryConfigError, RetryDecision, RetryPolicy, RetryStrategy, RngCore, Serdes, StepContext,
    StepError, StepSemantics,
};
pub use durable_tokio::{
    AttemptOutcome, HookResult, InvocationEnd, InvocationInfo, OperationChange, OperationInfo,
    Plugin, Plugins,
};
pub use durable_tokio::{
    BatchCounts, BatchItem, BatchResult, BatchStatus, CompletionConfig, CompletionReason,
    ItemResult, Nesting, WaitDecision, WaitStrategy, CONDITION_EXHAUSTED_ERROR_TYPE,
};
