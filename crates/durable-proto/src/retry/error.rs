//! Errors from building a [`RetryPolicy`](super::RetryPolicy).

use std::time::Duration;

/// A [`RetryPolicy`](super::RetryPolicy) could not be built from the given
/// settings. Each variant has a stable [`code`](RetryConfigError::code).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RetryConfigError {
    /// `max_attempts` was 0 (code `DP-R001`).
    #[error(
        "[DP-R001] max_attempts is 0; it counts the first attempt, so it must be at least 1 \
         (use 1 to never retry)"
    )]
    ZeroMaxAttempts,

    /// A delay setting exceeded 366 days, the longest retry delay the service
    /// accepts (code `DP-R002`).
    #[error(
        "[DP-R002] {parameter} is {value:?}; it must be at most 366 days (31622400 s), \
         the longest retry delay the service accepts"
    )]
    DelayTooLong {
        /// Which setting: `"initial_delay"`, `"max_delay"` or `"increment"`.
        parameter: &'static str,
        /// The rejected value.
        value: Duration,
    },

    /// `max_delay` was below `initial_delay` (code `DP-R003`).
    #[error(
        "[DP-R003] max_delay ({max_delay:?}) is less than initial_delay ({initial_delay:?}); \
         max_delay must be at least initial_delay"
    )]
    MaxDelayBelowInitial {
        /// The configured first delay.
        initial_delay: Duration,
        /// The configured cap.
        max_delay: Duration,
    },

    /// `backoff_rate` was NaN, infinite or below 1.0 (code `DP-R004`).
    #[error(
        "[DP-R004] backoff_rate is {rate}; it must be a finite number of at least 1.0 \
         (1.0 keeps the delay constant, 2.0 doubles it each attempt)"
    )]
    InvalidBackoffRate {
        /// The rejected rate.
        rate: f64,
    },

    /// A `retry_if_message_matches` pattern is not a valid regular expression
    /// (code `DP-R005`).
    #[error(
        "[DP-R005] retry_if_message_matches pattern {pattern:?} is not a valid regular \
         expression: {reason}"
    )]
    InvalidPattern {
        /// The rejected pattern.
        pattern: String,
        /// The regex parser's explanation.
        reason: String,
    },
}

impl RetryConfigError {
    /// A stable identifier for this kind of error, e.g. `"DP-R001"`, suitable
    /// for matching in tests, logs and documentation; it never changes between
    /// releases even if the message wording does.
    pub fn code(&self) -> &'static str {
        match self {
            RetryConfigError::ZeroMaxAttempts => "DP-R001",
            RetryConfigError::DelayTooLong { .. } => "DP-R002",
            RetryConfigError::MaxDelayBelowInitial { .. } => "DP-R003",
            RetryConfigError::InvalidBackoffRate { .. } => "DP-R004",
            RetryConfigError::InvalidPattern { .. } => "DP-R005",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_prefix_messages() {
        let all = [
            RetryConfigError::ZeroMaxAttempts,
            RetryConfigError::DelayTooLong {
                parameter: "max_delay",
                value: Duration::from_secs(40_000_000),
            },
            RetryConfigError::MaxDelayBelowInitial {
                initial_delay: Duration::from_secs(5),
                max_delay: Duration::from_secs(2),
            },
            RetryConfigError::InvalidBackoffRate { rate: 0.5 },
            RetryConfigError::InvalidPattern {
                pattern: "(".into(),
                reason: "unclosed group".into(),
            },
        ];
        let codes: Vec<_> = all.iter().map(RetryConfigError::code).collect();
        assert_eq!(
            codes,
            ["DP-R001", "DP-R002", "DP-R003", "DP-R004", "DP-R005"]
        );
        for err in &all {
            assert!(err.to_string().starts_with(&format!("[{}] ", err.code())));
        }
    }

    #[test]
    fn messages_name_the_value_and_the_allowed_range() {
        let err = RetryConfigError::MaxDelayBelowInitial {
            initial_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(2),
        };
        assert_eq!(
            err.to_string(),
            "[DP-R003] max_delay (2s) is less than initial_delay (5s); \
             max_delay must be at least initial_delay"
        );
        let err = RetryConfigError::InvalidBackoffRate { rate: 0.5 };
        assert!(err.to_string().contains("backoff_rate is 0.5"));
        assert!(err.to_string().contains("at least 1.0"));
        let err = RetryConfigError::DelayTooLong {
            parameter: "increment",
            value: Duration::from_secs(40_000_000),
        };
        assert!(err.to_string().contains("increment is 40000000s"));
        assert!(err.to_string().contains("at most 366 days"));
    }
}
