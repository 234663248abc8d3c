//! The runner's errors, each with a stable code.

use durable_service::ServiceError;

/// An error of the [`LocalRunner`](crate::LocalRunner).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunnerError {
    /// No handler is registered under this function name.
    #[error("no handler is registered for function `{name}`; call LocalRunner::register first")]
    UnknownFunction {
        /// The function name asked for.
        name: String,
    },
    /// The service refused a request.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The execution input could not be serialized as JSON.
    #[error("the execution input could not be serialized as JSON: {message}")]
    Input {
        /// The serializer's message.
        message: String,
    },
    /// The execution was invoked as often as the runner allows without ending: a livelock,
    /// or a workflow that needs a larger cap.
    #[error(
        "execution {arn} did not end within {limit} invocations (livelock?); raise the cap with \
         LocalRunnerBuilder::max_invocations if the workflow really needs more"
    )]
    InvocationLimit {
        /// The execution's ARN; [`LocalRunner::execution`](crate::LocalRunner::execution)
        /// still shows its state.
        arn: String,
        /// The cap.
        limit: u32,
    },
    /// The execution's result is missing or does not have the requested type.
    #[error("the execution result is unavailable as the requested type: {message}")]
    Result {
        /// What went wrong.
        message: String,
    },
}

impl RunnerError {
    /// A stable code for this kind of error (`DL-R001`…), for logs and documentation.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownFunction { .. } => "DL-R001",
            Self::Service(_) => "DL-R002",
            Self::Input { .. } => "DL-R003",
            Self::InvocationLimit { .. } => "DL-R004",
            Self::Result { .. } => "DL-R005",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_refusal_keeps_its_code_inside_a_runner_error() {
        let r = RunnerError::from(ServiceError::ResourceNotFound {
            message: "gone".into(),
        });
        assert_eq!(r.code(), "DL-R002");
        assert_eq!(r.to_string(), "ResourceNotFoundException: gone");
    }
}
