//! The Lambda entry point: `run(handler)` on `lambda_runtime`.

use std::env::VarError;
use std::fmt::{Debug, Display};
use std::future::Future;
use std::sync::Arc;

use durable_proto::{Envelope, InvocationOutcome, InvocationOutput};
use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::aws::LambdaClient;
use crate::client::CheckpointClient;
use crate::context::DurableContext;
use crate::driver::{handle, Options};

/// The environment variables the Lambda runtime reads at start, in the order it reads them.
/// Lambda sets all of them in every execution environment; outside one they are usually
/// absent, and `lambda_runtime` would panic on the first missing one.
pub const LAMBDA_ENVIRONMENT: [&str; 4] = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_RUNTIME_API",
];

/// How to run a bootstrap binary outside Lambda; the tail of every [`NotInLambda`] message.
const RUN_LOCALLY: &str = "this binary is a Lambda function and must be started by a Lambda \
     execution environment. To run it locally, host it on this SDK's local durable service \
     (`durable-local run FUNCTION -f FUNCTION=<this binary> -e '<event JSON>'`, from the \
     durable-local-server crate) or under `cargo lambda watch` (which serves the Lambda \
     Runtime API and sets these variables; send events with `cargo lambda invoke`), or test \
     the handler in-process with durable-local's LocalRunner";

/// The process was started outside a Lambda execution environment: a variable the Lambda
/// runtime needs is missing or unusable. [`run`] returns it before doing anything else.
///
/// `main` returning it prints `Error: ` and the message, and exits with status 1. `Debug`
/// prints the same message as `Display` for that reason (`main` formats its error with
/// `Debug`).
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotInLambda {
    /// Variables Lambda always sets are not set (all of the missing ones, in
    /// [`LAMBDA_ENVIRONMENT`] order).
    #[error("{} not set: {RUN_LOCALLY}", list(.variables))]
    Missing {
        /// The names of the missing variables.
        variables: Vec<&'static str>,
    },
    /// A variable is set but its value is not UTF-8, or (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`)
    /// not a whole number of megabytes.
    #[error("{variable} is set to {value}, which {expected}: {RUN_LOCALLY}")]
    Invalid {
        /// The variable's name.
        variable: &'static str,
        /// Its value as seen (lossily decoded if it is not UTF-8), quoted.
        value: String,
        /// What the runtime expects of it.
        expected: &'static str,
    },
}

impl Debug for NotInLambda {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(self, f)
    }
}

/// `A is` / `A and B are` / `A, B and C are`.
fn list(names: &[&str]) -> String {
    match names {
        [] => "no variable is".into(),
        [one] => format!("{one} is"),
        [init @ .., last] => format!("{} and {last} are", init.join(", ")),
    }
}

/// Checks that the process runs in a Lambda execution environment: every variable of
/// [`LAMBDA_ENVIRONMENT`] is set, as the Lambda runtime needs it. [`run`] and
/// [`run_with_client`] call it first, so a binary started by hand fails with this error
/// instead of a panic inside `lambda_runtime`.
pub fn check_lambda_environment() -> Result<(), NotInLambda> {
    check_environment(std::env::var)
}

/// [`check_lambda_environment`] over any lookup, so it is tested without touching the
/// process environment.
fn check_environment(
    lookup: impl Fn(&'static str) -> Result<String, VarError>,
) -> Result<(), NotInLambda> {
    let mut missing = Vec::new();
    for variable in LAMBDA_ENVIRONMENT {
        match lookup(variable) {
            Ok(value) => {
                // lambda_runtime parses the memory size as an i32 and panics otherwise.
                if variable == "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" && value.parse::<i32>().is_err() {
                    return Err(NotInLambda::Invalid {
                        variable,
                        value: format!("{value:?}"),
                        expected: "is not a whole number of megabytes",
                    });
                }
            }
            Err(VarError::NotPresent) => missing.push(variable),
            Err(VarError::NotUnicode(raw)) => {
                return Err(NotInLambda::Invalid {
                    variable,
                    value: format!("{:?}", raw.to_string_lossy()),
                    expected: "is not UTF-8",
                })
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(NotInLambda::Missing { variables: missing })
    }
}

/// Runs a durable handler as a Lambda function: the process's whole `main`.
///
/// It first checks that the process runs inside Lambda ([`check_lambda_environment`]):
/// started by hand, it returns [`NotInLambda`], naming the missing variables and how to run
/// the function locally. The checkpoint client is built once, from the standard AWS configuration
/// (`AWS_ENDPOINT_URL_LAMBDA` and the rest work unchanged), while the runtime fetches the first
/// event, and reused by every invocation.
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
    // Before the client: loading the AWS configuration outside Lambda may be slow or fail on
    // its own, hiding the real cause.
    check_lambda_environment()?;
    // Built in a task while the runtime starts and fetches the first event; the first
    // checkpoint call waits for it (docs/performance.md, "Cold start").
    let client = Arc::new(LambdaClient::start_shared());
    run_with_client(client, Options::default(), handler).await
}

/// Like [`run`], with options of your choosing (instrumentation plugins, engine limits).
///
/// ```no_run
/// # async fn handler(_: serde_json::Value, _: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> { Ok(()) }
/// # #[derive(Default)] struct MyPlugin;
/// # impl durable_tokio::Plugin for MyPlugin {}
/// #[tokio::main]
/// async fn main() -> Result<(), durable_tokio::LambdaError> {
///     let options = durable_tokio::Options::default().plugin(MyPlugin::default());
///     durable_tokio::run_with_options(options, handler).await
/// }
/// ```
pub async fn run_with_options<E, O, Err, F, Fut>(
    options: Options,
    handler: F,
) -> Result<(), lambda_runtime::Error>
where
    E: DeserializeOwned + Send + 'static,
    O: Serialize + Send + 'static,
    Err: Display + Debug + Send + 'static,
    F: Fn(E, DurableContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, Err>> + Send + 'static,
{
    check_lambda_environment()?;
    let client = Arc::new(LambdaClient::start_shared());
    run_with_client(client, options, handler).await
}

/// Like [`run`], with a checkpoint client and options of your choosing. It checks the
/// environment as [`run`] does.
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
    check_lambda_environment()?;
    // Lambda-style log lines carrying the execution ARN, unless the user set up logging.
    crate::logging::init_logging();
    let handler = Arc::new(handler);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let client = client.clone();
        let handler = handler.clone();
        let mut options = options.clone();
        async move {
            // The payload's bytes become the engine's history as they are (no copy).
            let bytes = Box::<str>::from(event.payload)
                .into_boxed_bytes()
                .into_vec();
            let input = Envelope::from_vec(bytes).map_err(|e| Diagnostic {
                error_type: format!("DurableInput.{}", e.code()),
                error_message: e.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env(
        vars: &'static [(&'static str, &'static str)],
    ) -> impl Fn(&str) -> Result<String, VarError> {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
                .ok_or(VarError::NotPresent)
        }
    }

    const LAMBDA: &[(&str, &str)] = &[
        ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "3"),
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
    ];

    #[test]
    fn a_lambda_environment_passes() {
        assert_eq!(check_environment(env(LAMBDA)), Ok(()));
    }

    #[test]
    fn an_empty_environment_names_every_variable_and_how_to_run_locally() {
        let err = check_environment(env(&[])).unwrap_err();
        assert_eq!(
            err,
            NotInLambda::Missing {
                variables: LAMBDA_ENVIRONMENT.to_vec()
            }
        );
        let message = err.to_string();
        assert!(
            message.starts_with(
                "AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, \
                 AWS_LAMBDA_FUNCTION_VERSION and AWS_LAMBDA_RUNTIME_API are not set: "
            ),
            "{message}"
        );
        assert!(message.contains("cargo lambda watch"), "{message}");
        assert!(message.contains("LocalRunner"), "{message}");
        // What `main` prints is the same text.
        assert_eq!(format!("{err:?}"), message);
    }

    #[test]
    fn one_missing_variable_is_named_alone() {
        let err = check_environment(env(&LAMBDA[..3])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("AWS_LAMBDA_RUNTIME_API is not set: this binary is a Lambda function"),
            "{err}"
        );
    }

    #[test]
    fn a_memory_size_that_is_not_a_number_is_refused_not_a_panic() {
        let err = check_environment(env(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "orders"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128MB"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "3"),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE is set to \"128MB\", which is not a whole \
                 number of megabytes: "
            ),
            "{err}"
        );
    }
}
