//! The durable-execution service, in Rust, in memory, with virtual time: run and test
//! durable Lambda handlers with no network, no AWS account and no Python emulator.
//!
//! * [`LocalRunner`] — registers handlers (async ones with [`register`](LocalRunner::register),
//!   synchronous `durable_blocking` ones with
//!   [`register_blocking`](LocalRunner::register_blocking)), runs executions to the end
//!   through the real SDK drivers, jumping virtual time from timer to timer, and returns a
//!   [`TestExecution`] to assert on (status, result, operations, attempts, history,
//!   invocations, [`Timeline`]).
//! * [`LocalService`] — the service side (the `durable-service` crate, re-exported here whole): executions, checkpoint validation and application
//!   (atomic batches, the service's rules and error messages), rotating single-use tokens,
//!   paginated state, timers (retry delays, waits, callback timeouts), callbacks, chained
//!   invoke completion, and a history shaped like `GetDurableExecutionHistory`; in memory,
//!   or kept in a file ([`LocalService::open`]) so executions survive a restart.
//! * [`Clock`] — virtual time (the default) or the system clock.
//! * [`LocalClient`] — the SDK's `CheckpointClient` over a shared service, with fault
//!   injection (failed calls, stale tokens, dropped START updates, crashes; ready-made
//!   failures in [`faults`]) and call counters.
//!
//! Runnable examples: `cargo run -p durable-local --example order_workflow` (also
//! `trial_reminder` and `fan_out`). The guide is `docs/local-testing.md`; the sections below
//! are its compiled examples.
//!
//! # Run a handler
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
//!         let policy = RetryPolicy::try_exponential(5, Duration::from_secs(600), Duration::from_secs(600), 1.0)
//!             .unwrap()
//!             .with_jitter(Jitter::None);
//!         ctx.step("call", move |_| async move {
//!             match counter.fetch_add(1, Ordering::SeqCst) {
//!                 0 | 1 => Err(durable_tokio::StepError::msg("transient")),
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
//!
//! # Inspect operations and history
//!
//! A [`TestExecution`] is a snapshot of the service's record: operations in creation order
//! (with their ids, statuses and `StepDetails`), the history events, and the invocations.
//!
//! ```
//! use durable_local::{EventType, LocalRunner};
//! use durable_proto::{OperationStatus, OperationType};
//! use durable_tokio::{DurableContext, DurableError};
//! use std::time::Duration;
//!
//! async fn checkout(cart: Vec<u32>, ctx: DurableContext) -> Result<u32, DurableError> {
//!     let total: u32 = ctx
//!         .step("total", |_| async move { Ok(cart.iter().sum()) })
//!         .await?;
//!     ctx.wait("cooling-off", Duration::from_secs(3600)).await?;
//!     Ok(total)
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut runner = LocalRunner::new();
//! runner.register("checkout", checkout);
//! let execution = runner.run("checkout", vec![3, 4]).await.unwrap();
//!
//! let total = execution.operation("total").unwrap();
//! assert_eq!((total.id.as_str(), &total.operation_type), ("1", &OperationType::Step));
//! assert_eq!(total.status, OperationStatus::Succeeded);
//! assert_eq!(total.step_details.as_ref().unwrap().result.as_deref(), Some("7"));
//! assert_eq!(execution.operation_at(1).unwrap().name.as_deref(), Some("cooling-off"));
//!
//! use EventType::*;
//! let waits: Vec<_> = execution.events_of("cooling-off").iter().map(|e| e.event_type).collect();
//! assert_eq!(waits, [WaitStarted, WaitSucceeded]);
//! assert_eq!(execution.invocation_count(), 2);
//! assert!(execution.history_json().starts_with(r#"{"Events":["#));
//! # });
//! ```
//!
//! # Inject faults
//!
//! Faults are queued on the runner's [`LocalClient`] and consumed by the next matching
//! calls. A throttled or failed checkpoint fails the *invocation*, which the service retries;
//! a crash after an acknowledged checkpoint drops the handler where it stands.
//!
//! ```
//! use durable_local::{faults, ExecutionStatus, InvocationResult, LocalRunner};
//! use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};
//! use std::time::Duration;
//!
//! async fn pay(_: (), ctx: DurableContext) -> Result<u32, DurableError> {
//!     let retry = RetryPolicy::try_linear(3, Duration::from_secs(5), Duration::ZERO, Duration::from_secs(5))
//!         .unwrap()
//!         .with_jitter(Jitter::None);
//!     ctx.step("charge", |step| async move { Ok(step.attempt()) })
//!         .at_most_once()
//!         .retry(retry)
//!         .await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! // 429 on the first checkpoint: that invocation fails and the next one starts afresh.
//! let mut runner = LocalRunner::new();
//! runner.register("pay", pay);
//! runner.client().fail_next_checkpoints(1, faults::throttled());
//! let execution = runner.run("pay", ()).await.unwrap();
//! assert_eq!(execution.status(), ExecutionStatus::Succeeded);
//! assert_eq!(execution.invocations()[0].result, Some(InvocationResult::Errored));
//! assert_eq!(execution.result::<u32>().unwrap(), 1);
//!
//! // A crash right after START was recorded: the at-most-once body never ran, and the
//! // interrupted attempt goes to the retry policy as StepInterruptedError.
//! let mut runner = LocalRunner::new();
//! runner.register("pay", pay);
//! runner.crash_after_checkpoints(1);
//! let execution = runner.run("pay", ()).await.unwrap();
//! assert_eq!(execution.result::<u32>().unwrap(), 2);
//! let interrupted = execution.events_of("charge")[1].error().unwrap();
//! assert_eq!(interrupted.type_name(), "StepInterruptedError");
//! # });
//! ```
//!
//! # Control time
//!
//! Time is virtual unless [`real_time`](LocalRunnerBuilder::real_time) is asked for: it
//! stands still while a handler runs, and [`LocalRunner::run`] / [`drive`](LocalRunner::drive)
//! jump it to the next due timer. To look at an execution between invocations, step it by
//! hand:
//!
//! ```
//! use durable_local::{ExecutionStatus, InvocationResult, LocalRunner, TimerKind};
//! use durable_tokio::{DurableContext, DurableError};
//! use std::time::Duration;
//!
//! async fn remind(_: (), ctx: DurableContext) -> Result<(), DurableError> {
//!     ctx.wait("a week", Duration::from_secs(7 * 24 * 3600)).await?;
//!     ctx.step("remind", |_| async { Ok(()) }).await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut runner = LocalRunner::new();
//! runner.register("remind", remind);
//! let arn = runner.start("remind", ()).unwrap();
//! let first = runner.run_one_invocation(&arn).await.unwrap();
//! assert_eq!(first.result, Some(InvocationResult::Pending));
//!
//! let timer = runner.execution(&arn).unwrap().record().next_timer().unwrap();
//! assert_eq!(timer.kind, TimerKind::WaitEnd);
//! runner.advance_time(Duration::from_secs(24 * 3600)); // a day: nothing due yet
//! assert!(!runner.execution(&arn).unwrap().record().needs_invocation());
//! runner.advance_to_next_timer(&arn).unwrap(); // the wait ends
//! assert!(runner.execution(&arn).unwrap().record().needs_invocation());
//!
//! let done = runner.drive(&arn).await.unwrap();
//! assert_eq!(done.status(), ExecutionStatus::Succeeded);
//! assert_eq!(done.elapsed_millis(), 7 * 24 * 3600 * 1000);
//! # });
//! ```
//!
//! # Keep executions in a file
//!
//! With [`store_path`](LocalRunnerBuilder::store_path) every change is written (atomically,
//! durably, with [redb](https://docs.rs/redb)) before the service answers; a runner built
//! later on the same file finds the executions where they were and
//! [`resume`](LocalRunner::resume)s them.
//!
//! ```
//! use durable_local::{ExecutionStatus, LocalRunner};
//! use durable_tokio::{DurableContext, DurableError};
//! use std::time::Duration;
//!
//! async fn nap(_: (), ctx: DurableContext) -> Result<String, DurableError> {
//!     ctx.wait("nap", Duration::from_secs(3600)).await?;
//!     ctx.step("wake", |_| async { Ok("awake".to_owned()) }).await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let path = std::env::temp_dir().join(format!("durable-local-doc-{}.redb", std::process::id()));
//! # let _ = std::fs::remove_file(&path);
//! {
//!     let mut runner = LocalRunner::builder().store_path(&path).build();
//!     runner.register("nap", nap);
//!     let arn = runner.start("nap", ()).unwrap();
//!     runner.run_one_invocation(&arn).await.unwrap(); // suspends in the wait
//! } // the runner goes away, as if its process ended
//!
//! let mut runner = LocalRunner::builder().store_path(&path).build();
//! runner.register("nap", nap);
//! let found = runner.executions();
//! assert_eq!(found[0].status(), ExecutionStatus::Running);
//! let done = runner.resume(found[0].arn()).await.unwrap();
//! assert_eq!(done.result::<String>().unwrap(), "awake");
//! assert_eq!(done.invocation_count(), 2);
//! # drop(runner);
//! # std::fs::remove_file(&path).unwrap();
//! # });
//! ```
//!
//! # Read the timeline
//!
//! [`TestExecution::timeline`] puts invocations, step attempts, retry delays, waits and
//! callbacks on the execution's time axis; print it, or assert on its entries.
//!
//! ```
//! use durable_local::{EntryKind, LocalRunner};
//! use durable_tokio::{DurableContext, DurableError};
//! use std::time::Duration;
//!
//! async fn settle(_: (), ctx: DurableContext) -> Result<(), DurableError> {
//!     ctx.wait("settlement", Duration::from_secs(2 * 24 * 3600)).await
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! let mut runner = LocalRunner::new();
//! runner.register("settle", settle);
//! let timeline = runner.run("settle", ()).await.unwrap().timeline();
//! println!("{timeline}");
//! // START     END       DURATION  KIND       NAME                             OUTCOME
//! // +0s       +0s       0s        invocation #1                               PENDING
//! // +0s       +2d       2d        wait       settlement                       SUCCEEDED
//! // +2d       +2d       0s        invocation #2                               SUCCEEDED
//! let wait = timeline.entries_of(EntryKind::Wait).next().unwrap();
//! assert_eq!((wait.label.as_str(), wait.duration_ms()), ("settlement", Some(2 * 86_400_000)));
//! assert_eq!(timeline.entries_of(EntryKind::Invocation).count(), 2);
//! # });
//! ```
//!
//! # Blocking handlers
//!
//! [`LocalRunner::register_blocking`] takes `fn(E, &durable_blocking::DurableContext) ->
//! Result<O, Err>` and runs it through `durable_blocking::handle` on a blocking thread, with
//! the same client, faults, time and history as async handlers; see its example.

mod client;
mod error;
pub mod faults;
#[cfg(feature = "remote")]
pub mod remote;
mod runner;

pub use client::{lock_service, LocalClient, SharedService};
pub use durable_service::timeline_html;
pub use durable_service::{
    format_duration, format_offset, Clock, EntryKind, ServiceConfig, ServiceError, TimeMode,
    Timeline, TimelineEntry, Timer, TimerKind, DEFAULT_VIRTUAL_EPOCH,
};
pub use durable_service::{
    history_to_json, CallbackStartedDetails, ChainedInvokeStartedDetails, EmptyDetails,
    ErrorDetails, EventDetails, EventError, EventPayload, EventType, ExecutionPausedDetails,
    ExecutionResumedDetails, ExecutionStartedDetails, HistoryEvent, InvocationCompletedDetails,
    ResultDetails, RetryDetails, StepEventDetails, WaitStartedDetails, WaitSucceededDetails,
};
pub use durable_service::{
    ChainedInvokeEnd, ExecutionDescription, ExecutionRecord, ExecutionStatus, InvocationEnd,
    InvocationRecord, InvocationResult, LocalService, CALLBACK_HEARTBEAT_ERROR,
    CALLBACK_TIMEOUT_ERROR, EXECUTION_TIMEOUT_ERROR, MAX_REASON_LENGTH,
    PENDING_WITHOUT_PENDING_OPERATIONS, RESTART_ERROR_TYPE,
};
pub use error::RunnerError;
pub use runner::{
    CallbackResponse, DurableRunner, LocalRunner, LocalRunnerBuilder, TestExecution,
    CRASH_ERROR_TYPE, INVOCATION_PANIC_ERROR_TYPE, TIMEOUT_ERROR_TYPE,
};

/// `docs/local-testing.md`, whose Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/local-testing.md")]
pub struct LocalTestingGuide;

/// `docs/remote-testing.md`, whose Rust examples are compiled as doctests (the ones that
/// need a deployed function are `no_run`).
#[cfg(all(doctest, feature = "remote"))]
#[doc = include_str!("../../../docs/remote-testing.md")]
pub struct RemoteTestingGuide;
