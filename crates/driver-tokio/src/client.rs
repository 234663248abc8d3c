//! The seam between the driver and the durable-execution API.

use std::future::Future;
use std::pin::Pin;

use durable_proto::{ApiFailure, CheckpointResponse, ExecutionState, OperationUpdate};

/// A boxed, sendable future, as returned by [`CheckpointClient`] methods.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The two durable-execution API calls a driver makes.
///
/// The production implementation is [`LambdaClient`](crate::LambdaClient) (aws-sdk-lambda);
/// tests and the local durable service substitute their own. Implementations report a
/// failed call as an [`ApiFailure`] (HTTP status, error code, message) and leave its
/// meaning to the engine, so every client is classified the same way.
///
/// Calls take owned arguments and return `'static` futures so the driver can run them on
/// their own task, in parallel with user code.
pub trait CheckpointClient: Send + Sync + 'static {
    /// CheckpointDurableExecution: record `updates` using the single-use `checkpoint_token`.
    fn checkpoint(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>>;

    /// GetDurableExecutionState: read the page of operations that starts at `marker`.
    fn get_state(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>>;
}

impl<C: CheckpointClient + ?Sized> CheckpointClient for std::sync::Arc<C> {
    fn checkpoint(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        (**self).checkpoint(durable_execution_arn, checkpoint_token, updates)
    }

    fn get_state(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        (**self).get_state(durable_execution_arn, checkpoint_token, marker)
    }
}
