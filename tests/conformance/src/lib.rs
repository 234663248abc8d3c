//! Handlers for the public durable-execution conformance suites, written from each
//! requirement's prose the way a user of the SDK would write them, with only the drivers'
//! public API.
//!
//! * [`tokio_driver`]: async handlers on `durable-tokio`; the binary `conformance-tokio`.
//! * [`blocking_driver`]: synchronous handlers on `durable-blocking`; `conformance-blocking`.
//!
//! Each driver has one module per suite (`step`, `wait`, ...) whose `run(handler)` starts the
//! Lambda runtime with the handler named by `_HANDLER`, or returns `None` when the name is not
//! one of that suite's. Both binaries answer the same handler names, so one template per suite
//! (`template_<suite>.yaml` next to this crate) serves both; `scripts/conformance.sh` runs
//! them. To add a suite: a module per driver, one line in each driver's `run`, and a template.

use std::fmt;
use std::time::Duration;

use durable_tokio::{ErrorObject, RetryDecision, RetryStrategy};
use rand_core::RngCore;
use serde::{Deserialize, Serialize};

pub mod blocking_driver;
pub mod tokio_driver;

/// The handler name Lambda passes in `_HANDLER` (the template's `Handler` property).
pub fn handler_name() -> String {
    std::env::var("_HANDLER").unwrap_or_default()
}

/// The error for a handler name no suite knows; Lambda reports it as an init error.
pub fn unknown_handler(name: &str) -> lambda_runtime::Error {
    format!("no conformance handler is called {name:?} (set _HANDLER)").into()
}

/// A failure worth retrying: its Rust type name ends in `TransientError`, which is what the
/// requirements' retry filters (and the expected `ErrorType`) look for.
#[derive(Debug)]
pub struct TransientError(pub String);

impl fmt::Display for TransientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transient failure: {}", self.0)
    }
}

impl std::error::Error for TransientError {}

/// An ordinary business failure.
#[derive(Debug)]
pub struct ServiceError(pub String);

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service error: {}", self.0)
    }
}

impl std::error::Error for ServiceError {}

/// A retry strategy that never retries a [`TransientError`] (requirement 1-16) and retries
/// anything else up to 3 attempts, one second apart.
///
/// Written against the `RetryStrategy` trait both drivers re-export; the same value works for
/// `durable-tokio` and `durable-blocking`.
#[derive(Debug, Clone, Copy)]
pub struct NoRetryOnTransient;

impl RetryStrategy for NoRetryOnTransient {
    fn decide(&self, error: &ErrorObject, attempt: u32, _rng: &mut dyn RngCore) -> RetryDecision {
        if error.type_name().ends_with("TransientError") || attempt >= 3 {
            RetryDecision::Stop
        } else {
            RetryDecision::Retry {
                delay: Duration::from_secs(1),
            }
        }
    }
}

/// Input of requirement 1-4.
#[derive(Debug, Clone, Deserialize)]
pub struct Person {
    /// The person's name.
    pub name: String,
    /// Free-form tags.
    pub tags: Vec<String>,
}

/// The nested object requirement 1-4's step returns.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The user part.
    pub user: User,
    /// How many tags the user has.
    pub count: usize,
}

/// The user part of a [`Profile`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    /// The user's name.
    pub name: String,
    /// The user's tags.
    pub tags: Vec<String>,
}

impl Profile {
    /// Builds the profile of `person`.
    pub fn of(person: Person) -> Self {
        Self {
            count: person.tags.len(),
            user: User {
                name: person.name,
                tags: person.tags,
            },
        }
    }
}

/// The result of requirement 2-3.
#[derive(Debug, Clone, Serialize)]
pub struct WaitsDone {
    /// How many waits completed.
    #[serde(rename = "completedWaits")]
    pub completed_waits: u32,
}

/// What a step that "crashes the Lambda runtime" does: the process exits at once, as an
/// out-of-memory kill or a `process.exit` in other runtimes would end it.
pub fn crash_runtime() -> ! {
    std::process::exit(1)
}
