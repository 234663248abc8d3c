//! A valid envelope with an arbitrary history, then arbitrary checkpoint responses, state pages
//! and API failures fed to the engine where it asks for them (and some where it does not),
//! interleaved with user operations.
//!
//! Checks: no panic; at most one request outstanding; requests use the latest token and a
//! checkpoint token only once; no request and no second outcome after the outcome, even when
//! the reply to the request in flight arrives late; unrequested replies are refused; batches
//! respect the protocol limits; replayed attempts and results match the engine's history; the
//! engine's operation states and `should_suspend` match what its answers imply (`ops`); an
//! operation is refused with `TimingDependentId` exactly when the concurrency contract says so
//! (on for even seeds, off for odd ones; operations are awaited as they are begun, or with bit 2
//! of the seed only when their outcome comes); PENDING, `CheckpointLost` and `ResumeRequired` agree
//! with the records the service sent for the blocked operations; the last `InvocationEnding`
//! event matches the outcome.

#![no_main]

use arbitrary::Arbitrary;
use durable_proto::{
    CheckpointResponse, ContextRef, Ending, ErrorObject, Execution, ExecutionConfig,
    ExecutionDetails, ExecutionError, ExecutionState, FlushTicket, InvocationInput,
    InvocationOutcome, InvocationStatus, Operation, OperationHandle, OperationState,
    OperationStatus, OperationType, RetryStrategy, ServiceRequest, StepEnd, StepRequest,
    StepSemantics, StepStart, WaitStart,
};
use durable_proto_fuzz::checks::check_batch;
use durable_proto_fuzz::gen::{
    self, valid_name, wait_seconds, Body, Failure, Name, Policy, WaitDuration,
};
use durable_proto_fuzz::ops::{check_ending, check_suspension, drain_events, Ops};
use durable_proto_fuzz::records::{ArbOp, Arn, ExecOp, Marker, OpId, Status, SubType, Token, Type};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    arn: Arn,
    execution: ExecOp,
    operations: Vec<ArbOp>,
    next_marker: Option<Marker>,
    seed: u64,
    actions: Vec<Action>,
}

#[derive(Arbitrary, Debug, Clone)]
enum Reply {
    Checkpoint {
        token: Token,
        operations: Vec<ArbOp>,
        next_marker: Option<Marker>,
    },
    Page {
        operations: Vec<ArbOp>,
        next_marker: Option<Marker>,
    },
    Failure(Failure),
}

#[derive(Arbitrary, Debug, Clone)]
enum Action {
    Step {
        name: Name,
        at_most_once: bool,
        policy: Policy,
    },
    Outcome {
        which: u8,
        body: Body,
    },
    Abandon {
        which: u8,
    },
    Wait {
        name: Name,
        duration: WaitDuration,
    },
    Handler(Body),
    Suspend,
    /// Answer the request in flight (or, with none, check that the reply is refused).
    Reply(Reply),
}

struct Running {
    op: OperationHandle,
    strategy: Box<dyn RetryStrategy>,
    /// Whether the body started (`start_attempt`); if not, it waits for this ticket.
    started: bool,
    wait_for: Option<FlushTicket>,
}

/// When user code awaits the operations it begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Awaiting {
    /// At once (each call is awaited; a step's body starts when it may).
    Eager,
    /// A step only when its outcome comes (futures created together, polled later); a step
    /// found blocked never (created and dropped unpolled).
    Lazy,
}

struct Driver {
    exec: Execution,
    config: ExecutionConfig,
    exec_id: String,
    token: Option<String>,
    used_tokens: Vec<String>,
    issued: u64,
    outstanding: Option<ServiceRequest>,
    done: bool,
    claimed: u32,
    running: Vec<Running>,
    /// The operations begun, as the engine's answers describe them.
    ops: Ops,
    /// Whether the driver asked the engine to suspend.
    suspended: bool,
    /// Whether an operation was refused for the concurrency contract.
    refused: bool,
    /// The last `InvocationEnding` event.
    ending: Option<Ending>,
    awaiting: Awaiting,
}

impl Driver {
    fn sync(&mut self) {
        if self.done {
            assert!(
                self.exec.poll_request().is_none(),
                "a request after the outcome"
            );
            assert!(self.exec.poll_output().is_none(), "a second outcome");
            return;
        }
        if self.outstanding.is_none() {
            if let Some(req) = self.exec.poll_request() {
                self.check_request(&req);
                self.outstanding = Some(req);
            }
        }
        if self.outstanding.is_some() {
            assert!(
                self.exec.poll_request().is_none(),
                "two requests outstanding"
            );
        }
        let outcome = self.exec.poll_output();
        drain_events(&mut self.exec, &mut self.ending);
        if let Some(outcome) = outcome {
            if let InvocationOutcome::Output(o) = &outcome {
                assert!(
                    o.error.is_none() || o.result.is_none(),
                    "an output with result and error"
                );
            }
            self.done = true;
            assert!(self.exec.poll_output().is_none(), "a second outcome");
            assert!(
                self.exec.poll_request().is_none(),
                "a request after the outcome"
            );
            gen::debug(&outcome);
            check_ending(&outcome, self.ending);
            let exec = &self.exec;
            check_suspension(
                &outcome,
                &self.ops.blocked(),
                |id| exec.operation(id).map(|o| o.status.clone()),
                self.suspended,
            );
            if self.refused {
                assert!(
                    !matches!(
                        &outcome,
                        InvocationOutcome::Output(o) if o.status != InvocationStatus::Failed
                    ),
                    "the execution went on after a TimingDependentId refusal: {outcome:?}"
                );
            }
        }
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
    }

    /// Whether the concurrency contract must refuse the operation about to be begun, if the
    /// engine gets as far as checking it (`valid`: its arguments are valid).
    fn refusal_expected(&self, valid: bool) -> bool {
        self.config.check_concurrent_begins
            && valid
            && self.exec.is_ready()
            && self.ops.refuses_begin()
    }

    /// The engine refused a begin for the concurrency contract exactly when it had to.
    fn check_refusal<T: std::fmt::Debug>(&mut self, expected: bool, r: &Result<T, ExecutionError>) {
        let refused = matches!(r, Err(ExecutionError::TimingDependentId { .. }));
        assert_eq!(
            refused, expected,
            "TimingDependentId expected: {expected}, got {r:?}"
        );
        self.refused |= refused;
    }

    /// The user code drops `op`; ignored by the engine once the invocation is closing.
    fn release(&mut self, op: OperationHandle) {
        let live = self.exec.is_ready();
        self.exec.release(op);
        if live {
            self.ops.set(op, OperationState::Released);
        }
    }

    /// The body of `r` starts; `false` if it cannot yet (its START is not acknowledged) or
    /// ever (the invocation is closing).
    fn start(&mut self, r: &mut Running) -> Result<bool, ExecutionError> {
        if r.started {
            return Ok(true);
        }
        self.activate(r.op);
        match self.exec.start_attempt(r.op) {
            Ok(_) => {
                r.started = true;
                self.ops.set(r.op, OperationState::Running);
                Ok(true)
            }
            Err(ExecutionError::Misuse { .. }) => {
                let ticket = r
                    .wait_for
                    .expect("only a step awaiting its START is refused");
                assert!(
                    self.exec.is_ready() && !self.exec.is_acknowledged(ticket),
                    "start_attempt refused after the acknowledgement"
                );
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn check_request(&mut self, req: &ServiceRequest) {
        match req {
            ServiceRequest::GetState {
                checkpoint_token, ..
            } => {
                assert_eq!(
                    Some(checkpoint_token),
                    self.token.as_ref(),
                    "state read with a stale token"
                );
            }
            ServiceRequest::Checkpoint {
                checkpoint_token,
                updates,
            } => {
                assert_eq!(
                    Some(checkpoint_token),
                    self.token.as_ref(),
                    "checkpoint with a stale token"
                );
                assert!(
                    !self.used_tokens.contains(checkpoint_token),
                    "a token used twice"
                );
                self.used_tokens.push(checkpoint_token.clone());
                self.token = None;
                check_batch(updates, &self.config);
                for u in updates
                    .iter()
                    .filter(|u| u.operation_type == OperationType::Execution)
                {
                    assert_eq!(u.id, self.exec_id, "EXECUTION update for another id");
                }
            }
            other => panic!("unknown request {other:?}"),
        }
    }

    fn reply(&mut self, reply: &Reply) {
        let exec_id = self.exec_id.clone();
        let ops = |v: &Vec<ArbOp>| v.iter().map(|o| o.build(&exec_id)).collect::<Vec<_>>();
        let in_flight = self
            .outstanding
            .as_ref()
            .map(|r| matches!(r, ServiceRequest::Checkpoint { .. }));
        match reply {
            Reply::Checkpoint {
                token,
                operations,
                next_marker,
            } => {
                self.issued += 1;
                let token = match token {
                    Token::Fresh => Some(format!("fresh{}", self.issued)),
                    Token::Missing => None,
                    Token::Empty => Some(String::new()),
                    Token::Text(t) => Some(t.clone()),
                };
                let new_token = token.clone().filter(|t| !t.is_empty());
                let response = CheckpointResponse {
                    checkpoint_token: token,
                    new_execution_state: ExecutionState {
                        operations: ops(operations),
                        next_marker: Marker::get(next_marker),
                    },
                };
                let r = self.exec.handle_checkpoint_response(response);
                if in_flight == Some(true) {
                    r.expect("the requested checkpoint response");
                    let exec = &self.exec;
                    self.ops.promote(|t| exec.is_acknowledged(t));
                    self.outstanding = None;
                    self.token = new_token;
                } else {
                    assert!(
                        matches!(r, Err(ExecutionError::Misuse { .. })),
                        "unrequested response: {r:?}"
                    );
                }
            }
            Reply::Page {
                operations,
                next_marker,
            } => {
                let page = ExecutionState {
                    operations: ops(operations),
                    next_marker: Marker::get(next_marker),
                };
                let r = self.exec.handle_state_page(page);
                if in_flight == Some(false) {
                    r.expect("the requested page");
                    self.outstanding = None;
                } else {
                    assert!(
                        matches!(r, Err(ExecutionError::Misuse { .. })),
                        "unrequested page: {r:?}"
                    );
                }
            }
            Reply::Failure(f) => {
                if self.outstanding.is_some() {
                    self.outstanding = None;
                    self.exec.handle_request_failure(f.build());
                }
            }
        }
        self.sync();
    }

    fn expect_closed(&self, e: &ExecutionError) {
        let closed = matches!(e, ExecutionError::Closed) && (self.done || self.exec.is_closing());
        let loading = matches!(e, ExecutionError::Misuse { .. })
            && !self.exec.is_ready()
            && !self.exec.is_closing();
        assert!(closed || loading, "unexpected error {e:?}");
    }

    fn step(&mut self, name: &Name, at_most_once: bool, policy: &Policy) {
        let name = name.get();
        let strategy = policy.build();
        let semantics = if at_most_once {
            StepSemantics::AtMostOncePerRetry
        } else {
            StepSemantics::AtLeastOncePerRetry
        };
        let next_id = (self.claimed + 1).to_string();
        let request = StepRequest {
            name: name.as_deref(),
            semantics,
        };
        let expected = self.refusal_expected(valid_name(name.as_deref()));
        let recorded_result = self
            .exec
            .operation(&next_id)
            .and_then(|o| o.step_details)
            .and_then(|d| d.result);
        let r = self.exec.begin_step(ContextRef::ROOT, request, &*strategy);
        self.check_refusal(expected, &r);
        if let Ok(start) = &r {
            let op = start.op();
            assert_eq!(
                self.exec.identity(op).map(|i| i.id.as_str()),
                Some(next_id.as_str()),
                "unexpected step id"
            );
            let on_await = match start {
                StepStart::Run {
                    wait_for: Some(t), ..
                } => Some(OperationState::AwaitingAck(*t)),
                StepStart::Blocked { .. } => Some(OperationState::Blocked),
                _ => None,
            };
            self.ops.begun(op, next_id.clone(), on_await);
            match start {
                StepStart::Done { .. } => self.ops.set(op, OperationState::Done),
                StepStart::Blocked { .. } if self.awaiting == Awaiting::Eager => self.activate(op),
                _ => {}
            }
        }
        self.sync();
        let record_attempt = |e: &Execution| {
            e.operation(&next_id)
                .and_then(|o| o.step_details)
                .map_or(0, |d| d.attempt)
        };
        match r {
            Ok(StepStart::Run {
                op,
                attempt,
                wait_for,
            }) => {
                self.claimed += 1;
                assert_eq!(
                    attempt,
                    record_attempt(&self.exec).saturating_add(1),
                    "attempt of step {next_id}"
                );
                let mut r = Running {
                    op,
                    strategy,
                    started: false,
                    wait_for,
                };
                // Eagerly awaited: the step awaits its acknowledgement, or its body starts
                // (and runs until its `Outcome`) unless the invocation ended meanwhile (e.g.
                // the last response carried no token).
                if self.awaiting == Awaiting::Eager && wait_for.is_some() {
                    self.activate(op);
                    self.sync();
                }
                if self.awaiting == Awaiting::Eager && wait_for.is_none() {
                    let started = self.start(&mut r);
                    self.sync();
                    match started {
                        Ok(true) => {}
                        Err(e) => {
                            self.expect_closed(&e);
                            return;
                        }
                        Ok(false) => panic!("a step free to run was refused"),
                    }
                }
                self.running.push(r);
            }
            Ok(StepStart::Done { result, .. }) => {
                self.claimed += 1;
                if let Ok(value) = result {
                    let rec = self
                        .exec
                        .operation(&next_id)
                        .expect("a finished step has a record");
                    assert_eq!(rec.status, OperationStatus::Succeeded);
                    assert_eq!(recorded_result, value);
                }
            }
            Ok(_) => self.claimed += 1,
            Err(ExecutionError::InvalidName { .. }) => {
                assert!(!valid_name(name.as_deref()), "valid name {name:?} refused")
            }
            Err(ExecutionError::TimingDependentId { .. }) => {}
            Err(
                ExecutionError::NonDeterminism { id, .. }
                | ExecutionError::UnsupportedStatus { id, .. },
            ) => {
                self.claimed += 1;
                assert_eq!(id, next_id);
            }
            Err(e) => self.expect_closed(&e),
        }
    }

    fn act(&mut self, action: &Action) {
        match action {
            Action::Step {
                name,
                at_most_once,
                policy,
            } => self.step(name, *at_most_once, policy),
            Action::Outcome { which, body } => {
                if !self.running.is_empty() {
                    let i = *which as usize % self.running.len();
                    let mut r = self.running.remove(i);
                    match self.start(&mut r) {
                        Ok(true) => {}
                        Ok(false) => {
                            // Still waiting for its START to be acknowledged.
                            self.running.insert(i, r);
                            self.sync();
                            return;
                        }
                        Err(e) => {
                            self.sync();
                            self.expect_closed(&e);
                            return;
                        }
                    }
                    let outcome = body.outcome(self.config.max_operation_payload_bytes);
                    let end = self.exec.handle_step_outcome(r.op, outcome, &*r.strategy);
                    match &end {
                        Ok(StepEnd::Done(_)) => self.ops.set(r.op, OperationState::Done),
                        Ok(StepEnd::Blocked) => self.ops.set(r.op, OperationState::Blocked),
                        _ => {}
                    }
                    self.sync();
                    match end {
                        Ok(StepEnd::Done(_) | StepEnd::Blocked) => {}
                        Ok(other) => panic!("unknown step end {other:?}"),
                        Err(e) => self.expect_closed(&e),
                    }
                }
            }
            Action::Abandon { which } => {
                if !self.running.is_empty() {
                    let r = self.running.remove(*which as usize % self.running.len());
                    self.release(r.op);
                    self.sync();
                }
            }
            Action::Wait { name, duration } => {
                let d = duration.get();
                let name = name.get();
                let valid = wait_seconds(d).is_some() && valid_name(name.as_deref());
                let expected = self.refusal_expected(valid);
                let r = self.exec.begin_wait(ContextRef::ROOT, name.as_deref(), d);
                self.check_refusal(expected, &r);
                if let Ok(start) = &r {
                    let (op, state) = match *start {
                        WaitStart::Elapsed { op } => (op, OperationState::Done),
                        WaitStart::Blocked { op } => (op, OperationState::Blocked),
                        other => panic!("unknown wait start {other:?}"),
                    };
                    self.claimed += 1;
                    if state == OperationState::Done {
                        self.ops.begun(op, self.claimed.to_string(), None);
                        self.ops.set(op, state);
                    } else {
                        // Awaited at once.
                        self.ops.begun(op, self.claimed.to_string(), Some(state));
                        self.activate(op);
                    }
                }
                self.sync();
                match r {
                    Ok(_) => {}
                    Err(ExecutionError::InvalidWaitDuration { .. }) => {
                        assert!(wait_seconds(d).is_none(), "valid duration {d:?} refused")
                    }
                    Err(ExecutionError::InvalidName { .. }) => {
                        assert!(!valid_name(name.as_deref()), "valid name {name:?} refused")
                    }
                    Err(ExecutionError::TimingDependentId { .. }) => {}
                    Err(
                        ExecutionError::NonDeterminism { .. }
                        | ExecutionError::UnsupportedStatus { .. },
                    ) => self.claimed += 1,
                    Err(e) => self.expect_closed(&e),
                }
            }
            Action::Handler(body) => {
                let limit = self.config.max_inline_result_bytes;
                self.exec.handle_handler_result(body.build(limit));
                self.sync();
            }
            Action::Suspend => {
                self.suspended |= self.exec.is_ready();
                self.exec.suspend();
                self.sync();
            }
            Action::Reply(reply) => self.reply(reply),
        }
    }
}

fuzz_target!(|input: Input| {
    gen::debug(&input);
    let (arn, exec_id) = input.arn.get();
    let mut operations: Vec<Operation> = Vec::new();
    let exec_record = |id: &str, status: &Status, payload: Option<String>| Operation {
        execution_details: Some(Box::new(ExecutionDetails {
            input_payload: payload,
        })),
        ..ArbOp {
            id: OpId::Text(id.to_owned()),
            op_type: Type::Execution,
            status: status.clone(),
            name: Name::None,
            sub_type: SubType::None,
            parent: None,
            attempt: None,
            result: None,
            error: None,
            timestamp: Some(1_795_872_239_083),
        }
        .build(id)
    };
    match &input.execution {
        ExecOp::Matching { status, input } => {
            operations.push(exec_record(&exec_id, status, input.clone()))
        }
        ExecOp::OtherId { status } => operations.push(exec_record("other-exec", status, None)),
        ExecOp::Missing => {}
    }
    operations.extend(input.operations.iter().take(32).map(|o| o.build(&exec_id)));
    let envelope = InvocationInput {
        durable_execution_arn: arn,
        checkpoint_token: "t0".into(),
        initial_execution_state: ExecutionState {
            operations,
            next_marker: Marker::get(&input.next_marker),
        },
        updated_operation_ids: Vec::new(),
    };
    let mut config = ExecutionConfig::default();
    config.seed = Some(input.seed);
    // Even seeds keep the concurrency contract on (the oracle predicts each refusal); odd ones
    // turn it off, so that long interleavings run too.
    config.check_concurrent_begins = input.seed & 1 == 0;
    // Bit 2: operations awaited as they are begun, or only when their outcome comes.
    let awaiting = if input.seed & 4 == 0 {
        Awaiting::Eager
    } else {
        Awaiting::Lazy
    };
    let mut d = Driver {
        exec: Execution::new(envelope, config.clone()),
        config,
        exec_id: exec_id.clone(),
        token: Some("t0".into()),
        used_tokens: Vec::new(),
        issued: 0,
        outstanding: None,
        done: false,
        claimed: 0,
        running: Vec::new(),
        ops: Ops::default(),
        suspended: false,
        refused: false,
        ending: None,
        awaiting,
    };
    d.sync();
    for action in input.actions.iter().take(128) {
        d.act(action);
    }
    // Drive to the end with a well-behaved service: the outcome must come.
    let ack = Reply::Checkpoint {
        token: Token::Fresh,
        operations: Vec::new(),
        next_marker: None,
    };
    let last_page = Reply::Page {
        operations: Vec::new(),
        next_marker: None,
    };
    for _ in 0..10_000 {
        if d.done {
            break;
        }
        match &d.outstanding {
            Some(ServiceRequest::Checkpoint { .. }) => d.reply(&ack),
            Some(_) => d.reply(&last_page),
            None if d.exec.is_ready() => {
                for r in std::mem::take(&mut d.running) {
                    d.release(r.op);
                }
                d.exec
                    .handle_handler_result(Err(ErrorObject::new("End", "fuzz input exhausted")));
                d.sync();
            }
            None => {
                d.sync();
                assert!(
                    d.done || d.outstanding.is_some(),
                    "stalled: no request, no outcome"
                );
            }
        }
    }
    assert!(d.done, "no outcome after the service answered everything");
});
