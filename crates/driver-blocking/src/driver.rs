//! Entry points: `run` on the Lambda runtime, and `handle` for one invocation.

use std::fmt::{Debug, Display};
use std::sync::{Arc, OnceLock};

use durable_proto::{Envelope, ErrorObject, InvocationOutcome};
use durable_tokio::front::catch_panic;
use durable_tokio::{error_object_of, CheckpointClient, LambdaClient, Options};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::runtime::{Handle, Runtime};

use crate::context::DurableContext;

/// The process-wide runtime that performs this driver's IO.
fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("cannot start the durable driver's IO runtime: {e}"))
    })
}

/// Wraps a synchronous handler as an async one that runs it on a blocking thread.
fn lift<E, O, Err, F>(
    handler: Arc<F>,
) -> impl Fn(
    E,
    durable_tokio::DurableContext,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<O, ErrorObject>> + Send>>
       + Send
       + Sync
       + 'static
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, &DurableContext) -> Result<O, Err> + Send + Sync + 'static,
{
    move |event, async_ctx| {
        let handler = handler.clone();
        let ctx = DurableContext::new(async_ctx, Handle::current());
        // The invocation's span (execution ARN, request id) follows the handler onto its
        // thread, so plain `tracing` events in user code carry it too.
        let span = tracing::Span::current();
        Box::pin(async move {
            let joined = tokio::task::spawn_blocking(move || {
                let _entered = span.enter();
                // A panic fails the execution like any other escaping error, as in the async
                // driver.
                // The handler's code runs in the root context (replay-aware tracing).
                let run = || durable_tokio::front::in_context(ctx.inner(), || handler(event, &ctx));
                catch_panic(run)?.map_err(|e| error_object_of(&e))
            })
            .await;
            match joined {
                Ok(result) => result,
                Err(join) => Err(ErrorObject::new(
                    "HandlerCancelled",
                    format!("the handler's thread was cancelled: {join}"),
                )),
            }
        })
    }
}

/// Runs a synchronous durable handler as a Lambda function: the process's whole `main`.
///
/// Started outside Lambda, it returns [`NotInLambda`](crate::NotInLambda) before
/// doing anything else, naming the missing variables and how to run the function locally.
///
/// ```no_run
/// use durable_blocking::{DurableContext, DurableError};
/// use std::time::Duration;
///
/// fn workflow(name: String, ctx: &DurableContext) -> Result<String, DurableError> {
///     let greeting: String = ctx
///         .step("greet", |_| Ok(format!("hello {name}")))
///         .run()?;
///     ctx.wait("pause", Duration::from_secs(60))?;
///     Ok(greeting)
/// }
///
/// fn main() -> Result<(), durable_blocking::LambdaError> {
///     durable_blocking::run(workflow)
/// }
/// ```
pub fn run<E, O, Err, F>(handler: F) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, &DurableContext) -> Result<O, Err> + Send + Sync + 'static,
{
    // Before the IO runtime and the client: started by hand, fail with the reason.
    durable_tokio::check_lambda_environment()?;
    // Built on the IO runtime while it starts the Lambda runtime and fetches the first
    // event; the first checkpoint call waits for it (docs/performance.md, "Cold start").
    let client = Arc::new(runtime().block_on(async { LambdaClient::start_shared() }));
    run_with_client(client, Options::default(), handler)
}

/// Like [`run`], with options of your choosing (instrumentation plugins, engine limits).
pub fn run_with_options<E, O, Err, F>(
    options: Options,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, &DurableContext) -> Result<O, Err> + Send + Sync + 'static,
{
    durable_tokio::check_lambda_environment()?;
    let client = Arc::new(runtime().block_on(async { LambdaClient::start_shared() }));
    run_with_client(client, options, handler)
}

/// Like [`run`], with a checkpoint client and options of your choosing. It checks the
/// environment as [`run`] does.
pub fn run_with_client<E, O, Err, F, C>(
    client: Arc<C>,
    options: Options,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, &DurableContext) -> Result<O, Err> + Send + Sync + 'static,
    C: CheckpointClient + ?Sized,
{
    durable_tokio::check_lambda_environment()?;
    let lifted = lift(Arc::new(handler));
    runtime().block_on(durable_tokio::run_with_client(client, options, lifted))
}

/// Runs one invocation of a synchronous durable handler to its outcome, without the Lambda
/// runtime. Blocks the calling thread; do not call it from inside an async runtime.
pub fn handle<E, O, Err, F, C>(
    input: impl Into<Envelope>,
    client: Arc<C>,
    options: Options,
    handler: F,
) -> InvocationOutcome
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, &DurableContext) -> Result<O, Err> + Send + Sync + 'static,
    C: CheckpointClient + ?Sized,
{
    runtime().block_on(handle_async(input, client, options, handler))
}

/// Like [`handle`], as a future on the caller's tokio runtime (for test runners and other
/// hosts that own a runtime): the handler runs on that runtime's blocking pool.
///
/// Dropping the future abandons the invocation (a host's timeout, say): a handler thread
/// that is still running then gets [`DurableError::Closing`](crate::DurableError) from its
/// next operation, before any step body runs, so it can neither record nor repeat a side
/// effect.
pub fn handle_async<E, O, Err, F, C>(
    input: impl Into<Envelope>,
    client: Arc<C>,
    options: Options,
    handler: F,
) -> impl std::future::Future<Output = InvocationOutcome> + Send
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, &DurableContext) -> Result<O, Err> + Send + Sync + 'static,
    C: CheckpointClient + ?Sized,
{
    durable_tokio::handle(input.into(), client, options, lift(Arc::new(handler)))
}
