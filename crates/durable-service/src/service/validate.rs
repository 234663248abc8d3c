//! Checkpoint batch validation: every rule is checked for the whole batch before anything is
//! applied, so a rejected batch changes nothing.
//!
//! Messages are the ones the service and the reference emulator use (`InvalidParameterValue`
//! plus e.g. "Cannot checkpoint multiple operations with the same ID."), so SDK code and
//! tests can match on them.

use std::collections::HashMap;

use durable_proto::{
    is_valid_operation_id, OperationAction, OperationStatus, OperationType, OperationUpdate,
};

use crate::config::{ServiceConfig, MAX_DELAY_SECONDS};
use crate::error::ServiceError;
use crate::service::record::ExecutionRecord;

/// What validation needs to know of one operation: stored, or as an earlier update of the
/// same batch leaves it.
#[derive(Debug, Clone)]
struct View {
    operation_type: OperationType,
    status: OperationStatus,
    sub_type: Option<String>,
    name: Option<String>,
    parent_id: Option<String>,
}

/// Checks a batch against `record` and `config`. `Ok` means [`apply`](super::apply) will
/// accept every update.
pub(crate) fn validate_batch(
    record: &ExecutionRecord,
    updates: &[OperationUpdate],
    config: &ServiceConfig,
) -> Result<(), ServiceError> {
    if updates.len() > config.max_batch_updates {
        return Err(ServiceError::invalid(format!(
            "Cannot checkpoint more than {} updates in one call.",
            config.max_batch_updates
        )));
    }
    let executions = updates
        .iter()
        .filter(|u| u.operation_type == OperationType::Execution)
        .count();
    if executions > 1 {
        return Err(ServiceError::invalid(
            "Cannot checkpoint multiple EXECUTION updates.",
        ));
    }
    if executions == 1
        && updates.last().map(|u| &u.operation_type) != Some(&OperationType::Execution)
    {
        return Err(ServiceError::invalid(
            "EXECUTION checkpoint must be the last update.",
        ));
    }
    let mut overlay: HashMap<&str, View> = HashMap::new();
    let mut last_seen: HashMap<&str, &OperationUpdate> = HashMap::new();
    let mut started: HashMap<&str, &OperationType> = HashMap::new();
    for update in updates {
        check_fields(update)?;
        check_action_for_type(update)?;
        if let Some(previous) = last_seen.get(update.id.as_str()) {
            let allowed = matches!(
                previous.operation_type,
                OperationType::Step | OperationType::Context
            ) && previous.action == OperationAction::Start
                && update.action != OperationAction::Start;
            if !allowed {
                return Err(ServiceError::invalid(
                    "Cannot checkpoint multiple operations with the same ID.",
                ));
            }
        }
        check_parent(record, update, &started)?;
        check_shape(update, config)?;
        if update.operation_type != OperationType::Execution {
            let current = overlay
                .get(update.id.as_str())
                .cloned()
                .or_else(|| record.operation(&update.id).map(view_of));
            if let Some(view) = &current {
                check_consistency(view, update)?;
            }
            check_transition(current.as_ref().map(|v| &v.status), update, config)?;
            overlay.insert(&update.id, next_view(current, update));
        }
        if update.action == OperationAction::Start {
            started.insert(&update.id, &update.operation_type);
        }
        last_seen.insert(&update.id, update);
    }
    Ok(())
}

fn view_of(op: &durable_proto::Operation) -> View {
    View {
        operation_type: op.operation_type.clone(),
        status: op.status.clone(),
        sub_type: op.sub_type.clone(),
        name: op.name.clone(),
        parent_id: op.parent_id.clone(),
    }
}

fn next_view(current: Option<View>, update: &OperationUpdate) -> View {
    let status = match (&update.operation_type, &update.action) {
        (_, OperationAction::Start) => OperationStatus::Started,
        (_, OperationAction::Succeed) => OperationStatus::Succeeded,
        (_, OperationAction::Fail) => OperationStatus::Failed,
        (_, OperationAction::Retry) => OperationStatus::Pending,
        (OperationType::ChainedInvoke, OperationAction::Cancel) => OperationStatus::Stopped,
        _ => OperationStatus::Cancelled,
    };
    match current {
        Some(view) => View { status, ..view },
        None => View {
            operation_type: update.operation_type.clone(),
            status,
            sub_type: update.sub_type.clone(),
            name: update.name.clone(),
            parent_id: update.parent_id.clone(),
        },
    }
}

fn check_fields(update: &OperationUpdate) -> Result<(), ServiceError> {
    if !is_valid_operation_id(&update.id) {
        return Err(ServiceError::invalid("Invalid operation id."));
    }
    if let Some(parent) = &update.parent_id {
        if !is_valid_operation_id(parent) {
            return Err(ServiceError::invalid("Invalid parent operation id."));
        }
    }
    if let Some(name) = &update.name {
        let printable = name.bytes().all(|b| (0x20..=0x7E).contains(&b));
        if name.is_empty() || name.len() > 256 || !printable {
            return Err(ServiceError::invalid("Invalid operation name."));
        }
    }
    if let Some(sub_type) = &update.sub_type {
        let ok = !sub_type.is_empty()
            && sub_type.len() <= 32
            && sub_type
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(ServiceError::invalid("Invalid operation subtype."));
        }
    }
    Ok(())
}

fn check_action_for_type(update: &OperationUpdate) -> Result<(), ServiceError> {
    use OperationAction as A;
    let allowed: &[OperationAction] = match update.operation_type {
        OperationType::Execution => &[A::Succeed, A::Fail],
        OperationType::Step => &[A::Start, A::Succeed, A::Fail, A::Retry],
        OperationType::Wait => &[A::Start, A::Cancel],
        OperationType::Callback => &[A::Start],
        OperationType::ChainedInvoke => &[A::Start, A::Cancel],
        OperationType::Context => &[A::Start, A::Succeed, A::Fail],
        OperationType::Unknown(_) => {
            return Err(ServiceError::invalid("Unknown operation type."));
        }
    };
    if allowed.contains(&update.action) {
        Ok(())
    } else {
        Err(ServiceError::invalid(
            "Invalid action for the given operation type.",
        ))
    }
}

fn check_parent(
    record: &ExecutionRecord,
    update: &OperationUpdate,
    started: &HashMap<&str, &OperationType>,
) -> Result<(), ServiceError> {
    let Some(parent) = update.parent_id.as_deref() else {
        return Ok(());
    };
    let parent_type = started
        .get(parent)
        .copied()
        .or_else(|| record.operation(parent).map(|op| &op.operation_type));
    if parent_type == Some(&OperationType::Context) {
        Ok(())
    } else {
        Err(ServiceError::invalid("Invalid parent operation id."))
    }
}

/// Payload/error presence and sizes, and the options each action needs.
fn check_shape(update: &OperationUpdate, config: &ServiceConfig) -> Result<(), ServiceError> {
    match update.action {
        OperationAction::Succeed if update.error.is_some() => {
            return Err(ServiceError::invalid(
                "Cannot provide an Error for SUCCEED action.",
            ));
        }
        OperationAction::Fail if update.payload.is_some() => {
            return Err(ServiceError::invalid(
                "Cannot provide a Payload for FAIL action.",
            ));
        }
        OperationAction::Retry => {
            let delay = update
                .step_options
                .as_ref()
                .and_then(|o| o.next_attempt_delay_seconds);
            if !delay.is_some_and(|d| (1..=MAX_DELAY_SECONDS).contains(&d)) {
                return Err(ServiceError::invalid(
                    "Invalid StepOptions for the given action.",
                ));
            }
            if update.error.is_some() && update.payload.is_some() {
                return Err(ServiceError::invalid(
                    "Cannot provide both error and payload to RETRY a STEP.",
                ));
            }
        }
        OperationAction::Start if update.operation_type == OperationType::Wait => {
            let seconds = update.wait_options.as_ref().and_then(|o| o.wait_seconds);
            if !seconds.is_some_and(|s| (1..=MAX_DELAY_SECONDS).contains(&s)) {
                return Err(ServiceError::invalid(
                    "Invalid WaitOptions for the given action.",
                ));
            }
        }
        OperationAction::Start if update.operation_type == OperationType::ChainedInvoke => {
            let named = update
                .chained_invoke_options
                .as_ref()
                .is_some_and(|o| !o.function_name.is_empty() && o.function_name.len() <= 256);
            if !named {
                return Err(ServiceError::invalid(
                    "Invalid ChainedInvokeOptions for the given action.",
                ));
            }
        }
        _ => {}
    }
    let limit = if update.operation_type == OperationType::Execution {
        config.max_execution_payload_bytes
    } else {
        config.max_operation_payload_bytes
    };
    if let Some(payload) = &update.payload {
        if payload.len() > limit {
            return Err(ServiceError::invalid(format!(
                "Payload size must be less than or equal to {limit} bytes."
            )));
        }
    }
    if let Some(error) = &update.error {
        let size = serde_json::to_vec(error).map_or(usize::MAX, |v| v.len());
        if size > config.max_error_bytes {
            return Err(ServiceError::invalid(format!(
                "Error object size must be less than {} bytes.",
                config.max_error_bytes
            )));
        }
    }
    Ok(())
}

fn check_consistency(view: &View, update: &OperationUpdate) -> Result<(), ServiceError> {
    if view.operation_type != update.operation_type {
        return Err(ServiceError::invalid("Inconsistent operation type."));
    }
    if update.sub_type.is_some() && update.sub_type != view.sub_type {
        return Err(ServiceError::invalid("Inconsistent operation subtype."));
    }
    if update.name.is_some() && update.name != view.name {
        return Err(ServiceError::invalid("Inconsistent operation name."));
    }
    if update.parent_id.is_some() && update.parent_id != view.parent_id {
        return Err(ServiceError::invalid("Inconsistent parent operation id."));
    }
    Ok(())
}

/// Whether `update.action` is allowed from `current` (`None`: the operation is new).
fn check_transition(
    current: Option<&OperationStatus>,
    update: &OperationUpdate,
    config: &ServiceConfig,
) -> Result<(), ServiceError> {
    use OperationAction as A;
    use OperationStatus as S;
    let strict = config.require_start;
    let ok = |allowed: bool, message: &str| {
        if allowed {
            Ok(())
        } else {
            Err(ServiceError::invalid(message))
        }
    };
    match (&update.operation_type, &update.action) {
        (OperationType::Step, A::Start) => ok(
            matches!(current, None | Some(S::Ready)),
            "Invalid current STEP state to start.",
        ),
        (OperationType::Step, A::Succeed | A::Fail) => ok(
            match current {
                None => !strict,
                Some(s) => matches!(s, S::Started | S::Ready),
            },
            "Invalid current STEP state to close.",
        ),
        (OperationType::Step, A::Retry) => ok(
            match current {
                None => !strict,
                Some(s) => matches!(s, S::Started | S::Ready),
            },
            "Invalid current STEP state to re-attempt.",
        ),
        (OperationType::Context, A::Start) => ok(
            current.is_none(),
            "Cannot start a CONTEXT that already exist.",
        ),
        (OperationType::Context, _) => ok(
            match current {
                None => !strict,
                Some(s) => *s == S::Started,
            },
            "Invalid current CONTEXT state to close.",
        ),
        (OperationType::Wait, A::Start) => {
            ok(current.is_none(), "Cannot start a WAIT that already exist.")
        }
        (OperationType::Wait, _) => ok(
            current == Some(&S::Started),
            "Cannot cancel a WAIT that does not exist or has already completed.",
        ),
        (OperationType::Callback, _) => ok(
            current.is_none(),
            "Cannot start a CALLBACK that already exist.",
        ),
        (OperationType::ChainedInvoke, A::Start) => ok(
            current.is_none(),
            "Cannot start an INVOKE that already exist.",
        ),
        (OperationType::ChainedInvoke, _) => ok(
            current == Some(&S::Started),
            "Cannot cancel an INVOKE that does not exist or has already completed.",
        ),
        _ => Ok(()),
    }
}
