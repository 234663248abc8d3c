//! `durable-local serve` and `durable-local run`: the local durable-execution service over
//! HTTP, hosting real Lambda bootstrap binaries (any language) as custom runtimes, on
//! virtual time.
//!
//! * [`Server`] listens on loopback and serves the durable-execution API that the SDKs and
//!   tools call (`CheckpointDurableExecution`, `GetDurableExecutionState`, the callback
//!   calls, `GetDurableExecution`, `GetDurableExecutionHistory`,
//!   `ListDurableExecutionsByFunction`, `Stop`/`Pause`/`Resume`/`DeleteDurableExecution`)
//!   and Lambda's `Invoke` for the declared functions, all on `durable-local`'s service
//!   model;
//! * each declared function ([`FunctionSpec`]) runs as a process speaking the Lambda Runtime
//!   API, kept warm, restarted after a crash, stopped when it runs past its timeout;
//! * while no invocation is in flight, virtual time jumps to the next timer, so a week-long
//!   wait takes no wall time;
//! * `GET /` lists the executions and `GET /executions/{arn}` draws one as a picture.
//!
//! The binary (`src/main.rs`) is the command line around it; docs/local-server.md is the
//! guide.

mod api;
mod chained;
mod error;
mod functions;
mod http;
mod invoke;
mod remote;
mod runtime;
mod scheduler;
mod server;
mod viewer;
mod wire;

pub use error::{ConfigError, ServerError};
pub use functions::{load_config, FunctionSpec, DEFAULT_TIMEOUT};
pub use remote::REMOTE_ERROR_TYPE;
pub use runtime::{EXIT_ERROR_TYPE, START_ERROR_TYPE, TIMEOUT_ERROR_TYPE};
pub use scheduler::INVALID_OUTPUT_ERROR_TYPE;
pub use server::{ServeOptions, Server};
