//! [`RemoteError`]: what can go wrong driving a deployed function through the Lambda API,
//! each with a stable code and a message that says what to do.

use std::fmt::Write as _;
use std::time::Duration;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ErrorMetadata, ProvideErrorMetadata, SdkError};

use crate::ExecutionStatus;

/// An error of the [`RemoteRunner`](super::RemoteRunner).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteError {
    /// `Invoke` found no such function (`ResourceNotFoundException`).
    #[error(
        "function `{function}` was not found ({message}); check the name or ARN, the qualifier \
         (a version or alias), and the region the client uses (AWS_REGION or the profile's)"
    )]
    FunctionNotFound {
        /// The function as it was asked for (name, `name:qualifier` or ARN).
        function: String,
        /// The service's message.
        message: String,
    },
    /// `Invoke` returned no `DurableExecutionArn`: the function is not a durable function
    /// (it was invoked once, as a plain function).
    #[error(
        "function `{function}` is not durable: Invoke returned HTTP {status_code} without a \
         DurableExecutionArn{}; enable durable execution on the function (DurableConfig in its \
         template) and invoke a version or alias published after that",
        function_error.as_deref().map(|e| format!(" (function error: {e})")).unwrap_or_default()
    )]
    NotDurable {
        /// The function as it was asked for.
        function: String,
        /// Invoke's HTTP status.
        status_code: i32,
        /// Invoke's `FunctionError`, if the plain invocation failed.
        function_error: Option<String>,
    },
    /// `GetDurableExecution` found no such execution.
    #[error(
        "durable execution {arn} was not found ({message}); is the ARN complete, and is the \
         client in the execution's region? (ended executions are kept for the function's \
         retention period only)"
    )]
    ExecutionNotFound {
        /// The execution's ARN.
        arn: String,
        /// The service's message.
        message: String,
    },
    /// The execution did not get where the runner was waiting for it to within the timeout.
    #[error(
        "timed out after {after:?} waiting for {waiting_for} of execution {arn}, which is \
         {status}{}; raise RemoteRunnerBuilder::timeout if it needs longer, or check the \
         function's logs",
        if hint.is_empty() { String::new() } else { format!(": {hint}") }
    )]
    Timeout {
        /// The execution's ARN.
        arn: String,
        /// What the runner waited for (`"the execution to end"`, `"callback `approval`"`).
        waiting_for: String,
        /// How long it waited.
        after: Duration,
        /// The execution's status when it gave up.
        status: ExecutionStatus,
        /// What holds the execution up, as far as the history shows (e.g. a callback that
        /// nobody completes), or empty.
        hint: String,
    },
    /// The execution ended before creating the callback the test waited for.
    #[error(
        "execution {arn} ended {status} without creating a callback named `{name}`; check the \
         name, or the execution's error"
    )]
    CallbackNotCreated {
        /// The execution's ARN.
        arn: String,
        /// The callback name waited for.
        name: String,
        /// How the execution ended.
        status: ExecutionStatus,
    },
    /// A Lambda API call failed.
    #[error("{operation} failed: {}{message}{}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default(), hint(code.as_deref(), *http_status, operation))]
    Api {
        /// The API operation, e.g. `GetDurableExecutionHistory`.
        operation: String,
        /// The service's error code (`AccessDeniedException`, …), if a response arrived.
        code: Option<String>,
        /// The HTTP status, if a response arrived.
        http_status: Option<u16>,
        /// The service's message, or the client's error chain.
        message: String,
    },
    /// The execution input could not be serialized as JSON.
    #[error("the execution input could not be serialized as JSON: {message}")]
    Input {
        /// The serializer's message.
        message: String,
    },
}

impl RemoteError {
    /// A stable code for this kind of error (`DL-A001`…), for logs and documentation.
    pub fn code(&self) -> &'static str {
        match self {
            Self::FunctionNotFound { .. } => "DL-A001",
            Self::NotDurable { .. } => "DL-A002",
            Self::ExecutionNotFound { .. } => "DL-A003",
            Self::Timeout { .. } => "DL-A004",
            Self::CallbackNotCreated { .. } => "DL-A005",
            Self::Api { .. } => "DL-A006",
            Self::Input { .. } => "DL-A007",
        }
    }

    /// A failed SDK call of `operation`.
    pub(crate) fn from_sdk<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let http_status = err.raw_response().map(|r| r.status().as_u16());
        let (code, message) = match err {
            SdkError::ServiceError(service) => {
                // An error the SDK could not match to a modeled one keeps what it parsed
                // in its source chain rather than in its own metadata.
                let parsed = metadata_in_chain(service.err());
                let code = err
                    .code()
                    .or_else(|| parsed.and_then(ErrorMetadata::code))
                    .map(str::to_owned);
                let message = err
                    .message()
                    .or_else(|| parsed.and_then(ErrorMetadata::message))
                    .filter(|m| !m.trim().is_empty())
                    .map_or_else(|| chain(service.err()), str::to_owned);
                (code, message)
            }
            _ => (None, chain(err)),
        };
        Self::Api {
            operation: operation.to_owned(),
            code,
            http_status,
            message,
        }
    }

    /// Whether this is the API's "no such resource": `ResourceNotFoundException`, or a
    /// bare 404 (dex-local-runner sends no code with it).
    fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::Api { code: Some(code), .. } if code == "ResourceNotFoundException"
        ) || matches!(
            self,
            Self::Api {
                code: None,
                http_status: Some(404),
                ..
            }
        )
    }

    /// A not-found refusal of a call about execution `arn` as [`ExecutionNotFound`](Self::ExecutionNotFound).
    pub(crate) fn about_execution(self, arn: &str) -> Self {
        if self.is_not_found() {
            Self::ExecutionNotFound {
                arn: arn.to_owned(),
                message: self.message().to_owned(),
            }
        } else {
            self
        }
    }

    /// A not-found refusal of `Invoke` as [`FunctionNotFound`](Self::FunctionNotFound).
    pub(crate) fn about_function(self, function: &str) -> Self {
        if self.is_not_found() {
            Self::FunctionNotFound {
                function: function.to_owned(),
                message: self.message().to_owned(),
            }
        } else {
            self
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Api { message, .. } => message,
            _ => "",
        }
    }

    /// The service's error code, for an [`Api`](Self::Api) error that has one.
    pub fn api_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}

/// The first [`ErrorMetadata`] among `err` and its sources.
fn metadata_in_chain<'a>(err: &'a (dyn std::error::Error + 'static)) -> Option<&'a ErrorMetadata> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(meta) = e.downcast_ref::<ErrorMetadata>() {
            return Some(meta);
        }
        next = e.source();
    }
    None
}

/// The error and its sources, joined: the SDK's own `Display` is terse (`dispatch failure`).
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let _ = write!(text, ": {s}");
        source = s.source();
    }
    text
}

/// The IAM permission an API operation needs.
fn permission(operation: &str) -> String {
    match operation {
        "Invoke" => "lambda:InvokeFunction".to_owned(),
        other => format!("lambda:{other}"),
    }
}

/// What to check, for the failures that have a usual cause.
fn hint(code: Option<&str>, http_status: Option<u16>, operation: &str) -> String {
    match code {
        Some("AccessDeniedException" | "AccessDenied") => format!(
            " (the caller's IAM policy needs {} on the function; see docs/remote-testing.md)",
            permission(operation)
        ),
        Some(
            "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "ExpiredTokenException"
            | "MissingAuthenticationTokenException",
        ) => " (check the credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID / \
              AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or the SSO session)"
            .to_owned(),
        Some("TooManyRequestsException") => {
            " (throttled: raise RemoteRunnerBuilder::poll_interval)".to_owned()
        }
        None if http_status.is_none() => " (no response: check the network, the region and \
              AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL if set)"
            .to_owned(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do_and_codes_are_stable() {
        let denied = RemoteError::Api {
            operation: "GetDurableExecutionHistory".into(),
            code: Some("AccessDeniedException".into()),
            http_status: Some(403),
            message: "not authorized".into(),
        };
        assert_eq!(denied.code(), "DL-A006");
        assert_eq!(denied.api_code(), Some("AccessDeniedException"));
        let text = denied.to_string();
        assert!(
            text.starts_with(
                "GetDurableExecutionHistory failed: AccessDeniedException: not authorized"
            ),
            "{text}"
        );
        assert!(text.contains("lambda:GetDurableExecutionHistory"), "{text}");
        let invoke = RemoteError::Api {
            operation: "Invoke".into(),
            code: Some("AccessDeniedException".into()),
            http_status: Some(403),
            message: "no".into(),
        };
        assert!(invoke.to_string().contains("lambda:InvokeFunction"));
        let offline = RemoteError::Api {
            operation: "Invoke".into(),
            code: None,
            http_status: None,
            message: "dispatch failure: connection refused".into(),
        };
        assert!(offline.to_string().contains("AWS_ENDPOINT_URL_LAMBDA"));

        let not_durable = RemoteError::NotDurable {
            function: "plain".into(),
            status_code: 202,
            function_error: None,
        };
        assert_eq!(not_durable.code(), "DL-A002");
        assert!(not_durable.to_string().contains("DurableConfig"));
        let timeout = RemoteError::Timeout {
            arn: "arn:x".into(),
            waiting_for: "the execution to end".into(),
            after: Duration::from_secs(5),
            status: ExecutionStatus::Running,
            hint: "callback `approval` is open".into(),
        };
        assert_eq!(
            timeout.to_string(),
            "timed out after 5s waiting for the execution to end of execution arn:x, which is \
             RUNNING: callback `approval` is open; raise RemoteRunnerBuilder::timeout if it \
             needs longer, or check the function's logs"
        );
        let codes: std::collections::BTreeSet<_> = [
            RemoteError::FunctionNotFound {
                function: "f".into(),
                message: "m".into(),
            }
            .code(),
            not_durable.code(),
            RemoteError::ExecutionNotFound {
                arn: "a".into(),
                message: "m".into(),
            }
            .code(),
            timeout.code(),
            RemoteError::CallbackNotCreated {
                arn: "a".into(),
                name: "n".into(),
                status: ExecutionStatus::Failed,
            }
            .code(),
            denied.code(),
            RemoteError::Input {
                message: "m".into(),
            }
            .code(),
        ]
        .into_iter()
        .collect();
        assert_eq!(codes.len(), 7, "every variant has its own code");
    }
}
