//! Scenario handlers shared by the two bootstrap binaries.

use std::fmt;
use std::time::Duration;

use durable_tokio::{Jitter, RetryPolicy};

/// A business error with a recognisable type name in the history.
#[derive(Debug)]
pub struct PaymentDeclined(pub String);

impl fmt::Display for PaymentDeclined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "payment declined: {}", self.0)
    }
}

impl std::error::Error for PaymentDeclined {}

/// `max_attempts` attempts, one second apart, no jitter (so the history is predictable).
pub fn every_second(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::exponential(
        max_attempts,
        Duration::from_secs(1),
        Duration::from_secs(1),
        1.0,
    )
    .expect("valid policy")
    .with_jitter(Jitter::None)
}

/// The handler name Lambda passes in `_HANDLER`.
pub fn handler_name() -> String {
    std::env::var("_HANDLER").unwrap_or_default()
}

/// The README's code samples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
