//! Small HTTP helpers shared by the API and the Runtime API: bodies, replies in the AWS
//! restJson1 error shape, path segments and query strings.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;

use durable_local::ServiceError;

/// A response body.
pub(crate) type Body = Full<Bytes>;
/// A response.
pub(crate) type Reply = Response<Body>;

/// The largest request body accepted (the API's payloads are at most 6 MB; checkpoint
/// batches are bounded by the service model's own limits).
const MAX_BODY: usize = 16 * 1024 * 1024;

/// An API error before it becomes a reply (small, so `Result`s carrying it stay cheap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) name: &'static str,
    pub(crate) message: String,
}

impl ApiError {
    /// `InvalidParameterValueException` (400) with `message`.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            name: "InvalidParameterValueException",
            message: message.into(),
        }
    }

    /// The reply the real API sends for it.
    pub(crate) fn reply(&self) -> Reply {
        error_reply(self.status, self.name, &self.message)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        Self {
            status: StatusCode::from_u16(e.http_status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            name: e.error_name(),
            message: e.message().to_owned(),
        }
    }
}

/// Reads the whole body, refusing one above the limit.
pub(crate) async fn read_body(req: Request<Incoming>) -> Result<(Parts, Bytes), ApiError> {
    let (parts, body) = req.into_parts();
    match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => Ok((parts, collected.to_bytes())),
        Err(e) => Err(ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            name: "RequestTooLargeException",
            message: format!("the request body could not be read: {e}"),
        }),
    }
}

/// A reply with a JSON body.
pub(crate) fn json(status: StatusCode, value: &Value) -> Reply {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    let mut reply = Response::new(Full::new(Bytes::from(body)));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

/// A reply with a raw body (`Invoke` results are the function's bytes).
pub(crate) fn raw(status: StatusCode, body: Bytes) -> Reply {
    let mut reply = Response::new(Full::new(body));
    *reply.status_mut() = status;
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    reply
}

/// An error as the AWS API sends one: the error name in `x-amzn-ErrorType` (which the AWS
/// SDKs read first) and `{"Type": "User", "message": …}` in the body.
pub(crate) fn error_reply(status: StatusCode, name: &str, message: &str) -> Reply {
    let kind = if status.is_server_error() {
        "Service"
    } else {
        "User"
    };
    let mut reply = json(
        status,
        &serde_json::json!({ "Type": kind, "message": message }),
    );
    if let Ok(value) = HeaderValue::from_str(name) {
        reply.headers_mut().insert("x-amzn-ErrorType", value);
    }
    reply
}

/// The service model's error as the real API answers it.
pub(crate) fn service_error(e: &ServiceError) -> Reply {
    ApiError::from(e.clone()).reply()
}

/// The error for a path no API serves.
pub(crate) fn unknown_route(method: &Method, path: &str) -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        name: "UnknownOperationException",
        message: format!("No API of durable-local serves {method} {path}"),
    }
}

/// Decodes `%XX` escapes (URI labels and query values). Invalid escapes are kept as they are.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded segments of a path (`/a/b%2Fc` gives `["a", "b/c"]`).
pub(crate) fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect()
}

/// The decoded `key=value` pairs of a query string, in order (keys may repeat).
pub(crate) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The first value of `key`.
pub(crate) fn query_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_labels_and_queries() {
        assert_eq!(percent_decode("a%2Fb%3A%24LATEST"), "a/b:$LATEST");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(
            segments("/2025-12-01/durable-executions/arn%3Ax%2Fy/state"),
            ["2025-12-01", "durable-executions", "arn:x/y", "state"]
        );
        let q = query_pairs(Some("Statuses=RUNNING&Statuses=PAUSED&Marker=&T=a%2Bb"));
        assert_eq!(q.len(), 4);
        assert_eq!(query_value(&q, "T"), Some("a+b"));
        assert_eq!(query_value(&q, "Marker"), Some(""));
    }
}
