//! Replay-safe helpers on every context: randomness and UUIDs that are the same on every
//! replay, and a durable "now".

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use durable_proto::SeededRng;

use crate::context::DurableContext;
use crate::error::DurableError;

fn user_error(e: durable_proto::ExecutionError) -> DurableError {
    if e.is_invalid_argument() {
        DurableError::InvalidArgument(e)
    } else {
        DurableError::Closing(e.to_string())
    }
}

impl DurableContext {
    /// A random source that yields the same values on every replay of this point of the
    /// code: seeded from the execution, this context and the position among its
    /// operations, with no checkpoint. Use it in orchestration code instead of an ambient
    /// RNG (which would take other branches on replay).
    ///
    /// ```no_run
    /// # async fn demo(ctx: durable_tokio::DurableContext) -> Result<(), durable_tokio::DurableError> {
    /// use durable_tokio::RngCore;
    /// let shard = ctx.random()?.next_u32() % 16;   // the same shard on every replay
    /// # let _ = shard; Ok(()) }
    /// ```
    ///
    /// Each call gives a new stream. Inside a step body (checkpointed, skipped on replay)
    /// draws are keyed by the step and its attempt instead, so they never shift the draws
    /// after the step. Concurrent branches that draw in one context should each have a
    /// child context, as for operation ids.
    pub fn random(&self) -> Result<SeededRng, DurableError> {
        let mut g = self.shared().lock();
        g.exec
            .deterministic_rng(self.context_ref())
            .map_err(user_error)
    }

    /// A UUID (version-4 layout) that is the same on every replay of this point of the
    /// code, derived like [`random`](Self::random); distinct across executions and points.
    pub fn uuid(&self) -> Result<String, DurableError> {
        let mut g = self.shared().lock();
        g.exec
            .deterministic_uuid(self.context_ref())
            .map_err(user_error)
    }

    /// The current time, recorded: a step named `name` that reads the clock once, so every
    /// replay sees the time of the first run (one operation in the history; its checkpoint
    /// is not awaited).
    pub async fn now(&self, name: &str) -> Result<SystemTime, DurableError> {
        let millis: u64 = self
            .step(name, |_| async { Ok(system_millis()) })
            .retry(durable_proto::RetryPolicy::none())
            .await?;
        Ok(UNIX_EPOCH + Duration::from_millis(millis))
    }
}

/// Milliseconds since the Unix epoch on this machine's clock (0 before 1970).
#[doc(hidden)]
pub fn system_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
