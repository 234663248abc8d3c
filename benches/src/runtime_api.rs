//! A tiny fake of the two HTTP services a deployed durable function talks to, on loopback:
//! the Lambda Runtime API (`/2018-06-01/runtime/...`) and the durable-execution API
//! (`/2025-12-01/durable-executions/...`, reached through `AWS_ENDPOINT_URL_LAMBDA`).
//!
//! It hands out one invocation, answers every checkpoint with a fresh token, and records
//! when each request arrived, so the cold-start harness can time a real bootstrap binary
//! from `spawn` to its first `/next` and to its first checkpoint call on one clock.
//! HTTP/1.1 only, `Content-Length` bodies only: what `lambda_runtime` and aws-sdk-lambda
//! send to a plain-HTTP endpoint.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

/// When the requests of one run arrived.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The first `GET .../invocation/next`: the runtime finished initializing.
    pub first_next: Option<Instant>,
    /// The first checkpoint call.
    pub first_checkpoint: Option<Instant>,
    /// The invocation's response (or error) was posted.
    pub response: Option<Instant>,
    /// Checkpoint calls received.
    pub checkpoints: u32,
    /// The posted response body.
    pub response_body: String,
}

#[derive(Default)]
struct State {
    observed: Mutex<Observed>,
    served: Mutex<bool>,
    done: Notify,
}

/// The fake services; dropping it stops them.
pub struct FakeLambda {
    addr: SocketAddr,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl Drop for FakeLambda {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLambda {
    /// Listens on 127.0.0.1 (a free port) and serves `envelope` as the one invocation.
    pub async fn start(envelope: Vec<u8>) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let envelope = Arc::new(envelope);
        let st = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                connections.spawn(serve(stream, st.clone(), envelope.clone()));
            }
        });
        Ok(Self { addr, state, task })
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// `http://host:port`, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until the invocation's response was posted, at most `timeout`.
    pub async fn wait_response(&self, timeout: Duration) -> Observed {
        let _ = tokio::time::timeout(timeout, async {
            loop {
                let notified = self.state.done.notified();
                if self.observed().response.is_some() {
                    return;
                }
                notified.await;
            }
        })
        .await;
        self.observed()
    }

    fn observed(&self) -> Observed {
        lock(&self.state.observed).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One request: method, path and body.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let (method, path) = (first.next()?.to_owned(), first.next()?.to_owned());
            let length = lines
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + length {
                let mut chunk = [0u8; 8192];
                let n = stream.read(&mut chunk).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = buf[end + 4..end + 4 + length].to_vec();
            buf.drain(..end + 4 + length);
            return Some(Request { method, path, body });
        }
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn respond(stream: &mut TcpStream, status: &str, headers: &str, body: &[u8]) -> bool {
    let head = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n{headers}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.is_ok() && stream.write_all(body).await.is_ok()
}

async fn serve(mut stream: TcpStream, state: Arc<State>, envelope: Arc<Vec<u8>>) {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::new();
    while let Some(req) = read_request(&mut stream, &mut buf).await {
        let now = Instant::now();
        let ok = if req.path.ends_with("/runtime/invocation/next") {
            let first = {
                let mut obs = lock(&state.observed);
                obs.first_next.get_or_insert(now);
                let mut served = lock(&state.served);
                !std::mem::replace(&mut *served, true)
            };
            if !first {
                // One invocation per run: the harness kills the process meanwhile.
                std::future::pending::<()>().await;
            }
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() + 60_000);
            let headers = format!(
                "lambda-runtime-aws-request-id: req-1\r\nlambda-runtime-deadline-ms: {deadline}\r\n\
                 lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:123456789012:function:bench:1\r\n\
                 lambda-runtime-trace-id: Root=1-00000000-000000000000000000000000\r\n"
            );
            respond(&mut stream, "200 OK", &headers, &envelope).await
        } else if req.path.contains("/runtime/") {
            {
                let mut obs = lock(&state.observed);
                obs.response.get_or_insert(now);
                obs.response_body = String::from_utf8_lossy(&req.body).into_owned();
            }
            state.done.notify_waiters();
            respond(&mut stream, "202 Accepted", "", b"{}").await
        } else if req.method == "POST" && req.path.ends_with("/checkpoint") {
            let n = {
                let mut obs = lock(&state.observed);
                obs.first_checkpoint.get_or_insert(now);
                obs.checkpoints += 1;
                obs.checkpoints
            };
            let body =
                format!(r#"{{"CheckpointToken":"t{n}","NewExecutionState":{{"Operations":[]}}}}"#);
            respond(&mut stream, "200 OK", "", body.as_bytes()).await
        } else if req.path.contains("/state") {
            respond(&mut stream, "200 OK", "", br#"{"Operations":[]}"#).await
        } else {
            respond(&mut stream, "404 Not Found", "", b"{}").await
        };
        if !ok {
            return;
        }
    }
}
