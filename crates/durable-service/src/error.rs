//! The service's errors, each with a stable code.

use durable_proto::ApiFailure;

/// An error the local durable-execution service returns, named and worded like the real
/// service's (and the reference emulator's) so SDK code classifies it the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// `InvalidParameterValueException` (HTTP 400): a rejected checkpoint batch, a stale or
    /// reused checkpoint token, a bad marker or an oversize payload.
    #[error("InvalidParameterValueException: {message}")]
    InvalidParameterValue {
        /// The service's message, e.g. `Invalid checkpoint token`.
        message: String,
    },
    /// `ResourceNotFoundException` (HTTP 404): no such execution or callback.
    #[error("ResourceNotFoundException: {message}")]
    ResourceNotFound {
        /// What was not found.
        message: String,
    },
    /// `CallbackTimeoutException` (HTTP 400): the callback already completed or timed out.
    #[error("CallbackTimeoutException: {message}")]
    CallbackTimeout {
        /// Why the callback cannot be completed.
        message: String,
    },
    /// `ResourceConflictException` (HTTP 409): the request does not fit the execution's
    /// current state, e.g. starting an invocation while one is in flight or after the
    /// execution ended.
    #[error("ResourceConflictException: {message}")]
    ResourceConflict {
        /// What conflicts.
        message: String,
    },
    /// `ServiceException` (HTTP 500): the file-backed store could not be opened, read or
    /// written. A call that fails this way may still have changed the in-memory state; the
    /// store catches up with the next successful write. The SDK retries the invocation.
    #[error("ServiceException: {message}")]
    Storage {
        /// What the store reported, with the file's path.
        message: String,
    },
}

impl ServiceError {
    /// The message the real service uses for a stale, reused or unknown checkpoint token.
    pub const INVALID_TOKEN: &'static str = "Invalid checkpoint token";

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameterValue {
            message: message.into(),
        }
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::ResourceNotFound {
            message: message.into(),
        }
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::ResourceConflict {
            message: message.into(),
        }
    }

    #[cfg_attr(not(feature = "file-store"), allow(dead_code))]
    pub(crate) fn storage(message: impl Into<String>) -> Self {
        Self::Storage {
            message: message.into(),
        }
    }

    pub(crate) fn invalid_token() -> Self {
        Self::invalid(Self::INVALID_TOKEN)
    }

    /// A stable code for this kind of error (`DL-S001`…), for logs and documentation.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidParameterValue { .. } => "DL-S001",
            Self::ResourceNotFound { .. } => "DL-S002",
            Self::CallbackTimeout { .. } => "DL-S003",
            Self::ResourceConflict { .. } => "DL-S004",
            Self::Storage { .. } => "DL-S005",
        }
    }

    /// The service's error name, e.g. `InvalidParameterValueException`.
    pub fn error_name(&self) -> &'static str {
        match self {
            Self::InvalidParameterValue { .. } => "InvalidParameterValueException",
            Self::ResourceNotFound { .. } => "ResourceNotFoundException",
            Self::CallbackTimeout { .. } => "CallbackTimeoutException",
            Self::ResourceConflict { .. } => "ResourceConflictException",
            Self::Storage { .. } => "ServiceException",
        }
    }

    /// The HTTP status the real API answers with.
    pub fn http_status(&self) -> u16 {
        match self {
            Self::InvalidParameterValue { .. } | Self::CallbackTimeout { .. } => 400,
            Self::ResourceNotFound { .. } => 404,
            Self::ResourceConflict { .. } => 409,
            Self::Storage { .. } => 500,
        }
    }

    /// The message without the error name.
    pub fn message(&self) -> &str {
        match self {
            Self::InvalidParameterValue { message }
            | Self::ResourceNotFound { message }
            | Self::CallbackTimeout { message }
            | Self::ResourceConflict { message }
            | Self::Storage { message } => message,
        }
    }

    /// The failure as an SDK driver sees a failed API call.
    pub fn to_api_failure(&self) -> ApiFailure {
        ApiFailure::new(
            Some(self.http_status()),
            Some(self.error_name()),
            self.message(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_statuses_and_codes() {
        let e = ServiceError::invalid_token();
        assert_eq!(e.error_name(), "InvalidParameterValueException");
        assert_eq!(e.http_status(), 400);
        assert_eq!(e.code(), "DL-S001");
        assert_eq!(
            e.to_string(),
            "InvalidParameterValueException: Invalid checkpoint token"
        );
        let failure = e.to_api_failure();
        assert_eq!(failure.http_status, Some(400));
        assert_eq!(
            failure.class(),
            durable_proto::FailureClass::RetryInvocation,
            "a stale token is retried by the SDK"
        );
        let e = ServiceError::invalid("Invalid parent operation id.");
        assert_eq!(
            e.to_api_failure().class(),
            durable_proto::FailureClass::FailExecution
        );
        assert_eq!(ServiceError::not_found("x").http_status(), 404);
        assert_eq!(ServiceError::conflict("x").code(), "DL-S004");
        let e = ServiceError::storage("disk full");
        assert_eq!((e.code(), e.http_status()), ("DL-S005", 500));
        assert_eq!(
            e.to_api_failure().class(),
            durable_proto::FailureClass::RetryInvocation
        );
    }
}
