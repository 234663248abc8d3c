//! Settings of the local service.

use std::time::Duration;

use durable_proto::Timestamp;

use crate::clock::{TimeMode, DEFAULT_VIRTUAL_EPOCH};

/// How the local service behaves: page sizes, limits, time and leniency.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// Operations per state page (the envelope's first page, `GetDurableExecutionState`
    /// without `MaxItems`, and checkpoint responses). Default 100, as the real API; use 1 to
    /// make pagination bugs surface. Values are clamped to `1..=1000`.
    pub page_size: usize,
    /// Largest `Payload` of one update, in bytes, for every type but EXECUTION.
    /// Default 256 KiB.
    pub max_operation_payload_bytes: usize,
    /// Largest `Payload` of an EXECUTION update, of the execution input and of an
    /// invocation's result. Default 6 MiB.
    pub max_execution_payload_bytes: usize,
    /// Largest serialized `Error` of one update. Default 1 MiB.
    pub max_error_bytes: usize,
    /// Most updates in one checkpoint call. Default 250.
    pub max_batch_updates: usize,
    /// Virtual (default) or real time.
    pub time: TimeMode,
    /// Where virtual time starts.
    pub start_time: Timestamp,
    /// Seed of every generated id (ARNs, request ids).
    pub seed: u64,
    /// How often a failed invocation (error, crash, timeout) is retried before the execution
    /// fails with the invocation's error. Default 3.
    pub max_invocation_retries: u32,
    /// When set, executions running longer than this time out (`ExecutionTimedOut`).
    pub execution_timeout: Option<Duration>,
    /// When `true`, STEP SUCCEED/FAIL/RETRY and CONTEXT SUCCEED/FAIL are rejected for an
    /// operation with no recorded START. The reference emulator (and, as far as is known,
    /// the service) accepts them — at-least-once SDKs may lose a fire-and-forget START —
    /// so the default is `false`.
    pub require_start: bool,
    /// Region in generated ARNs. Default `us-east-1`.
    pub region: String,
    /// Account in generated ARNs. Default `123456789012`.
    pub account_id: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            page_size: 100,
            max_operation_payload_bytes: 256 * 1024,
            max_execution_payload_bytes: 6 * 1024 * 1024,
            max_error_bytes: 1024 * 1024,
            max_batch_updates: 250,
            time: TimeMode::Virtual,
            start_time: DEFAULT_VIRTUAL_EPOCH,
            seed: 0x0D0E_5EED,
            max_invocation_retries: 3,
            execution_timeout: None,
            require_start: false,
            region: "us-east-1".to_owned(),
            account_id: "123456789012".to_owned(),
        }
    }
}

impl ServiceConfig {
    /// The page size actually used for a request asking for `max_items` (`None` or 0 means
    /// the default).
    pub(crate) fn page_size_for(&self, max_items: Option<usize>) -> usize {
        match max_items {
            Some(n) if n > 0 => n.min(MAX_PAGE_SIZE),
            _ => self.page_size.clamp(1, MAX_PAGE_SIZE),
        }
    }
}

/// The largest page the real `GetDurableExecutionState` returns.
pub(crate) const MAX_PAGE_SIZE: usize = 1000;

/// The largest `WaitSeconds` / `NextAttemptDelaySeconds` the service accepts (366 days).
pub(crate) const MAX_DELAY_SECONDS: u32 = 31_622_400;
