//! Ready-made API failures for fault injection, and the fault plan a
//! [`LocalClient`](crate::LocalClient) follows.

use std::collections::VecDeque;

use durable_proto::{ApiFailure, OperationAction, OperationUpdate};

/// `429 TooManyRequestsException`: transient; the SDK retries the invocation.
pub fn throttled() -> ApiFailure {
    ApiFailure::new(Some(429), Some("TooManyRequestsException"), "Rate exceeded")
}

/// `500 ServiceException`: transient; the SDK retries the invocation.
pub fn service_unavailable() -> ApiFailure {
    ApiFailure::new(
        Some(500),
        Some("ServiceException"),
        "The service encountered an internal error.",
    )
}

/// `400 InvalidParameterValueException` with `message`: permanent; the SDK fails the
/// execution.
pub fn validation(message: impl Into<String>) -> ApiFailure {
    ApiFailure::new(Some(400), Some("InvalidParameterValueException"), message)
}

/// `400 InvalidParameterValueException: Invalid checkpoint token`: the SDK retries the
/// invocation (a fresh invocation gets a fresh token).
pub fn stale_token() -> ApiFailure {
    validation(crate::ServiceError::INVALID_TOKEN)
}

/// A call that got no response at all (connection reset, timeout): transient.
pub fn no_response() -> ApiFailure {
    ApiFailure::new(None, None, "connection reset by peer")
}

/// Which START update to drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StartDrop {
    /// Only a START of an operation with this name; `None`: any START.
    pub(crate) name: Option<String>,
}

/// The faults still to inject.
#[derive(Debug, Default)]
pub(crate) struct FaultPlan {
    pub(crate) checkpoint_failures: VecDeque<ApiFailure>,
    pub(crate) state_failures: VecDeque<ApiFailure>,
    pub(crate) start_drops: VecDeque<StartDrop>,
    pub(crate) stale_tokens: u32,
    /// Crash after this many more acknowledged checkpoint calls.
    pub(crate) crash_after: Option<u64>,
}

impl FaultPlan {
    /// Removes the START updates the plan drops from `updates`; returns how many it dropped.
    pub(crate) fn drop_starts(&mut self, updates: &mut Vec<OperationUpdate>) -> u64 {
        let mut dropped = 0;
        let mut i = 0;
        while i < updates.len() && !self.start_drops.is_empty() {
            let update = &updates[i];
            let hit = if update.action == OperationAction::Start {
                self.start_drops
                    .iter()
                    .position(|d| d.name.is_none() || d.name.as_deref() == update.name.as_deref())
            } else {
                None
            };
            match hit {
                Some(position) => {
                    self.start_drops.remove(position);
                    updates.remove(i);
                    dropped += 1;
                }
                None => i += 1,
            }
        }
        dropped
    }

    /// Counts an acknowledged checkpoint call; `true` when the invocation must crash now.
    pub(crate) fn acknowledged(&mut self) -> bool {
        match self.crash_after.as_mut() {
            Some(remaining) => {
                *remaining = remaining.saturating_sub(1);
                if *remaining == 0 {
                    self.crash_after = None;
                    true
                } else {
                    false
                }
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use durable_proto::{FailureClass, OperationType};

    #[test]
    fn failures_classify_as_intended() {
        assert_eq!(throttled().class(), FailureClass::RetryInvocation);
        assert_eq!(service_unavailable().class(), FailureClass::RetryInvocation);
        assert_eq!(no_response().class(), FailureClass::RetryInvocation);
        assert_eq!(stale_token().class(), FailureClass::RetryInvocation);
        assert_eq!(validation("bad").class(), FailureClass::FailExecution);
    }

    #[test]
    fn drops_matching_starts_only() {
        let mut plan = FaultPlan::default();
        plan.start_drops.push_back(StartDrop {
            name: Some("b".into()),
        });
        let update = |id: &str, name: &str, action| {
            let mut u = OperationUpdate::new(id, OperationType::Step, action);
            u.name = Some(name.into());
            u
        };
        let mut updates = vec![
            update("1", "a", OperationAction::Start),
            update("2", "b", OperationAction::Succeed),
            update("2", "b", OperationAction::Start),
        ];
        assert_eq!(plan.drop_starts(&mut updates), 1);
        assert_eq!(updates.len(), 2);
        assert!(plan.start_drops.is_empty());
        assert_eq!(plan.drop_starts(&mut updates), 0);
    }

    #[test]
    fn crash_countdown() {
        let mut plan = FaultPlan {
            crash_after: Some(2),
            ..FaultPlan::default()
        };
        assert!(!plan.acknowledged());
        assert!(plan.acknowledged());
        assert!(!plan.acknowledged());
    }
}
