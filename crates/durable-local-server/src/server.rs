//! [`Server`]: the HTTP listener of the durable-execution API, the function hosts and the
//! scheduler, sharing one service model.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use durable_local::{
    lock_service, ExecutionRecord, LocalService, ServiceConfig, SharedService, TimeMode,
};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::error::{ConfigError, ServerError};
use crate::functions::FunctionSpec;
use crate::runtime::{FunctionHost, HostSettings};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The address to listen on (loopback by default).
    pub host: IpAddr,
    /// The port (0: any free one; see [`Server::addr`]).
    pub port: u16,
    /// Virtual time (the default: waits take no wall time) or real time.
    pub time: TimeMode,
    /// On virtual time, how long the server stays idle before it jumps to the next timer.
    pub idle_grace: Duration,
    /// A store file in which executions survive a restart of the server.
    pub store: Option<PathBuf>,
    /// Whether the functions' stdout and stderr are copied to the server's stderr.
    pub forward_output: bool,
    /// A Lambda endpoint (`http://host:port`) that runs the functions not declared here
    /// (see docs/local-server.md, *Standing in for AWS's emulator*).
    pub lambda_endpoint: Option<String>,
    /// The functions that endpoint runs (a path or `file://` URL of the document AWS's
    /// emulator takes with `--function-configs`), so chained invokes of them can run.
    pub function_configs: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            time: TimeMode::Virtual,
            idle_grace: Duration::ZERO,
            store: None,
            forward_output: true,
            lambda_endpoint: None,
            function_configs: None,
        }
    }
}

/// What the API handlers, the scheduler and the invocations share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) service: SharedService,
    pub(crate) functions: HashMap<String, Arc<FunctionHost>>,
    /// Wakes the scheduler: something may need an invocation, or time may move.
    pub(crate) wake: Notify,
    /// Tells waiters (synchronous Invokes, `run`) that some execution changed.
    pub(crate) changed: Notify,
    pub(crate) idle_grace: Duration,
    pub(crate) region: String,
    pub(crate) account: String,
    /// The last `ClientToken` and reply of each execution's checkpoint, so an SDK retry of
    /// a call whose reply was lost gets that reply instead of a stale-token error.
    pub(crate) client_tokens: Mutex<HashMap<String, (String, Value)>>,
    /// Chained invokes taken on.
    pub(crate) chained: crate::chained::ChainedInvokes,
    /// Where functions that are not declared run, if anywhere.
    pub(crate) remote: Option<crate::remote::Endpoint>,
    /// What is known of the functions that run there.
    pub(crate) remote_functions: HashMap<String, crate::remote::RemoteFunction>,
}

impl Shared {
    pub(crate) fn function_arn(&self, name: &str) -> String {
        crate::wire::function_arn(&self.region, &self.account, name)
    }
}

/// A running `durable-local serve`: stops its tasks and processes when dropped or
/// [`shutdown`](Self::shutdown).
#[derive(Debug)]
pub struct Server {
    shared: Arc<Shared>,
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Server {
    /// Binds the API listener, declares the functions (their processes start on their first
    /// invocation) and starts the scheduler.
    pub async fn start(
        functions: Vec<FunctionSpec>,
        options: ServeOptions,
    ) -> Result<Self, ServerError> {
        let remote = match &options.lambda_endpoint {
            Some(url) => Some(
                crate::remote::Endpoint::parse(url)
                    .map_err(|reason| ConfigError::Endpoint { reason })?,
            ),
            None => None,
        };
        let remote_functions = match &options.function_configs {
            Some(location) => crate::remote::load_function_configs(location)
                .map_err(|reason| ConfigError::Endpoint { reason })?,
            None => HashMap::new(),
        };
        let addr = SocketAddr::new(options.host, options.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| ServerError::Bind {
                addr: addr.to_string(),
                source: e,
            })?;
        let addr = listener.local_addr().map_err(|e| ServerError::Bind {
            addr: addr.to_string(),
            source: e,
        })?;
        let mut config = ServiceConfig::default();
        config.time = options.time;
        let region = config.region.clone();
        let account = config.account_id.clone();
        let mut service = match &options.store {
            Some(path) => LocalService::open_with(path, config)?,
            None => LocalService::new(config),
        };
        // Processes of an earlier server are gone: their invocations are retried.
        service.end_orphaned_invocations()?;
        let settings = HostSettings {
            api_endpoint: format!("http://{addr}"),
            region: region.clone(),
            forward_output: options.forward_output,
        };
        let mut hosts = HashMap::new();
        for spec in functions {
            let name = spec.name.clone();
            let host = Arc::new(FunctionHost::new(spec, settings.clone()));
            if hosts.insert(name.clone(), host).is_some() {
                return Err(ConfigError::Duplicate { name }.into());
            }
        }
        let shared = Arc::new(Shared {
            service: Arc::new(std::sync::Mutex::new(service)),
            functions: hosts,
            wake: Notify::new(),
            changed: Notify::new(),
            idle_grace: options.idle_grace,
            region,
            account,
            client_tokens: Mutex::new(HashMap::new()),
            chained: Default::default(),
            remote,
            remote_functions,
        });
        let tasks = vec![
            tokio::spawn(accept_loop(listener, shared.clone())),
            tokio::spawn(crate::scheduler::run(shared.clone())),
        ];
        Ok(Self {
            shared,
            addr,
            tasks,
        })
    }

    /// The address the API listens on; point `AWS_ENDPOINT_URL_LAMBDA` at
    /// `http://<addr>`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The service model behind the API.
    pub fn service(&self) -> &SharedService {
        &self.shared.service
    }

    /// How many processes function `name` has started so far (`None`: not declared).
    pub fn process_starts(&self, name: &str) -> Option<u32> {
        self.shared.functions.get(name).map(|h| h.process_starts())
    }

    /// Wall time function `name` spent running invocations (from taking its process to the
    /// runtime's answer, process starts included); with the wall time of a whole execution
    /// it gives the server's own overhead.
    pub fn busy_time(&self, name: &str) -> Option<Duration> {
        self.shared.functions.get(name).map(|h| h.busy_time())
    }

    /// Starts an execution of a declared durable function with `input` (JSON text), as an
    /// asynchronous Invoke does, and returns its ARN.
    pub fn start_execution(&self, function: &str, input: &str) -> Result<String, ServerError> {
        let spec = &self
            .shared
            .functions
            .get(function)
            .ok_or_else(|| ServerError::UnknownFunction {
                name: function.to_owned(),
            })?
            .spec;
        serde_json::from_str::<Value>(input).map_err(|e| ServerError::Event {
            message: e.to_string(),
        })?;
        let arn = lock_service(&self.shared.service).start_execution_with(
            function,
            None,
            input,
            spec.execution_timeout,
        )?;
        self.shared.wake.notify_one();
        Ok(arn)
    }

    /// Waits until the execution has ended (or is paused) and returns its record; gives up
    /// after `wall_timeout` of wall time.
    pub async fn wait_for_end(
        &self,
        arn: &str,
        wall_timeout: Duration,
    ) -> Result<ExecutionRecord, ServerError> {
        wait_for_end(&self.shared, arn, wall_timeout).await
    }

    /// Stops the listener, the scheduler and every function process, and closes the store
    /// (so another server can open it at once).
    pub async fn shutdown(mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
            let _ = task.await;
        }
        for host in self.shared.functions.values() {
            host.shutdown().await;
        }
        // Connections a client keeps alive still hold the shared state; leave them an empty
        // service and drop the real one, which closes its store file.
        let service = std::mem::take(&mut *lock_service(&self.shared.service));
        drop(service);
    }

    fn stop_tasks(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop_tasks();
    }
}

/// Polls the execution (woken by every change) until it is terminal or paused.
pub(crate) async fn wait_for_end(
    shared: &Shared,
    arn: &str,
    wall_timeout: Duration,
) -> Result<ExecutionRecord, ServerError> {
    let started = Instant::now();
    loop {
        let changed = shared.changed.notified();
        let record = {
            let svc = lock_service(&shared.service);
            svc.execution(arn).cloned().ok_or_else(|| {
                ServerError::Service(durable_local::ServiceError::ResourceNotFound {
                    message: format!("Execution not found: {arn}"),
                })
            })?
        };
        if record.status().is_terminal()
            || record.status() == durable_local::ExecutionStatus::Paused
        {
            return Ok(record);
        }
        let left = wall_timeout.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(ServerError::WallTimeout {
                arn: arn.to_owned(),
                seconds: wall_timeout.as_secs(),
                status: record.status().to_string(),
            });
        }
        // `changed` misses a change made between the read and here; the poll bounds that.
        let _ = tokio::time::timeout(left.min(Duration::from_millis(50)), changed).await;
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(crate::api::route(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
