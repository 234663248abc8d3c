use serde::{Deserialize, Serialize};

use super::ErrorObject;

/// The `Status` of the handler's response to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InvocationStatus {
    /// `SUCCEEDED`: the execution finished with a result.
    Succeeded,
    /// `FAILED`: the execution finished with an error.
    Failed,
    /// `PENDING`: the execution suspended; the service re-invokes when something pending
    /// completes. Only valid while at least one operation is pending.
    Pending,
}

/// What the handler returns to the service at the end of an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationOutput {
    /// The outcome.
    pub status: InvocationStatus,
    /// With SUCCEEDED: the serialized result (`""` when it was already checkpointed through an
    /// EXECUTION update).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// With FAILED: the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl InvocationOutput {
    /// A SUCCEEDED response; `None` omits `Result`.
    pub fn succeeded(result: Option<String>) -> Self {
        Self {
            status: InvocationStatus::Succeeded,
            result,
            error: None,
        }
    }

    /// A FAILED response carrying `error`.
    pub fn failed(error: ErrorObject) -> Self {
        Self {
            status: InvocationStatus::Failed,
            result: None,
            error: Some(error),
        }
    }

    /// A PENDING response (suspend until the service re-invokes).
    pub fn pending() -> Self {
        Self {
            status: InvocationStatus::Pending,
            result: None,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_shapes() {
        let json = |o: &InvocationOutput| serde_json::to_string(o).unwrap();
        assert_eq!(
            json(&InvocationOutput::pending()),
            r#"{"Status":"PENDING"}"#
        );
        assert_eq!(
            json(&InvocationOutput::succeeded(None)),
            r#"{"Status":"SUCCEEDED"}"#
        );
        assert_eq!(
            json(&InvocationOutput::succeeded(Some("{\"a\":1}".into()))),
            r#"{"Status":"SUCCEEDED","Result":"{\"a\":1}"}"#
        );
        let failed = InvocationOutput::failed(ErrorObject::new("Boom", "bad"));
        assert_eq!(
            json(&failed),
            r#"{"Status":"FAILED","Error":{"ErrorType":"Boom","ErrorMessage":"bad"}}"#
        );
        assert_eq!(
            serde_json::from_str::<InvocationOutput>(&json(&failed)).unwrap(),
            failed
        );
    }
}
