//! Every operation kind together: generated programs of steps, waits, callbacks, chained
//! invokes and child contexts (holding steps and waits) run against the service model
//! (`durable_service::LocalService`), invocation after invocation, the first one possibly
//! dying after any number of checkpoint calls; between invocations timers fire and the
//! outside world completes callbacks and invokes as the program says.
//!
//! Checks: no panic; the service accepts every request and output; every batch respects the
//! limits (`checks::check_batch`); the execution ends within a bound; and its result is
//! exactly what the program specifies for every operation (so no replay ever handed an
//! operation another one's value, and no completed operation was lost to the crash).

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use durable_proto::{
    CallbackEnd, CallbackRequest, ContextRef, ContextStart, ErrorObject, Execution,
    ExecutionConfig, InvocationOutcome, InvokeRequest, InvokeStart, OperationStatus, OperationType,
    RetryPolicy, ServiceRequest, StepEnd, StepOutcome, StepRequest, StepSemantics, StepStart,
    WaitStart,
};
use durable_proto_fuzz::checks::check_batch;
use durable_service::{ChainedInvokeEnd, InvocationEnd, LocalService, ServiceConfig};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug, Clone)]
enum Leaf {
    Step { fail: bool },
    Wait { secs: u8 },
}

#[derive(Arbitrary, Debug, Clone)]
enum Kind {
    Leaf(Leaf),
    Callback { fail: bool, time_out: bool },
    Invoke { fail: bool },
    Child { inner: Vec<Leaf> },
}

#[derive(Arbitrary, Debug)]
struct Input {
    program: Vec<Kind>,
    /// The first invocation dies when it tries to make checkpoint call number this + 1.
    crash_after: Option<u8>,
    page_size: u8,
}

/// Why the program stopped.
enum Stop {
    Suspended,
    Crashed,
    Closed,
}

struct Run<'a> {
    exec: Execution,
    svc: &'a mut LocalService,
    arn: &'a str,
    calls_left: Option<usize>,
    crashed: bool,
    config: ExecutionConfig,
}

impl Run<'_> {
    fn pump(&mut self) {
        while !self.crashed {
            let Some(request) = self.exec.poll_request() else {
                return;
            };
            match request {
                ServiceRequest::Checkpoint {
                    checkpoint_token,
                    updates,
                } => {
                    if self.calls_left == Some(0) {
                        self.crashed = true;
                        return;
                    }
                    if let Some(n) = self.calls_left.as_mut() {
                        *n -= 1;
                    }
                    check_batch(&updates, &self.config);
                    let response = self
                        .svc
                        .checkpoint(self.arn, &checkpoint_token, updates.clone())
                        .unwrap_or_else(|e| panic!("checkpoint refused: {e}\n{updates:?}"));
                    self.exec
                        .handle_checkpoint_response(response)
                        .expect("requested");
                }
                ServiceRequest::GetState {
                    checkpoint_token,
                    marker,
                } => {
                    let page = self
                        .svc
                        .get_state(self.arn, &checkpoint_token, Some(&marker), None)
                        .unwrap_or_else(|e| panic!("state read refused: {e}"));
                    self.exec.handle_state_page(page).expect("requested");
                }
                other => panic!("unknown request {other:?}"),
            }
        }
    }

    fn stopped(&self) -> Stop {
        if self.crashed {
            Stop::Crashed
        } else {
            Stop::Closed
        }
    }

    fn leaf(&mut self, ctx: ContextRef, name: &str, leaf: &Leaf) -> Result<String, Stop> {
        match leaf {
            Leaf::Step { fail } => {
                let policy = RetryPolicy::none();
                let request = StepRequest {
                    name: Some(name),
                    semantics: StepSemantics::AtLeastOncePerRetry,
                };
                let start = self
                    .exec
                    .begin_step(ctx, request, &policy)
                    .map_err(|_| self.stopped())?;
                self.exec.activate(start.op());
                let result = match start {
                    StepStart::Done { result, .. } => result,
                    StepStart::Run { op, wait_for, .. } => {
                        if let Some(ticket) = wait_for {
                            // The bound on unacknowledged work: the body waits for the service.
                            self.pump();
                            if !self.exec.is_acknowledged(ticket) {
                                return Err(self.stopped());
                            }
                        }
                        self.exec.start_attempt(op).map_err(|_| self.stopped())?;
                        let outcome = if *fail {
                            StepOutcome::Error(ErrorObject::new("Boom", name))
                        } else {
                            StepOutcome::Value(format!("\"{name}\""))
                        };
                        match self.exec.handle_step_outcome(op, outcome, &policy) {
                            Ok(StepEnd::Done(r)) => r,
                            _ => return Err(self.stopped()),
                        }
                    }
                    _ => return Err(Stop::Suspended),
                };
                Ok(match result {
                    Ok(v) => v.unwrap_or_default(),
                    Err(e) => format!("\"failed:{}\"", e.type_name()),
                })
            }
            Leaf::Wait { secs } => {
                let d = Duration::from_secs(u64::from(*secs).max(1));
                match self
                    .exec
                    .begin_wait(ctx, Some(name), d)
                    .map_err(|_| self.stopped())?
                {
                    WaitStart::Elapsed { .. } => Ok("\"waited\"".to_owned()),
                    start => {
                        self.exec.activate(start.op());
                        Err(Stop::Suspended)
                    }
                }
            }
        }
    }

    fn kind(&mut self, name: &str, kind: &Kind) -> Result<String, Stop> {
        let root = ContextRef::ROOT;
        match kind {
            Kind::Leaf(leaf) => self.leaf(root, name, leaf),
            Kind::Callback { time_out, .. } => {
                let request = CallbackRequest {
                    name: Some(name),
                    timeout: time_out.then(|| Duration::from_secs(30)),
                    heartbeat_timeout: None,
                };
                let start = self
                    .exec
                    .begin_callback(root, request)
                    .map_err(|_| self.stopped())?;
                let op = start.op();
                self.exec.activate(op);
                self.pump();
                if self.exec.callback_id(op).is_none() {
                    return Err(self.stopped());
                }
                match self.exec.await_callback(op).map_err(|_| self.stopped())? {
                    CallbackEnd::Done(Ok(v)) => Ok(v.unwrap_or_default()),
                    CallbackEnd::Done(Err(f)) => Ok(format!("\"failed:{}\"", f.error.type_name())),
                    _ => Err(Stop::Suspended),
                }
            }
            Kind::Invoke { .. } => {
                let request = InvokeRequest {
                    name: Some(name),
                    function_name: "target:1",
                    payload: "{}",
                    tenant_id: None,
                    trace_header: None,
                };
                match self
                    .exec
                    .begin_invoke(root, request)
                    .map_err(|_| self.stopped())?
                {
                    InvokeStart::Done { result, .. } => Ok(match result {
                        Ok(v) => v.unwrap_or_default(),
                        Err(f) => format!("\"failed:{}\"", f.error.type_name()),
                    }),
                    start => {
                        self.exec.activate(start.op());
                        Err(Stop::Suspended)
                    }
                }
            }
            Kind::Child { inner } => {
                let start = self
                    .exec
                    .begin_child_context(root, Some(name), None)
                    .map_err(|_| self.stopped())?;
                let (op, child) = match start {
                    ContextStart::Done { result, .. } => {
                        return Ok(result.ok().flatten().unwrap_or_default())
                    }
                    ContextStart::Run { op, child } => (op, child),
                    _ => return Err(self.stopped()),
                };
                self.exec.activate(op);
                let mut out = Vec::new();
                for (j, leaf) in inner.iter().take(3).enumerate() {
                    out.push(self.leaf(child, &format!("{name}.{j}"), leaf)?);
                }
                let value = format!("[{}]", out.join(","));
                match self
                    .exec
                    .handle_context_outcome(op, StepOutcome::Value(value))
                {
                    Ok(r) => Ok(r.ok().flatten().unwrap_or_default()),
                    Err(_) => Err(self.stopped()),
                }
            }
        }
    }
}

/// What the program must return: every operation's own value.
fn expected(program: &[Kind]) -> String {
    let leaf = |name: &str, leaf: &Leaf| match leaf {
        Leaf::Step { fail: true } => "\"failed:Boom\"".to_owned(),
        Leaf::Step { fail: false } => format!("\"{name}\""),
        Leaf::Wait { .. } => "\"waited\"".to_owned(),
    };
    let values: Vec<String> = program
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let name = format!("op{i}");
            match kind {
                Kind::Leaf(l) => leaf(&name, l),
                Kind::Callback { time_out: true, .. } => "\"failed:Callback.Timeout\"".to_owned(),
                Kind::Callback { fail: true, .. } => "\"failed:Rejected\"".to_owned(),
                Kind::Callback { .. } => format!("\"cb{i}\""),
                Kind::Invoke { fail: true } => "\"failed:TargetFailed\"".to_owned(),
                Kind::Invoke { .. } => format!("\"inv{i}\""),
                Kind::Child { inner } => {
                    let inner: Vec<String> = inner
                        .iter()
                        .take(3)
                        .enumerate()
                        .map(|(j, l)| leaf(&format!("{name}.{j}"), l))
                        .collect();
                    format!("[{}]", inner.join(","))
                }
            }
        })
        .collect();
    format!("[{}]", values.join(","))
}

/// The outside world between invocations.
fn complete_externals(svc: &mut LocalService, arn: &str, program: &[Kind]) {
    let started: Vec<(String, String, OperationType, Option<String>)> = svc
        .execution(arn)
        .expect("execution")
        .operations()
        .iter()
        .filter(|o| o.status == OperationStatus::Started)
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
        .collect();
    for (id, name, kind, callback_id) in started {
        let Some(i) = name
            .strip_prefix("op")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        match (&program[i], kind, callback_id) {
            (Kind::Callback { time_out: true, .. }, _, _) => {} // its timeout fires
            (Kind::Callback { fail, .. }, OperationType::Callback, Some(cb)) => {
                let sent = if *fail {
                    svc.send_callback_failure(&cb, ErrorObject::new("Rejected", "no"))
                } else {
                    svc.send_callback_success(&cb, Some(format!("\"cb{i}\"")))
                };
                sent.expect("the callback completes");
            }
            (Kind::Invoke { fail }, OperationType::ChainedInvoke, _) => {
                let end = if *fail {
                    ChainedInvokeEnd::Failed(ErrorObject::new("TargetFailed", "x"))
                } else {
                    ChainedInvokeEnd::Succeeded(Some(format!("\"inv{i}\"")))
                };
                svc.complete_chained_invoke(arn, &id, end)
                    .expect("the invoke completes");
            }
            _ => {}
        }
    }
}

fuzz_target!(|input: Input| {
    let program: Vec<Kind> = input.program.into_iter().take(8).collect();
    let mut config = ServiceConfig::default();
    config.page_size = usize::from(input.page_size % 4) + 1;
    config.max_invocation_retries = u32::MAX;
    let mut svc = LocalService::new(config);
    let arn = svc.start_execution("f", "{}").expect("starts");
    let mut crash_after = input.crash_after.map(usize::from);
    for _ in 0..60 {
        let envelope = svc.begin_invocation(&arn).expect("invocation begins");
        let mut engine_config = ExecutionConfig::default();
        engine_config.seed = Some(7);
        let mut run = Run {
            exec: Execution::new(envelope, engine_config.clone()),
            svc: &mut svc,
            arn: &arn,
            calls_left: crash_after.take(),
            crashed: false,
            config: engine_config,
        };
        run.pump();
        if run.exec.is_ready() {
            let mut out = Vec::new();
            let mut stop = None;
            for (i, kind) in program.iter().enumerate() {
                match run.kind(&format!("op{i}"), kind) {
                    Ok(v) => out.push(v),
                    Err(s) => {
                        stop = Some(s);
                        break;
                    }
                }
            }
            match stop {
                None => run
                    .exec
                    .handle_handler_result(Ok(format!("[{}]", out.join(",")))),
                Some(Stop::Suspended) => run.exec.suspend(),
                Some(Stop::Crashed | Stop::Closed) => {}
            }
        }
        run.pump();
        let crashed = run.crashed;
        let outcome = if crashed {
            None
        } else {
            run.exec.poll_output()
        };
        let end = match outcome {
            Some(InvocationOutcome::Output(o)) => InvocationEnd::Returned(o),
            Some(InvocationOutcome::Failure(f)) => {
                InvocationEnd::Errored(ErrorObject::new(f.error_type, f.message))
            }
            Some(other) => panic!("unexpected outcome {other:?}"),
            None => InvocationEnd::Errored(ErrorObject::new("Runtime.ExitError", "crashed")),
        };
        svc.complete_invocation(&arn, end)
            .unwrap_or_else(|e| panic!("output refused: {e}"));
        let record = svc.execution(&arn).expect("execution");
        if record.status().is_terminal() {
            assert_eq!(
                record.status().as_str(),
                "SUCCEEDED",
                "{:?}\n{program:?}",
                record.error()
            );
            assert_eq!(
                record.result(),
                Some(expected(&program).as_str()),
                "{program:?}"
            );
            return;
        }
        while svc.advance_to_next_timer(&arn).is_some() {}
        complete_externals(&mut svc, &arn, &program);
    }
    panic!("the execution did not end in 60 invocations: {program:?}");
});
