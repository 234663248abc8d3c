//! The durable-execution service, in Rust, in memory, with virtual time: run and test
//! durable Lambda handlers with no network, no AWS account and no Python emulator.
//!
//! * [`LocalService`] — the service side: executions, checkpoint validation and application
//!   (atomic batches, the service's rules and error messages), rotating single-use tokens,
//!   paginated state, timers (retry delays, waits, callback timeouts), callbacks, chained
//!   invoke completion, and a history shaped like `GetDurableExecutionHistory`.
//! * [`Clock`] — virtual time (the default) or the system clock.
//! * [`LocalClient`] — the SDK's `CheckpointClient` over a shared service, with fault
//!   injection (failed calls, stale tokens, dropped START updates, crashes) and call counters.
//! * [`LocalRunner`] — registers async handlers, runs executions to the end through the real
//!   SDK driver (`durable_tokio::handle`), jumping virtual time from timer to timer, and
//!   returns a [`TestExecution`] to assert on (status, result, operations, attempts,
//!   history, invocations, [`Timeline`]).
//!
//! ```
//! use durable_local::{EventType, ExecutionStatus, LocalRunner};
//! use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let calls = Arc::new(AtomicU32::new(0));
//! let mut runner = LocalRunner::new();
//! let counter = calls.clone();
//! runner.register("flaky", move |_: (), ctx: DurableContext| {
//!     let counter = counter.clone();
//!     async move {
//!         let policy = RetryPolicy::exponential(5, Duration::from_secs(600), Duration::from_secs(600), 1.0)
//!             .unwrap()
//!             .with_jitter(Jitter::None);
//!         ctx.step("call", move |_| async move {
//!             match counter.fetch_add(1, Ordering::SeqCst) {
//!                 0 | 1 => Err("transient".to_owned()),
//!                 _ => Ok(7),
//!             }
//!         })
//!         .retry(policy)
//!         .await
//!     }
//! });
//! let execution = runner.run("flaky", ()).await.unwrap();
//! assert_eq!(execution.status(), ExecutionStatus::Succeeded);
//! assert_eq!(execution.result::<i32>().unwrap(), 7);
//! assert_eq!(execution.step_attempts("call"), Some(3));
//! assert_eq!(execution.events_of_type(EventType::StepFailed).len(), 2);
//! assert_eq!(execution.elapsed_millis(), 20 * 60 * 1000); // two 10-minute delays, virtually
//! # });
//! ```

mod client;
mod clock;
mod config;
mod error;
pub mod faults;
mod history;
mod ids;
mod runner;
mod service;
mod store;
mod timeline;

pub use client::{lock_service, LocalClient, SharedService};
pub use clock::{Clock, TimeMode, Timer, TimerKind, DEFAULT_VIRTUAL_EPOCH};
pub use config::ServiceConfig;
pub use error::{RunnerError, ServiceError};
pub use history::{
    history_to_json, CallbackStartedDetails, ChainedInvokeStartedDetails, EmptyDetails,
    ErrorDetails, EventDetails, EventError, EventPayload, EventType, ExecutionStartedDetails,
    HistoryEvent, InvocationCompletedDetails, ResultDetails, RetryDetails, StepEventDetails,
    WaitStartedDetails, WaitSucceededDetails,
};
pub use runner::{
    LocalRunner, LocalRunnerBuilder, TestExecution, CRASH_ERROR_TYPE, PANIC_ERROR_TYPE,
    TIMEOUT_ERROR_TYPE,
};
pub use service::{
    ChainedInvokeEnd, ExecutionRecord, ExecutionStatus, InvocationEnd, InvocationRecord,
    InvocationResult, LocalService, CALLBACK_HEARTBEAT_ERROR, CALLBACK_TIMEOUT_ERROR,
    EXECUTION_TIMEOUT_ERROR, PENDING_WITHOUT_PENDING_OPERATIONS, RESTART_ERROR_TYPE,
};
pub use timeline::{format_duration, format_offset, EntryKind, Timeline, TimelineEntry};
