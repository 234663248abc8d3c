//! Typed events the engine emits as operations move, drained by the driver with
//! [`Execution::poll_event`](crate::Execution::poll_event). Logging and instrumentation
//! are built on them, so both drivers report the same facts in the same order.

use std::time::Duration;

use crate::operation::OperationHandle;
use crate::wire::OperationStatus;

/// Something that happened to an operation or the invocation.
///
/// Events name operations by handle; [`Execution::identity`](crate::Execution::identity)
/// gives the id, name, type and parent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// User code began an operation. `replayed` is true when its outcome comes from the
    /// history instead of running again.
    OperationBegun {
        /// The operation.
        op: OperationHandle,
        /// Whether the history already holds its outcome.
        replayed: bool,
    },
    /// An attempt of a step started running user code (1-based).
    AttemptStarted {
        /// The operation.
        op: OperationHandle,
        /// The attempt.
        attempt: u32,
    },
    /// An attempt of a step finished.
    AttemptFinished {
        /// The operation.
        op: OperationHandle,
        /// The attempt.
        attempt: u32,
        /// Whether it failed.
        failed: bool,
        /// When it failed and will be retried: after how long.
        retry_after: Option<Duration>,
    },
    /// The operation finished in this invocation with this status.
    OperationFinished {
        /// The operation.
        op: OperationHandle,
        /// Its final status.
        status: OperationStatus,
    },
    /// The operation waits on the service (a timer, a scheduled retry) and cannot finish in
    /// this invocation.
    OperationBlocked {
        /// The operation.
        op: OperationHandle,
    },
    /// User code dropped the operation before it finished.
    OperationReleased {
        /// The operation.
        op: OperationHandle,
    },
    /// The invocation's outcome is decided. It can be followed by another one when the
    /// final flush fails (a decided success becomes an invocation failure); the last one
    /// holds.
    InvocationEnding {
        /// How it ends.
        ending: Ending,
    },
}

/// How an invocation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ending {
    /// The execution succeeded.
    Succeeded,
    /// The execution failed.
    Failed,
    /// The invocation suspends; the service invokes the function again later.
    Suspended,
    /// The invocation fails with an error and Lambda retries it.
    InvocationFailed,
}
