//! Retry strategies: what to do after a step attempt fails.
//!
//! A [`RetryStrategy`] looks at the failed attempt's [`ErrorObject`] and its
//! 1-based attempt number and answers [`RetryDecision::Retry`] with a delay or
//! [`RetryDecision::Stop`]. The engine turns a retry into a `RETRY` checkpoint
//! whose `StepOptions.NextAttemptDelaySeconds` is
//! [`delay_to_wire_seconds`]`(delay)`; the service re-invokes the function when
//! the delay has elapsed.
//!
//! * [`RetryPolicy`] is the built-in strategy: exponential or linear backoff,
//!   a cap, [`Jitter`], error filters and presets ([`RetryPolicy::default`],
//!   [`RetryPolicy::transient`], [`RetryPolicy::none`]).
//! * [`retry_fn`] wraps a closure.
//! * Anything else: implement [`RetryStrategy`].
//!
//! Strategies never read a clock and never use ambient randomness: jitter draws
//! only from the `rng` argument, so a seeded generator (e.g.
//! [`SeededRng`](crate::SeededRng)) makes every decision reproducible.

mod builder;
mod error;
mod jitter;
mod policy;

pub use builder::RetryBuilder;
pub use error::RetryConfigError;
pub use jitter::Jitter;
pub use policy::{Backoff, RetryPolicy};

use std::sync::Arc;
use std::time::Duration;

use rand_core::RngCore;

use crate::ErrorObject;

/// The largest `NextAttemptDelaySeconds` the service accepts: 366 days.
pub const MAX_WIRE_DELAY_SECONDS: u32 = 31_622_400;

/// The answer of a [`RetryStrategy`] for one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Run another attempt after `delay`.
    ///
    /// The service only schedules whole seconds: the delay is sent as
    /// [`delay_to_wire_seconds`]`(delay)`, i.e. rounded up and kept within
    /// 1 s ..= 366 days.
    Retry {
        /// How long to wait before the next attempt.
        delay: Duration,
    },
    /// Do not retry: the step fails with the error of the attempt that just
    /// failed.
    Stop,
}

/// Decides whether, and after how long, a failed step attempt is retried.
///
/// # Attempt numbering
///
/// `attempt` is the **1-based number of the attempt that just failed**,
/// counting the first execution: the first failure is `1`, the failure of the
/// first retry is `2`, and so on. On the wire this is
/// `StepDetails.Attempt + 1`, because `StepDetails.Attempt` counts attempts
/// that have already finished. A strategy that allows `N` executions in total
/// (`N − 1` retries) returns [`RetryDecision::Stop`] once `attempt >= N`.
///
/// # Randomness
///
/// Implementations must draw any randomness (jitter) **only** from `rng`, and
/// must not read clocks or other ambient state: given the same error, attempt
/// and generator state, `decide` returns the same decision. The engine's
/// driver chooses the generator, typically a [`SeededRng`](crate::SeededRng).
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use durable_proto::{ErrorObject, Jitter, RetryDecision, RetryStrategy};
/// use rand_core::RngCore;
///
/// /// Retry throttling errors up to 4 attempts, 3 s apart with half jitter.
/// struct Throttled;
///
/// impl RetryStrategy for Throttled {
///     fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision {
///         if attempt >= 4 || error.type_name() != "Throttled" {
///             return RetryDecision::Stop;
///         }
///         let delay = Jitter::Half.apply(Duration::from_secs(3), rng);
///         RetryDecision::Retry { delay }
///     }
/// }
///
/// let mut rng = durable_proto::SeededRng::new(1);
/// let err = ErrorObject::new("Throttled", "slow down");
/// assert!(matches!(Throttled.decide(&err, 1, &mut rng), RetryDecision::Retry { .. }));
/// assert_eq!(Throttled.decide(&err, 4, &mut rng), RetryDecision::Stop);
/// ```
pub trait RetryStrategy: Send + Sync {
    /// Decide what happens after attempt number `attempt` (1-based, see the
    /// trait docs) failed with `error`; draw any randomness from `rng` only.
    fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision;
}

impl<T: RetryStrategy + ?Sized> RetryStrategy for &T {
    fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision {
        (**self).decide(error, attempt, rng)
    }
}

/// Covers `Box<dyn RetryStrategy>` as well as boxed concrete strategies.
impl<T: RetryStrategy + ?Sized> RetryStrategy for Box<T> {
    fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision {
        (**self).decide(error, attempt, rng)
    }
}

/// Covers `Arc<dyn RetryStrategy>` as well as shared concrete strategies.
impl<T: RetryStrategy + ?Sized> RetryStrategy for Arc<T> {
    fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision {
        (**self).decide(error, attempt, rng)
    }
}

/// A [`RetryStrategy`] backed by a closure; build it with [`retry_fn`].
#[derive(Clone)]
pub struct FnRetryStrategy<F> {
    f: F,
}

impl<F> std::fmt::Debug for FnRetryStrategy<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnRetryStrategy").finish_non_exhaustive()
    }
}

impl<F> RetryStrategy for FnRetryStrategy<F>
where
    F: Fn(&ErrorObject, u32) -> RetryDecision + Send + Sync,
{
    fn decide(&self, error: &ErrorObject, attempt: u32, _rng: &mut dyn RngCore) -> RetryDecision {
        (self.f)(error, attempt)
    }
}

/// A retry strategy from a closure `(error, attempt) -> RetryDecision`.
///
/// `attempt` is the 1-based number of the attempt that just failed (see
/// [`RetryStrategy`]). The closure receives **no random-number generator**, so
/// its decisions are fully determined by its inputs; to add jitter, implement
/// [`RetryStrategy`] directly and use [`Jitter::apply`] with the `rng` it is
/// given. Delays below one second are sent as one second (see
/// [`delay_to_wire_seconds`]).
///
/// ```
/// use std::time::Duration;
/// use durable_proto::{retry_fn, ErrorObject, RetryDecision, RetryStrategy, SeededRng};
///
/// // Retry anything mentioning "timeout" up to 3 attempts, 2 s × attempt apart.
/// let strategy = retry_fn(|error: &ErrorObject, attempt| {
///     if attempt < 3 && error.message().contains("timeout") {
///         RetryDecision::Retry { delay: Duration::from_secs(2 * u64::from(attempt)) }
///     } else {
///         RetryDecision::Stop
///     }
/// });
///
/// let mut rng = SeededRng::new(0);
/// let err = ErrorObject::new("Io", "read timeout");
/// assert_eq!(
///     strategy.decide(&err, 2, &mut rng),
///     RetryDecision::Retry { delay: Duration::from_secs(4) }
/// );
/// assert_eq!(strategy.decide(&err, 3, &mut rng), RetryDecision::Stop);
/// ```
pub fn retry_fn<F>(f: F) -> FnRetryStrategy<F>
where
    F: Fn(&ErrorObject, u32) -> RetryDecision + Send + Sync,
{
    FnRetryStrategy { f }
}

/// The whole number of seconds to send as `StepOptions.NextAttemptDelaySeconds`
/// for a retry `delay`.
///
/// Rule: round **up** to whole seconds, then clamp to
/// `1 ..= `[`MAX_WIRE_DELAY_SECONDS`] (366 days).
///
/// * Rounding up means a retry never happens earlier than the strategy asked
///   (the Python and .NET SDKs also round up; some other SDKs round to
///   nearest).
/// * The service only accepts integer seconds of at least 1, so zero and
///   sub-second delays become 1 s, and anything longer than 366 days becomes
///   366 days.
///
/// Consequence for [`Jitter::Full`]: a jittered delay in `[0, base)` with a
/// whole-second `base` is sent as `1 ..= base` seconds.
///
/// ```
/// use std::time::Duration;
/// use durable_proto::delay_to_wire_seconds;
///
/// assert_eq!(delay_to_wire_seconds(Duration::ZERO), 1);
/// assert_eq!(delay_to_wire_seconds(Duration::from_millis(1200)), 2);
/// assert_eq!(delay_to_wire_seconds(Duration::from_secs(5)), 5);
/// ```
pub fn delay_to_wire_seconds(delay: Duration) -> u32 {
    let whole = delay.as_secs();
    let rounded_up = if delay.subsec_nanos() > 0 {
        whole.saturating_add(1)
    } else {
        whole
    };
    let clamped = rounded_up.clamp(1, u64::from(MAX_WIRE_DELAY_SECONDS));
    // Lossless: `clamped <= MAX_WIRE_DELAY_SECONDS`.
    clamped as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SeededRng;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn wire_seconds_rounds_up_and_clamps() {
        assert_eq!(delay_to_wire_seconds(Duration::ZERO), 1);
        assert_eq!(delay_to_wire_seconds(Duration::from_nanos(1)), 1);
        assert_eq!(delay_to_wire_seconds(Duration::from_millis(999)), 1);
        assert_eq!(delay_to_wire_seconds(secs(1)), 1);
        assert_eq!(delay_to_wire_seconds(Duration::from_millis(1200)), 2);
        assert_eq!(
            delay_to_wire_seconds(Duration::from_nanos(1_000_000_001)),
            2
        );
        assert_eq!(delay_to_wire_seconds(secs(5)), 5);
        assert_eq!(delay_to_wire_seconds(Duration::from_millis(59_999)), 60);
        assert_eq!(delay_to_wire_seconds(secs(31_622_400)), 31_622_400);
        assert_eq!(delay_to_wire_seconds(secs(31_622_401)), 31_622_400);
        assert_eq!(delay_to_wire_seconds(Duration::MAX), 31_622_400);
        assert_eq!(delay_to_wire_seconds(secs(u64::MAX)), 31_622_400);
    }

    fn timeout_then_stop(
    ) -> FnRetryStrategy<impl Fn(&ErrorObject, u32) -> RetryDecision + Send + Sync> {
        retry_fn(|error: &ErrorObject, attempt| {
            if attempt < 3 && error.message().contains("timeout") {
                RetryDecision::Retry {
                    delay: secs(u64::from(attempt) * 10),
                }
            } else {
                RetryDecision::Stop
            }
        })
    }

    #[test]
    fn closure_strategy_sees_error_and_attempt() {
        let strategy = timeout_then_stop();
        let mut rng = SeededRng::new(0);
        let timeout = ErrorObject::new("Io", "connect timeout");
        let other = ErrorObject::new("Io", "refused");
        assert_eq!(
            strategy.decide(&timeout, 1, &mut rng),
            RetryDecision::Retry { delay: secs(10) }
        );
        assert_eq!(
            strategy.decide(&timeout, 2, &mut rng),
            RetryDecision::Retry { delay: secs(20) }
        );
        assert_eq!(strategy.decide(&timeout, 3, &mut rng), RetryDecision::Stop);
        assert_eq!(strategy.decide(&other, 1, &mut rng), RetryDecision::Stop);
        // The closure never touches the generator.
        assert_eq!(rng.next_u64(), SeededRng::new(0).next_u64());
        assert_eq!(format!("{strategy:?}"), "FnRetryStrategy { .. }");
    }

    #[test]
    fn smart_pointers_and_references_delegate() {
        let err = ErrorObject::new("Io", "timeout");
        let expected = RetryDecision::Retry { delay: secs(10) };
        let mut rng = SeededRng::new(0);

        let boxed: Box<dyn RetryStrategy> = Box::new(timeout_then_stop());
        assert_eq!(boxed.decide(&err, 1, &mut rng), expected);

        let shared: Arc<dyn RetryStrategy> = Arc::new(timeout_then_stop());
        assert_eq!(shared.decide(&err, 1, &mut rng), expected);

        fn takes_generic<S: RetryStrategy>(s: S, err: &ErrorObject) -> RetryDecision {
            s.decide(err, 1, &mut SeededRng::new(0))
        }
        assert_eq!(takes_generic(&boxed, &err), expected);
        assert_eq!(takes_generic(shared.clone(), &err), expected);
        assert_eq!(takes_generic(boxed, &err), expected);
        assert_eq!(takes_generic(&*shared, &err), expected);
        let concrete = timeout_then_stop();
        assert_eq!(takes_generic(&concrete, &err), expected);
        assert_eq!(takes_generic(Box::new(concrete), &err), expected);
    }

    #[test]
    fn strategies_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Box<dyn RetryStrategy>>();
        assert_send_sync::<Arc<dyn RetryStrategy>>();
        assert_send_sync::<RetryPolicy>();
    }
}
