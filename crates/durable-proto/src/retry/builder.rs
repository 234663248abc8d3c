//! An infallible builder for [`RetryPolicy`]: every setter takes any value and clamps it to
//! the nearest one the service accepts, so a policy can be written inline without `?`.

use std::time::Duration;

use rand_core::RngCore;

use super::MAX_WIRE_DELAY_SECONDS;
use super::{Backoff, Jitter, RetryConfigError, RetryDecision, RetryPolicy, RetryStrategy};
use crate::ErrorObject;

/// Builds a [`RetryPolicy`]; start with [`RetryPolicy::exponential`],
/// [`RetryPolicy::linear`] or [`RetryPolicy::fixed`]. It is a [`RetryStrategy`] itself, so
/// it can be passed where a strategy is expected without calling [`build`](Self::build).
///
/// Every setter is infallible. Out-of-range values are clamped, as each setter says:
/// `max_attempts(0)` means 1 (never retry), delays are capped at 366 days (the longest the
/// service schedules), a backoff rate below 1 (or not a number) means 1 and above 1000
/// means 1000, and `initial_delay` and `max_delay` keep `initial ≤ max` by moving the other
/// one (the one set last wins). Only a message pattern can be invalid; that setter returns
/// a [`RetryConfigError`].
///
/// ```
/// use std::time::Duration;
/// use durable_proto::{Jitter, RetryPolicy};
///
/// let policy = RetryPolicy::exponential()
///     .max_attempts(5)
///     .initial_delay(Duration::from_secs(2))
///     .max_delay(Duration::from_secs(30))
///     .jitter(Jitter::None)
///     .retry_if_error_type("Throttled")
///     .build();
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(policy.base_delay(3), Duration::from_secs(8));
/// ```
#[derive(Debug, Clone)]
pub struct RetryBuilder {
    policy: RetryPolicy,
}

impl RetryPolicy {
    /// Exponential backoff with the documented defaults (6 attempts, 5 s initial delay, ×2,
    /// 60 s cap, full jitter: [`RetryPolicy::default`]), to adjust with the builder.
    pub fn exponential() -> RetryBuilder {
        RetryBuilder {
            policy: RetryPolicy::default(),
        }
    }

    /// Linear backoff: 6 attempts, 5 s initial delay growing by 5 s, 60 s cap, full jitter.
    pub fn linear() -> RetryBuilder {
        RetryBuilder {
            policy: RetryPolicy::unchecked(
                6,
                Duration::from_secs(5),
                Duration::from_secs(60),
                Backoff::Linear {
                    increment: Duration::from_secs(5),
                },
                Jitter::Full,
            ),
        }
    }

    /// The same `delay` before every retry, without jitter; 6 attempts.
    pub fn fixed(delay: Duration) -> RetryBuilder {
        let delay = clamp_delay(delay);
        RetryBuilder {
            policy: RetryPolicy::unchecked(
                6,
                delay,
                delay,
                Backoff::Linear {
                    increment: Duration::ZERO,
                },
                Jitter::None,
            ),
        }
    }
}

fn clamp_delay(delay: Duration) -> Duration {
    delay.min(Duration::from_secs(u64::from(MAX_WIRE_DELAY_SECONDS)))
}

impl RetryBuilder {
    /// Total executions allowed, counting the first; 0 means 1.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.policy.max_attempts = attempts.max(1);
        self
    }

    /// The un-jittered delay before the first retry (at most 366 days); raises
    /// `max_delay` if it was lower.
    pub fn initial_delay(mut self, delay: Duration) -> Self {
        let delay = clamp_delay(delay);
        self.policy.initial_delay = delay;
        self.policy.max_delay = self.policy.max_delay.max(delay);
        self
    }

    /// The cap on the un-jittered delay (at most 366 days); lowers `initial_delay` if it
    /// was higher.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        let delay = clamp_delay(delay);
        self.policy.max_delay = delay;
        self.policy.initial_delay = self.policy.initial_delay.min(delay);
        self
    }

    /// Exponential growth per attempt, within 1..=1000 (not a number means 1). Turns a
    /// linear builder exponential.
    pub fn backoff_rate(mut self, rate: f64) -> Self {
        let rate = if rate.is_nan() {
            1.0
        } else {
            rate.clamp(1.0, 1000.0)
        };
        self.policy.backoff = Backoff::Exponential { rate };
        self
    }

    /// Linear growth per attempt (at most 366 days). Turns an exponential builder linear.
    pub fn increment(mut self, increment: Duration) -> Self {
        self.policy.backoff = Backoff::Linear {
            increment: clamp_delay(increment),
        };
        self
    }

    /// The jitter applied to each delay.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.policy = self.policy.with_jitter(jitter);
        self
    }

    /// See [`RetryPolicy::retry_if_error_type`].
    pub fn retry_if_error_type(mut self, name: impl Into<String>) -> Self {
        self.policy = self.policy.retry_if_error_type(name);
        self
    }

    /// See [`RetryPolicy::retry_if_message_contains`].
    pub fn retry_if_message_contains(mut self, substring: impl Into<String>) -> Self {
        self.policy = self.policy.retry_if_message_contains(substring);
        self
    }

    /// See [`RetryPolicy::retry_if_message_matches`]; the one setter that can fail, with
    /// [`RetryConfigError::InvalidPattern`] naming the pattern and what is wrong with it.
    pub fn retry_if_message_matches(mut self, pattern: &str) -> Result<Self, RetryConfigError> {
        self.policy = self.policy.retry_if_message_matches(pattern)?;
        Ok(self)
    }

    /// The policy.
    pub fn build(self) -> RetryPolicy {
        self.policy
    }
}

impl From<RetryBuilder> for RetryPolicy {
    fn from(builder: RetryBuilder) -> Self {
        builder.policy
    }
}

impl RetryStrategy for RetryBuilder {
    fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision {
        self.policy.decide(error, attempt, rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_values_clamp_to_the_nearest_valid_one() {
        let year = Duration::from_secs(400 * 24 * 3600);
        let p = RetryPolicy::exponential()
            .max_attempts(0)
            .max_delay(year)
            .initial_delay(year)
            .backoff_rate(f64::NAN)
            .build();
        assert_eq!(p.max_attempts(), 1);
        let cap = Duration::from_secs(u64::from(MAX_WIRE_DELAY_SECONDS));
        assert_eq!((p.initial_delay(), p.max_delay()), (cap, cap));
        assert_eq!(p.backoff(), Backoff::Exponential { rate: 1.0 });
        // The one set last wins.
        let p = RetryPolicy::exponential()
            .initial_delay(Duration::from_secs(90))
            .build();
        assert_eq!(
            p.max_delay(),
            Duration::from_secs(90),
            "max raised to initial"
        );
        let p = RetryPolicy::exponential()
            .initial_delay(Duration::from_secs(90))
            .max_delay(Duration::from_secs(10))
            .build();
        assert_eq!(
            p.initial_delay(),
            Duration::from_secs(10),
            "initial lowered to max"
        );
        assert_eq!(
            RetryPolicy::exponential()
                .backoff_rate(1e9)
                .build()
                .backoff(),
            Backoff::Exponential { rate: 1000.0 }
        );
    }

    #[test]
    fn defaults_match_the_documented_presets() {
        let d = RetryPolicy::default();
        let e = RetryPolicy::exponential().build();
        assert_eq!(
            (
                e.max_attempts(),
                e.initial_delay(),
                e.max_delay(),
                e.backoff(),
                e.jitter()
            ),
            (
                d.max_attempts(),
                d.initial_delay(),
                d.max_delay(),
                d.backoff(),
                d.jitter()
            )
        );
        let f = RetryPolicy::fixed(Duration::from_secs(3)).build();
        assert_eq!(
            (1..6).map(|a| f.base_delay(a)).collect::<Vec<_>>(),
            vec![Duration::from_secs(3); 5]
        );
        assert_eq!(f.jitter(), Jitter::None);
    }

    #[test]
    fn an_invalid_pattern_is_reported_with_the_pattern() {
        let e = RetryPolicy::exponential()
            .retry_if_message_matches("5(\\d")
            .unwrap_err();
        let message = e.to_string();
        assert!(
            message.contains("5(") && message.contains("not a valid regular expression"),
            "{message}"
        );
    }
}
