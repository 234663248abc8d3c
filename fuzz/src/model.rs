//! The service the `operations` target runs against: durable-service's `LocalService` (the
//! project's one model of the service's rules: validation, status transitions, tokens, pages,
//! timers), for one execution, behind a thin wrapper that injects the faults of a real network
//! and service, the way durable-local's test client does.
//!
//! A `ServiceError` answered to a request the engine made is an engine bug (or a model bug)
//! and panics, so libFuzzer reports it; so does an output the service refuses to take as the
//! engine meant it.

use std::collections::HashSet;

use durable_proto::{
    ApiFailure, CheckpointResponse, ErrorObject, ExecutionState, InvocationFailure,
    InvocationInput, InvocationOutput, InvocationStatus, Operation, OperationUpdate,
};
use durable_service::{
    ExecutionRecord, ExecutionStatus, InvocationEnd, LocalService, ServiceConfig,
};

/// Listing marker of durable-service's `GetDurableExecutionState` (`s<position>`, see its
/// `service/pages.rs`) for the whole state from the first operation on. The service pages a
/// checkpoint response only when it exceeds the configured page size, so an `AckPaged` answer
/// to a smaller response is cut by the wrapper, which can only point at a listing the service
/// keeps serving.
const WHOLE_STATE: &str = "s0";

pub struct Model {
    svc: LocalService,
    arn: String,
    /// The token of the invocation in flight was withheld from the engine (or the service sent
    /// none): the engine may make no further call in this invocation.
    withheld: bool,
    /// Markers the wrapper spoiled (`spoil`) in this invocation. The service rightly refuses
    /// them; that refusal goes to the engine as the API failure it would be.
    spoiled: HashSet<String>,
}

/// How the wrapper answers one checkpoint call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Apply and return the service's response.
    Ack,
    /// Apply, but return only part of the changed operations with a next marker (the rest via
    /// GetState).
    AckPaged,
    /// Apply and return no token: the engine may call the service no more in this invocation.
    AckNoToken,
    /// Apply, then lose the response (a timeout after the service recorded the batch).
    AppliedButLost,
    /// Reject with a 500 without reaching the service.
    Reject,
}

impl Model {
    /// A service holding one new execution started with `input`, paging state by `page_size`
    /// operations (0: everything on one page).
    pub fn new(input: &str, page_size: usize) -> Self {
        let mut config = ServiceConfig::default();
        // 1000 is the largest page the service serves, more operations than a program makes.
        config.page_size = if page_size == 0 { 1000 } else { page_size };
        // The target bounds the invocations itself; Lambda retries a failed invocation for
        // hours, so a run of invocation failures must not fail the execution here.
        config.max_invocation_retries = u32::MAX;
        // The service's default accepts SUCCEED / FAIL / RETRY of a step it has no START for.
        // The engine sends a step's START before (or in the same batch as) anything else about
        // it, and a START that does not go through ends the invocation, so a step closed
        // without a recorded START is an engine bug; protocol.md §4.2 only lets a step close
        // from STARTED or READY.
        config.require_start = true;
        let mut svc = LocalService::new(config);
        let arn = svc
            .start_named_execution("f", "run", input)
            .unwrap_or_else(|e| panic!("the execution starts: {e}"));
        Self {
            svc,
            arn,
            withheld: false,
            spoiled: HashSet::new(),
        }
    }

    fn record(&self) -> &ExecutionRecord {
        self.svc.execution(&self.arn).expect("the execution exists")
    }

    /// The envelope of a new invocation.
    pub fn envelope(&mut self) -> InvocationInput {
        self.withheld = false;
        self.spoiled.clear();
        self.svc
            .begin_invocation(&self.arn)
            .unwrap_or_else(|e| panic!("the invocation begins: {e}"))
    }

    /// Whether the execution reached a terminal status.
    pub fn finished(&self) -> bool {
        self.record().status().is_terminal()
    }

    /// The service's record of operation `id`.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.record().operation(id)
    }

    /// The service's record of the EXECUTION operation (its id is the ARN's last segment).
    pub fn execution_op(&self) -> &Operation {
        let record = self.record();
        record
            .operation(record.execution_id())
            .expect("the EXECUTION operation exists")
    }

    /// The engine may still call the service with `token` in this invocation.
    fn check_call(&self, token: &str, what: &str) {
        assert!(
            !self.withheld,
            "{what} after the service withheld the token"
        );
        // Calls the wrapper fails itself never reach the service; this is its own token check,
        // so that a stale token is caught on them too.
        assert_eq!(
            Some(token),
            self.record().checkpoint_token(),
            "{what} with a stale or reused token"
        );
    }

    /// Fails a call with `failure` without reaching the service.
    pub fn refuse<T>(&self, token: &str, failure: ApiFailure) -> Result<T, ApiFailure> {
        self.check_call(token, "a call");
        Err(failure)
    }

    /// Replaces the next marker of `state` by one the service does not know.
    pub fn spoil(&mut self, state: &mut ExecutionState) {
        let marker = "bogus".to_owned();
        self.spoiled.insert(marker.clone());
        state.next_marker = Some(marker);
    }

    pub fn get_state(&mut self, token: &str, marker: &str) -> Result<ExecutionState, ApiFailure> {
        self.check_call(token, "a state read");
        match self.svc.get_state(&self.arn, token, Some(marker), None) {
            Ok(page) => Ok(page),
            Err(e) if self.spoiled.contains(marker) => Err(e.to_api_failure()),
            Err(e) => panic!("state read with marker {marker:?} refused: {e}"),
        }
    }

    /// Answers one checkpoint call; the service applies the batch unless `answer` is `Reject`.
    pub fn checkpoint(
        &mut self,
        token: &str,
        updates: &[OperationUpdate],
        answer: Answer,
    ) -> Result<CheckpointResponse, ApiFailure> {
        if answer == Answer::Reject {
            let injected = ApiFailure::new(Some(500), Some("ServiceException"), "injected");
            return self.refuse(token, injected);
        }
        self.check_call(token, "a checkpoint");
        let mut response = self
            .svc
            .checkpoint(&self.arn, token, updates.to_vec())
            .unwrap_or_else(|e| panic!("checkpoint refused: {e}\nupdates: {updates:?}"));
        self.withheld = response.checkpoint_token.is_none();
        let state = &mut response.new_execution_state;
        match answer {
            Answer::AppliedButLost => {
                return Err(ApiFailure::new(
                    None,
                    None,
                    "response lost after the batch was applied",
                ))
            }
            Answer::AckNoToken => {
                response.checkpoint_token = None;
                self.withheld = true;
            }
            Answer::AckPaged if state.next_marker.is_none() && !state.operations.is_empty() => {
                state.operations.truncate(1);
                state.next_marker = Some(WHOLE_STATE.to_owned());
            }
            _ => {}
        }
        Ok(response)
    }

    /// The invocation returned `output`. The service decides what that does to the execution;
    /// it must be what the engine asked for.
    pub fn finish(&mut self, output: &InvocationOutput) {
        let running = !self.finished();
        self.complete(InvocationEnd::Returned(output.clone()));
        if !running {
            // An EXECUTION checkpoint already ended it; the service ignores the status.
            return;
        }
        let record = self.record();
        let (status, error) = (record.status(), record.error());
        let taken = match output.status {
            InvocationStatus::Succeeded => status == ExecutionStatus::Succeeded,
            InvocationStatus::Failed => {
                status == ExecutionStatus::Failed
                    && output.error.as_ref().is_none_or(|e| error == Some(e))
            }
            InvocationStatus::Pending => status == ExecutionStatus::Running,
        };
        assert!(
            taken,
            "the service did not take the output {output:?}: the execution is {status} with \
             {error:?}"
        );
    }

    /// The invocation failed (the handler returned an error); Lambda retries it.
    pub fn errored(&mut self, failure: &InvocationFailure) {
        let error = ErrorObject::new(failure.error_type.as_str(), failure.message.as_str());
        self.complete(InvocationEnd::Errored(error));
    }

    fn complete(&mut self, end: InvocationEnd) {
        self.svc
            .complete_invocation(&self.arn, end)
            .unwrap_or_else(|e| panic!("the invocation ends: {e}"));
    }

    /// Fires every timer, moving virtual time forward: PENDING steps become READY, started
    /// waits succeed.
    pub fn fire_timers(&mut self) {
        while self.svc.advance_to_next_timer(&self.arn).is_some() {}
    }
}
