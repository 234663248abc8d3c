use serde::{Deserialize, Serialize};

/// The service's error record: what a failed step, callback, invoke, context or
/// execution carries on the wire (`ErrorObject`). Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ErrorObject {
    /// The error's type name, e.g. `PaymentDeclined` or `my_crate::PaymentError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Extra structured data, as a string (often JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<String>,
    /// Stack trace lines, if the producer recorded any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<Vec<String>>,
}

impl ErrorObject {
    /// An error with a type name and a message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            error_type: Some(error_type.into()),
            error_message: Some(message.into()),
            error_data: None,
            stack_trace: None,
        }
    }

    /// The type name, or `""` when absent.
    pub fn type_name(&self) -> &str {
        self.error_type.as_deref().unwrap_or("")
    }

    /// The message, or `""` when absent.
    pub fn message(&self) -> &str {
        self.error_message.as_deref().unwrap_or("")
    }
}

impl std::fmt::Display for ErrorObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.error_type.as_deref(), self.error_message.as_deref()) {
            (Some(t), Some(m)) => write!(f, "{t}: {m}"),
            (Some(t), None) => f.write_str(t),
            (None, Some(m)) => f.write_str(m),
            (None, None) => f.write_str("unknown error"),
        }
    }
}

impl std::error::Error for ErrorObject {}
