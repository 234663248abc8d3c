//! Classification of failed checkpoint / state API calls.
//!
//! The driver reports what the call returned; the engine decides what it means, so both
//! drivers react identically.

/// A failed CheckpointDurableExecution or GetDurableExecutionState call, as the driver saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ApiFailure {
    /// The HTTP status, if a response arrived (`None` for timeouts, resets, DNS errors).
    pub http_status: Option<u16>,
    /// The service's error code, e.g. `InvalidParameterValueException`.
    pub error_code: Option<String>,
    /// The error message.
    pub message: String,
}

/// What a failed API call means for the execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureClass {
    /// Transient: end the invocation with an error so Lambda invokes again with fresh state.
    RetryInvocation,
    /// Permanent: fail the execution with the error.
    FailExecution,
}

impl ApiFailure {
    /// A failure with an HTTP status, an error code and a message.
    pub fn new(
        http_status: Option<u16>,
        error_code: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            http_status,
            error_code: error_code.map(str::to_owned),
            message: message.into(),
        }
    }

    /// Classifies the failure the way the service expects SDKs to.
    ///
    /// * KMS errors: the execution's key is unusable; retrying cannot help.
    /// * A stale or consumed checkpoint token (`InvalidParameterValueException` whose message
    ///   starts with "Invalid checkpoint token", compared case-insensitively because the
    ///   service and SDKs disagree on case): a new invocation gets a fresh token.
    /// * 429 and 5xx, and failures with no response at all: transient.
    /// * Any other 4xx (validation, size limits, not found): permanent. Retrying an
    ///   oversize payload would loop forever.
    pub fn class(&self) -> FailureClass {
        let code = self.error_code.as_deref().unwrap_or("");
        if code.starts_with("KMS") {
            return FailureClass::FailExecution;
        }
        if is_stale_token(&self.message) {
            return FailureClass::RetryInvocation;
        }
        if code == "TooManyRequestsException" || code == "ServiceException" {
            return FailureClass::RetryInvocation;
        }
        match self.http_status {
            Some(429) => FailureClass::RetryInvocation,
            Some(s) if (400..500).contains(&s) => FailureClass::FailExecution,
            Some(_) | None => FailureClass::RetryInvocation,
        }
    }
}

fn is_stale_token(message: &str) -> bool {
    const PREFIX: &str = "invalid checkpoint token";
    message
        .trim_start()
        .get(..PREFIX.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(status: Option<u16>, code: Option<&str>, msg: &str) -> FailureClass {
        ApiFailure::new(status, code, msg).class()
    }

    #[test]
    fn classification_table() {
        use FailureClass::*;
        assert_eq!(
            class(Some(429), Some("TooManyRequestsException"), "slow down"),
            RetryInvocation
        );
        assert_eq!(
            class(Some(500), Some("ServiceException"), "oops"),
            RetryInvocation
        );
        assert_eq!(class(Some(503), None, ""), RetryInvocation);
        assert_eq!(class(None, None, "connection reset"), RetryInvocation);
        assert_eq!(
            class(
                Some(400),
                Some("InvalidParameterValueException"),
                "Invalid checkpoint token"
            ),
            RetryInvocation
        );
        assert_eq!(
            class(
                Some(400),
                Some("InvalidParameterValueException"),
                "Invalid Checkpoint Token: used"
            ),
            RetryInvocation
        );
        assert_eq!(
            class(
                Some(400),
                Some("InvalidParameterValueException"),
                "Payload too large"
            ),
            FailExecution
        );
        assert_eq!(
            class(Some(502), Some("KMSDisabledException"), "key off"),
            FailExecution
        );
        assert_eq!(
            class(Some(404), Some("ResourceNotFoundException"), "gone"),
            FailExecution
        );
        assert_eq!(class(Some(413), None, "too big"), FailExecution);
    }
}
