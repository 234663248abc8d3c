//! The control-plane calls on a runner's execution: stop, pause, resume and delete, as
//! `StopDurableExecution`, `PauseDurableExecution`, `ResumeDurableExecution` and
//! `DeleteDurableExecution` do them (the rules are the service model's; see
//! [`LocalService::pause_execution`](crate::LocalService::pause_execution)).

use durable_proto::{ErrorObject, Timestamp};

use crate::client::lock_service;
use crate::runner::LocalRunner;
use crate::ServiceError;

impl LocalRunner {
    /// Stops a running (or paused) execution: it ends STOPPED with `error` (if any) and
    /// `ExecutionStopped`; an invocation still in flight can checkpoint no more.
    pub fn stop_execution(
        &self,
        arn: &str,
        error: Option<ErrorObject>,
    ) -> Result<(), ServiceError> {
        lock_service(&self.service).stop_execution(arn, error)
    }

    /// Pauses a running execution: at once when no invocation is in flight (PAUSED,
    /// `ExecutionPaused`), otherwise PAUSING until that invocation's next checkpoint.
    /// [`drive`](Self::drive) returns on a paused execution; timers still fire while it is
    /// paused. With `execution_timeout_paused` its execution timeout stops meanwhile.
    pub fn pause_execution(
        &self,
        arn: &str,
        reason: Option<&str>,
        execution_timeout_paused: bool,
    ) -> Result<(), ServiceError> {
        lock_service(&self.service).pause_execution(
            arn,
            reason.map(str::to_owned),
            execution_timeout_paused,
        )
    }

    /// Resumes a paused execution (`ExecutionResumed`) or cancels a pause that has not taken
    /// effect yet. Call [`drive`](Self::drive) afterwards to carry the execution on.
    pub fn resume_execution(&self, arn: &str, reason: Option<&str>) -> Result<(), ServiceError> {
        lock_service(&self.service).resume_execution(arn, reason.map(str::to_owned))
    }

    /// Deletes an ended execution and returns when the deletion was accepted. It reads as
    /// DELETING until virtual time next moves (or [`advance_time`](Self::advance_time) is
    /// called), and is not found after that.
    pub fn delete_execution(&self, arn: &str) -> Result<Timestamp, ServiceError> {
        lock_service(&self.service).delete_execution(arn)
    }
}
