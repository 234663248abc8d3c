//! Sans-IO replay engine for AWS Lambda durable functions.
//!
//! An [`Execution`] is one invocation of a durable function as a state machine: the
//! invocation envelope, the service's replies and the user code's operation calls go in;
//! checkpoint requests, the invocation's outcome and events come out. It performs no IO,
//! reads no clock, starts no thread and draws no ambient randomness (retry jitter comes from
//! an RNG seeded through [`ExecutionConfig::seed`]), so the same inputs give the same
//! requests, byte for byte, and any executor can drive it. `durable-tokio` and
//! `durable-blocking` are the drivers for Lambda.
//!
//! # The drain contract
//!
//! After every input (`handle_*`, `begin_*`, `activate`, `start_attempt`, `release`,
//! `suspend`, …) drain [`poll_request`](Execution::poll_request) (at most one request is
//! outstanding; make it and hand its reply to `handle_state_page`,
//! `handle_checkpoint_response` or `handle_request_failure`),
//! [`poll_output`](Execution::poll_output) (the invocation's outcome, once decided and
//! flushed) and [`poll_event`](Execution::poll_event). When user code cannot go on and
//! [`should_suspend`](Execution::should_suspend) holds, call
//! [`suspend`](Execution::suspend) and keep draining until the output appears.
//!
//! # Driving it by hand
//!
//! One step and a one-minute wait, without any async runtime; the "service" answers every
//! checkpoint by echoing the records it would store:
//!
//! ```
//! use std::time::Duration;
//! use durable_proto::*;
//!
//! let envelope = br#"{"DurableExecutionArn":"arn:aws:lambda:us-east-1:1:function:f:1/durable-execution/run/e1",
//!   "CheckpointToken":"t0","InitialExecutionState":{"Operations":[{"Id":"e1","Type":"EXECUTION",
//!   "Status":"STARTED","ExecutionDetails":{"InputPayload":"{}"}}]}}"#;
//! let mut exec = Execution::from_slice(envelope).unwrap();
//! assert!(exec.is_ready());
//!
//! // A step: begin it, await it, run its body, report the outcome.
//! let request = StepRequest { name: Some("price"), semantics: StepSemantics::AtLeastOncePerRetry };
//! let policy = RetryPolicy::default();
//! let StepStart::Run { op, .. } = exec.begin_step(ContextRef::ROOT, request, &policy).unwrap() else {
//!     unreachable!("a fresh step runs")
//! };
//! exec.activate(op);
//! exec.start_attempt(op).unwrap();
//! let end = exec.handle_step_outcome(op, StepOutcome::Value("42".into()), &policy).unwrap();
//! assert_eq!(end, StepEnd::Done(Ok(Some("42".into()))));
//!
//! // A wait blocks this branch: nothing else can move, so the invocation suspends.
//! let WaitStart::Blocked { op: wait } = exec.begin_wait(ContextRef::ROOT, Some("nap"), Duration::from_secs(60)).unwrap() else {
//!     unreachable!("a fresh wait blocks")
//! };
//! exec.activate(wait);
//! assert!(exec.should_suspend());
//! exec.suspend();
//!
//! // Flush: one checkpoint call with the step's START and SUCCEED and the wait's START.
//! let Some(ServiceRequest::Checkpoint { checkpoint_token, updates }) = exec.poll_request() else {
//!     unreachable!()
//! };
//! assert_eq!(checkpoint_token, "t0");
//! assert_eq!(updates.len(), 3);
//! // The service records the wait as STARTED and answers with a new token.
//! let response: CheckpointResponse = serde_json::from_str(
//!     r#"{"CheckpointToken":"t1","NewExecutionState":{"Operations":[
//!        {"Id":"1","Type":"STEP","Status":"SUCCEEDED","Name":"price"},
//!        {"Id":"2","Type":"WAIT","Status":"STARTED","Name":"nap"}]}}"#,
//! ).unwrap();
//! exec.handle_checkpoint_response(response).unwrap();
//! match exec.poll_output() {
//!     Some(InvocationOutcome::Output(out)) => assert_eq!(out.status, InvocationStatus::Pending),
//!     other => panic!("{other:?}"),
//! }
//! while let Some(event) = exec.poll_event() {
//!     let _ = event; // logging, metrics, …
//! }
//! ```

mod api_failure;
mod batch;
mod begin;
mod callback;
mod checkpoint;
mod completion;
mod condition;
mod config;
mod context;
mod deterministic;
mod error;
mod event;
mod execution;
mod ids;
mod invoke;
mod journal;
mod operation;
mod records;
mod retry;
mod rng;
mod size;
mod step;
mod wait;
mod wire;

pub use api_failure::{ApiFailure, FailureClass};
pub use batch::{BatchConfig, BatchKind, BatchRef, BatchStart, ItemStart, ItemStatus, Nesting};
pub use callback::{
    CallbackEnd, CallbackFailure, CallbackFailureKind, CallbackRequest, CallbackStart,
    CALLBACK_HEARTBEAT_ERROR_TYPE, CALLBACK_SUB_TYPE, CALLBACK_TIMEOUT_ERROR_TYPE,
    WAIT_FOR_CALLBACK_SUB_TYPE,
};
pub use checkpoint::FlushTicket;
pub use completion::{BatchCounts, CompletionConfig, CompletionPredicate, CompletionReason};
pub use condition::{ConditionOutcome, ConditionStart, WAIT_FOR_CONDITION_SUB_TYPE};
pub use config::ExecutionConfig;
pub use context::{ContextStart, CHILD_CONTEXT_SUB_TYPE};
pub use error::{ExecutionError, OperationShape};
pub use event::{Ending, Event};
pub use execution::{Execution, InvocationFailure, InvocationOutcome, ServiceRequest};
pub use ids::is_valid_operation_id;
pub use invoke::{InvokeFailure, InvokeFailureKind, InvokeRequest, InvokeStart, INVOKE_SUB_TYPE};
pub use journal::ContextRef;
pub use operation::{OperationHandle, OperationIdentity, OperationState};
/// The RNG trait retry strategies draw jitter from (re-exported from `rand_core`).
pub use rand_core::RngCore;
pub use records::Envelope;
pub use retry::*;
pub use rng::SeededRng;
pub use step::{
    OperationResult, StepEnd, StepOutcome, StepRequest, StepSemantics, StepStart,
    PAYLOAD_TOO_LARGE_ERROR_TYPE, SERIALIZATION_ERROR_TYPE, STEP_INTERRUPTED_ERROR_TYPE,
    STEP_TIMED_OUT_ERROR_TYPE,
};
pub use wait::WaitStart;
pub use wire::*;
