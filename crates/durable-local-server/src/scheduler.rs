//! The service's own work loop: invoke every execution the service would invoke, through
//! its function's runtime, and move time on.
//!
//! On virtual time the clock jumps to the next timer only while **no** invocation is in
//! flight anywhere, so whatever an invocation records (its checkpoints, then
//! `InvocationCompleted`) comes before what the timer records (`WaitSucceeded`), as on the
//! real service; waits cost no wall time. On real time timers fire when they are due.

use std::sync::Arc;

use durable_local::{lock_service, InvocationEnd, TimeMode};
use durable_proto::{ErrorObject, InvocationInput, InvocationOutput};
use hyper::body::Bytes;

use crate::runtime::Outcome;
use crate::server::Shared;

/// The error type of an invocation whose response was not a durable-execution output.
pub const INVALID_OUTPUT_ERROR_TYPE: &str = "Runtime.InvalidResponse";

/// Runs until the task is aborted.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        let wake = shared.wake.notified();
        tokio::pin!(wake);
        wake.as_mut().enable();
        let (started, plain, in_flight, next_due, mode) = plan(&shared);
        let any_started = !started.is_empty() || !plain.is_empty();
        for (arn, function, envelope) in started {
            tokio::spawn(invoke(shared.clone(), arn, function, envelope));
        }
        for call in plain {
            tokio::spawn(crate::chained::run_plain(shared.clone(), call));
        }
        if any_started {
            continue;
        }
        match (mode, next_due) {
            (TimeMode::Virtual, Some(due)) if in_flight == 0 => {
                // A short idle grace lets requests already on their way (a callback from a
                // test, a new Invoke) land before time jumps past them.
                if !shared.idle_grace.is_zero() {
                    tokio::select! {
                        () = &mut wake => continue,
                        () = tokio::time::sleep(shared.idle_grace) => {}
                    }
                }
                lock_service(&shared.service).advance_to(due);
                shared.changed.notify_waiters();
            }
            (TimeMode::Real, Some(due)) => {
                let delay = lock_service(&shared.service).clock().until(due);
                tokio::select! {
                    () = &mut wake => {}
                    () = tokio::time::sleep(delay) => {}
                }
            }
            _ => wake.await,
        }
    }
}

type Started = Vec<(String, String, InvocationInput)>;

/// What one round of the loop found to do.
type Plan = (
    Started,
    Vec<crate::chained::PlainCall>,
    usize,
    Option<durable_proto::Timestamp>,
    TimeMode,
);

/// Fires what is due, takes on chained invokes, begins an invocation of every execution
/// that needs one and has a declared function, and reports how much is in flight (plain
/// invoke targets included) and when the next timer is due.
fn plan(shared: &Shared) -> Plan {
    let mut svc = lock_service(&shared.service);
    if svc.fire_due_timers() > 0 {
        shared.changed.notify_waiters();
    }
    let plain = crate::chained::step(shared, &mut svc);
    let mut wanted = Vec::new();
    let mut in_flight = shared.chained.running();
    for record in svc.executions() {
        if record.invocation_in_flight() {
            in_flight += 1;
        } else if record.needs_invocation()
            && (shared.functions.contains_key(record.function_name()) || shared.remote.is_some())
        {
            wanted.push((record.arn().to_owned(), record.function_name().to_owned()));
        }
    }
    let mut started = Vec::new();
    for (arn, function) in wanted {
        match svc.begin_invocation(&arn) {
            Ok(envelope) => {
                in_flight += 1;
                started.push((arn, function, envelope));
            }
            Err(e) => eprintln!("durable-local: cannot invoke {arn}: {e}"),
        }
    }
    let next_due = svc.timers().first().map(|(_, t)| t.due);
    (started, plain, in_flight, next_due, svc.clock().mode())
}

async fn invoke(shared: Arc<Shared>, arn: String, function: String, envelope: InvocationInput) {
    let request_id = {
        let svc = lock_service(&shared.service);
        svc.execution(&arn)
            .and_then(|r| r.invocations().last())
            .map(|i| i.request_id.clone())
            .unwrap_or_default()
    };
    let payload = Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default());
    let end = match (shared.functions.get(&function), &shared.remote) {
        (Some(host), _) => to_end(host.invoke(&request_id, payload).await),
        (None, Some(remote)) => to_end(remote.invoke(&function, payload).await),
        (None, None) => InvocationEnd::Errored(ErrorObject::new(
            "ResourceNotFoundException",
            format!("Function not found: {function}"),
        )),
    };
    {
        let mut svc = lock_service(&shared.service);
        if let Err(e) = svc.complete_invocation(&arn, end) {
            // The execution was stopped or deleted meanwhile; nothing waits for this one.
            eprintln!("durable-local: invocation of {arn} ended after the execution: {e}");
        }
    }
    shared.changed.notify_waiters();
    shared.wake.notify_one();
}

/// How the service judges what the runtime reported.
fn to_end(outcome: Outcome) -> InvocationEnd {
    match outcome {
        Outcome::Response(body) => match serde_json::from_slice::<InvocationOutput>(&body) {
            Ok(output) => InvocationEnd::Returned(output),
            Err(e) => InvocationEnd::Errored(ErrorObject::new(
                INVALID_OUTPUT_ERROR_TYPE,
                format!(
                    "the function's response is not a durable-execution output ({e}); is it \
                     built with a durable SDK?"
                ),
            )),
        },
        Outcome::FunctionError(error) | Outcome::Failed(error) => InvocationEnd::Errored(error),
    }
}
