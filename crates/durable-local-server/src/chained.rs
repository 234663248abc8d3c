//! Chained invokes between served functions: when an execution's CHAINED_INVOKE operation
//! is STARTED, its target runs — a durable target as an execution of its own, whose end
//! completes the operation; a plain target once, through its runtime — as the service does.
//! A target that is not declared fails the operation (`ResourceNotFoundException`).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use durable_local::{ChainedInvokeEnd, EventDetails, ExecutionStatus, LocalService};
use durable_proto::{ErrorObject, OperationStatus, OperationType};
use hyper::body::Bytes;

use crate::runtime::Outcome;
use crate::server::Shared;

/// The chained invokes the server has taken on.
#[derive(Debug, Default)]
pub(crate) struct ChainedInvokes {
    /// (caller ARN, operation id) already dispatched.
    dispatched: Mutex<HashSet<(String, String)>>,
    /// Target execution ARN → (caller ARN, operation id).
    children: Mutex<HashMap<String, (String, String)>>,
    /// Plain targets running now (they hold virtual time like invocations do).
    running: Mutex<usize>,
}

impl ChainedInvokes {
    /// How many plain targets are running.
    pub(crate) fn running(&self) -> usize {
        self.running.lock().map_or(0, |n| *n)
    }
}

/// A plain target to run: (caller ARN, operation id, target, input).
pub(crate) type PlainCall = (String, String, String, String);

/// Under the service lock: completes the operations whose durable target ended, and starts
/// what newly STARTED chained invokes need. Returns the plain targets to run.
pub(crate) fn step(shared: &Shared, svc: &mut LocalService) -> Vec<PlainCall> {
    finish_children(shared, svc);
    let mut plain = Vec::new();
    let mut new = Vec::new();
    {
        let Ok(dispatched) = shared.chained.dispatched.lock() else {
            return plain;
        };
        for record in svc.executions() {
            if record.status().is_terminal() {
                continue;
            }
            for op in record.operations() {
                let open = op.operation_type == OperationType::ChainedInvoke
                    && op.status == OperationStatus::Started;
                let key = (record.arn().to_owned(), op.id.clone());
                if !open || dispatched.contains(&key) {
                    continue;
                }
                let started = record.events().iter().find_map(|e| match &e.details {
                    EventDetails::ChainedInvokeStarted(d) if e.id.as_deref() == Some(&op.id) => {
                        Some(d.clone())
                    }
                    _ => None,
                });
                if let Some(d) = started {
                    let input = d.input.and_then(|p| p.payload).unwrap_or_default();
                    new.push((key, d.function_name, input));
                }
            }
        }
    }
    for ((caller, op_id), target, input) in new {
        if let Ok(mut dispatched) = shared.chained.dispatched.lock() {
            dispatched.insert((caller.clone(), op_id.clone()));
        }
        let name = target_name(&target);
        let kind = match (
            shared.functions.get(name),
            shared.remote_functions.get(name),
        ) {
            (Some(host), _) => Some((host.spec.durable, host.spec.execution_timeout)),
            (None, Some(remote)) => Some((remote.durable, remote.execution_timeout)),
            (None, None) => None,
        };
        let Some((durable, execution_timeout)) = kind else {
            let error = ErrorObject::new(
                "ResourceNotFoundException",
                format!("Function not found: {target} (declare it with --function)"),
            );
            let _ = svc.complete_chained_invoke(&caller, &op_id, ChainedInvokeEnd::Failed(error));
            continue;
        };
        if !durable {
            plain.push((caller, op_id, name.to_owned(), input));
            continue;
        }
        let input = if input.is_empty() {
            "null".to_owned()
        } else {
            input
        };
        match svc.start_execution_with(name, None, &input, execution_timeout) {
            Ok(child) => {
                let _ = svc.record_chained_invoke_target(&caller, &op_id, &child);
                if let Ok(mut children) = shared.chained.children.lock() {
                    children.insert(child, (caller, op_id));
                }
            }
            Err(e) => {
                let error = ErrorObject::new(e.error_name(), e.message());
                let end = ChainedInvokeEnd::Failed(error);
                let _ = svc.complete_chained_invoke(&caller, &op_id, end);
            }
        }
    }
    if let Ok(mut running) = shared.chained.running.lock() {
        *running += plain.len();
    }
    plain
}

fn finish_children(shared: &Shared, svc: &mut LocalService) {
    let Ok(mut children) = shared.chained.children.lock() else {
        return;
    };
    let ended: Vec<String> = children
        .keys()
        .filter(|child| {
            svc.execution(child)
                .is_none_or(|r| r.status().is_terminal())
        })
        .cloned()
        .collect();
    for child in ended {
        let Some((caller, op_id)) = children.remove(&child) else {
            continue;
        };
        let Some(record) = svc.execution(&child) else {
            continue;
        };
        let error = || {
            record
                .error()
                .cloned()
                .unwrap_or_else(|| ErrorObject::new("ChainedInvokeFailed", "the target failed"))
        };
        let end = match record.status() {
            ExecutionStatus::Succeeded => {
                ChainedInvokeEnd::Succeeded(record.result().map(str::to_owned))
            }
            ExecutionStatus::TimedOut => ChainedInvokeEnd::TimedOut(error()),
            ExecutionStatus::Stopped => ChainedInvokeEnd::Stopped(error()),
            _ => ChainedInvokeEnd::Failed(error()),
        };
        // The caller may have ended meanwhile (stopped, timed out): nothing to complete.
        let _ = svc.complete_chained_invoke(&caller, &op_id, end);
    }
}

/// Runs a plain target and completes the caller's operation with what it returned.
pub(crate) async fn run_plain(shared: Arc<Shared>, call: PlainCall) {
    let (caller, op_id, target, input) = call;
    let outcome = match (shared.functions.get(&target), &shared.remote) {
        (Some(host), _) => {
            let request_id = format!("{op_id}-{}", host.process_starts());
            Some(host.invoke(&request_id, Bytes::from(input)).await)
        }
        (None, Some(remote)) => Some(remote.invoke(&target, Bytes::from(input)).await),
        (None, None) => None,
    };
    let end = match outcome {
        Some(Outcome::Response(body)) => {
            ChainedInvokeEnd::Succeeded(Some(String::from_utf8_lossy(&body).into_owned()))
        }
        Some(Outcome::FunctionError(error) | Outcome::Failed(error)) => {
            ChainedInvokeEnd::Failed(error)
        }
        None => ChainedInvokeEnd::Failed(ErrorObject::new(
            "ResourceNotFoundException",
            format!("Function not found: {target}"),
        )),
    };
    {
        let mut svc = durable_local::lock_service(&shared.service);
        let _ = svc.complete_chained_invoke(&caller, &op_id, end);
    }
    if let Ok(mut running) = shared.chained.running.lock() {
        *running = running.saturating_sub(1);
    }
    shared.changed.notify_waiters();
    shared.wake.notify_one();
}

/// The function name in an invoke target: `name`, `name:qualifier` or a function ARN.
fn target_name(target: &str) -> &str {
    match target.strip_prefix("arn:") {
        Some(rest) => rest.split(':').nth(5).unwrap_or(target),
        None => target.split(':').next().unwrap_or(target),
    }
}

#[cfg(test)]
mod tests {
    use super::target_name;

    #[test]
    fn targets_name_their_function() {
        assert_eq!(target_name("payments"), "payments");
        assert_eq!(target_name("payments:live"), "payments");
        assert_eq!(
            target_name("arn:aws:lambda:us-east-1:123456789012:function:payments:3"),
            "payments"
        );
    }
}
