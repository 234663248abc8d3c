//! Run AWS Lambda durable functions with async (tokio) handlers.

mod aws;
mod batch_result;
mod client;
mod context;
mod driver;
mod error;
mod failure;
mod future;
mod logging;
mod ops;
mod panic;
mod plugin;
mod replay_filter;
mod runtime;
mod serdes;

pub use aws::{LambdaClient, SharedLambdaClient};
pub use batch_result::{BatchItem, BatchResult, BatchStatus, ItemResult};
pub use client::{BoxFuture, CheckpointClient};
pub use context::{DurableContext, Logger, StepContext};
pub use driver::{handle, Options};
/// The engine crate, for lower-level access (wire types, the engine itself).
pub use durable_proto as proto;
pub use durable_proto::{
    retry_fn, Backoff, BatchCounts, CompletionConfig, CompletionReason, ErrorObject,
    ExecutionConfig, ExecutionError, FnRetryStrategy, InvocationOutcome, Jitter, Nesting,
    RetryConfigError, RetryDecision, RetryPolicy, RetryStrategy, RngCore, SeededRng, StepSemantics,
};
pub use error::{error_object_of, readable_type_name, DurableError, StepError};
pub use failure::OperationFailure;
pub use future::OperationFuture;
/// The Lambda runtime's error type, what `main` returns (`Result<(), LambdaError>`).
pub use lambda_runtime::Error as LambdaError;
pub use logging::{init_logging, init_logging_with, JsonLogLayer, EXECUTION_ARN_KEY};
pub use ops::callback::{Callback, CreateCallback, WaitForCallback};
pub use ops::child::ChildContext;
pub use ops::combinators::{WithRetry, RETRY_ATTEMPT_SUB_TYPE, WITH_RETRY_SUB_TYPE};
pub use ops::condition::{
    WaitDecision, WaitForCondition, WaitStrategy, CONDITION_EXHAUSTED_ERROR_TYPE,
};
pub use ops::invoke::Invoke;
pub use ops::map::{Branch, Map, Parallel};
pub use ops::step::Step;
pub use ops::wait::Wait;
pub use panic::PANIC_ERROR_TYPE;
pub use plugin::{
    AttemptOutcome, HookResult, InvocationEnd, InvocationInfo, OperationChange, OperationInfo,
    Plugin, Plugins,
};
pub use replay_filter::{is_replaying_now, ReplayFilter, ReplayMode};
pub use runtime::{
    check_lambda_environment, outcome_to_response, run, run_with_client, run_with_options,
    NotInLambda, LAMBDA_ENVIRONMENT,
};
pub use serdes::{serdes_fn, FnSerdes, Json, Serdes};

/// What the blocking front end (`durable-blocking`) builds on: the operations' shared
/// cores. Not a stable API.
#[doc(hidden)]
pub mod front {
    pub use crate::context::Shared;
    pub use crate::ops::batch::{BatchCall, BatchSerdes, ItemEntered};
    pub use crate::ops::callback::{wait_for_callback_names, CallbackCall, CallbackConfig};
    pub use crate::ops::child::ChildCall;
    pub use crate::ops::combinators::block_retry_delay;
    pub use crate::ops::condition::{ConditionCall, ConditionConfig, Entered as ConditionEntered};
    pub use crate::ops::invoke::{InvokeCall, InvokeConfig};
    pub use crate::ops::map::default_batch_serdes;
    pub use crate::ops::replay_safe::system_millis;
    pub use crate::ops::step::{StepCall, StepConfig};
    pub use crate::ops::wait::WaitCall;
    pub use crate::ops::{run_blocking_body, Interrupt};
    pub use crate::panic::catch_panic;
    pub use crate::panic::panic_error;

    /// Ends the invocation with PENDING if nothing else can move, after a sequential
    /// front end found its branch blocked.
    pub fn suspend_if_stuck(ctx: &crate::DurableContext) {
        let shared = ctx.shared();
        let mut g = shared.lock();
        if g.exec.should_suspend() {
            g.exec.suspend();
        }
        drop(g);
        shared.changed.notify_one();
    }

    /// Waits until the invocation's outcome is decided or `ctx` was abandoned (its batch
    /// completed): how a blocking front end's item thread parks on a blocked operation.
    pub async fn park_until_released(ctx: &crate::DurableContext) {
        let at = ctx.context_ref();
        ctx.shared().wait_until(|exec| exec.is_abandoned(at)).await;
    }

    /// A thread of user code starts running outside any operation (see
    /// `Execution::enter_branch`).
    pub fn enter_branch(ctx: &crate::DurableContext) {
        ctx.shared().lock().exec.enter_branch();
    }

    /// That thread stopped running; the driver re-checks whether to suspend.
    pub fn leave_branch(ctx: &crate::DurableContext) {
        let shared = ctx.shared();
        shared.lock().exec.leave_branch();
        shared.changed.notify_one();
    }

    /// Runs `f` with `ctx` as the thread's current durable context (replay-aware tracing).
    pub fn in_context<R>(ctx: &crate::DurableContext, f: impl FnOnce() -> R) -> R {
        crate::replay_filter::in_context(ctx.shared(), ctx.context_ref(), f)
    }

    /// Waits until `ticket` is acknowledged (or the invocation ends).
    pub async fn wait_acknowledged(
        ctx: &crate::DurableContext,
        ticket: durable_proto::FlushTicket,
    ) {
        ctx.shared().wait_acknowledged(ticket).await;
    }

    /// Whether the invocation's outcome is decided.
    pub fn is_closing(ctx: &crate::DurableContext) -> bool {
        ctx.shared().lock().exec.is_closing()
    }
}
