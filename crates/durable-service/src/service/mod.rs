//! The durable-execution service, in memory and synchronous: executions, checkpoints, state
//! pages, timers, callbacks and history.
//!
//! [`LocalService`] plays the part of AWS Lambda's durable-execution control plane. It knows
//! nothing of handlers or async: a driver (durable-local's `LocalRunner`) asks it for an
//! invocation envelope ([`begin_invocation`](LocalService::begin_invocation)), lets the handler
//! call [`checkpoint`](LocalService::checkpoint) / [`get_state`](LocalService::get_state)
//! through a client (durable-local's `LocalClient`), and reports the outcome
//! ([`complete_invocation`](LocalService::complete_invocation)).

mod apply;
mod callbacks;
mod control;
mod invocation;
mod pages;
mod persist;
mod rebuild;
mod record;
mod timers;
mod validate;

use std::collections::{BTreeSet, HashMap};

use durable_proto::{
    CheckpointResponse, ExecutionDetails, ExecutionState, Operation, OperationStatus,
    OperationType, OperationUpdate, Timestamp,
};

pub use callbacks::ChainedInvokeEnd;
pub use control::MAX_REASON_LENGTH;
pub use invocation::{InvocationEnd, PENDING_WITHOUT_PENDING_OPERATIONS};
pub use persist::RESTART_ERROR_TYPE;
pub use rebuild::ExecutionDescription;
pub use record::{ExecutionRecord, ExecutionStatus, InvocationRecord, InvocationResult};
pub use timers::{CALLBACK_HEARTBEAT_ERROR, CALLBACK_TIMEOUT_ERROR, EXECUTION_TIMEOUT_ERROR};

use crate::clock::{Clock, Timer};
use crate::config::ServiceConfig;
use crate::error::ServiceError;
use crate::history::{EventDetails, ExecutionStartedDetails, HistoryEvent};
use crate::ids::{self, IdGenerator};
use crate::store::Store;

/// The in-memory durable-execution service.
///
/// Every method is synchronous and never panics on bad input; rejected requests return a
/// [`ServiceError`] named like the real service's.
///
/// [`new`](Self::new) keeps everything in memory; [`open`](Self::open) backs the service with
/// a file, written after every call that changed something (see
/// [`open_with`](Self::open_with)).
#[derive(Debug)]
pub struct LocalService {
    config: ServiceConfig,
    clock: Clock,
    ids: IdGenerator,
    executions: Vec<ExecutionRecord>,
    by_arn: HashMap<String, usize>,
    callbacks: HashMap<String, (usize, String)>,
    /// Where executions are kept across restarts, if anywhere.
    store: Option<Store>,
    /// Executions changed since the last write to the store (by position).
    dirty: BTreeSet<usize>,
}

impl Default for LocalService {
    fn default() -> Self {
        Self::new(ServiceConfig::default())
    }
}

impl LocalService {
    /// A service with `config`.
    pub fn new(config: ServiceConfig) -> Self {
        Self {
            clock: Clock::new(config.time, config.start_time),
            ids: IdGenerator::new(config.seed),
            config,
            executions: Vec::new(),
            by_arn: HashMap::new(),
            callbacks: HashMap::new(),
            store: None,
            dirty: BTreeSet::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current (virtual or real) time.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Starts an execution of `function_name` with `input_json` as its input and returns its
    /// ARN. The execution is named with a generated UUID.
    pub fn start_execution(
        &mut self,
        function_name: &str,
        input_json: &str,
    ) -> Result<String, ServiceError> {
        let name = self.ids.uuid();
        self.start_named_execution(function_name, &name, input_json)
    }

    /// Starts an execution with an explicit execution name (1–64 characters of
    /// `[a-zA-Z0-9-_]`) and returns its ARN,
    /// `arn:aws:lambda:<region>:<account>:function:<name>:$LATEST/durable-execution/<execution name>/<id>`.
    ///
    /// The EXECUTION operation (Id = the ARN's last segment) is created STARTED with the
    /// input as `ExecutionDetails.InputPayload`, and `ExecutionStarted` is recorded. The
    /// execution then needs its first invocation.
    pub fn start_named_execution(
        &mut self,
        function_name: &str,
        execution_name: &str,
        input_json: &str,
    ) -> Result<String, ServiceError> {
        let timeout = self.config.execution_timeout;
        let result = self.create_execution(function_name, execution_name, input_json, timeout);
        let index = result.is_ok().then(|| self.executions.len() - 1);
        self.persisted(index, result)
    }

    /// Starts an execution as [`start_named_execution`](Self::start_named_execution) does
    /// (a generated name when `execution_name` is `None`), with its own execution timeout
    /// instead of the configured one (`None`: no timeout), as a function's
    /// `DurableConfig.ExecutionTimeout` sets it.
    pub fn start_execution_with(
        &mut self,
        function_name: &str,
        execution_name: Option<&str>,
        input_json: &str,
        execution_timeout: Option<std::time::Duration>,
    ) -> Result<String, ServiceError> {
        let name = match execution_name {
            Some(name) => name.to_owned(),
            None => self.ids.uuid(),
        };
        let result = self.create_execution(function_name, &name, input_json, execution_timeout);
        let index = result.is_ok().then(|| self.executions.len() - 1);
        self.persisted(index, result)
    }

    fn create_execution(
        &mut self,
        function_name: &str,
        execution_name: &str,
        input_json: &str,
        execution_timeout: Option<std::time::Duration>,
    ) -> Result<String, ServiceError> {
        if !valid_name(function_name) {
            return Err(ServiceError::invalid(
                "Invalid function name: use 1 to 64 characters of [a-zA-Z0-9-_].",
            ));
        }
        if !valid_name(execution_name) {
            return Err(ServiceError::invalid(
                "Invalid execution name: use 1 to 64 characters of [a-zA-Z0-9-_].",
            ));
        }
        if input_json.len() > self.config.max_execution_payload_bytes {
            return Err(ServiceError::invalid(format!(
                "Input payload size must be less than or equal to {} bytes.",
                self.config.max_execution_payload_bytes
            )));
        }
        let execution_id = self.ids.uuid();
        let arn = format!(
            "arn:aws:lambda:{}:{}:function:{function_name}:$LATEST/durable-execution/{execution_name}/{execution_id}",
            self.config.region, self.config.account_id
        );
        if self.by_arn.contains_key(&arn) {
            return Err(ServiceError::conflict("The execution already exists."));
        }
        let now = self.now();
        let mut record = ExecutionRecord {
            arn: arn.clone(),
            function_name: function_name.to_owned(),
            execution_name: execution_name.to_owned(),
            execution_id: execution_id.clone(),
            input: input_json.to_owned(),
            status: ExecutionStatus::Running,
            result: None,
            error: None,
            start: now,
            end: None,
            timeout_at: execution_timeout.map(|d| now.plus_seconds(d.as_secs().max(1))),
            operations: Default::default(),
            events: Vec::new(),
            token: None,
            token_seq: 0,
            invocations: Vec::new(),
            checkpoint_calls: 0,
            state_calls: 0,
            needs_invocation: true,
            woken_in_flight: false,
            consecutive_failures: 0,
            updated_since_invocation: Vec::new(),
            unsent_changes: Vec::new(),
            callback_timers: HashMap::new(),
            last_delta: None,
            pause: None,
            deleted: false,
        };
        record.insert_operation(Operation {
            id: execution_id,
            parent_id: None,
            name: Some(execution_name.to_owned()),
            operation_type: OperationType::Execution,
            sub_type: None,
            start_timestamp: Some(now),
            end_timestamp: None,
            status: OperationStatus::Started,
            execution_details: Some(Box::new(ExecutionDetails {
                input_payload: Some(input_json.to_owned()),
            })),
            context_details: None,
            step_details: None,
            wait_details: None,
            callback_details: None,
            chained_invoke_details: None,
        });
        let details = ExecutionStartedDetails {
            input: crate::history::payload(Some(input_json)),
            execution_timeout: execution_timeout.map(|d| d.as_secs()),
        };
        record.push_event(None, now, EventDetails::ExecutionStarted(details));
        self.by_arn.insert(arn.clone(), self.executions.len());
        self.executions.push(record);
        Ok(arn)
    }

    /// The execution with this ARN.
    pub fn execution(&self, arn: &str) -> Option<&ExecutionRecord> {
        self.by_arn.get(arn).map(|&i| &self.executions[i])
    }

    /// Every execution, oldest first (deleted ones no longer).
    pub fn executions(&self) -> Vec<&ExecutionRecord> {
        self.executions.iter().filter(|r| !r.deleted).collect()
    }

    /// The history of an execution (`GetDurableExecutionHistory`).
    pub fn history(&self, arn: &str) -> Result<&[HistoryEvent], ServiceError> {
        Ok(self.record(arn)?.events())
    }

    /// `CheckpointDurableExecution`: applies `updates` atomically.
    ///
    /// The token must be the execution's current one (tokens are single-use and exist only
    /// while an invocation is in flight); otherwise `InvalidParameterValueException:
    /// Invalid checkpoint token`. The whole batch is validated first (ids, actions per type
    /// and status, duplicate ids, parents, consistency, sizes, EXECUTION last); a rejected
    /// batch changes nothing and leaves the token valid. On success the response carries
    /// the next token (none once the execution ended) and the operations the batch changed
    /// plus those the service changed since the last response, paged by the configured
    /// page size.
    pub fn checkpoint(
        &mut self,
        arn: &str,
        checkpoint_token: &str,
        updates: Vec<OperationUpdate>,
    ) -> Result<CheckpointResponse, ServiceError> {
        let result = self.checkpoint_in_memory(arn, checkpoint_token, updates);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn checkpoint_in_memory(
        &mut self,
        arn: &str,
        checkpoint_token: &str,
        updates: Vec<OperationUpdate>,
    ) -> Result<CheckpointResponse, ServiceError> {
        let now = self.now();
        let index = self.index_of(arn)?;
        let config = &self.config;
        let record = &mut self.executions[index];
        record.fire_due_timers(now);
        record.checkpoint_calls += 1;
        if let Some(invocation) = record.invocations.last_mut().filter(|i| i.end.is_none()) {
            invocation.checkpoint_calls += 1;
        }
        if record.token.as_deref() != Some(checkpoint_token) {
            return Err(ServiceError::invalid_token());
        }
        validate::validate_batch(record, &updates, config)?;
        let applied = apply::apply_batch(record, updates, now);
        let mut changed = applied.changed;
        for id in std::mem::take(&mut record.unsent_changes) {
            if !changed.contains(&id) {
                changed.push(id);
            }
        }
        record.token_seq += 1;
        let seq = record.token_seq;
        record.token = (!record.status.is_terminal())
            .then(|| ids::checkpoint_token(&record.execution_id, seq));
        if record.status == ExecutionStatus::Pausing {
            // The pause takes effect at this checkpoint: the batch is kept, and the
            // response carries no token, so the invocation cannot go on.
            record.take_pause_effect(now);
        }
        let size = config.page_size_for(None);
        let state = pages::delta_first_page(record, seq, changed, size);
        let response = CheckpointResponse {
            checkpoint_token: record.token.clone(),
            new_execution_state: state,
        };
        for (callback_id, op_id) in applied.new_callbacks {
            self.callbacks.insert(callback_id, (index, op_id));
        }
        Ok(response)
    }

    /// `GetDurableExecutionState`: one page of the operations the handler sees, starting at
    /// `marker` (`None` or `""`: the first page). `max_items` of `None` or 0 means the
    /// configured page size; at most 1000. Reading does not consume the token, but it must
    /// be the current one.
    pub fn get_state(
        &mut self,
        arn: &str,
        checkpoint_token: &str,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<ExecutionState, ServiceError> {
        let result = self.state_in_memory(arn, checkpoint_token, marker, max_items);
        self.persisted(self.by_arn.get(arn).copied(), result)
    }

    fn state_in_memory(
        &mut self,
        arn: &str,
        checkpoint_token: &str,
        marker: Option<&str>,
        max_items: Option<usize>,
    ) -> Result<ExecutionState, ServiceError> {
        let now = self.now();
        let index = self.index_of(arn)?;
        let size = self.config.page_size_for(max_items);
        let record = &mut self.executions[index];
        record.fire_due_timers(now);
        record.state_calls += 1;
        if record.token.as_deref() != Some(checkpoint_token) {
            return Err(ServiceError::invalid_token());
        }
        pages::state_page(record, marker, size)
    }

    /// Every timer of every running (or paused) execution, earliest first.
    pub fn timers(&self) -> Vec<(String, Timer)> {
        let mut all: Vec<(String, Timer)> = self
            .executions
            .iter()
            .flat_map(|r| r.timers().into_iter().map(|t| (r.arn.clone(), t)))
            .collect();
        all.sort_by_key(|(_, t)| t.due);
        all
    }

    /// When the earliest timer of `arn` is due.
    pub fn next_timer(&self, arn: &str) -> Option<Timer> {
        self.execution(arn)?.next_timer()
    }

    /// Fires every timer due now, in every execution. Returns how many fired.
    ///
    /// With a store, the clock and what fired are written; if that write fails, the changes
    /// stay pending and go out with the next write (see [`sync`](Self::sync)).
    pub fn fire_due_timers(&mut self) -> usize {
        let now = self.now();
        let mut fired = 0;
        for (i, record) in self.executions.iter_mut().enumerate() {
            let n = record.fire_due_timers(now);
            if n > 0 {
                self.dirty.insert(i);
                fired += n;
            }
        }
        self.finish_deletions();
        // Failures are kept for the next write; see `sync`.
        let _ = self.persist();
        fired
    }

    /// Moves virtual time forward to `at` (never backwards; ignored on real time) and fires
    /// what became due.
    pub fn advance_to(&mut self, at: Timestamp) -> usize {
        self.clock.advance_to(at);
        self.fire_due_timers()
    }

    /// Moves virtual time forward by `by` and fires what became due.
    pub fn advance_by(&mut self, by: std::time::Duration) -> usize {
        self.clock.advance_by(by);
        self.fire_due_timers()
    }

    /// Moves virtual time to the next timer of `arn` and fires it (with anything else due
    /// then). Returns the new time, or `None` when the execution has no timer or the clock
    /// is real.
    pub fn advance_to_next_timer(&mut self, arn: &str) -> Option<Timestamp> {
        let due = self.next_timer(arn)?.due;
        if self.clock.mode() != crate::clock::TimeMode::Virtual {
            return None;
        }
        self.advance_to(due);
        Some(self.now())
    }

    fn index_of(&self, arn: &str) -> Result<usize, ServiceError> {
        self.by_arn
            .get(arn)
            .copied()
            .ok_or_else(|| ServiceError::not_found(format!("Execution not found: {arn}")))
    }

    fn record(&self, arn: &str) -> Result<&ExecutionRecord, ServiceError> {
        self.index_of(arn).map(|i| &self.executions[i])
    }

    fn record_mut(&mut self, arn: &str) -> Result<&mut ExecutionRecord, ServiceError> {
        let i = self.index_of(arn)?;
        Ok(&mut self.executions[i])
    }
}

fn valid_name(name: &str) -> bool {
    durable_proto::is_valid_operation_id(name)
}
