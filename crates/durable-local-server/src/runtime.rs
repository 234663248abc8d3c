//! The Lambda Runtime API host: runs a function's bootstrap as a custom runtime, one
//! invocation at a time, keeps it warm between invocations, starts a new process after a
//! crash or a timeout, and stops one that runs past its timeout.
//!
//! Each process gets a Runtime API listener of its own (`AWS_LAMBDA_RUNTIME_API`), so a
//! request that a dead process left behind can never take a later invocation: a new process
//! comes with a new listener and a new queue.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use durable_proto::ErrorObject;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::functions::FunctionSpec;
use crate::http::{self, Reply};

/// The error type of an invocation whose process exited (Lambda's).
pub const EXIT_ERROR_TYPE: &str = "Runtime.ExitError";
/// The error type of an invocation that ran past the function's timeout (Lambda's).
pub const TIMEOUT_ERROR_TYPE: &str = "Sandbox.Timedout";
/// The error type of an invocation whose process could not be started.
pub const START_ERROR_TYPE: &str = "Runtime.InvalidEntrypoint";

const PREFIX: &str = "/2018-06-01/runtime/";

/// How one invocation ended, as the Runtime API saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The runtime posted a response.
    Response(Bytes),
    /// The runtime posted an error (`/error`): the function failed.
    FunctionError(ErrorObject),
    /// The invocation failed around the function: crash, timeout, no process.
    Failed(ErrorObject),
}

/// Settings every hosted process shares.
#[derive(Debug, Clone)]
pub(crate) struct HostSettings {
    /// `http://127.0.0.1:<port>` of the durable-execution API (`AWS_ENDPOINT_URL_LAMBDA`).
    pub(crate) api_endpoint: String,
    pub(crate) region: String,
    /// Whether function output goes to our stderr (prefixed with the function's name).
    pub(crate) forward_output: bool,
}

/// One declared function and its (at most one) warm process.
#[derive(Debug)]
pub(crate) struct FunctionHost {
    pub(crate) spec: FunctionSpec,
    settings: HostSettings,
    slot: tokio::sync::Mutex<Option<Process>>,
    starts: AtomicU32,
    /// Wall time spent in invocations (process starts included), for the overhead figure.
    busy: Mutex<std::time::Duration>,
}

#[derive(Debug)]
struct Process {
    child: Child,
    queue: mpsc::Sender<Pending>,
    api: Arc<RuntimeApi>,
    listener: JoinHandle<()>,
}

impl Drop for Process {
    fn drop(&mut self) {
        self.listener.abort();
        let _ = self.child.start_kill();
    }
}

#[derive(Debug)]
struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u128,
    reply: oneshot::Sender<Outcome>,
}

/// What one process's Runtime API listener shares between requests.
#[derive(Debug)]
struct RuntimeApi {
    function_arn: String,
    queue: tokio::sync::Mutex<mpsc::Receiver<Pending>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<ErrorObject>>,
}

impl FunctionHost {
    pub(crate) fn new(spec: FunctionSpec, settings: HostSettings) -> Self {
        Self {
            spec,
            settings,
            slot: tokio::sync::Mutex::new(None),
            starts: AtomicU32::new(0),
            busy: Mutex::new(std::time::Duration::ZERO),
        }
    }

    /// How many processes were started so far (1 while the first stays warm).
    pub(crate) fn process_starts(&self) -> u32 {
        self.starts.load(Ordering::Relaxed)
    }

    /// Wall time spent running invocations so far, from taking the process to the runtime's
    /// answer (process starts included).
    pub(crate) fn busy_time(&self) -> std::time::Duration {
        self.busy.lock().map_or(std::time::Duration::ZERO, |d| *d)
    }

    /// Runs one invocation with `payload`, starting the process first if none is warm.
    /// Invocations of one function run one after the other.
    pub(crate) async fn invoke(&self, request_id: &str, payload: Bytes) -> Outcome {
        let mut slot = self.slot.lock().await;
        let began = std::time::Instant::now();
        let outcome = self.invoke_locked(&mut slot, request_id, payload).await;
        if let Ok(mut busy) = self.busy.lock() {
            *busy += began.elapsed();
        }
        outcome
    }

    async fn invoke_locked(
        &self,
        slot: &mut Option<Process>,
        request_id: &str,
        payload: Bytes,
    ) -> Outcome {
        let alive = match slot.as_mut() {
            Some(p) => matches!(p.child.try_wait(), Ok(None)),
            None => false,
        };
        if !alive {
            *slot = None;
            match self.start().await {
                Ok(process) => *slot = Some(process),
                Err(e) => return Outcome::Failed(e),
            }
        }
        let Some(process) = slot.as_mut() else {
            return Outcome::Failed(ErrorObject::new(START_ERROR_TYPE, "no process"));
        };
        let timeout = self.spec.timeout;
        let deadline = SystemTime::now()
            .checked_add(timeout)
            .unwrap_or_else(SystemTime::now)
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            request_id: request_id.to_owned(),
            payload,
            deadline_ms: deadline,
            reply,
        };
        if process.queue.send(pending).await.is_err() {
            *slot = None;
            return Outcome::Failed(ErrorObject::new(
                EXIT_ERROR_TYPE,
                "the runtime's listener stopped",
            ));
        }
        enum Ended {
            Answered(Outcome),
            Exited(String),
            TimedOut,
        }
        let ended = tokio::select! {
            answer = answer => match answer {
                Ok(outcome) => Ended::Answered(outcome),
                Err(_) => Ended::Exited("the runtime's listener stopped".to_owned()),
            },
            status = process.child.wait() => Ended::Exited(match status {
                Ok(status) => status.to_string(),
                Err(e) => e.to_string(),
            }),
            () = tokio::time::sleep(timeout) => Ended::TimedOut,
        };
        match ended {
            Ended::Answered(outcome) => outcome,
            Ended::Exited(status) => {
                let init = process
                    .api
                    .init_error
                    .lock()
                    .ok()
                    .and_then(|mut e| e.take());
                *slot = None;
                Outcome::Failed(init.unwrap_or_else(|| {
                    ErrorObject::new(
                        EXIT_ERROR_TYPE,
                        format!(
                            "RequestId: {request_id} Error: Runtime exited with error: {status}"
                        ),
                    )
                }))
            }
            Ended::TimedOut => {
                // Dropping the process kills it; the next invocation starts a new one.
                *slot = None;
                Outcome::Failed(ErrorObject::new(
                    TIMEOUT_ERROR_TYPE,
                    format!("Task timed out after {:.2} seconds", timeout.as_secs_f64()),
                ))
            }
        }
    }

    /// Stops the warm process, if any.
    pub(crate) async fn shutdown(&self) {
        *self.slot.lock().await = None;
    }

    async fn start(&self) -> Result<Process, ErrorObject> {
        let failed = |what: String| ErrorObject::new(START_ERROR_TYPE, what);
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(|e| failed(format!("cannot open a Runtime API port: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| failed(e.to_string()))?
            .port();
        let (queue, receiver) = mpsc::channel(1);
        let api = Arc::new(RuntimeApi {
            function_arn: crate::wire::function_arn(
                &self.settings.region,
                durable_local::ServiceConfig::default().account_id.as_str(),
                &self.spec.name,
            ),
            queue: tokio::sync::Mutex::new(receiver),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let listener = tokio::spawn(serve_runtime_api(listener, api.clone()));
        let mut command = Command::new(&self.spec.command[0]);
        command
            .args(&self.spec.command[1..])
            .envs(self.environment(port))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for variable in ["AWS_PROFILE", "AWS_ENDPOINT_URL"] {
            command.env_remove(variable);
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                listener.abort();
                return Err(failed(format!(
                    "cannot start {:?} for function {}: {e}",
                    self.spec.command[0], self.spec.name
                )));
            }
        };
        self.starts.fetch_add(1, Ordering::Relaxed);
        let name = self.spec.name.clone();
        let forward = self.settings.forward_output;
        if let Some(out) = child.stdout.take() {
            tokio::spawn(forward_lines(out, name.clone(), forward));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(forward_lines(err, name, forward));
        }
        Ok(Process {
            child,
            queue,
            api,
            listener,
        })
    }

    fn environment(&self, runtime_port: u16) -> Vec<(String, String)> {
        let name = &self.spec.name;
        let region = &self.settings.region;
        let directory = std::path::Path::new(&self.spec.command[0])
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut env: Vec<(String, String)> = [
            (
                "AWS_LAMBDA_RUNTIME_API",
                format!("127.0.0.1:{runtime_port}"),
            ),
            (
                "AWS_ENDPOINT_URL_LAMBDA",
                self.settings.api_endpoint.clone(),
            ),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                format!("local/[$LATEST]{name}"),
            ),
            ("AWS_REGION", region.clone()),
            ("AWS_DEFAULT_REGION", region.clone()),
            ("AWS_ACCESS_KEY_ID", "local".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local".to_owned()),
            ("AWS_SESSION_TOKEN", "local".to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("LAMBDA_TASK_ROOT", directory),
            ("_HANDLER", name.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(self.spec.environment.clone());
        env
    }
}

async fn forward_lines(stream: impl tokio::io::AsyncRead + Unpin, name: String, forward: bool) {
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if forward {
            eprintln!("[{name}] {line}");
        }
    }
}

async fn serve_runtime_api(listener: TcpListener, api: Arc<RuntimeApi>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let api = api.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let api = api.clone();
                async move { Ok::<_, Infallible>(runtime_route(&api, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn runtime_route(api: &RuntimeApi, req: Request<Incoming>) -> Reply {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return runtime_error(StatusCode::NOT_FOUND, "NotFound", &path);
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match (&method, parts.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next_invocation(api).await,
        (&Method::POST, ["invocation", id, "response"]) => {
            let id = (*id).to_owned();
            let body = match http::read_body(req).await {
                Ok((_, body)) => body,
                Err(e) => return e.reply(),
            };
            finish(api, &id, Outcome::Response(body))
        }
        (&Method::POST, ["invocation", id, "error"]) => {
            let id = (*id).to_owned();
            let (parts, body) = match http::read_body(req).await {
                Ok(read) => read,
                Err(e) => return e.reply(),
            };
            let error = error_object(&parts.headers, &body);
            finish(api, &id, Outcome::FunctionError(error))
        }
        (&Method::POST, ["init", "error"]) => {
            let (parts, body) = match http::read_body(req).await {
                Ok(read) => read,
                Err(e) => return e.reply(),
            };
            if let Ok(mut slot) = api.init_error.lock() {
                *slot = Some(error_object(&parts.headers, &body));
            }
            accepted()
        }
        _ => runtime_error(StatusCode::NOT_FOUND, "NotFound", &path),
    }
}

async fn next_invocation(api: &RuntimeApi) -> Reply {
    let pending = api.queue.lock().await.recv().await;
    let Some(pending) = pending else {
        return runtime_error(StatusCode::GONE, "RuntimeStopped", "no more invocations");
    };
    if let Ok(mut in_flight) = api.in_flight.lock() {
        in_flight.insert(pending.request_id.clone(), pending.reply);
    }
    let mut reply = http::raw(StatusCode::OK, pending.payload);
    let headers = reply.headers_mut();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    };
    set("Lambda-Runtime-Aws-Request-Id", pending.request_id.clone());
    set(
        "Lambda-Runtime-Deadline-Ms",
        pending.deadline_ms.to_string(),
    );
    set(
        "Lambda-Runtime-Invoked-Function-Arn",
        api.function_arn.clone(),
    );
    set(
        "Lambda-Runtime-Trace-Id",
        format!(
            "Root=1-00000000-{};Sampled=0",
            trace_suffix(&pending.request_id)
        ),
    );
    reply
}

fn trace_suffix(request_id: &str) -> String {
    let hex: String = request_id
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(24)
        .collect();
    format!("{hex:0<24}")
}

fn finish(api: &RuntimeApi, request_id: &str, outcome: Outcome) -> Reply {
    let sender = api
        .in_flight
        .lock()
        .ok()
        .and_then(|mut m| m.remove(request_id));
    match sender {
        Some(sender) => {
            let _ = sender.send(outcome);
            accepted()
        }
        None => runtime_error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            &format!("Invalid request ID: {request_id}"),
        ),
    }
}

fn error_object(headers: &hyper::HeaderMap, body: &[u8]) -> ErrorObject {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let field = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_owned);
    let header_type = headers
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let error_type = field("errorType")
        .or(header_type)
        .unwrap_or_else(|| "Unhandled".to_owned());
    let message = field("errorMessage").unwrap_or_default();
    ErrorObject::new(error_type, message)
}

fn accepted() -> Reply {
    http::json(StatusCode::ACCEPTED, &json!({ "status": "OK" }))
}

fn runtime_error(status: StatusCode, error_type: &str, message: &str) -> Reply {
    http::json(
        status,
        &json!({ "errorType": error_type, "errorMessage": message }),
    )
}
