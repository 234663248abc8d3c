//! Scenario tests of the engine: the project's model of the service, a synchronous driver
//! loop and a tiny workflow API, so engine tests read as "history in → user code → updates
//! out", with the service's own rules checking every request.

mod batch_model;
mod batches;
mod callbacks;
mod invokes;
mod props;
mod steps;
mod termination;
mod waits;

use durable_proto::*;
use durable_service::{InvocationEnd, LocalService, ServiceConfig};

/// An edit applied to one operation's record whenever the service hands it to the engine.
type RecordEdit = Box<dyn Fn(&mut Operation)>;

/// The project's one model of the service (`durable_service::LocalService`), driven for one
/// execution, with every checkpoint call's updates kept for asserting on.
///
/// Any [`durable_service::ServiceError`] answered to a request the engine made is a bug in
/// the engine (or the model) and panics. Records can be tampered with on their way to the
/// engine ([`edit_record`](Self::edit_record)) to test how the engine treats a history it did
/// not write.
pub(crate) struct FakeService {
    svc: LocalService,
    arn: String,
    /// Id of the EXECUTION operation (the ARN's last segment).
    pub(crate) exec_id: String,
    /// The current checkpoint token, while an invocation is in flight.
    token: Option<String>,
    /// Every checkpoint call's updates, in order.
    pub(crate) calls: Vec<Vec<OperationUpdate>>,
    edits: Vec<(String, RecordEdit)>,
    /// Whether the current "invocation" replays the history of an ended execution.
    replay_only: bool,
}

impl FakeService {
    pub(crate) fn new(input: &str) -> Self {
        Self::with_page_size(input, 100)
    }

    /// A service that pages state (the envelope, state reads and checkpoint responses) by
    /// `page_size` operations.
    pub(crate) fn with_page_size(input: &str, page_size: usize) -> Self {
        let mut config = ServiceConfig::default();
        config.page_size = page_size;
        // Crash simulations end many invocations in a row without an output.
        config.max_invocation_retries = u32::MAX;
        let mut svc = LocalService::new(config);
        let arn = svc
            .start_named_execution("f", "run", input)
            .expect("execution starts");
        let exec_id = arn.rsplit('/').next().expect("ARN has segments").to_owned();
        Self {
            svc,
            arn,
            exec_id,
            token: None,
            calls: Vec::new(),
            edits: Vec::new(),
            replay_only: false,
        }
    }

    /// From now on, `edit` is applied to the record of operation `id` in everything the
    /// service returns.
    pub(crate) fn edit_record(&mut self, id: &str, edit: impl Fn(&mut Operation) + 'static) {
        self.edits.push((id.to_owned(), Box::new(edit)));
    }

    fn edited(&self, mut state: ExecutionState) -> ExecutionState {
        for op in &mut state.operations {
            for (id, edit) in &self.edits {
                if &op.id == id {
                    edit(op);
                }
            }
        }
        state
    }

    /// The envelope of the next invocation. An invocation still in flight (one the test
    /// dropped, or whose process "crashed") is first ended as an invocation error, as the
    /// service ends a crashed one.
    ///
    /// The service never invokes an ended execution again; for tests of what the engine
    /// decides from a history alone (a changed program replayed over it), the envelope of an
    /// ended execution is its recorded history with a token that no call may use: any
    /// checkpoint or state read from that invocation panics.
    pub(crate) fn envelope(&mut self) -> InvocationInput {
        self.replay_only = false;
        if self.token.take().is_some() {
            let crash = ErrorObject::new("Runtime.ExitError", "the test dropped the invocation");
            self.svc
                .complete_invocation(&self.arn, InvocationEnd::Errored(crash))
                .expect("the crashed invocation ends");
        }
        let record = self.svc.execution(&self.arn).expect("execution");
        if record.status().is_terminal() {
            self.replay_only = true;
            let state = ExecutionState {
                operations: record.operations().to_vec(),
                next_marker: None,
            };
            return InvocationInput {
                durable_execution_arn: self.arn.clone(),
                checkpoint_token: "replay-only".to_owned(),
                initial_execution_state: self.edited(state),
                updated_operation_ids: Vec::new(),
            };
        }
        let mut input = self
            .svc
            .begin_invocation(&self.arn)
            .expect("invocation begins");
        self.token = Some(input.checkpoint_token.clone());
        input.initial_execution_state = self.edited(input.initial_execution_state);
        input
    }

    /// Reports what the invocation returned.
    pub(crate) fn complete(&mut self, output: &InvocationOutput) {
        if self.replay_only {
            return;
        }
        self.token = None;
        self.svc
            .complete_invocation(&self.arn, InvocationEnd::Returned(output.clone()))
            .expect("the invocation ends");
    }

    pub(crate) fn get_state(&mut self, token: &str, marker: &str) -> ExecutionState {
        assert!(
            !self.replay_only,
            "state read while replaying an ended execution"
        );
        let page = self
            .svc
            .get_state(&self.arn, token, Some(marker), None)
            .unwrap_or_else(|e| panic!("state read refused: {e}"));
        self.edited(page)
    }

    pub(crate) fn checkpoint(
        &mut self,
        token: &str,
        updates: Vec<OperationUpdate>,
    ) -> CheckpointResponse {
        assert!(
            !self.replay_only,
            "checkpoint while replaying an ended execution: {updates:?}"
        );
        let mut response = self
            .svc
            .checkpoint(&self.arn, token, updates.clone())
            .unwrap_or_else(|e| panic!("checkpoint refused: {e}\nupdates: {updates:?}"));
        self.calls.push(updates);
        self.token.clone_from(&response.checkpoint_token);
        response.new_execution_state = self.edited(response.new_execution_state);
        response
    }

    /// Fires every timer: PENDING steps become READY, started waits succeed.
    pub(crate) fn fire_timers(&mut self) {
        while self.svc.advance_to_next_timer(&self.arn).is_some() {}
    }

    /// Every STARTED callback and chained invoke: (id, name, type, callback id).
    pub(crate) fn started_externals(&self) -> Vec<(String, String, OperationType, Option<String>)> {
        let record = self.svc.execution(&self.arn).expect("execution");
        record
            .operations()
            .iter()
            .filter(|o| {
                o.status == OperationStatus::Started
                    && matches!(
                        o.operation_type,
                        OperationType::Callback | OperationType::ChainedInvoke
                    )
            })
            .map(|o| {
                (
                    o.id.clone(),
                    o.name.clone().unwrap_or_default(),
                    o.operation_type.clone(),
                    o.callback_details
                        .as_ref()
                        .and_then(|d| d.callback_id.clone()),
                )
            })
            .collect()
    }

    /// Completes callback `callback_id` with `result`, as an external system would.
    pub(crate) fn send_callback_success(&mut self, callback_id: &str, result: Option<String>) {
        self.svc
            .send_callback_success(callback_id, result)
            .expect("the callback completes");
    }

    /// Completes callback `callback_id` with a failure, as an external system would.
    pub(crate) fn send_callback_failure(&mut self, callback_id: &str, error: ErrorObject) {
        self.svc
            .send_callback_failure(callback_id, error)
            .expect("the callback completes");
    }

    /// Ends chained invoke `id` as its target would.
    pub(crate) fn complete_invoke(&mut self, id: &str, end: durable_service::ChainedInvokeEnd) {
        self.svc
            .complete_chained_invoke(&self.arn, id, end)
            .expect("the invoke completes");
    }

    /// The service's record of operation `id`.
    pub(crate) fn op(&self, id: &str) -> &Operation {
        self.svc
            .execution(&self.arn)
            .and_then(|r| r.operation(id))
            .unwrap_or_else(|| panic!("no operation {id}"))
    }

    /// The service's record of the EXECUTION operation.
    pub(crate) fn execution_op(&self) -> &Operation {
        self.op(&self.exec_id)
    }

    /// Ids of every operation but the EXECUTION one, in the order the service keeps them.
    pub(crate) fn operation_ids(&self) -> Vec<String> {
        let record = self.svc.execution(&self.arn).expect("execution");
        record
            .operations()
            .iter()
            .filter(|o| o.operation_type != OperationType::Execution)
            .map(|o| o.id.clone())
            .collect()
    }

    pub(crate) fn step_attempt(&self, id: &str) -> u32 {
        self.op(id).step_details.as_ref().map_or(0, |d| d.attempt)
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
    /// Makes every request the engine has now, as a driver loop would.
    pub(crate) fn pump_now(&mut self) {
        self.pump();
    }

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
                other => panic!("request this harness does not know: {other:?}"),
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
                    other => panic!("step end this harness does not know: {other:?}"),
                }
            }
            other => panic!("step start this harness does not know: {other:?}"),
        }
    }

    /// A callback named `name`: its result (or `"failed: <type>"`) as JSON text once the
    /// outside world completed it.
    pub(crate) fn callback(&mut self, name: &str) -> Result<String, Stop> {
        let request = CallbackRequest {
            name: Some(name),
            ..CallbackRequest::default()
        };
        let start = self
            .exec
            .begin_callback(self.context, request)
            .map_err(Stop::Fatal)?;
        let op = start.op();
        self.exec.activate(op);
        self.pump();
        if self.crashed {
            return Err(Stop::Crashed);
        }
        match self.exec.await_callback(op).map_err(Stop::Fatal)? {
            CallbackEnd::Blocked => Err(Stop::Suspended),
            CallbackEnd::Done(Ok(v)) => Ok(v.unwrap_or_default()),
            CallbackEnd::Done(Err(f)) => Ok(format!("\"failed: {}\"", f.error.type_name())),
            other => panic!("callback end this harness does not know: {other:?}"),
        }
    }

    /// A chained invoke named `name`: the target's result (or `"failed: <type>"`).
    pub(crate) fn invoke(&mut self, name: &str) -> Result<String, Stop> {
        let request = InvokeRequest {
            name: Some(name),
            function_name: "target:1",
            payload: "{}",
            tenant_id: None,
            trace_header: None,
        };
        match self
            .exec
            .begin_invoke(self.context, request)
            .map_err(Stop::Fatal)?
        {
            InvokeStart::Blocked { op } => {
                self.exec.activate(op);
                Err(Stop::Suspended)
            }
            InvokeStart::Done { result, .. } => Ok(match result {
                Ok(v) => v.unwrap_or_default(),
                Err(f) => format!("\"failed: {}\"", f.error.type_name()),
            }),
            other => panic!("invoke start this harness does not know: {other:?}"),
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
            other => panic!("wait start this harness does not know: {other:?}"),
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
            other => panic!("context start this harness does not know: {other:?}"),
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
    if let InvocationOutcome::Output(output) = &outcome {
        ctx.svc.complete(output);
    }
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

/// The default engine configuration with `edit` applied (the struct is `#[non_exhaustive]`).
pub(crate) fn config(edit: impl FnOnce(&mut ExecutionConfig)) -> ExecutionConfig {
    let mut config = ExecutionConfig::default();
    edit(&mut config);
    config
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
