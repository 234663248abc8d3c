//! In-crate simulation: a fake durable-execution service, a synchronous driver loop and a
//! tiny workflow API, so engine tests read as "history in → user code → updates out".

mod props;
mod steps;
mod termination;
mod waits;

use std::collections::BTreeMap;

use crate::*;

pub(crate) const ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:f:1/durable-execution/run/exec-1";
pub(crate) const EXEC_ID: &str = "exec-1";

/// A minimal service: applies updates with the service's status rules, rotates tokens,
/// pages state, and fires timers on request.
pub(crate) struct FakeService {
    pub(crate) ops: BTreeMap<String, Operation>,
    token: u64,
    /// Every checkpoint call's updates, in order.
    pub(crate) calls: Vec<Vec<OperationUpdate>>,
    pub(crate) page_size: Option<usize>,
    pub(crate) now: i64,
}

impl FakeService {
    pub(crate) fn new(input: &str) -> Self {
        let mut ops = BTreeMap::new();
        ops.insert(
            EXEC_ID.to_owned(),
            Operation {
                id: EXEC_ID.to_owned(),
                parent_id: None,
                name: None,
                operation_type: OperationType::Execution,
                sub_type: None,
                start_timestamp: Some(Timestamp(1_000)),
                end_timestamp: None,
                status: OperationStatus::Started,
                execution_details: Some(Box::new(ExecutionDetails {
                    input_payload: Some(input.to_owned()),
                })),
                context_details: None,
                step_details: None,
                wait_details: None,
                callback_details: None,
                chained_invoke_details: None,
            },
        );
        Self {
            ops,
            token: 0,
            calls: Vec::new(),
            page_size: None,
            now: 1_000,
        }
    }

    fn token(&self) -> String {
        format!("t{}", self.token)
    }

    fn page(&self, from: usize) -> ExecutionState {
        let all: Vec<Operation> = self.ops.values().cloned().collect();
        let size = self.page_size.unwrap_or(usize::MAX);
        let end = from.saturating_add(size).min(all.len());
        ExecutionState {
            operations: all[from..end].to_vec(),
            next_marker: (end < all.len()).then(|| end.to_string()),
        }
    }

    pub(crate) fn envelope(&mut self) -> InvocationInput {
        self.token += 1;
        InvocationInput {
            durable_execution_arn: ARN.to_owned(),
            checkpoint_token: self.token(),
            initial_execution_state: self.page(0),
            updated_operation_ids: Vec::new(),
        }
    }

    pub(crate) fn get_state(&self, token: &str, marker: &str) -> ExecutionState {
        assert_eq!(token, self.token(), "state read with a stale token");
        self.page(marker.parse().expect("marker"))
    }

    pub(crate) fn checkpoint(
        &mut self,
        token: &str,
        updates: Vec<OperationUpdate>,
    ) -> CheckpointResponse {
        assert_eq!(token, self.token(), "checkpoint token reused or stale");
        let mut changed = Vec::new();
        for u in &updates {
            self.apply(u);
            changed.push(self.ops[&u.id].clone());
        }
        self.calls.push(updates);
        self.token += 1;
        CheckpointResponse {
            checkpoint_token: Some(self.token()),
            new_execution_state: ExecutionState {
                operations: changed,
                next_marker: None,
            },
        }
    }

    fn apply(&mut self, u: &OperationUpdate) {
        let now = self.now;
        let op = self.ops.entry(u.id.clone()).or_insert_with(|| Operation {
            id: u.id.clone(),
            parent_id: u.parent_id.clone(),
            name: u.name.clone(),
            operation_type: u.operation_type.clone(),
            sub_type: u.sub_type.clone(),
            start_timestamp: Some(Timestamp(now)),
            end_timestamp: None,
            status: OperationStatus::Started,
            execution_details: None,
            context_details: None,
            step_details: None,
            wait_details: None,
            callback_details: None,
            chained_invoke_details: None,
        });
        assert_eq!(
            op.operation_type, u.operation_type,
            "inconsistent type for {}",
            u.id
        );
        assert_eq!(op.name, u.name, "inconsistent name for {}", u.id);
        assert_eq!(
            op.sub_type, u.sub_type,
            "inconsistent sub-type for {}",
            u.id
        );
        assert_eq!(
            op.parent_id, u.parent_id,
            "inconsistent parent for {}",
            u.id
        );
        match (&u.operation_type, &u.action) {
            (OperationType::Step, OperationAction::Start) => {
                assert!(
                    matches!(op.status, OperationStatus::Started | OperationStatus::Ready),
                    "START of step {} in status {}",
                    u.id,
                    op.status
                );
                op.status = OperationStatus::Started;
                op.step_details.get_or_insert_with(Default::default);
            }
            (OperationType::Step, action) => {
                assert!(
                    matches!(op.status, OperationStatus::Started | OperationStatus::Ready),
                    "{action} of step {} in status {}",
                    u.id,
                    op.status
                );
                let d = op.step_details.get_or_insert_with(Default::default);
                d.attempt += 1;
                match action {
                    OperationAction::Succeed => {
                        op.status = OperationStatus::Succeeded;
                        d.result = u.payload.clone();
                    }
                    OperationAction::Fail => {
                        op.status = OperationStatus::Failed;
                        d.error = u.error.clone();
                    }
                    OperationAction::Retry => {
                        let secs = u
                            .step_options
                            .as_ref()
                            .and_then(|o| o.next_attempt_delay_seconds);
                        assert!(secs.is_some_and(|s| s >= 1), "RETRY without a delay");
                        op.status = OperationStatus::Pending;
                        d.error = u.error.clone();
                        d.next_attempt_timestamp =
                            Some(Timestamp(now + i64::from(secs.unwrap_or(1)) * 1000));
                    }
                    other => panic!("invalid step action {other}"),
                }
            }
            (OperationType::Wait, OperationAction::Start) => {
                let secs = u
                    .wait_options
                    .as_ref()
                    .and_then(|o| o.wait_seconds)
                    .expect("WaitSeconds");
                op.wait_details = Some(Box::new(WaitDetails {
                    scheduled_end_timestamp: Some(Timestamp(now + i64::from(secs) * 1000)),
                }));
            }
            (OperationType::Context, OperationAction::Start) => {}
            (OperationType::Context, OperationAction::Succeed | OperationAction::Fail) => {
                assert_eq!(
                    op.status,
                    OperationStatus::Started,
                    "completion of context {}",
                    u.id
                );
                let d = op.context_details.get_or_insert_with(Default::default);
                if u.action == OperationAction::Succeed {
                    op.status = OperationStatus::Succeeded;
                    d.result = u.payload.clone();
                    d.replay_children = u.context_options.as_ref().and_then(|o| o.replay_children);
                } else {
                    op.status = OperationStatus::Failed;
                    d.error = u.error.clone();
                }
            }
            (OperationType::Execution, OperationAction::Succeed | OperationAction::Fail) => {
                op.status = if u.action == OperationAction::Succeed {
                    OperationStatus::Succeeded
                } else {
                    OperationStatus::Failed
                };
            }
            (t, a) => panic!("fake service does not support {a} on {t}"),
        }
    }

    /// Fires every timer: PENDING steps become READY, started waits succeed.
    pub(crate) fn fire_timers(&mut self) {
        for op in self.ops.values_mut() {
            match (&op.operation_type, &op.status) {
                (OperationType::Step, OperationStatus::Pending) => {
                    op.status = OperationStatus::Ready
                }
                (OperationType::Wait, OperationStatus::Started) => {
                    op.status = OperationStatus::Succeeded
                }
                _ => {}
            }
        }
    }

    pub(crate) fn step_attempt(&self, id: &str) -> u32 {
        self.ops[id].step_details.as_ref().map_or(0, |d| d.attempt)
    }
}

/// Why the test program stopped early.
#[derive(Debug)]
pub(crate) enum Stop {
    Suspended,
    /// The simulated process died (see [`Ctx::crash_after`]).
    Crashed,
    Fatal(ExecutionError),
    Failed(ErrorObject),
}

/// One event in a test invocation, for asserting ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    Checkpoint(Vec<String>),
    Body(String, u32),
}

/// The workflow API the test programs use: a synchronous driver over the engine.
pub(crate) struct Ctx<'s> {
    pub(crate) exec: Execution,
    svc: &'s mut FakeService,
    /// The context operations are begun in.
    pub(crate) context: ContextRef,
    pub(crate) events: Vec<Event>,
    /// Checkpoint calls this invocation may still make before the process dies.
    crash_after: Option<usize>,
    crashed: bool,
}

impl Ctx<'_> {
    fn pump(&mut self) {
        loop {
            if self.crashed || self.crash_after == Some(0) {
                self.crashed = true;
                return;
            }
            let Some(req) = self.exec.poll_request() else {
                return;
            };
            match req {
                ServiceRequest::GetState {
                    checkpoint_token,
                    marker,
                } => {
                    let page = self.svc.get_state(&checkpoint_token, &marker);
                    self.exec.handle_state_page(page).unwrap();
                }
                ServiceRequest::Checkpoint {
                    checkpoint_token,
                    updates,
                } => {
                    self.events.push(Event::Checkpoint(
                        updates
                            .iter()
                            .map(|u| format!("{}:{}", u.id, u.action))
                            .collect(),
                    ));
                    let resp = self.svc.checkpoint(&checkpoint_token, updates);
                    self.exec.handle_checkpoint_response(resp).unwrap();
                    if let Some(n) = self.crash_after.as_mut() {
                        *n -= 1;
                    }
                }
            }
        }
    }

    pub(crate) fn step(
        &mut self,
        name: &str,
        semantics: StepSemantics,
        strategy: &dyn RetryStrategy,
        body: impl FnOnce(u32) -> Result<String, ErrorObject>,
    ) -> Result<OperationResult, Stop> {
        let request = StepRequest {
            name: Some(name),
            semantics,
        };
        let start = self
            .exec
            .begin_step(self.context, request, strategy)
            .map_err(Stop::Fatal)?;
        self.exec.activate(start.op());
        match start {
            StepStart::Done { result, .. } => Ok(result),
            StepStart::Blocked { .. } => Err(Stop::Suspended),
            StepStart::Run { op, wait_for, .. } => {
                if let Some(t) = wait_for {
                    self.pump();
                    if self.crashed {
                        return Err(Stop::Crashed);
                    }
                    assert!(
                        self.exec.is_acknowledged(t),
                        "flush did not acknowledge the ticket"
                    );
                }
                if self.crashed {
                    return Err(Stop::Crashed);
                }
                let attempt = self.exec.start_attempt(op).map_err(Stop::Fatal)?;
                self.events.push(Event::Body(name.to_owned(), attempt));
                let outcome = match body(attempt) {
                    Ok(v) => StepOutcome::Value(v),
                    Err(e) => StepOutcome::Error(e),
                };
                match self
                    .exec
                    .handle_step_outcome(op, outcome, strategy)
                    .map_err(Stop::Fatal)?
                {
                    StepEnd::Done(r) => Ok(r),
                    StepEnd::Blocked => Err(Stop::Suspended),
                }
            }
        }
    }

    pub(crate) fn wait(&mut self, name: &str, seconds: u64) -> Result<(), Stop> {
        match self
            .exec
            .begin_wait(
                self.context,
                Some(name),
                std::time::Duration::from_secs(seconds),
            )
            .map_err(Stop::Fatal)?
        {
            WaitStart::Elapsed { .. } => Ok(()),
            WaitStart::Blocked { op } => {
                self.exec.activate(op);
                Err(Stop::Suspended)
            }
        }
    }

    /// A child context running `body` with this `Ctx` switched into it.
    pub(crate) fn child(
        &mut self,
        name: &str,
        body: impl FnOnce(&mut Self) -> Result<String, Stop>,
    ) -> Result<OperationResult, Stop> {
        let start = self
            .exec
            .begin_child_context(self.context, Some(name), None)
            .map_err(Stop::Fatal)?;
        let (op, child) = match start {
            ContextStart::Done { result, .. } => return Ok(result),
            ContextStart::Run { op, child } => (op, child),
        };
        self.exec.activate(op);
        let outer = std::mem::replace(&mut self.context, child);
        let result = body(self);
        self.context = outer;
        let outcome = match result {
            Ok(v) => StepOutcome::Value(v),
            Err(Stop::Failed(e)) => StepOutcome::Error(e),
            Err(stop) => return Err(stop),
        };
        self.exec
            .handle_context_outcome(op, outcome)
            .map_err(Stop::Fatal)
    }
}

/// What one invocation did.
#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) outcome: InvocationOutcome,
    pub(crate) events: Vec<Event>,
}

impl Invocation {
    pub(crate) fn output(&self) -> &InvocationOutput {
        match &self.outcome {
            InvocationOutcome::Output(o) => o,
            other => panic!("expected an output, got {other:?}"),
        }
    }
}

/// Runs one invocation of `program` against `svc`.
pub(crate) fn invoke(
    svc: &mut FakeService,
    config: ExecutionConfig,
    program: &dyn Fn(&mut Ctx<'_>) -> Result<String, Stop>,
) -> Invocation {
    let (outcome, events) = invoke_or_crash(svc, config, None, program);
    Invocation {
        outcome: outcome.expect("no crash was requested"),
        events,
    }
}

/// Runs one invocation that dies when it tries to make checkpoint call number
/// `crash_after + 1`; the outcome is `None` if it died.
pub(crate) fn invoke_or_crash(
    svc: &mut FakeService,
    config: ExecutionConfig,
    crash_after: Option<usize>,
    program: &dyn Fn(&mut Ctx<'_>) -> Result<String, Stop>,
) -> (Option<InvocationOutcome>, Vec<Event>) {
    let mut config = config;
    config.seed.get_or_insert(7);
    let exec = Execution::new(svc.envelope(), config);
    let mut ctx = Ctx {
        exec,
        svc,
        context: ContextRef::ROOT,
        events: Vec::new(),
        crash_after,
        crashed: false,
    };
    ctx.pump();
    assert!(ctx.exec.is_ready() || ctx.exec.is_closing());
    if ctx.exec.is_ready() {
        match program(&mut ctx) {
            Ok(v) => ctx.exec.handle_handler_result(Ok(v)),
            Err(Stop::Suspended) => ctx.exec.suspend(),
            Err(Stop::Failed(e)) => ctx.exec.handle_handler_result(Err(e)),
            Err(Stop::Fatal(_) | Stop::Crashed) => {}
        }
    }
    ctx.pump();
    if ctx.crashed {
        return (None, ctx.events);
    }
    let outcome = ctx
        .exec
        .poll_output()
        .expect("the invocation reached an outcome");
    (Some(outcome), ctx.events)
}

/// Invokes until the execution succeeds or fails, firing timers between invocations.
pub(crate) fn run_to_end(
    svc: &mut FakeService,
    program: &dyn Fn(&mut Ctx<'_>) -> Result<String, Stop>,
) -> Vec<Invocation> {
    let mut invocations = Vec::new();
    for _ in 0..50 {
        let inv = invoke(svc, ExecutionConfig::default(), program);
        let done = inv.output().status != InvocationStatus::Pending;
        invocations.push(inv);
        if done {
            return invocations;
        }
        svc.fire_timers();
    }
    panic!("execution did not finish in 50 invocations");
}

pub(crate) fn boom(msg: &str) -> ErrorObject {
    ErrorObject::new("Boom", msg)
}

/// A program's error as the user code would propagate it.
pub(crate) fn user_error(r: OperationResult) -> Result<String, Stop> {
    match r {
        Ok(v) => Ok(v.unwrap_or_default()),
        Err(e) => Err(Stop::Failed(e)),
    }
}
