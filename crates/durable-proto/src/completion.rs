//! When a map or parallel completes: the running counts, the thresholds and presets, a
//! custom rule, and the completion reason.

use std::fmt;
use std::sync::Arc;

use crate::error::ExecutionError;

/// The running counts a completion rule looks at.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Items in the batch.
    pub total: u32,
    /// Items started so far (finished or not).
    pub started: u32,
    /// Items that succeeded.
    pub succeeded: u32,
    /// Items that failed.
    pub failed: u32,
}

impl BatchCounts {
    /// Items that finished, either way.
    pub fn completed(&self) -> u32 {
        self.succeeded + self.failed
    }
}

/// A custom completion rule: `true` completes the batch now.
pub type CompletionPredicate = Arc<dyn Fn(&BatchCounts) -> bool + Send + Sync>;

/// When a batch completes, besides every item having finished.
///
/// Thresholds combine: the batch completes as soon as any one is met. The failure
/// percentage is on a 0–100 scale, of all items in the batch (started or not), and is
/// exceeded when strictly greater: 25 tolerates one failure in four items, not two. With no
/// threshold set every item runs ([`all_completed`](Self::all_completed), the default).
#[derive(Clone, Default)]
pub struct CompletionConfig {
    min_successful: Option<u32>,
    tolerated_failure_count: Option<u32>,
    tolerated_failure_percentage: Option<f64>,
    predicate: Option<CompletionPredicate>,
}

impl fmt::Debug for CompletionConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompletionConfig")
            .field("min_successful", &self.min_successful)
            .field("tolerated_failure_count", &self.tolerated_failure_count)
            .field(
                "tolerated_failure_percentage",
                &self.tolerated_failure_percentage,
            )
            .field("predicate", &self.predicate.is_some())
            .finish()
    }
}

impl CompletionConfig {
    /// Every item runs, whatever fails (the default).
    pub fn all_completed() -> Self {
        Self::default()
    }

    /// Stops at the first failure.
    pub fn all_successful() -> Self {
        Self::default().tolerated_failure_count(0)
    }

    /// Stops at the first success.
    pub fn first_successful() -> Self {
        Self::default().min_successful(1)
    }

    /// Completes once `n` items succeeded.
    pub fn min_successful(mut self, n: u32) -> Self {
        self.min_successful = Some(n);
        self
    }

    /// Completes once more than `n` items failed.
    pub fn tolerated_failure_count(mut self, n: u32) -> Self {
        self.tolerated_failure_count = Some(n);
        self
    }

    /// Completes once more than `percent` (0–100) of all items failed.
    pub fn tolerated_failure_percentage(mut self, percent: f64) -> Self {
        self.tolerated_failure_percentage = Some(percent);
        self
    }

    /// A custom rule over the running counts, checked after every item ends; it replaces
    /// the thresholds (setting both is refused).
    pub fn custom(predicate: impl Fn(&BatchCounts) -> bool + Send + Sync + 'static) -> Self {
        Self {
            predicate: Some(Arc::new(predicate)),
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self, what: &'static str) -> Result<(), ExecutionError> {
        let invalid = |reason: String| Err(ExecutionError::InvalidBatch { what, reason });
        if let Some(p) = self.tolerated_failure_percentage {
            if !(0.0..=100.0).contains(&p) {
                return invalid(format!(
                    "tolerated failure percentage {p} is outside 0..=100 (the scale is percent, \
                     not a ratio: 25 tolerates one failure in four items)"
                ));
            }
        }
        let thresholds = self.min_successful.is_some()
            || self.tolerated_failure_count.is_some()
            || self.tolerated_failure_percentage.is_some();
        if self.predicate.is_some() && thresholds {
            return invalid(
                "a custom completion rule replaces the thresholds; set one or the other".into(),
            );
        }
        Ok(())
    }

    /// Whether, and why, a batch with these counts is complete.
    pub(crate) fn evaluate(&self, counts: &BatchCounts) -> Option<CompletionReason> {
        let all = counts.completed() >= counts.total;
        if let Some(predicate) = &self.predicate {
            if predicate(counts) {
                return Some(CompletionReason::Custom);
            }
            return all.then_some(CompletionReason::AllCompleted);
        }
        let failed = counts.failed;
        let over_count = self.tolerated_failure_count.is_some_and(|t| failed > t);
        let over_percent = self.tolerated_failure_percentage.is_some_and(|p| {
            counts.total > 0 && f64::from(failed) * 100.0 > p * f64::from(counts.total)
        });
        if over_count || over_percent {
            return Some(CompletionReason::FailureToleranceExceeded);
        }
        if self.min_successful.is_some_and(|m| counts.succeeded >= m) {
            return Some(CompletionReason::MinSuccessfulReached);
        }
        all.then_some(CompletionReason::AllCompleted)
    }
}

/// Why a batch completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CompletionReason {
    /// Every item finished.
    AllCompleted,
    /// The minimum number of successes was reached.
    MinSuccessfulReached,
    /// More items failed than the configuration tolerates.
    FailureToleranceExceeded,
    /// The custom completion rule said so.
    Custom,
}

impl CompletionReason {
    /// The name the official SDKs use (`ALL_COMPLETED`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AllCompleted => "ALL_COMPLETED",
            Self::MinSuccessfulReached => "MIN_SUCCESSFUL_REACHED",
            Self::FailureToleranceExceeded => "FAILURE_TOLERANCE_EXCEEDED",
            Self::Custom => "CUSTOM",
        }
    }

    /// The reason named `s` ([`as_str`](Self::as_str)'s inverse).
    pub fn from_name(s: &str) -> Option<Self> {
        [
            Self::AllCompleted,
            Self::MinSuccessfulReached,
            Self::FailureToleranceExceeded,
            Self::Custom,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
    }
}
