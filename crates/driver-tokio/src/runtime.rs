//! The Lambda entry point: `run(handler)` on `lambda_runtime`.

use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use durable_proto::{InvocationInput, InvocationOutcome, InvocationOutput};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::aws::LambdaClient;
use crate::client::CheckpointClient;
use crate::context::DurableContext;
use crate::driver::{handle, Options};

/// Runs a durable handler as a Lambda function: the process's whole `main`.
///
/// The checkpoint client is built once, from the standard AWS configuration
/// (`AWS_ENDPOINT_URL_LAMBDA` and the rest work unchanged), and reused by every invocation.
/// Unless the process already has a global `tracing` subscriber, the SDK's is installed
/// ([`init_logging`](crate::init_logging)): Lambda's JSON or text log format, with the
/// execution ARN on every line.
///
/// ```no_run
/// use durable_tokio::{DurableContext, DurableError};
/// use std::time::Duration;
///
/// async fn workflow(name: String, ctx: DurableContext) -> Result<String, DurableError> {
///     let greeting: String = ctx
///         .step("greet", |_| async move { Ok(format!("hello {name}")) })
///         .await?;
///     ctx.wait("pause", Duration::from_secs(60)).await?;
///     Ok(greeting)
/// }
///
/// #[tokio::main]
/// async fn main() -> Result<(), durable_tokio::LambdaError> {
///     durable_tokio::run(workflow).await
/// }
/// ```
pub async fn run<E, O, Err, F, Fut>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, DurableContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Err>> + Send + 'static,
{
    let client = Arc::new(LambdaClient::shared().await);
    run_with_client(client, Options::default(), handler).await
}

/// Like [`run`], with a checkpoint client and options of your choosing.
pub async fn run_with_client<E, O, Err, F, Fut, C>(
    client: Arc<C>,
    options: Options,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, DurableContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Err>> + Send + 'static,
    C: CheckpointClient + ?Sized,
{
    // Lambda-style log lines carrying the execution ARN, unless the user set up logging.
    crate::logging::init_logging();
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let client = client.clone();
        let handler = handler.clone();
        let mut options = options.clone();
        async move {
            let input =
                InvocationInput::from_slice(event.payload.get().as_bytes()).map_err(|e| {
                    Diagnostic {
                        error_type: format!("DurableInput.{}", e.code()),
                        error_message: e.to_string(),
                    }
                })?;
            options.lambda_context = Some(event.context);
            let outcome = handle(input, client, options, move |e, ctx| handler(e, ctx)).await;
            outcome_to_response(outcome)
        }
    }))
    .await
}

/// Maps an outcome to what the Lambda runtime returns: the output, or a function error so
/// that Lambda retries the invocation.
pub fn outcome_to_response(outcome: InvocationOutcome) -> Result<InvocationOutput, Diagnostic> {
    match outcome {
        InvocationOutcome::Output(output) => Ok(output),
        InvocationOutcome::Failure(f) => {
            tracing::error!(error_type = %f.error_type, "{}", f.message);
            Err(Diagnostic {
                error_type: f.error_type,
                error_message: f.message,
            })
        }
        other => Err(Diagnostic {
            error_type: "DurableSdkInternalError".into(),
            error_message: format!("unsupported outcome {other:?}"),
        }),
    }
}
