//! The built-in configurable strategy: backoff, cap, jitter and error filters.

use std::time::Duration;

use rand_core::RngCore;

use super::{Jitter, RetryConfigError, RetryDecision, RetryStrategy, MAX_WIRE_DELAY_SECONDS};
use crate::ErrorObject;

/// How the un-jittered delay grows with the attempt number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backoff {
    /// `initial_delay × rate^(attempt − 1)`.
    Exponential {
        /// Growth factor per attempt (finite, ≥ 1.0).
        rate: f64,
    },
    /// `initial_delay + increment × (attempt − 1)`.
    Linear {
        /// Added per attempt (may be zero for a fixed delay).
        increment: Duration,
    },
}

/// One retryable-error filter.
#[derive(Debug, Clone)]
enum ErrorFilter {
    Type(String),
    MessageContains(String),
    MessageMatches(regex_lite::Regex),
}

impl ErrorFilter {
    fn matches(&self, error: &ErrorObject) -> bool {
        match self {
            ErrorFilter::Type(name) => {
                let is = |actual: &str| {
                    actual == name
                        || actual
                            .strip_suffix(name.as_str())
                            .is_some_and(|prefix| prefix.ends_with("::"))
                };
                // `Generic<String>` is a `Generic`: compare without generic arguments too.
                let actual = error.type_name();
                is(actual) || actual.split_once('<').is_some_and(|(base, _)| is(base))
            }
            ErrorFilter::MessageContains(needle) => error.message().contains(needle.as_str()),
            ErrorFilter::MessageMatches(re) => re.is_match(error.message()),
        }
    }
}

/// The built-in [`RetryStrategy`]: exponential or linear backoff with a cap,
/// [`Jitter`], a maximum number of attempts and optional error filters.
///
/// For the attempt that just failed (`attempt`, 1-based, see
/// [`RetryStrategy`]):
///
/// 1. if `attempt >= max_attempts` ⇒ [`RetryDecision::Stop`] (`max_attempts`
///    counts the first attempt, so `max_attempts − 1` retries at most);
/// 2. if filters are set and none matches the error ⇒ `Stop`;
/// 3. otherwise `base` = [`base_delay`](Self::base_delay)`(attempt)`, i.e.
///    `min(initial × rate^(attempt−1), max_delay)` or
///    `min(initial + increment × (attempt−1), max_delay)`, and the delay is
///    the jittered `base` ([`Jitter::apply`]).
///
/// Steps 1 and 2 come before any draw, so a `Stop` never consumes randomness.
///
/// **Filters.** [`retry_if_error_type`](Self::retry_if_error_type),
/// [`retry_if_message_contains`](Self::retry_if_message_contains) and
/// [`retry_if_message_matches`](Self::retry_if_message_matches) may each be
/// added any number of times; an error is retryable if **any** filter matches.
/// With no filter at all every error is retryable.
///
/// **Presets.**
///
/// | constructor | attempts | initial | max | growth | jitter |
/// |---|---|---|---|---|---|
/// | [`RetryPolicy::default()`] | 6 | 5 s | 60 s | ×2 | Full |
/// | [`RetryPolicy::transient()`] | 3 | 1 s | 5 s | ×2 | Half |
/// | [`RetryPolicy::none()`] | 1 | – | – | – | – |
///
/// **Sub-second delays** are allowed, but the service schedules whole seconds:
/// every delay is sent rounded up, and at least 1 s (see
/// [`delay_to_wire_seconds`](crate::delay_to_wire_seconds)).
///
/// ```
/// use std::time::Duration;
/// use durable_proto::{
///     delay_to_wire_seconds, ErrorObject, Jitter, RetryDecision, RetryPolicy, RetryStrategy,
///     SeededRng,
/// };
///
/// // 5 attempts: 2 s, 6 s, 18 s, 30 s (capped), no jitter; only payment errors.
/// let policy = RetryPolicy::try_exponential(5, Duration::from_secs(2), Duration::from_secs(30), 3.0)?
///     .with_jitter(Jitter::None)
///     .retry_if_error_type("PaymentError")
///     .retry_if_message_matches(r"(?i)temporar(y|ily) unavailable")?;
///
/// let mut rng = SeededRng::new(0);
/// let err = ErrorObject::new("billing::PaymentError", "card network down");
/// let RetryDecision::Retry { delay } = policy.decide(&err, 2, &mut rng) else { panic!() };
/// assert_eq!(delay_to_wire_seconds(delay), 6);
///
/// let other = ErrorObject::new("Validation", "bad input");
/// assert_eq!(policy.decide(&other, 1, &mut rng), RetryDecision::Stop);
/// # Ok::<(), durable_proto::RetryConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub(super) max_attempts: u32,
    pub(super) initial_delay: Duration,
    pub(super) max_delay: Duration,
    pub(super) backoff: Backoff,
    pub(super) jitter: Jitter,
    filters: Vec<ErrorFilter>,
}

/// The cross-SDK default: 6 attempts, 5 s initial, 60 s max, ×2, Full jitter.
/// First retries wait up to 5 s, 10 s, 20 s, 40 s, 60 s.
impl Default for RetryPolicy {
    fn default() -> Self {
        Self::unchecked(
            6,
            Duration::from_secs(5),
            Duration::from_secs(60),
            Backoff::Exponential { rate: 2.0 },
            Jitter::Full,
        )
    }
}

impl RetryPolicy {
    pub(super) fn unchecked(
        max_attempts: u32,
        initial_delay: Duration,
        max_delay: Duration,
        backoff: Backoff,
        jitter: Jitter,
    ) -> Self {
        Self {
            max_attempts,
            initial_delay,
            max_delay,
            backoff,
            jitter,
            filters: Vec::new(),
        }
    }

    /// For brief, transient faults: 3 attempts, 1 s initial, 5 s max, ×2,
    /// Half jitter.
    pub fn transient() -> Self {
        Self::unchecked(
            3,
            Duration::from_secs(1),
            Duration::from_secs(5),
            Backoff::Exponential { rate: 2.0 },
            Jitter::Half,
        )
    }

    /// Never retry: `max_attempts` is 1, so every failure is final. (Its delay
    /// settings, 1 s with no growth or jitter, are never used.)
    pub fn none() -> Self {
        Self::unchecked(
            1,
            Duration::from_secs(1),
            Duration::from_secs(1),
            Backoff::Exponential { rate: 1.0 },
            Jitter::None,
        )
    }

    /// Exponential backoff from positional settings, validated: `min(initial_delay ×
    /// backoff_rate^(attempt−1), max_delay)`, with [`Jitter::Full`] until
    /// [`with_jitter`](Self::with_jitter) says otherwise. The infallible builder
    /// [`RetryPolicy::exponential`] is usually nicer.
    ///
    /// Requirements: `max_attempts ≥ 1` (it counts the first attempt);
    /// `initial_delay ≤ max_delay ≤ 366 days`; `backoff_rate` finite and
    /// `≥ 1.0`. Sub-second delays are accepted but sent rounded up to at
    /// least 1 s.
    pub fn try_exponential(
        max_attempts: u32,
        initial_delay: Duration,
        max_delay: Duration,
        backoff_rate: f64,
    ) -> Result<Self, RetryConfigError> {
        let backoff = Backoff::Exponential { rate: backoff_rate };
        validate(max_attempts, initial_delay, max_delay, backoff)?;
        Ok(Self::unchecked(
            max_attempts,
            initial_delay,
            max_delay,
            backoff,
            Jitter::Full,
        ))
    }

    /// Linear backoff from positional settings, validated: `min(initial_delay + increment
    /// × (attempt−1), max_delay)`, with [`Jitter::Full`] until
    /// [`with_jitter`](Self::with_jitter) says otherwise. A zero `increment` gives a fixed
    /// delay. The infallible builder [`RetryPolicy::linear`] is usually nicer.
    ///
    /// Requirements: `max_attempts ≥ 1`; `initial_delay ≤ max_delay ≤ 366
    /// days`; `increment ≤ 366 days`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use durable_proto::{Jitter, RetryPolicy};
    ///
    /// let s = Duration::from_secs;
    /// let policy = RetryPolicy::try_linear(6, s(1), s(1), s(300))?.with_jitter(Jitter::None);
    /// let delays: Vec<_> = (1..6).map(|a| policy.base_delay(a)).collect();
    /// assert_eq!(delays, [s(1), s(2), s(3), s(4), s(5)]);
    /// # Ok::<(), durable_proto::RetryConfigError>(())
    /// ```
    pub fn try_linear(
        max_attempts: u32,
        initial_delay: Duration,
        increment: Duration,
        max_delay: Duration,
    ) -> Result<Self, RetryConfigError> {
        let backoff = Backoff::Linear { increment };
        validate(max_attempts, initial_delay, max_delay, backoff)?;
        Ok(Self::unchecked(
            max_attempts,
            initial_delay,
            max_delay,
            backoff,
            Jitter::Full,
        ))
    }

    /// Replace the jitter.
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// Retry only errors whose type name is `name` (or one of the other filters' matches).
    /// The name matches with or without a module path and generic arguments, so
    /// `"PaymentError"` matches `PaymentError`, `my_crate::billing::PaymentError` and
    /// `PaymentError<String>` (but not `NotAPaymentError`).
    ///
    /// Filters combine with *or*: with no filter every error is retried; once any filter is
    /// set, an error is retried only if at least one filter matches it.
    pub fn retry_if_error_type(mut self, name: impl Into<String>) -> Self {
        self.filters.push(ErrorFilter::Type(name.into()));
        self
    }

    /// Retry only errors whose message contains `substring` (case-sensitive), or that
    /// another filter matches.
    pub fn retry_if_message_contains(mut self, substring: impl Into<String>) -> Self {
        self.filters
            .push(ErrorFilter::MessageContains(substring.into()));
        self
    }

    /// Retry only errors whose message matches the regular expression
    /// `pattern` anywhere, or that another filter matches (not anchored; add `^…$` to
    /// match the whole message).
    /// Syntax is that of the `regex-lite` crate (Perl-like, `(?i)` for
    /// case-insensitive).
    ///
    /// # Errors
    ///
    /// [`RetryConfigError::InvalidPattern`] if `pattern` does not parse.
    pub fn retry_if_message_matches(mut self, pattern: &str) -> Result<Self, RetryConfigError> {
        let re = regex_lite::Regex::new(pattern).map_err(|e| RetryConfigError::InvalidPattern {
            pattern: pattern.to_owned(),
            reason: e.to_string(),
        })?;
        self.filters.push(ErrorFilter::MessageMatches(re));
        Ok(self)
    }

    /// Total number of executions allowed, counting the first one.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The un-jittered delay before the first retry.
    pub fn initial_delay(&self) -> Duration {
        self.initial_delay
    }

    /// The cap on the un-jittered delay.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// How the delay grows.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The jitter applied to each delay.
    pub fn jitter(&self) -> Jitter {
        self.jitter
    }

    /// Whether this policy's filters accept `error` (always true with no
    /// filters). Does not look at the attempt count.
    pub fn is_retryable(&self, error: &ErrorObject) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(error))
    }

    /// The un-jittered, capped delay after failed attempt `attempt` (1-based;
    /// 0 is treated as 1). Ignores `max_attempts`.
    ///
    /// Exponential growth is computed with IEEE-754 multiplications
    /// (square-and-multiply) and rounded to the nearest nanosecond, so the
    /// result is the same on every platform and exact for whole-second
    /// integer-rate cases such as 5 s × 2ⁿ.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let steps = attempt.max(1) - 1;
        let uncapped = match self.backoff {
            Backoff::Exponential { rate } => exponential_delay(self.initial_delay, rate, steps),
            Backoff::Linear { increment } => increment
                .checked_mul(steps)
                .and_then(|growth| growth.checked_add(self.initial_delay)),
        };
        uncapped.map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

impl RetryStrategy for RetryPolicy {
    fn decide(&self, error: &ErrorObject, attempt: u32, rng: &mut dyn RngCore) -> RetryDecision {
        let attempt = attempt.max(1);
        if attempt >= self.max_attempts || !self.is_retryable(error) {
            return RetryDecision::Stop;
        }
        RetryDecision::Retry {
            delay: self.jitter.apply(self.base_delay(attempt), rng),
        }
    }
}

/// `initial × rate^steps` to the nanosecond, or `None` when it exceeds what a
/// `u64` of nanoseconds holds (the caller then uses the cap).
fn exponential_delay(initial: Duration, rate: f64, steps: u32) -> Option<Duration> {
    if initial.is_zero() {
        return Some(Duration::ZERO);
    }
    let nanos = initial.as_nanos() as f64 * powu(rate, steps);
    // Below 2⁶⁴ ns (~584 years); also rejects infinity.
    if nanos < 18_446_744_073_709_551_615.0 {
        Some(Duration::from_nanos(nanos.round() as u64))
    } else {
        None
    }
}

/// `base^exp` by square-and-multiply: only IEEE-754 multiplications, so the
/// result does not depend on the platform's `powf`/`powi`.
fn powu(mut base: f64, mut exp: u32) -> f64 {
    let mut acc = 1.0;
    while exp > 0 {
        if exp & 1 == 1 {
            acc *= base;
        }
        base *= base;
        exp >>= 1;
    }
    acc
}

fn validate(
    max_attempts: u32,
    initial_delay: Duration,
    max_delay: Duration,
    backoff: Backoff,
) -> Result<(), RetryConfigError> {
    let limit = Duration::from_secs(u64::from(MAX_WIRE_DELAY_SECONDS));
    if max_attempts == 0 {
        return Err(RetryConfigError::ZeroMaxAttempts);
    }
    let mut delays = vec![("initial_delay", initial_delay), ("max_delay", max_delay)];
    if let Backoff::Linear { increment } = backoff {
        delays.push(("increment", increment));
    }
    if let Some(&(parameter, value)) = delays.iter().find(|(_, d)| *d > limit) {
        return Err(RetryConfigError::DelayTooLong { parameter, value });
    }
    if max_delay < initial_delay {
        return Err(RetryConfigError::MaxDelayBelowInitial {
            initial_delay,
            max_delay,
        });
    }
    if let Backoff::Exponential { rate } = backoff {
        if !rate.is_finite() || rate < 1.0 {
            return Err(RetryConfigError::InvalidBackoffRate { rate });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
