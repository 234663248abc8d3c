//! The `operations` target's harness: one invocation of the engine, driven through a program
//! of user actions (`program`) against the service (`model`), with the checks that hold while
//! it runs and once it has an outcome.

use std::collections::HashMap;

use durable_proto::{
    ContextRef, Ending, Execution, ExecutionConfig, ExecutionError, FlushTicket, InvocationOutcome,
    OperationHandle, OperationState, OperationStatus, RetryStrategy, ServiceRequest, StepEnd,
    StepOutcome, StepRequest, StepSemantics, StepStart, WaitStart, PAYLOAD_TOO_LARGE_ERROR_TYPE,
};

use crate::checks::check_batch;
use crate::gen::{self, valid_name, wait_seconds, Body, Name, Payload, Policy, WaitDuration};
use crate::model::{Answer, Model};
use crate::ops::{drain_events, Ops};
use crate::program::{Mode, ServiceAct, UserOp};

mod oracle;

/// A step whose body runs (or will run) concurrently with the rest of the program.
///
/// Consecutive `Deferred` steps are created together, like a `join!` of step futures: each is
/// begun, and only once the program moves on are they all awaited (`activate`) and their bodies
/// started.
struct Deferred {
    op: OperationHandle,
    attempt: u32,
    bodies: Vec<Body>,
    strategy: Box<dyn RetryStrategy>,
    /// A checkpoint that must be acknowledged before the body starts.
    wait_for: Option<FlushTicket>,
    /// Whether the body started (`start_attempt`).
    started: bool,
}

/// One invocation: the engine, the service it talks to and what the driver saw of it.
pub struct Driver<'a> {
    exec: Execution,
    model: &'a mut Model,
    config: ExecutionConfig,
    service: &'a [ServiceAct],
    cursor: &'a mut usize,
    outstanding: Option<ServiceRequest>,
    outcome: Option<InvocationOutcome>,
    claimed: u32,
    deferred: Vec<Deferred>,
    branch_blocked: bool,
    handler_payload_len: Option<usize>,
    /// The operations begun in this invocation, as the engine's answers describe them.
    ops: Ops,
    /// The wire seconds of the waits begun (and STARTed) in this invocation, by id.
    waits: HashMap<String, u32>,
    /// Whether the driver asked the engine to suspend.
    suspended: bool,
    /// Whether an operation was refused for the concurrency contract.
    refused: bool,
    /// The last `InvocationEnding` event.
    ending: Option<Ending>,
}

impl<'a> Driver<'a> {
    /// A new invocation of the execution `model` holds, with the service answering as
    /// `service` says from `*cursor` on (the cursor carries over to the next invocation).
    pub fn new(
        model: &'a mut Model,
        config: ExecutionConfig,
        service: &'a [ServiceAct],
        cursor: &'a mut usize,
    ) -> Self {
        Self {
            exec: Execution::new(model.envelope(), config.clone()),
            model,
            config,
            service,
            cursor,
            outstanding: None,
            outcome: None,
            claimed: 0,
            deferred: Vec::new(),
            branch_blocked: false,
            handler_payload_len: None,
            ops: Ops::default(),
            waits: HashMap::new(),
            suspended: false,
            refused: false,
            ending: None,
        }
    }

    /// Loads the state, runs `program` and serves the engine until it has an outcome.
    /// `input`: the execution's input, which the engine must hand to user code.
    pub fn invoke(&mut self, program: &[UserOp], input: &str) {
        self.sync();
        self.pump_until("the state to load", Execution::is_ready);
        if self.outcome.is_none() {
            assert_eq!(self.exec.input_payload().as_deref(), Some(input));
            self.run(program);
        }
        self.pump_until("the outcome", |_| false);
    }

    /// The invocation's outcome, once `invoke` returned.
    pub fn outcome(&self) -> &InvocationOutcome {
        self.outcome.as_ref().expect("an outcome")
    }

    /// Drains the engine's outputs after an input, checking the request/outcome rules.
    fn sync(&mut self) {
        if self.outcome.is_some() {
            assert!(
                self.exec.poll_request().is_none(),
                "a request after the outcome"
            );
            assert!(self.exec.poll_output().is_none(), "a second outcome");
            return;
        }
        if self.outstanding.is_none() {
            if let Some(req) = self.exec.poll_request() {
                if let ServiceRequest::Checkpoint { updates, .. } = &req {
                    check_batch(updates, &self.config);
                    self.check_waits(updates);
                }
                self.outstanding = Some(req);
            }
        }
        if self.outstanding.is_some() {
            assert!(
                self.exec.poll_request().is_none(),
                "two requests outstanding"
            );
        }
        if let Some(outcome) = self.exec.poll_output() {
            assert!(self.exec.poll_output().is_none(), "a second outcome");
            assert!(
                self.exec.poll_request().is_none(),
                "a request after the outcome"
            );
            assert!(self.exec.is_closing(), "an outcome while not closing");
            self.outcome = Some(outcome);
        }
        drain_events(&mut self.exec, &mut self.ending);
        self.ops.check_engine(&self.exec);
    }

    /// User code awaits `op`.
    fn activate(&mut self, op: OperationHandle) {
        self.exec.activate(op);
        // The engine ignores activation once the outcome is being decided.
        if self.exec.is_ready() {
            let exec = &self.exec;
            self.ops.activate(op, |t| exec.is_acknowledged(t));
        }
        self.sync();
    }

    /// The body of `d` starts once its checkpoint is acknowledged; `false` if the invocation
    /// ended first.
    fn start_body(&mut self, d: &mut Deferred) -> bool {
        if d.started {
            return true;
        }
        if let Some(ticket) = d.wait_for {
            self.pump_until("a flush ticket", |e| e.is_acknowledged(ticket));
            if self.outcome.is_some() {
                return false;
            }
        }
        match self.exec.start_attempt(d.op) {
            Ok(a) => {
                assert_eq!(a, d.attempt, "start_attempt of {:?}", d.op);
                self.ops.set(d.op, OperationState::Running);
                d.started = true;
                self.sync();
                true
            }
            Err(e) => {
                self.sync();
                self.expect_closed(&e);
                false
            }
        }
    }

    /// The program moves on past a group of deferred steps created together: await them all,
    /// then start their bodies. Returns whether the program must stop.
    fn await_created(&mut self) -> bool {
        let created: Vec<OperationHandle> = self
            .deferred
            .iter()
            .filter(|d| !d.started)
            .map(|d| d.op)
            .collect();
        for op in created {
            self.activate(op);
        }
        let mut deferred = std::mem::take(&mut self.deferred);
        let mut stop = false;
        for d in &mut deferred {
            if !stop && !self.start_body(d) {
                stop = true;
            }
        }
        // Bodies that could not start stay for `abandon_all` / `stop_blocked`.
        self.deferred = deferred;
        stop
    }

    /// The user code drops `op`; ignored by the engine once the invocation is closing.
    fn release(&mut self, op: OperationHandle) {
        let live = self.exec.is_ready();
        self.exec.release(op);
        if live {
            self.ops.set(op, OperationState::Released);
        }
        self.sync();
    }

    fn next_act(&mut self) -> ServiceAct {
        let act = self
            .service
            .get(*self.cursor)
            .cloned()
            .unwrap_or(ServiceAct::Ack);
        *self.cursor += 1;
        act
    }

    /// The service answers the request in flight.
    fn serve(&mut self) {
        let Some(req) = self.outstanding.take() else {
            return;
        };
        let act = self.next_act();
        match req {
            ServiceRequest::GetState {
                checkpoint_token,
                marker,
            } => {
                let token = &checkpoint_token;
                let page = match act {
                    ServiceAct::Fail(f) => self.model.refuse(token, f.build()),
                    ServiceAct::BadMarker => self.model.get_state(token, &marker).map(|mut p| {
                        self.model.spoil(&mut p);
                        p
                    }),
                    _ => self.model.get_state(token, &marker),
                };
                match page {
                    Ok(p) => self.exec.handle_state_page(p).expect("a requested page"),
                    Err(f) => self.exec.handle_request_failure(f),
                }
            }
            ServiceRequest::Checkpoint {
                checkpoint_token,
                updates,
            } => {
                let answer = match act {
                    ServiceAct::AckPaged => Answer::AckPaged,
                    ServiceAct::AckNoToken => Answer::AckNoToken,
                    ServiceAct::AppliedButLost => Answer::AppliedButLost,
                    ServiceAct::Reject => Answer::Reject,
                    _ => Answer::Ack,
                };
                let token = &checkpoint_token;
                let response = match act {
                    ServiceAct::Fail(f) => self.model.refuse(token, f.build()),
                    ServiceAct::BadMarker => {
                        self.model.checkpoint(token, &updates, answer).map(|mut r| {
                            self.model.spoil(&mut r.new_execution_state);
                            r
                        })
                    }
                    _ => self.model.checkpoint(token, &updates, answer),
                };
                match response {
                    Ok(r) => {
                        self.exec
                            .handle_checkpoint_response(r)
                            .expect("a requested response");
                        let exec = &self.exec;
                        self.ops.promote(|t| exec.is_acknowledged(t));
                    }
                    Err(f) => self.exec.handle_request_failure(f),
                }
            }
            other => panic!("unknown request {other:?}"),
        }
        self.sync();
    }

    /// Serves requests until `done` holds or the invocation has an outcome.
    fn pump_until(&mut self, what: &str, done: impl Fn(&Execution) -> bool) {
        while self.outcome.is_none() && !done(&self.exec) {
            if self.outstanding.is_some() {
                self.serve();
            } else {
                self.sync();
                assert!(
                    self.outstanding.is_some() || self.outcome.is_some(),
                    "stalled waiting for {what}: no request, no outcome"
                );
            }
        }
    }

    fn closed(&self) -> bool {
        self.outcome.is_some() || self.exec.is_closing()
    }

    fn expect_closed(&self, e: &ExecutionError) {
        assert!(
            matches!(e, ExecutionError::Closed) && self.closed(),
            "unexpected error {e:?}"
        );
    }

    fn claim(&mut self) -> String {
        self.claimed += 1;
        self.claimed.to_string()
    }

    /// Reports a step body's outcome; returns whether the program must stop.
    fn report(&mut self, d: Deferred, mode: Mode) -> bool {
        if !d.started {
            // The invocation ended before the body could start.
            assert!(self.closed(), "a body reported before it started");
            return true;
        }
        let body = d
            .bodies
            .get(d.attempt.saturating_sub(1) as usize)
            .or(d.bodies.last())
            .cloned()
            .unwrap_or(Body::Ok(Payload {
                size: 4,
                fill: gen::Fill::Json,
            }));
        let limit = self.config.max_operation_payload_bytes;
        let outcome = body.outcome(limit);
        let end = self
            .exec
            .handle_step_outcome(d.op, outcome.clone(), &*d.strategy);
        match &end {
            Ok(StepEnd::Done(result)) => {
                self.ops.set(d.op, OperationState::Done);
                match (&outcome, result) {
                    (StepOutcome::Value(v), Ok(r)) if v.len() <= limit => {
                        assert_eq!(r.as_deref(), Some(v.as_str()), "the step's value changed")
                    }
                    (StepOutcome::Value(v), Err(e)) if v.len() > limit => assert_eq!(
                        e.error_type.as_deref(),
                        Some(PAYLOAD_TOO_LARGE_ERROR_TYPE),
                        "an oversized value"
                    ),
                    (StepOutcome::Error(_), Err(_)) => {}
                    (o, r) => panic!("outcome {o:?} of {} bytes ended as {r:?}", body_len(o)),
                }
            }
            Ok(StepEnd::Blocked) => {
                assert!(
                    matches!(outcome, StepOutcome::Error(_)),
                    "only a failed attempt is retried"
                );
                self.ops.set(d.op, OperationState::Blocked);
            }
            _ => {}
        }
        self.sync();
        match end {
            Ok(StepEnd::Blocked) => self.block(mode),
            Ok(StepEnd::Done(_)) => false,
            Ok(other) => panic!("unknown step end {other:?}"),
            Err(e) => {
                self.expect_closed(&e);
                true
            }
        }
    }

    /// A branch cannot proceed; returns whether the whole program stops.
    fn block(&mut self, mode: Mode) -> bool {
        self.branch_blocked = true;
        mode != Mode::Branch
    }

    fn step(
        &mut self,
        name: &Name,
        at_most_once: bool,
        policy: &Policy,
        bodies: &[Body],
        mode: Mode,
    ) -> bool {
        let name = name.get();
        let strategy = policy.build();
        let semantics = if at_most_once {
            StepSemantics::AtMostOncePerRetry
        } else {
            StepSemantics::AtLeastOncePerRetry
        };
        let request = StepRequest {
            name: name.as_deref(),
            semantics,
        };
        let expected = self.refusal_expected(valid_name(name.as_deref()));
        let started = self.exec.begin_step(ContextRef::ROOT, request, &*strategy);
        self.check_refusal(expected, &started);
        if let Ok(start) = &started {
            let op = start.op();
            let id = self.claim();
            assert_eq!(
                self.exec.identity(op).map(|i| i.id.as_str()),
                Some(id.as_str()),
                "unexpected step id"
            );
            let on_await = match start {
                StepStart::Run {
                    wait_for: Some(t), ..
                } => Some(OperationState::AwaitingAck(*t)),
                StepStart::Blocked { .. } => Some(OperationState::Blocked),
                _ => None,
            };
            self.ops.begun(op, id, on_await);
            if let StepStart::Done { .. } = start {
                self.ops.set(op, OperationState::Done);
            }
        }
        self.sync();
        match started {
            Ok(StepStart::Run {
                op,
                attempt,
                wait_for,
            }) => {
                let id = self.claimed.to_string();
                let finished = self
                    .model
                    .operation(&id)
                    .and_then(|o| o.step_details.as_ref())
                    .map_or(0, |d| d.attempt);
                assert_eq!(attempt, finished + 1, "attempt number of step {id}");
                let mut d = Deferred {
                    op,
                    attempt,
                    bodies: bodies.to_vec(),
                    strategy,
                    wait_for,
                    started: false,
                };
                if mode == Mode::Deferred {
                    // Awaited (and its body started) once the program moves on.
                    self.deferred.push(d);
                    return false;
                }
                // Awaited at once: wait for the acknowledgement, run the body.
                self.activate(op);
                if !self.start_body(&mut d) {
                    return true;
                }
                self.report(d, mode)
            }
            Ok(StepStart::Done { result, .. }) => {
                let id = self.claimed.to_string();
                if let Ok(value) = result {
                    let op = self.model.operation(&id).expect("a replayed step exists");
                    assert_eq!(
                        op.status,
                        OperationStatus::Succeeded,
                        "replayed result of step {id}"
                    );
                    assert_eq!(
                        op.step_details.as_ref().and_then(|d| d.result.clone()),
                        value
                    );
                }
                false
            }
            Ok(StepStart::Blocked { op }) => {
                self.activate(op);
                self.block(mode)
            }
            Ok(other) => panic!("unknown step start {other:?}"),
            Err(e) => self.operation_error(e, name.as_deref()),
        }
    }

    fn operation_error(&mut self, e: ExecutionError, name: Option<&str>) -> bool {
        match &e {
            ExecutionError::InvalidName { .. } => {
                assert!(!valid_name(name), "valid name {name:?} refused");
                false
            }
            ExecutionError::NonDeterminism { id, .. }
            | ExecutionError::UnsupportedStatus { id, .. } => {
                assert_eq!(*id, self.claim(), "mismatch reported for another id");
                true
            }
            // Checked by `check_refusal`; the execution fails.
            ExecutionError::TimingDependentId { .. } => true,
            _ => {
                self.expect_closed(&e);
                true
            }
        }
    }

    fn wait(&mut self, name: &Name, duration: &WaitDuration, branch: bool) -> bool {
        let name = name.get();
        let d = duration.get();
        let secs = wait_seconds(d);
        let expected = self.refusal_expected(secs.is_some() && valid_name(name.as_deref()));
        let r = self.exec.begin_wait(ContextRef::ROOT, name.as_deref(), d);
        self.check_refusal(expected, &r);
        if let Ok(WaitStart::Elapsed { op } | WaitStart::Blocked { op }) = &r {
            let id = self.claim();
            assert_eq!(
                self.exec.identity(*op).map(|i| i.id.as_str()),
                Some(id.as_str()),
                "unexpected wait id"
            );
            let blocked = matches!(r, Ok(WaitStart::Blocked { .. }));
            self.ops
                .begun(*op, id.clone(), blocked.then_some(OperationState::Blocked));
            if blocked {
                if self.model.operation(&id).is_none() {
                    self.waits
                        .insert(id, secs.expect("an accepted wait has a valid duration"));
                }
            } else {
                self.ops.set(*op, OperationState::Done);
            }
        }
        self.sync();
        let mode = if branch { Mode::Branch } else { Mode::Inline };
        match r {
            Ok(WaitStart::Elapsed { .. }) => {
                let id = self.claimed.to_string();
                let op = self.model.operation(&id).expect("an elapsed wait exists");
                assert!(
                    op.status.is_terminal(),
                    "wait {id} elapsed in status {}",
                    op.status
                );
                false
            }
            Ok(WaitStart::Blocked { op }) => {
                self.activate(op);
                self.block(mode)
            }
            Ok(other) => panic!("unknown wait start {other:?}"),
            Err(ExecutionError::InvalidWaitDuration { .. }) => {
                assert!(secs.is_none(), "valid duration {d:?} refused");
                false
            }
            Err(e) => self.operation_error(e, name.as_deref()),
        }
    }

    fn abandon_all(&mut self) {
        for d in std::mem::take(&mut self.deferred) {
            self.release(d.op);
        }
    }

    /// User code cannot go on: finish the bodies still running, then suspend if nothing can run.
    fn stop_blocked(&mut self) {
        self.await_created();
        for d in std::mem::take(&mut self.deferred) {
            self.report(d, Mode::Branch);
        }
        if self.exec.should_suspend() {
            self.suspend();
        }
    }

    fn suspend(&mut self) {
        self.suspended |= self.exec.is_ready();
        self.exec.suspend();
        self.sync();
    }

    /// Runs the program; returns when user code is done.
    fn run(&mut self, program: &[UserOp]) {
        for op in program {
            if self.closed() {
                return;
            }
            // Moving on past deferred steps awaits them; returning or suspending drops them.
            let drops = matches!(
                op,
                UserOp::Step {
                    mode: Mode::Deferred,
                    ..
                } | UserOp::Return(_)
                    | UserOp::Suspend
            );
            if !drops && self.await_created() {
                self.stop_blocked();
                return;
            }
            let stop = match op {
                UserOp::Step {
                    name,
                    at_most_once,
                    policy,
                    bodies,
                    mode,
                } => self.step(name, *at_most_once, policy, bodies, *mode),
                UserOp::Finish { which } => {
                    if !self.deferred.is_empty() {
                        let d = self.deferred.remove(*which as usize % self.deferred.len());
                        self.report(d, Mode::Branch);
                    }
                    false
                }
                UserOp::Abandon { which } => {
                    if !self.deferred.is_empty() {
                        let d = self.deferred.remove(*which as usize % self.deferred.len());
                        self.release(d.op);
                    }
                    false
                }
                UserOp::Wait {
                    name,
                    duration,
                    branch,
                } => self.wait(name, duration, *branch),
                UserOp::Pump => {
                    self.serve();
                    self.sync();
                    false
                }
                UserOp::Return(body) => {
                    self.abandon_all();
                    let limit = self.config.max_inline_result_bytes;
                    let result = body.build(limit);
                    self.handler_payload_len = result.as_ref().ok().map(String::len);
                    self.exec.handle_handler_result(result);
                    self.sync();
                    return;
                }
                UserOp::Suspend => {
                    self.abandon_all();
                    self.suspend();
                    return;
                }
            };
            if stop {
                self.stop_blocked();
                return;
            }
        }
        if self.closed() {
            return;
        }
        if self.branch_blocked {
            self.stop_blocked();
        } else {
            self.abandon_all();
            self.handler_payload_len = Some(4);
            self.exec.handle_handler_result(Ok("null".into()));
            self.sync();
        }
    }
}

/// The byte length of what a body reported.
fn body_len(o: &StepOutcome) -> usize {
    match o {
        StepOutcome::Value(v) | StepOutcome::Unserializable(v) => v.len(),
        _ => 0,
    }
}
