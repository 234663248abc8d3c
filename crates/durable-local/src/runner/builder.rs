//! [`LocalRunnerBuilder`]: every knob of a [`LocalRunner`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use durable_proto::{ExecutionConfig, Timestamp};

use crate::client::LocalClient;
use crate::runner::{LocalRunner, RunnerSettings};
use crate::LocalService;
use crate::RunnerError;
use crate::ServiceConfig;
use crate::TimeMode;

/// Builds a [`LocalRunner`]. Start from [`LocalRunner::builder`].
#[derive(Debug, Clone, Default)]
#[must_use = "call .build() to get a runner"]
pub struct LocalRunnerBuilder {
    config: ServiceConfig,
    settings: RunnerSettings,
    store: Option<PathBuf>,
}

impl LocalRunnerBuilder {
    /// Replaces the whole service configuration.
    pub fn service_config(mut self, config: ServiceConfig) -> Self {
        self.config = config;
        self
    }

    /// Operations per state page (default 100). Use 1 to flush out pagination bugs.
    pub fn page_size(mut self, size: usize) -> Self {
        self.config.page_size = size.max(1);
        self
    }

    /// Virtual time (the default): waits and retry delays take no wall time.
    pub fn virtual_time(mut self) -> Self {
        self.config.time = TimeMode::Virtual;
        self
    }

    /// Real time: waits and retry delays really elapse.
    pub fn real_time(mut self) -> Self {
        self.config.time = TimeMode::Real;
        self
    }

    /// Where virtual time starts.
    pub fn start_time(mut self, at: Timestamp) -> Self {
        self.config.start_time = at;
        self
    }

    /// Largest payload of one operation update and of an EXECUTION update / execution
    /// result, in bytes (defaults 256 KiB and 6 MiB).
    pub fn payload_limits(mut self, operation: usize, execution: usize) -> Self {
        self.config.max_operation_payload_bytes = operation;
        self.config.max_execution_payload_bytes = execution;
        self
    }

    /// Reject STEP/CONTEXT completions of operations that have no recorded START (default
    /// off, like the emulator).
    pub fn require_start(mut self, require: bool) -> Self {
        self.config.require_start = require;
        self
    }

    /// Seed of generated ids (ARNs, tokens, request ids).
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
        self
    }

    /// How often a failed invocation is retried before the execution fails (default 3).
    pub fn max_invocation_retries(mut self, retries: u32) -> Self {
        self.config.max_invocation_retries = retries;
        self
    }

    /// Time executions out after `timeout` (virtual or real time).
    pub fn execution_timeout(mut self, timeout: Duration) -> Self {
        self.config.execution_timeout = Some(timeout);
        self
    }

    /// The most invocations one execution may take before
    /// [`RunnerError::InvocationLimit`](crate::RunnerError::InvocationLimit) (default 200):
    /// catches livelocks.
    pub fn max_invocations(mut self, limit: u32) -> Self {
        self.settings.max_invocations = limit.max(1);
        self
    }

    /// Wall-clock limit of one invocation; a slower one ends as a `Sandbox.Timedout`
    /// invocation error (and is retried). Default: none.
    pub fn invocation_timeout(mut self, limit: Duration) -> Self {
        self.settings.invocation_timeout = Some(limit);
        self
    }

    /// The SDK engine's limits for every invocation.
    pub fn execution_config(mut self, config: ExecutionConfig) -> Self {
        self.settings.execution = config;
        self
    }

    /// Installs an instrumentation plugin in every invocation's handler options.
    pub fn plugin(mut self, plugin: impl durable_tokio::Plugin) -> Self {
        self.settings.plugins.push(std::sync::Arc::new(plugin));
        self
    }

    /// Installs a shared instrumentation plugin in every invocation's handler options.
    pub fn shared_plugin(mut self, plugin: std::sync::Arc<dyn durable_tokio::Plugin>) -> Self {
        self.settings.plugins.push(plugin);
        self
    }

    /// A fixed seed for the SDK's retry jitter (by default it derives from the ARN and the
    /// token, which are deterministic here too).
    pub fn handler_seed(mut self, seed: u64) -> Self {
        self.settings.handler_seed = Some(seed);
        self
    }

    /// Keeps executions in a file (see [`LocalService::open_with`]): the runner's service
    /// writes every change before answering, and a runner built later on the same path
    /// finds the executions, their tokens and the virtual time where this one left them;
    /// [`LocalRunner::resume`] continues an unfinished execution. An invocation that was in
    /// flight when the earlier runner went away is ended as a crashed one
    /// ([`RESTART_ERROR_TYPE`](crate::RESTART_ERROR_TYPE)) and retried. One runner per file
    /// at a time: drop the first before building the next.
    pub fn store_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.store = Some(path.into());
        self
    }

    /// Builds the runner: with a fresh service, or with the one stored at
    /// [`store_path`](Self::store_path).
    ///
    /// # Panics
    ///
    /// When the store cannot be opened; [`try_build`](Self::try_build) returns the error
    /// instead.
    pub fn build(self) -> LocalRunner {
        self.try_build()
            .unwrap_or_else(|e| panic!("cannot build the local runner: {e}"))
    }

    /// Builds the runner, or says why the store at [`store_path`](Self::store_path) cannot
    /// be opened (`ServiceException`, [`ServiceError::Storage`](crate::ServiceError::Storage)).
    pub fn try_build(self) -> Result<LocalRunner, RunnerError> {
        let service = match &self.store {
            Some(path) => {
                let mut service = LocalService::open_with(path, self.config)?;
                // Nothing runs in this new runner yet: whatever is in flight died with an
                // earlier process.
                service.end_orphaned_invocations()?;
                service
            }
            None => LocalService::new(self.config),
        };
        let service = Arc::new(Mutex::new(service));
        Ok(LocalRunner {
            client: Arc::new(LocalClient::new(service.clone())),
            service,
            functions: Default::default(),
            plain: Default::default(),
            responders: Default::default(),
            settings: self.settings,
        })
    }
}
