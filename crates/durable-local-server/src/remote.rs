//! Functions served elsewhere: with `--lambda-endpoint URL`, an execution of a function
//! that is not declared is invoked through that Lambda endpoint (`POST
//! /2015-03-31/functions/{name}/invocations`, marked `X-Dex-Handler-Invoke: true` as AWS's
//! emulator marks its handler invokes), so `serve` can stand where `dex-local-runner`
//! stands in the conformance harness, whose shim runs the handlers.

use durable_proto::ErrorObject;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use crate::runtime::Outcome;

/// A function the Lambda endpoint runs, as `--function-configs` declares it (the document
/// AWS's emulator takes: `{"Name": {"DurableConfig": {"ExecutionTimeout": 300}}, "Plain": {}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RemoteFunction {
    pub(crate) durable: bool,
    pub(crate) execution_timeout: Option<std::time::Duration>,
}

/// Reads a `--function-configs` document (a path, or a `file://` URL).
pub(crate) fn load_function_configs(
    location: &str,
) -> Result<std::collections::HashMap<String, RemoteFunction>, String> {
    let path = location.strip_prefix("file://").unwrap_or(location);
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let doc: std::collections::HashMap<String, serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| format!("{path}: {e}"))?;
    Ok(doc
        .into_iter()
        .map(|(name, config)| {
            let durable = config.get("DurableConfig");
            let timeout = durable
                .and_then(|d| d.get("ExecutionTimeout"))
                .and_then(serde_json::Value::as_u64)
                .map(std::time::Duration::from_secs);
            let function = RemoteFunction {
                durable: durable.is_some(),
                execution_timeout: timeout,
            };
            (name, function)
        })
        .collect())
}

/// The error type of an invocation the remote endpoint could not be asked for.
pub const REMOTE_ERROR_TYPE: &str = "ServiceException";

/// `http://host:port` split into the address to connect to and the `Host` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    authority: String,
}

impl Endpoint {
    /// Parses `http://host:port[/]` (plain HTTP only: the endpoint is on this machine).
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: use an http://host:port URL"))?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(format!(
                "{url:?}: use an http://host:port URL without a path"
            ));
        }
        Ok(Self {
            authority: authority.to_owned(),
        })
    }

    /// Invokes `function` with `payload` and waits for its answer.
    pub(crate) async fn invoke(&self, function: &str, payload: Bytes) -> Outcome {
        match self.call(function, payload).await {
            Ok(outcome) => outcome,
            Err(message) => Outcome::Failed(ErrorObject::new(
                REMOTE_ERROR_TYPE,
                format!(
                    "invoking {function} at http://{}: {message}",
                    self.authority
                ),
            )),
        }
    }

    async fn call(&self, function: &str, payload: Bytes) -> Result<Outcome, String> {
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/2015-03-31/functions/{function}/invocations"))
            .header("Host", &self.authority)
            .header("Content-Type", "application/json")
            .header("X-Amz-Invocation-Type", "RequestResponse")
            .header("X-Dex-Handler-Invoke", "true")
            .body(Full::new(payload))
            .map_err(|e| e.to_string())?;
        let reply = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = reply.status();
        let function_error = reply.headers().contains_key("X-Amz-Function-Error");
        let body = reply
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            return Err(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ));
        }
        if function_error {
            let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_owned);
            return Ok(Outcome::FunctionError(ErrorObject::new(
                text("errorType").unwrap_or_else(|| "Unhandled".to_owned()),
                text("errorMessage").unwrap_or_default(),
            )));
        }
        Ok(Outcome::Response(body))
    }
}

#[cfg(test)]
mod tests {
    use super::Endpoint;

    #[test]
    fn endpoints_are_plain_http_authorities() {
        assert!(Endpoint::parse("http://127.0.0.1:3001/").is_ok());
        assert!(Endpoint::parse("https://example").is_err());
        assert!(Endpoint::parse("http://127.0.0.1:3001/x").is_err());
        assert!(Endpoint::parse("http://").is_err());
    }
}
