//! A model of the AWS Lambda durable-execution service, synchronous and in memory: the one
//! place this project writes down the service's rules.
//!
//! [`LocalService`] plays the part of the durable-execution control plane: executions,
//! checkpoint validation and application (atomic batches, the service's rules and error
//! messages), rotating single-use checkpoint tokens, paginated state, timers (retry delays,
//! waits, callback timeouts), callbacks, chained-invoke completion, and a history shaped like
//! `GetDurableExecutionHistory`; in memory, or kept in a file ([`LocalService::open`], feature
//! `file-store`, on by default) so executions survive a restart. [`Clock`] is virtual time (the
//! default) or the system clock; [`Timeline`] turns a history into a readable picture.
//!
//! It depends on `durable-proto` only (for the wire types) and knows nothing of handlers,
//! async or IO. The same model serves every consumer:
//!
//! * `durable-local` wraps it in a runner that drives real handlers through the SDK drivers;
//! * durable-proto's scenario tests drive the engine against it by hand;
//! * the fuzz targets treat any [`ServiceError`] it returns to an SDK request as a finding.
//!
//! # Drive it by hand
//!
//! ```
//! use durable_proto::{OperationAction, OperationType, OperationUpdate};
//! use durable_service::{ExecutionStatus, InvocationEnd, LocalService};
//!
//! let mut svc = LocalService::default();
//! let arn = svc.start_execution("orders", r#"{"id":7}"#).unwrap();
//! let envelope = svc.begin_invocation(&arn).unwrap();
//! let step = OperationUpdate::new("c4ca4238a0b92382", OperationType::Step, OperationAction::Start);
//! let response = svc
//!     .checkpoint(&arn, &envelope.checkpoint_token, vec![step])
//!     .unwrap();
//! assert_eq!(response.new_execution_state.operations[0].id, "c4ca4238a0b92382");
//! // The token is single-use: the old one is refused with the real service's message.
//! let stale = svc.checkpoint(&arn, &envelope.checkpoint_token, vec![]).unwrap_err();
//! assert_eq!(stale.to_string(), "InvalidParameterValueException: Invalid checkpoint token");
//! # let _ = (ExecutionStatus::Running, InvocationEnd::Errored(durable_proto::ErrorObject::new("x", "y")));
//! ```

mod clock;
mod config;
mod error;
mod history;
mod ids;
mod service;
mod store;
mod timeline;
mod timeline_html;

pub use clock::{Clock, TimeMode, Timer, TimerKind, DEFAULT_VIRTUAL_EPOCH};
pub use config::ServiceConfig;
pub use error::ServiceError;
pub use history::{
    history_to_json, CallbackStartedDetails, ChainedInvokeStartedDetails, EmptyDetails,
    ErrorDetails, EventDetails, EventError, EventPayload, EventType, ExecutionPausedDetails,
    ExecutionResumedDetails, ExecutionStartedDetails, HistoryEvent, InvocationCompletedDetails,
    ResultDetails, RetryDetails, StepEventDetails, WaitStartedDetails, WaitSucceededDetails,
};
pub use service::{
    ChainedInvokeEnd, ExecutionDescription, ExecutionRecord, ExecutionStatus, InvocationEnd,
    InvocationRecord, InvocationResult, LocalService, CALLBACK_HEARTBEAT_ERROR,
    CALLBACK_TIMEOUT_ERROR, EXECUTION_TIMEOUT_ERROR, MAX_REASON_LENGTH,
    PENDING_WITHOUT_PENDING_OPERATIONS, RESTART_ERROR_TYPE,
};
pub use timeline::{format_duration, format_offset, EntryKind, Timeline, TimelineEntry};
pub use timeline_html::timeline_html;
