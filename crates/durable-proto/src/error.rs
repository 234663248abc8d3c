//! Errors the engine reports. Suspension is not one of them: it is a normal outcome.

use std::fmt;

use crate::wire::OperationType;

/// What an operation is, for replay matching and for mismatch messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationShape {
    /// The operation's type.
    pub operation_type: OperationType,
    /// The SDK's sub-type label (`Step`, `Wait`, …).
    pub sub_type: Option<String>,
    /// The user-given name.
    pub name: Option<String>,
    /// The enclosing context's id (`None` at the root).
    pub parent_id: Option<String>,
}

impl fmt::Display for OperationShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.operation_type)?;
        if let Some(s) = &self.sub_type {
            write!(f, "/{s}")?;
        }
        match &self.name {
            Some(n) => write!(f, " named {n:?}")?,
            None => write!(f, " without a name")?,
        }
        if let Some(p) = &self.parent_id {
            write!(f, " in context {p}")?;
        }
        Ok(())
    }
}

/// An error that ends the execution or the invocation, or rejects a call.
///
/// Every variant has a stable [`code`](ExecutionError::code) that telemetry and tests may
/// match on; the wording of messages may improve between releases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutionError {
    /// Replayed code asked for a different operation than the history recorded under that id.
    #[error(
        "non-deterministic replay at operation {id}: the history records {recorded}, but the \
         code now asks for {requested}. Code must issue the same durable operations in the \
         same order on every replay; ship changed workflow code as a new function version so \
         running executions keep their code"
    )]
    NonDeterminism {
        /// The operation id.
        id: String,
        /// What the history holds.
        recorded: Box<OperationShape>,
        /// What the code asked for.
        requested: Box<OperationShape>,
    },
    /// The state has no EXECUTION operation whose id is the ARN's last segment.
    #[error(
        "the execution state has no EXECUTION operation with id {execution_id:?} (the last \
         segment of the execution ARN); the invocation input is incomplete or not from the \
         durable-execution service"
    )]
    MissingExecutionOperation {
        /// The id looked for.
        execution_id: String,
    },
    /// An operation name is not 1..=256 printable ASCII characters.
    #[error("invalid operation name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A wait duration is zero or above 366 days.
    #[error(
        "invalid wait duration of {millis} ms: waits are whole seconds, rounded up, from 1 \
         second to 31,622,400 seconds (366 days)"
    )]
    InvalidWaitDuration {
        /// The requested duration in milliseconds.
        millis: u128,
    },
    /// A recorded operation has a status this SDK version does not know how to replay.
    #[error(
        "operation {id} has status {status}, which this SDK version cannot replay for a \
         {operation_type} operation; upgrade the SDK"
    )]
    UnsupportedStatus {
        /// The operation id.
        id: String,
        /// Its type.
        operation_type: OperationType,
        /// The status as received.
        status: String,
    },
    /// The engine was driven out of order (a driver bug, not a user error).
    #[error("engine misuse: {what}")]
    Misuse {
        /// What was done wrong.
        what: &'static str,
    },
    /// A durable operation was called from inside a step's body.
    #[error(
        "a durable operation was called inside the body of step {step:?}; replay skips a \
         finished step's body, so operations inside it would take other operations' ids. \
         Call operations from the handler (or a child context), not from a step body"
    )]
    OperationInsideStep {
        /// The step whose body made the call.
        step: String,
    },
    /// An operation was begun while another operation of its context was in progress, so
    /// its id would depend on timing and differ on replay.
    #[error(
        "operation {name:?} was begun in {} while another operation of that context was in \
         progress (awaited and not finished): its id would depend on when that one finishes, \
         and a replay, where finished operations return at once, would give it to another \
         operation. Create operations that run concurrently together (`join!(ctx.step(..), \
         ctx.step(..))`, `join_all` over `ctx.step(..)` futures), or give each concurrent \
         branch its own child context (`run_in_child_context`)",
        .context.as_deref().map_or_else(|| "the root context".to_owned(), |c| format!("context {c}"))
    )]
    TimingDependentId {
        /// The context's id (`None` for the root).
        context: Option<String>,
        /// The name of the refused operation.
        name: Option<String>,
    },
    /// A recorded operation lacks a field the service always sets for its type.
    #[error("operation {id} is malformed: {what}; the history is not from the durable-execution service or is corrupt")]
    MalformedRecord {
        /// The operation id.
        id: String,
        /// What is missing.
        what: &'static str,
    },
    /// A timeout is zero or above 366 days.
    #[error(
        "invalid {what} of {millis} ms: timeouts are whole seconds, rounded up, from 1 second \
         to 31,622,400 seconds (366 days); leave it unset for none"
    )]
    InvalidTimeout {
        /// Which timeout (`callback timeout`, `heartbeat timeout`).
        what: &'static str,
        /// The requested duration in milliseconds.
        millis: u128,
    },
    /// A sub-type is not 1..=32 characters of `[A-Za-z0-9_-]`.
    #[error("invalid operation sub-type {sub_type:?}: sub-types are 1 to 32 characters of A-Z, a-z, 0-9, '-' and '_'")]
    InvalidSubType {
        /// The rejected sub-type.
        sub_type: String,
    },
    /// A chained invoke was asked for with an unusable target or input.
    #[error("invalid chained invoke: {reason}")]
    InvalidInvoke {
        /// Why it was refused.
        reason: String,
    },
    /// A map or parallel was configured in a way that cannot run.
    #[error("invalid {what} configuration: {reason}")]
    InvalidBatch {
        /// `map` or `parallel`.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// An operation was asked for by a map or parallel item whose batch already completed.
    #[error(
        "an operation was begun in an item of a map or parallel that already completed; the \
         batch's result is final, so the abandoned item's work is not recorded"
    )]
    Abandoned,
    /// The execution already reached its outcome in this invocation; no more operations run.
    #[error("the invocation has already reached its outcome; no further operations run")]
    Closed,
    /// An internal invariant broke (a bug in this SDK; please report it).
    #[error("internal error in durable-proto: {detail}")]
    Internal {
        /// What broke.
        detail: String,
    },
}

impl ExecutionError {
    /// A stable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NonDeterminism { .. } => "DP-X001",
            Self::MissingExecutionOperation { .. } => "DP-X002",
            Self::InvalidName { .. } => "DP-X003",
            Self::InvalidWaitDuration { .. } => "DP-X004",
            Self::UnsupportedStatus { .. } => "DP-X005",
            Self::Misuse { .. } => "DP-X006",
            Self::Closed => "DP-X007",
            Self::Internal { .. } => "DP-X008",
            Self::OperationInsideStep { .. } => "DP-X009",
            Self::TimingDependentId { .. } => "DP-X010",
            Self::MalformedRecord { .. } => "DP-X011",
            Self::InvalidTimeout { .. } => "DP-X012",
            Self::InvalidInvoke { .. } => "DP-X013",
            Self::InvalidSubType { .. } => "DP-X014",
            Self::InvalidBatch { .. } => "DP-X015",
            Self::Abandoned => "DP-X016",
        }
    }

    /// Whether the call was merely invalid (a bad name or duration): nothing was begun or
    /// checkpointed, the execution goes on, and user code may handle the error. Every other
    /// error ends the invocation or the execution, which user code cannot change.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            Self::InvalidName { .. }
                | Self::InvalidWaitDuration { .. }
                | Self::InvalidTimeout { .. }
                | Self::InvalidInvoke { .. }
                | Self::InvalidSubType { .. }
                | Self::InvalidBatch { .. }
        )
    }

    /// The `ErrorType` this error carries when it fails the execution.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::NonDeterminism { .. } => "NonDeterministicExecutionError",
            Self::MissingExecutionOperation { .. } => "InvalidInvocationInput",
            Self::InvalidName { .. }
            | Self::InvalidWaitDuration { .. }
            | Self::InvalidTimeout { .. }
            | Self::InvalidInvoke { .. }
            | Self::InvalidSubType { .. }
            | Self::InvalidBatch { .. } => "ValidationError",
            Self::Abandoned => "BatchItemAbandoned",
            Self::MalformedRecord { .. } => "InvalidOperationRecord",
            Self::UnsupportedStatus { .. } => "UnsupportedOperationStatus",
            Self::Misuse { .. } | Self::Internal { .. } => "DurableSdkInternalError",
            Self::Closed => "ExecutionClosed",
            Self::OperationInsideStep { .. } | Self::TimingDependentId { .. } => {
                "ConcurrencyContractError"
            }
        }
    }
}
