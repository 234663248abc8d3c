//! Every operation kind together: generated programs of steps, waits, callbacks, chained
//! invokes, child contexts (holding steps and waits), maps and parallels (items of steps and
//! waits, any concurrency bound and completion rule, nested or flat) and waits for
//! condition run against the service model
//! (`durable_service::LocalService`), invocation after invocation, the first one possibly
//! dying after any number of checkpoint calls; between invocations timers fire and the
//! outside world completes callbacks and invokes as the program says.
//!
//! Checks: no panic; the service accepts every request and output; every batch respects the
//! limits (`checks::check_batch`); the execution ends within a bound; and its result is
//! exactly what the program specifies for every operation (so no replay ever handed an
//! operation another one's value, and no completed operation was lost to the crash). A
//! batch's value is its completion reason and every item's value, failure or absence, as the
//! oracle computes it from the configuration; with a small per-operation limit, batch
//! results are recorded as summaries and rebuilt from their items on replay.
//!
//! A batch with a completion threshold gets items of steps only (its waits are dropped):
//! with waits, which items finish before the rule is met depends on the invocation schedule
//! (the crash point, when timers fire), which this oracle does not model; the scenario
//! property `crates/durable-proto/tests/scenarios/batches.rs` does, and it also covers the
//! remaining flat-batch case of bug B1 (docs/reliability.md). Without a threshold (all
//! completed) items keep their waits.

#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use durable_proto::{
    BatchConfig, BatchKind, BatchStart, CallbackEnd, CallbackRequest, CompletionConfig,
    ConditionOutcome, ConditionStart, ContextRef, ContextStart, ErrorObject, Execution,
    ExecutionConfig, InvocationOutcome, InvokeRequest, InvokeStart, ItemStart, ItemStatus, Jitter,
    Nesting, OperationStatus, OperationType, RetryPolicy, ServiceRequest, StepEnd, StepOutcome,
    StepRequest, StepSemantics, StepStart, WaitStart,
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
    Callback {
        fail: bool,
        time_out: bool,
    },
    Invoke {
        fail: bool,
    },
    Child {
        inner: Vec<Leaf>,
    },
    Batch(Batch),
    /// A wait for condition on a counter from 0, met when it reaches `checks % 3 + 1`.
    Condition {
        checks: u8,
    },
}

/// A map or parallel: up to six items of up to two leaves each.
#[derive(Arbitrary, Debug, Clone)]
struct Batch {
    parallel: bool,
    flat: bool,
    /// `% 4 + 1` items at once.
    max_concurrency: Option<u8>,
    rule: Option<Rule>,
    items: Vec<Vec<Leaf>>,
}

/// A completion threshold (none: all completed).
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Rule {
    /// Complete at `% 8` successes.
    MinSuccessful(u8),
    /// Complete at more than `% 4` failures.
    ToleratedCount(u8),
    /// Complete at more than `% 101` percent of all items failed.
    ToleratedPercent(u8),
}

impl Batch {
    /// The items as both the driver and the oracle run them (see the module docs).
    fn items(&self) -> Vec<Vec<Leaf>> {
        self.items
            .iter()
            .take(6)
            .map(|leaves| {
                leaves
                    .iter()
                    .take(2)
                    .filter(|l| self.rule.is_none() || matches!(l, Leaf::Step { .. }))
                    .cloned()
                    .collect()
            })
            .collect()
    }

    fn config(&self) -> BatchConfig {
        BatchConfig {
            max_concurrency: self.max_concurrency.map(|m| u32::from(m % 4) + 1),
            nesting: if self.flat {
                Nesting::Flat
            } else {
                Nesting::Nested
            },
            completion: match self.rule {
                None => CompletionConfig::all_completed(),
                Some(Rule::MinSuccessful(n)) => {
                    CompletionConfig::default().min_successful(u32::from(n % 8))
                }
                Some(Rule::ToleratedCount(n)) => {
                    CompletionConfig::default().tolerated_failure_count(u32::from(n % 4))
                }
                Some(Rule::ToleratedPercent(p)) => {
                    CompletionConfig::default().tolerated_failure_percentage(f64::from(p % 101))
                }
            },
        }
    }

    /// The reason the oracle expects once `succeeded` and `failed` of `total` items ended:
    /// integer arithmetic, independent of the engine's.
    fn reason(&self, total: u32, succeeded: u32, failed: u32) -> Option<&'static str> {
        let exceeded = match self.rule {
            Some(Rule::ToleratedCount(n)) => failed > u32::from(n % 4),
            Some(Rule::ToleratedPercent(p)) => {
                total > 0 && failed * 100 > u32::from(p % 101) * total
            }
            _ => false,
        };
        if exceeded {
            return Some("FAILURE_TOLERANCE_EXCEEDED");
        }
        if matches!(self.rule, Some(Rule::MinSuccessful(n)) if succeeded >= u32::from(n % 8)) {
            return Some("MIN_SUCCESSFUL_REACHED");
        }
        (succeeded + failed >= total).then_some("ALL_COMPLETED")
    }
}

/// What a failed leaf returns (the program catches step failures).
const FAILED_LEAF: &str = "\"failed:Boom\"";

/// A batch's value: its completion reason and, per item, its value, `"failed:Boom"`,
/// `"started"` (abandoned) or `null` (never started).
fn batch_value(reason: &str, items: &[String]) -> String {
    format!("{{\"r\":\"{reason}\",\"i\":[{}]}}", items.join(","))
}

#[derive(Arbitrary, Debug)]
struct Input {
    program: Vec<Kind>,
    /// The first invocation dies when it tries to make checkpoint call number this + 1.
    crash_after: Option<u8>,
    page_size: u8,
    /// A per-operation payload limit of 80 bytes: batch (and child context) results above
    /// it are recorded as summaries and rebuilt from their items on replay.
    small_payloads: bool,
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
            Kind::Batch(batch) => self.batch(name, batch),
            Kind::Condition { checks } => self.condition(name, u32::from(checks % 3) + 1),
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

    /// Runs a batch as a synchronous driver would: items in the order the engine hands them
    /// out, each until it returns or is held up (then it keeps running, holding its slot);
    /// the requests are made after every item, so every item boundary is a crash point.
    fn batch(&mut self, name: &str, spec: &Batch) -> Result<String, Stop> {
        let items = spec.items();
        let kind = if spec.parallel {
            BatchKind::Parallel
        } else {
            BatchKind::Map
        };
        let start = self
            .exec
            .begin_batch(
                ContextRef::ROOT,
                kind,
                Some(name),
                items.len() as u32,
                spec.config(),
            )
            .map_err(|_| self.stopped())?;
        let (op, batch) = match start {
            BatchStart::Done { result, .. } => {
                return Ok(result.ok().flatten().unwrap_or_default())
            }
            BatchStart::Run { op, batch } => (op, batch),
            _ => return Err(self.stopped()),
        };
        self.exec.activate(op);
        let mut values: Vec<Option<String>> = vec![None; items.len()];
        while let Some(index) = self.exec.poll_batch_item(batch) {
            let i = index as usize;
            let item_name = format!("{name}.{i}");
            let child = match self
                .exec
                .begin_batch_item(batch, index, Some(&item_name))
                .map_err(|_| self.stopped())?
            {
                ItemStart::Done { result } => {
                    values[i] = Some(item_text(result));
                    continue;
                }
                ItemStart::Run { child } => child,
                _ => return Err(self.stopped()),
            };
            let mut out = Vec::new();
            let mut outcome = None;
            for (j, leaf) in items[i].iter().enumerate() {
                match self.leaf(child, &format!("{item_name}.{j}"), leaf) {
                    Ok(v) if v == FAILED_LEAF => {
                        outcome = Some(StepOutcome::Error(ErrorObject::new("Boom", &item_name)));
                        break;
                    }
                    Ok(v) => out.push(v),
                    Err(Stop::Suspended) => {
                        outcome = None;
                        out.clear();
                        break;
                    }
                    Err(stop) => return Err(stop),
                }
                outcome = Some(StepOutcome::Value(String::new()));
            }
            let outcome = match outcome {
                _ if items[i].is_empty() => StepOutcome::Value("[]".into()),
                Some(StepOutcome::Value(_)) => StepOutcome::Value(format!("[{}]", out.join(","))),
                Some(error) => error,
                // Held up: the item keeps running.
                None => {
                    self.pump();
                    if self.crashed {
                        return Err(Stop::Crashed);
                    }
                    continue;
                }
            };
            let result = self
                .exec
                .handle_batch_item_outcome(batch, index, outcome)
                .map_err(|_| self.stopped())?;
            values[i] = Some(item_text(result));
            self.pump();
            if self.crashed {
                return Err(Stop::Crashed);
            }
        }
        let Some(reason) = self.exec.batch_completion(batch) else {
            return Err(Stop::Suspended);
        };
        let shown: Vec<String> = self
            .exec
            .batch_items(batch)
            .iter()
            .zip(values)
            .map(|(status, value)| match status {
                ItemStatus::Succeeded | ItemStatus::Failed => value.unwrap_or_default(),
                ItemStatus::Started => "\"started\"".to_owned(),
                _ => "null".to_owned(),
            })
            .collect();
        let value = batch_value(reason.as_str(), &shown);
        match self
            .exec
            .handle_batch_outcome(batch, StepOutcome::Value(value))
        {
            Ok(r) => Ok(r.ok().flatten().unwrap_or_default()),
            Err(_) => Err(self.stopped()),
        }
    }

    /// A wait for condition on a counter from 0, checked every second until it is `target`.
    fn condition(&mut self, name: &str, target: u32) -> Result<String, Stop> {
        let start = self
            .exec
            .begin_wait_for_condition(ContextRef::ROOT, Some(name))
            .map_err(|_| self.stopped())?;
        let (op, state, wait_for) = match start {
            ConditionStart::Done { result, .. } => return Ok(item_text(result)),
            ConditionStart::Check {
                op,
                state,
                wait_for,
                ..
            } => (op, state, wait_for),
            start => {
                if let ConditionStart::Blocked { op } = start {
                    self.exec.activate(op);
                }
                return Err(Stop::Suspended);
            }
        };
        self.exec.activate(op);
        if let Some(ticket) = wait_for {
            self.pump();
            if !self.exec.is_acknowledged(ticket) {
                return Err(self.stopped());
            }
        }
        self.exec.start_attempt(op).map_err(|_| self.stopped())?;
        let counter: u32 =
            state.as_deref().unwrap_or("0").parse().unwrap_or_else(|_| {
                panic!("{name}: the recorded state {state:?} is not a counter")
            });
        let next = (counter + 1).to_string();
        let outcome = if counter + 1 >= target {
            ConditionOutcome::Stop(next)
        } else {
            ConditionOutcome::Continue {
                state: next,
                delay: Duration::from_secs(1),
                jitter: Jitter::None,
            }
        };
        match self.exec.handle_condition_outcome(op, outcome) {
            Ok(Some(result)) => Ok(item_text(result)),
            Ok(None) => Err(Stop::Suspended),
            Err(_) => Err(self.stopped()),
        }
    }
}

/// An operation's result as the program shows it.
fn item_text(result: durable_proto::OperationResult) -> String {
    match result {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => format!("\"failed:{}\"", e.type_name()),
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
                Kind::Condition { checks } => (u32::from(checks % 3) + 1).to_string(),
                Kind::Batch(batch) => expected_batch(&name, batch),
            }
        })
        .collect();
    format!("[{}]", values.join(","))
}

/// What a batch must return: every item runs (all completed; waits and concurrency bounds
/// only delay), or items run in index order until the threshold is met (items of steps only)
/// and the rest never start.
fn expected_batch(name: &str, batch: &Batch) -> String {
    let items = batch.items();
    let total = items.len() as u32;
    let (mut succeeded, mut failed) = (0, 0);
    let mut reason = batch.reason(total, 0, 0);
    let mut shown = Vec::new();
    for (i, leaves) in items.iter().enumerate() {
        if reason.is_some() {
            shown.push("null".to_owned());
            continue;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (j, leaf) in leaves.iter().enumerate() {
            match leaf {
                Leaf::Step { fail: true } => {
                    ok = false;
                    break;
                }
                Leaf::Step { fail: false } => out.push(format!("\"{name}.{i}.{j}\"")),
                Leaf::Wait { .. } => out.push("\"waited\"".to_owned()),
            }
        }
        if ok {
            succeeded += 1;
            shown.push(format!("[{}]", out.join(",")));
        } else {
            failed += 1;
            shown.push(FAILED_LEAF.to_owned());
        }
        reason = batch.reason(total, succeeded, failed);
    }
    batch_value(reason.expect("every item ended"), &shown)
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
        if input.small_payloads {
            engine_config.max_operation_payload_bytes = 80;
        }
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
