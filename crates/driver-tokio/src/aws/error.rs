//! `aws-sdk-lambda` errors as [`ApiFailure`]s: what the call returned, not what it means.
//!
//! The engine classifies the failure (`ApiFailure::class`), so this mapping only has to be
//! faithful: the HTTP status when a response arrived, the service's error code, and a message
//! that is the service's own (the stale-token rule matches its prefix) or, for local failures,
//! the whole error chain so a user can act on it.

use std::error::Error;
use std::fmt::Write as _;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ErrorMetadata, ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::operation::RequestId;
use durable_proto::ApiFailure;

use super::convert::invalid_request;

/// Maps a failed call of the API named `api` (e.g. `CheckpointDurableExecution`).
///
/// * Service errors (a response with an error status): the raw HTTP status, the error code, and
///   the service's message verbatim (plus the request id, appended), or the error chain if the
///   service sent no message.
/// * Responses that could not be read: the raw status, no code, the error chain.
/// * Timeouts and dispatch failures (connect, IO, DNS, TLS, credentials, endpoint resolution):
///   no status, no code, the error chain. The engine treats these as transient.
/// * Construction failures (the SDK rejected our input before sending anything): permanent,
///   like a 400, because the same input would be rejected again.
pub(crate) fn failure_from_sdk<E>(api: &str, err: &SdkError<E, HttpResponse>) -> ApiFailure
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let http_status = err
        .raw_response()
        .map(|response| response.status().as_u16());
    match err {
        SdkError::ServiceError(service) => {
            // An error the SDK could not match to a modeled one (no code it recognized) keeps
            // the parsed code and message in its source, not in `meta()`.
            let parsed = metadata_in_chain(service.err());
            let code = err
                .code()
                .or_else(|| parsed.and_then(ErrorMetadata::code))
                .map(str::to_owned)
                .or_else(|| service_code_from_body(service.raw()));
            let mut message = match err
                .message()
                .or_else(|| parsed.and_then(ErrorMetadata::message))
            {
                Some(message) if !message.trim().is_empty() => message.to_owned(),
                _ => format!("{api} failed: {}", chain(err)),
            };
            if let Some(request_id) = err.request_id() {
                let _ = write!(message, " (request id: {request_id})");
            }
            ApiFailure {
                http_status,
                error_code: code,
                message,
            }
        }
        SdkError::ConstructionFailure(_) => {
            invalid_request(format!("could not build the {api} request: {}", chain(err)))
        }
        _ => {
            let mut message = format!("{api} failed: {}", chain(err));
            if let Some(request_id) = err.request_id() {
                let _ = write!(message, " (request id: {request_id})");
            }
            ApiFailure {
                http_status,
                error_code: None,
                message,
            }
        }
    }
}

/// The first [`ErrorMetadata`] among `err` and its sources.
fn metadata_in_chain<'a>(err: &'a (dyn Error + 'static)) -> Option<&'a ErrorMetadata> {
    let mut next = Some(err);
    while let Some(current) = next {
        if let Some(meta) = current.downcast_ref::<ErrorMetadata>() {
            return Some(meta);
        }
        next = current.source();
    }
    None
}

/// The error code in a JSON body's `Type` field, a key the SDK does not read (it reads the
/// `x-amzn-errortype` header, `code` and `__type`) but the durable-execution emulator uses.
fn service_code_from_body(response: &HttpResponse) -> Option<String> {
    let bytes = response.body().bytes()?;
    let body: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(bytes).ok()?;
    let code = body.get("Type")?.as_str()?;
    (!code.is_empty()).then(|| code.to_owned())
}

/// `err: source: source's source: …`, each error's Display once. (`DisplayErrorContext` would
/// also append the Debug form, which includes the whole raw response.)
fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some layers repeat their source's message; keep the chain readable.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use std::io;

    use aws_sdk_lambda::error::ConnectorError;
    use aws_sdk_lambda::operation::checkpoint_durable_execution::CheckpointDurableExecutionError;
    use aws_sdk_lambda::operation::get_durable_execution_state::GetDurableExecutionStateError;
    use aws_sdk_lambda::primitives::SdkBody;
    use aws_sdk_lambda::types::error::{InvalidParameterValueException, TooManyRequestsException};
    use durable_proto::FailureClass;

    use super::*;

    fn response(status: u16) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::empty())
    }

    fn meta(code: &str, message: &str) -> ErrorMetadata {
        ErrorMetadata::builder().code(code).message(message).build()
    }

    #[test]
    fn throttling_keeps_status_code_and_message() {
        let modeled = TooManyRequestsException::builder()
            .message("Rate exceeded")
            .meta(meta("TooManyRequestsException", "Rate exceeded"))
            .build();
        let err = SdkError::service_error(
            CheckpointDurableExecutionError::TooManyRequestsException(modeled),
            response(429),
        );
        let failure = failure_from_sdk("CheckpointDurableExecution", &err);
        assert_eq!(
            failure,
            ApiFailure::new(Some(429), Some("TooManyRequestsException"), "Rate exceeded")
        );
        assert_eq!(failure.class(), FailureClass::RetryInvocation);
    }

    #[test]
    fn stale_token_message_stays_a_prefix() {
        let modeled = InvalidParameterValueException::builder()
            .message("Invalid checkpoint token")
            .meta(meta(
                "InvalidParameterValueException",
                "Invalid checkpoint token",
            ))
            .build();
        let mut raw = response(400);
        raw.headers_mut().insert("x-amzn-requestid", "req-123");
        let err = SdkError::service_error(
            GetDurableExecutionStateError::InvalidParameterValueException(modeled),
            raw,
        );
        let failure = failure_from_sdk("GetDurableExecutionState", &err);
        assert_eq!(failure.http_status, Some(400));
        assert_eq!(
            failure.error_code.as_deref(),
            Some("InvalidParameterValueException")
        );
        assert_eq!(
            failure.message,
            "Invalid checkpoint token (request id: req-123)"
        );
        assert_eq!(failure.class(), FailureClass::RetryInvocation);
    }

    #[test]
    fn validation_error_is_permanent() {
        let modeled = InvalidParameterValueException::builder()
            .message("Payload exceeds 262144 bytes")
            .meta(meta(
                "InvalidParameterValueException",
                "Payload exceeds 262144 bytes",
            ))
            .build();
        let err = SdkError::service_error(
            CheckpointDurableExecutionError::InvalidParameterValueException(modeled),
            response(400),
        );
        let failure = failure_from_sdk("CheckpointDurableExecution", &err);
        assert_eq!(failure.http_status, Some(400));
        assert_eq!(failure.class(), FailureClass::FailExecution);
    }

    #[test]
    fn unmodeled_error_without_message_describes_itself() {
        let err = SdkError::service_error(
            CheckpointDurableExecutionError::generic(ErrorMetadata::builder().build()),
            response(503),
        );
        let failure = failure_from_sdk("CheckpointDurableExecution", &err);
        assert_eq!(failure.http_status, Some(503));
        assert_eq!(failure.error_code, None);
        assert!(
            failure
                .message
                .starts_with("CheckpointDurableExecution failed: service error"),
            "{}",
            failure.message
        );
        assert_eq!(failure.class(), FailureClass::RetryInvocation);
    }

    #[test]
    fn timeout_has_no_status() {
        let err: SdkError<CheckpointDurableExecutionError, HttpResponse> = SdkError::timeout_error(
            "operation timeout (all attempts including retries) occurred after 5s",
        );
        let failure = failure_from_sdk("CheckpointDurableExecution", &err);
        assert_eq!(failure.http_status, None);
        assert_eq!(failure.error_code, None);
        assert_eq!(
            failure.message,
            "CheckpointDurableExecution failed: request has timed out: operation timeout (all \
             attempts including retries) occurred after 5s"
        );
        assert_eq!(failure.class(), FailureClass::RetryInvocation);
    }

    #[test]
    fn dispatch_failure_names_the_cause() {
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "connection refused");
        let err: SdkError<GetDurableExecutionStateError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(refused.into()));
        let failure = failure_from_sdk("GetDurableExecutionState", &err);
        assert_eq!(failure.http_status, None);
        assert!(
            failure
                .message
                .starts_with("GetDurableExecutionState failed: dispatch failure"),
            "{}",
            failure.message
        );
        assert!(
            failure.message.ends_with("connection refused"),
            "{}",
            failure.message
        );
        assert_eq!(failure.class(), FailureClass::RetryInvocation);
    }

    #[test]
    fn response_error_keeps_the_status() {
        let err: SdkError<CheckpointDurableExecutionError, HttpResponse> =
            SdkError::response_error("invalid JSON", response(200));
        let failure = failure_from_sdk("CheckpointDurableExecution", &err);
        assert_eq!(failure.http_status, Some(200));
        assert!(
            failure.message.contains("invalid JSON"),
            "{}",
            failure.message
        );
        assert_eq!(failure.class(), FailureClass::RetryInvocation);
    }

    #[test]
    fn construction_failure_is_permanent() {
        let err: SdkError<CheckpointDurableExecutionError, HttpResponse> =
            SdkError::construction_failure("durable_execution_arn cannot be empty");
        let failure = failure_from_sdk("CheckpointDurableExecution", &err);
        assert_eq!(failure.http_status, Some(400));
        assert_eq!(failure.error_code.as_deref(), Some("InvalidRequest"));
        assert!(
            failure
                .message
                .contains("durable_execution_arn cannot be empty"),
            "{}",
            failure.message
        );
        assert_eq!(failure.class(), FailureClass::FailExecution);
    }
}
