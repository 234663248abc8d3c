//! Lambda's `Invoke` (`POST /2015-03-31/functions/{name}/invocations`) for declared
//! functions: a durable function's Invoke starts an execution (asynchronously with
//! `X-Amz-Invocation-Type: Event`, which answers 202 and `X-Amz-Durable-Execution-Arn`, or
//! synchronously, answering with the execution's result); a plain function is run once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use durable_local::{lock_service, ExecutionStatus};
use hyper::body::Bytes;
use hyper::{HeaderMap, StatusCode};
use serde_json::{json, Value};

use crate::http::{self, query_value, Reply};
use crate::runtime::{FunctionHost, Outcome};
use crate::server::{wait_for_end, Shared};

/// How long a synchronous Invoke of a durable function may wait for the execution (the
/// real service allows 15 minutes).
const SYNC_LIMIT: Duration = Duration::from_secs(15 * 60);

pub(crate) async fn invoke(
    shared: &Shared,
    target: &str,
    headers: &HeaderMap,
    query: &[(String, String)],
    body: Bytes,
) -> Reply {
    let (name, qualifier) = split_target(target);
    let qualifier = query_value(query, "Qualifier").or(qualifier);
    let Some(host) = shared.functions.get(name) else {
        return http::error_reply(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {}", shared.function_arn(name)),
        );
    };
    if qualifier.is_some_and(|q| q != "$LATEST") {
        return http::error_reply(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!(
                "Function not found: {}:{} (durable-local hosts $LATEST only)",
                shared.function_arn(name),
                qualifier.unwrap_or_default()
            ),
        );
    }
    let input = if body.is_empty() {
        "{}".to_owned()
    } else {
        String::from_utf8_lossy(&body).into_owned()
    };
    if let Err(e) = serde_json::from_str::<Value>(&input) {
        return http::error_reply(
            StatusCode::BAD_REQUEST,
            "InvalidRequestContentException",
            &format!("Could not parse request body into json: {e}"),
        );
    }
    let asynchronous = header(headers, "X-Amz-Invocation-Type") == Some("Event");
    // An invoke marked by a durable-execution service (AWS's emulator, or another serve
    // with --lambda-endpoint) carries an envelope: the handler runs once.
    let marked =
        header(headers, "X-Dex-Handler-Invoke").is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !host.spec.durable || marked {
        return plain(host, body, asynchronous).await;
    }
    let execution_name = header(headers, "X-Amz-Durable-Execution-Name");
    let started = lock_service(&shared.service).start_execution_with(
        name,
        execution_name,
        &input,
        host.spec.execution_timeout,
    );
    let arn = match started {
        Ok(arn) => arn,
        Err(e) => return http::service_error(&e),
    };
    shared.wake.notify_one();
    let mut reply = if asynchronous {
        http::raw(StatusCode::ACCEPTED, Bytes::new())
    } else {
        match wait_for_end(shared, &arn, SYNC_LIMIT).await {
            Ok(record) if record.status() == ExecutionStatus::Succeeded => http::raw(
                StatusCode::OK,
                Bytes::from(record.result().unwrap_or("null").to_owned()),
            ),
            Ok(record) => {
                let error = record.error().cloned().unwrap_or_default();
                let body = json!({
                    "errorType": error.error_type,
                    "errorMessage": error.error_message,
                });
                let mut reply = http::json(StatusCode::OK, &body);
                set(&mut reply, "X-Amz-Function-Error", "Unhandled");
                reply
            }
            Err(e) => {
                return http::error_reply(
                    StatusCode::REQUEST_TIMEOUT,
                    "RequestTimeoutException",
                    &e.to_string(),
                )
            }
        }
    };
    set(&mut reply, "X-Amz-Durable-Execution-Arn", &arn);
    set(&mut reply, "X-Amz-Executed-Version", "$LATEST");
    reply
}

async fn plain(host: &Arc<FunctionHost>, body: Bytes, asynchronous: bool) -> Reply {
    let request_id = request_id();
    if asynchronous {
        // An Event invoke answers at once; the host runs it after whatever is in flight.
        let host = host.clone();
        tokio::spawn(async move {
            let _ = host.invoke(&request_id, body).await;
        });
        return http::raw(StatusCode::ACCEPTED, Bytes::new());
    }
    let mut reply = match host.invoke(&request_id, body).await {
        Outcome::Response(bytes) => http::raw(StatusCode::OK, bytes),
        Outcome::FunctionError(error) | Outcome::Failed(error) => {
            let body = json!({
                "errorType": error.error_type,
                "errorMessage": error.error_message,
            });
            let mut reply = http::json(StatusCode::OK, &body);
            set(&mut reply, "X-Amz-Function-Error", "Unhandled");
            reply
        }
    };
    set(&mut reply, "X-Amz-Executed-Version", "$LATEST");
    set(&mut reply, "x-amzn-RequestId", &request_id);
    reply
}

fn split_target(target: &str) -> (&str, Option<&str>) {
    if let Some(rest) = target.strip_prefix("arn:") {
        // arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]
        let mut parts = rest.splitn(7, ':').skip(5);
        let name = parts.next().unwrap_or("");
        return (name, parts.next());
    }
    match target.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (target, None),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn set(reply: &mut Reply, name: &'static str, value: &str) {
    if let Ok(value) = value.parse() {
        reply.headers_mut().insert(name, value);
    }
}

fn request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("00000000-0000-4000-8000-{n:012x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_names_qualified_names_or_arns() {
        assert_eq!(split_target("orders"), ("orders", None));
        assert_eq!(split_target("orders:$LATEST"), ("orders", Some("$LATEST")));
        assert_eq!(
            split_target("arn:aws:lambda:us-east-1:123456789012:function:orders:7"),
            ("orders", Some("7"))
        );
        assert_eq!(
            split_target("arn:aws:lambda:us-east-1:123456789012:function:orders"),
            ("orders", None)
        );
    }
}
