//! The server's own errors (the API's errors are the service model's `ServiceError`s).

use std::path::PathBuf;

/// A function declaration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A `--function` flag is malformed.
    #[error("--function {flag:?}: {reason}")]
    Flag {
        /// The flag's value.
        flag: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The config file cannot be read.
    #[error("cannot read the config file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not a valid declaration.
    #[error(
        "config file {}: {message} (expected {{\"functions\": [{{\"name\": .., \"command\": [..]}}]}})",
        path.display()
    )]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `--lambda-endpoint` is not a usable URL.
    #[error("--lambda-endpoint {reason}")]
    Endpoint {
        /// What is wrong with it.
        reason: String,
    },
    /// Two declarations use the same name.
    #[error("the function {name:?} is declared twice")]
    Duplicate {
        /// The name.
        name: String,
    },
}

/// The server could not start or run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A declaration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source} (is another server using the port?)")]
    Bind {
        /// The address.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// The service model refused a call the server made for the user (e.g. `run`'s start).
    #[error(transparent)]
    Service(#[from] durable_local::ServiceError),
    /// `run` named a function that is not declared.
    #[error("no function named {name:?} is declared (declare it with --function or --config)")]
    UnknownFunction {
        /// The name.
        name: String,
    },
    /// `run`'s event is not JSON.
    #[error("the event is not valid JSON: {message}")]
    Event {
        /// The parser's message.
        message: String,
    },
    /// `run` could not write its HTML page.
    #[error("cannot write {}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// `run` gave up waiting for the execution to end.
    #[error(
        "the execution {arn} did not end within {seconds} s of wall time (status {status}); \
         raise --wall-timeout, or check whether it waits for a callback"
    )]
    WallTimeout {
        /// The execution.
        arn: String,
        /// The limit.
        seconds: u64,
        /// Its status then.
        status: String,
    },
}
