//! The durable-execution API over HTTP (restJson1, `/2025-12-01/…`), on the service model.
//! Paths, bodies and error shapes follow what `aws-sdk-lambda` sends and parses.

use std::sync::Arc;

use durable_local::{lock_service, ServiceError};
use durable_proto::{ErrorObject, OperationUpdate};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::http::{self, query_pairs, query_value, segments, ApiError, Reply};
use crate::server::Shared;
use crate::wire;

const VERSION: &str = "2025-12-01";
/// The largest page `GetDurableExecutionHistory` / `ListDurableExecutionsByFunction` return.
const MAX_PAGE: usize = 1000;

/// Answers one request.
pub(crate) async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = query_pairs(req.uri().query());
    let (parts, body) = match http::read_body(req).await {
        Ok(read) => read,
        Err(e) => return e.reply(),
    };
    let seg = segments(&path);
    let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
    match (&method, seg.as_slice()) {
        (&Method::POST, ["2015-03-31", "functions", name, "invocations"]) => {
            crate::invoke::invoke(&shared, name, &parts.headers, &query, body).await
        }
        (&Method::GET, []) => crate::viewer::index(&shared),
        (&Method::GET, ["health"]) => http::json(StatusCode::OK, &json!({ "status": "ok" })),
        (&Method::POST, ["start-durable-execution"]) => {
            let reply = match start_durable_execution(&shared, &body) {
                Ok((status, value)) => http::json(status, &value),
                Err(e) => e.reply(),
            };
            shared.wake.notify_one();
            reply
        }
        (&Method::GET, ["executions", arn]) => crate::viewer::execution(&shared, arn),
        (_, [VERSION, ..]) => {
            let reply = durable(&shared, &method, &seg[1..], &query, body);
            // Anything may have made an execution need an invocation, or ended one.
            shared.wake.notify_one();
            shared.changed.notify_waiters();
            reply
        }
        _ => http::unknown_route(&method, &path).reply(),
    }
}

fn durable(
    shared: &Shared,
    method: &Method,
    seg: &[&str],
    query: &[(String, String)],
    body: Bytes,
) -> Reply {
    let result = match (method, seg) {
        (&Method::POST, ["durable-executions", arn, "checkpoint"]) => {
            checkpoint(shared, arn, &body)
        }
        (&Method::GET, ["durable-executions", arn, "state"]) => state(shared, arn, query),
        (&Method::GET, ["durable-executions", arn]) => get_execution(shared, arn),
        (&Method::DELETE, ["durable-executions", arn]) => delete(shared, arn),
        (&Method::GET, ["durable-executions", arn, "history"]) => history(shared, arn, query),
        (&Method::POST, ["durable-executions", arn, "stop"]) => stop(shared, arn, &body),
        (&Method::POST, ["durable-executions", arn, "pause"]) => pause(shared, arn, &body),
        (&Method::POST, ["durable-executions", arn, "resume"]) => resume(shared, arn, &body),
        (&Method::GET, ["functions", name, "durable-executions"]) => list(shared, name, query),
        (&Method::POST, ["durable-execution-callbacks", id, action]) => {
            callback(shared, id, action, body)
        }
        _ => Err(http::unknown_route(
            method,
            &format!("/{VERSION}/{}", seg.join("/")),
        )),
    };
    match result {
        Ok((status, value)) => http::json(status, &value),
        Err(e) => e.reply(),
    }
}

type ApiResult = Result<(StatusCode, Value), ApiError>;

fn ok(value: Value) -> ApiResult {
    Ok((StatusCode::OK, value))
}

fn parse<'a, T: Deserialize<'a> + Default>(body: &'a [u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid(format!("The request body is not valid: {e}")))
}

/// AWS's emulator's own start call (`POST /start-durable-execution`), which the conformance
/// harness's shim uses for an Invoke of a durable function.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StartBody {
    #[serde(default)]
    function_name: String,
    #[serde(default)]
    execution_name: Option<String>,
    #[serde(default)]
    execution_timeout_seconds: Option<u64>,
    #[serde(default)]
    input: Option<String>,
}

fn start_durable_execution(shared: &Shared, body: &[u8]) -> ApiResult {
    let request: StartBody = parse(body)?;
    let timeout = request
        .execution_timeout_seconds
        .map(std::time::Duration::from_secs);
    let input = request.input.unwrap_or_else(|| "{}".to_owned());
    let arn = lock_service(&shared.service)
        .start_execution_with(
            &request.function_name,
            request.execution_name.as_deref(),
            &input,
            timeout,
        )
        .map_err(ApiError::from)?;
    ok(json!({ "ExecutionArn": arn }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CheckpointBody {
    #[serde(default)]
    checkpoint_token: Option<String>,
    #[serde(default)]
    updates: Option<Vec<OperationUpdate>>,
    #[serde(default)]
    client_token: Option<String>,
}

fn checkpoint(shared: &Shared, arn: &str, body: &[u8]) -> ApiResult {
    let request: CheckpointBody = parse(body)?;
    let Some(token) = request.checkpoint_token else {
        return Err(ApiError::invalid("CheckpointToken is required."));
    };
    if let Some(client_token) = &request.client_token {
        let cache = shared.client_tokens.lock().ok();
        if let Some((seen, reply)) = cache.as_ref().and_then(|c| c.get(arn)) {
            if seen == client_token {
                return ok(reply.clone());
            }
        }
    }
    let updates = request.updates.unwrap_or_default();
    let response = lock_service(&shared.service)
        .checkpoint(arn, &token, updates)
        .map_err(ApiError::from)?;
    let reply = wire::api_value(&response);
    if let (Some(client_token), Ok(mut cache)) = (request.client_token, shared.client_tokens.lock())
    {
        cache.insert(arn.to_owned(), (client_token, reply.clone()));
    }
    ok(reply)
}

fn state(shared: &Shared, arn: &str, query: &[(String, String)]) -> ApiResult {
    let Some(token) = query_value(query, "CheckpointToken") else {
        return Err(ApiError::invalid("CheckpointToken is required."));
    };
    let max_items = max_items(query)?;
    let page = lock_service(&shared.service)
        .get_state(arn, token, query_value(query, "Marker"), max_items)
        .map_err(ApiError::from)?;
    ok(wire::api_value(&page))
}

fn max_items(query: &[(String, String)]) -> Result<Option<usize>, ApiError> {
    match query_value(query, "MaxItems") {
        None | Some("") => Ok(None),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n <= MAX_PAGE => Ok(Some(n)),
            _ => Err(ApiError::invalid(format!(
                "MaxItems must be a number from 0 to {MAX_PAGE}."
            ))),
        },
    }
}

fn flag(query: &[(String, String)], key: &str) -> Option<bool> {
    query_value(query, key).map(|v| v.eq_ignore_ascii_case("true"))
}

fn get_execution(shared: &Shared, arn: &str) -> ApiResult {
    let svc = lock_service(&shared.service);
    let record = svc.execution(arn).ok_or_else(|| not_found(arn))?;
    ok(wire::execution(
        record,
        &shared.function_arn(record.function_name()),
    ))
}

fn not_found(arn: &str) -> ApiError {
    ApiError::from(ServiceError::ResourceNotFound {
        message: format!("Execution not found: {arn}"),
    })
}

fn history(shared: &Shared, arn: &str, query: &[(String, String)]) -> ApiResult {
    let svc = lock_service(&shared.service);
    let events = svc.history(arn).map_err(ApiError::from)?;
    let include = flag(query, "IncludeExecutionData").unwrap_or(true);
    let mut events = wire::history_events(events, include);
    if flag(query, "ReverseOrder") == Some(true) {
        events.reverse();
    }
    let (page, next) = paginate(events, query)?;
    let mut out = json!({ "Events": page });
    if let Some(next) = next {
        out["NextMarker"] = json!(next);
    }
    ok(out)
}

/// One page of `items` from `Marker` (a position), `MaxItems` long (default 100).
fn paginate(
    items: Vec<Value>,
    query: &[(String, String)],
) -> Result<(Vec<Value>, Option<String>), ApiError> {
    let start = match query_value(query, "Marker") {
        None | Some("") => 0,
        Some(marker) => marker
            .parse::<usize>()
            .ok()
            .filter(|&m| m <= items.len())
            .ok_or_else(|| ApiError::invalid("Invalid marker."))?,
    };
    let size = match max_items(query)? {
        None | Some(0) => 100,
        Some(n) => n,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((items[start..end].to_vec(), next))
}

fn list(shared: &Shared, function: &str, query: &[(String, String)]) -> ApiResult {
    let wanted: Vec<_> = query
        .iter()
        .filter(|(k, _)| k == "Statuses")
        .map(|(_, v)| {
            wire::parse_status(v).ok_or_else(|| ApiError::invalid(format!("Invalid status: {v}")))
        })
        .collect::<Result<_, _>>()?;
    let name = query_value(query, "DurableExecutionName");
    let function_arn = shared.function_arn(function);
    let svc = lock_service(&shared.service);
    let mut items: Vec<Value> = svc
        .executions()
        .into_iter()
        .filter(|r| r.function_name() == function)
        .filter(|r| wanted.is_empty() || wanted.contains(&r.status()))
        .filter(|r| name.is_none_or(|n| r.execution_name() == n))
        .map(|r| wire::summary(r, &function_arn))
        .collect();
    if flag(query, "ReverseOrder") == Some(true) {
        items.reverse();
    }
    let (page, next) = paginate(items, query)?;
    let mut out = json!({ "DurableExecutions": page });
    if let Some(next) = next {
        out["NextMarker"] = json!(next);
    }
    ok(out)
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StopBody {
    #[serde(default)]
    error: Option<ErrorObject>,
}

fn stop(shared: &Shared, arn: &str, body: &[u8]) -> ApiResult {
    let request: StopBody = parse(body)?;
    let mut svc = lock_service(&shared.service);
    svc.stop_execution(arn, request.error)
        .map_err(ApiError::from)?;
    ok(json!({ "StopTimestamp": wire::seconds(svc.now()) }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PauseBody {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    execution_timeout_paused: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    client_token: Option<String>,
}

fn pause(shared: &Shared, arn: &str, body: &[u8]) -> ApiResult {
    let request: PauseBody = parse(body)?;
    lock_service(&shared.service)
        .pause_execution(
            arn,
            request.reason,
            request.execution_timeout_paused.unwrap_or(false),
        )
        .map_err(ApiError::from)?;
    ok(json!({}))
}

fn resume(shared: &Shared, arn: &str, body: &[u8]) -> ApiResult {
    let request: PauseBody = parse(body)?;
    lock_service(&shared.service)
        .resume_execution(arn, request.reason)
        .map_err(ApiError::from)?;
    ok(json!({}))
}

fn delete(shared: &Shared, arn: &str) -> ApiResult {
    let accepted = lock_service(&shared.service)
        .delete_execution(arn)
        .map_err(ApiError::from)?;
    Ok((
        StatusCode::ACCEPTED,
        json!({ "DeletionRequestTimestamp": wire::seconds(accepted) }),
    ))
}

fn callback(shared: &Shared, id: &str, action: &str, body: Bytes) -> ApiResult {
    let mut svc = lock_service(&shared.service);
    let result = match action {
        "succeed" => {
            // The result is the raw body (a blob), not JSON.
            let result = (!body.is_empty()).then(|| String::from_utf8_lossy(&body).into_owned());
            svc.send_callback_success(id, result)
        }
        "fail" => {
            let error: ErrorObject = parse(&body)?;
            svc.send_callback_failure(id, error)
        }
        "heartbeat" => svc.send_callback_heartbeat(id),
        other => {
            return Err(http::unknown_route(
                &Method::POST,
                &format!("/{VERSION}/durable-execution-callbacks/{id}/{other}"),
            ))
        }
    };
    result.map_err(ApiError::from)?;
    ok(json!({}))
}
