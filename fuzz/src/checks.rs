//! Protocol rules every emitted checkpoint batch must satisfy (protocol.md §4). A violation
//! panics, which libFuzzer reports as a crash.

use std::collections::HashMap;

use durable_proto::{
    is_valid_operation_id, ExecutionConfig, OperationAction, OperationType, OperationUpdate,
};

/// The service's absolute limits, whatever the engine's configuration says.
pub const MAX_UPDATES: usize = 250;
pub const MAX_BATCH_BYTES: usize = 750 * 1024;
pub const MAX_WIRE_SECONDS: u32 = 31_622_400;

/// Checks one batch against the protocol limits and the engine's own configuration.
pub fn check_batch(updates: &[OperationUpdate], config: &ExecutionConfig) {
    assert!(!updates.is_empty(), "an empty checkpoint batch was emitted");
    let limit_updates = MAX_UPDATES.min(config.max_batch_updates.max(1));
    assert!(
        updates.len() <= limit_updates,
        "batch of {} updates exceeds {limit_updates}",
        updates.len()
    );

    let estimated: usize = updates.iter().map(OperationUpdate::estimated_size).sum();
    let actual: usize = updates
        .iter()
        .map(|u| serde_json::to_vec(u).expect("updates serialize").len())
        .sum();
    assert!(
        actual <= estimated,
        "estimated size {estimated} is below the real size {actual}"
    );
    let limit_bytes = MAX_BATCH_BYTES.min(config.max_batch_bytes);
    assert!(
        updates.len() == 1 || estimated <= limit_bytes,
        "batch of {} updates is estimated at {estimated} bytes, above {limit_bytes}",
        updates.len()
    );

    // At most one update per id, except STEP (or CONTEXT) START followed by one non-START.
    let mut seen: HashMap<&str, Vec<&OperationUpdate>> = HashMap::new();
    for u in updates {
        seen.entry(u.id.as_str()).or_default().push(u);
    }
    for (id, group) in &seen {
        match group.as_slice() {
            [_] => {}
            [first, second] => assert!(
                first.action == OperationAction::Start
                    && second.action != OperationAction::Start
                    && first.operation_type == second.operation_type
                    && matches!(
                        first.operation_type,
                        OperationType::Step | OperationType::Context
                    ),
                "id {id} appears twice in one batch: {} {} then {} {}",
                first.operation_type,
                first.action,
                second.operation_type,
                second.action
            ),
            more => panic!("id {id} appears {} times in one batch", more.len()),
        }
    }

    let executions = updates
        .iter()
        .filter(|u| u.operation_type == OperationType::Execution)
        .count();
    assert!(
        executions <= 1,
        "{executions} EXECUTION updates in one batch"
    );
    if executions == 1 {
        assert_eq!(
            updates.last().map(|u| &u.operation_type),
            Some(&OperationType::Execution),
            "the EXECUTION update is not last"
        );
    }

    for u in updates {
        check_update(u, config);
    }
}

/// Rules for one update, alone.
pub fn check_update(u: &OperationUpdate, config: &ExecutionConfig) {
    assert!(is_valid_operation_id(&u.id), "invalid id {:?}", u.id);
    if let Some(p) = &u.parent_id {
        assert!(is_valid_operation_id(p), "invalid parent id {p:?}");
    }
    if let Some(name) = &u.name {
        assert!(
            !name.is_empty()
                && name.len() <= 256
                && name.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "invalid name {name:?}"
        );
    }
    if let Some(s) = &u.sub_type {
        assert!(
            !s.is_empty() && s.len() <= 32 && is_valid_operation_id(s),
            "invalid sub-type {s:?}"
        );
    }
    match u.action {
        OperationAction::Retry => {
            let secs = u
                .step_options
                .as_ref()
                .and_then(|o| o.next_attempt_delay_seconds);
            assert!(
                secs.is_some_and(|s| (1..=MAX_WIRE_SECONDS).contains(&s)),
                "RETRY of {} with NextAttemptDelaySeconds {secs:?}",
                u.id
            );
            assert!(
                !(u.error.is_some() && u.payload.is_some()),
                "RETRY carries both Error and Payload"
            );
        }
        OperationAction::Succeed => assert!(u.error.is_none(), "SUCCEED carries an Error"),
        OperationAction::Fail => assert!(u.payload.is_none(), "FAIL carries a Payload"),
        _ => {}
    }
    if u.operation_type == OperationType::Wait && u.action == OperationAction::Start {
        let secs = u.wait_options.as_ref().and_then(|o| o.wait_seconds);
        assert!(
            secs.is_some_and(|s| (1..=MAX_WIRE_SECONDS).contains(&s)),
            "WAIT START of {} with WaitSeconds {secs:?}",
            u.id
        );
    }
    match u.operation_type {
        OperationType::Step => {
            assert!(
                matches!(
                    u.action,
                    OperationAction::Start
                        | OperationAction::Succeed
                        | OperationAction::Fail
                        | OperationAction::Retry
                ),
                "{} on a STEP",
                u.action
            );
            let limit = config.max_operation_payload_bytes;
            if let Some(p) = &u.payload {
                assert!(
                    p.len() <= limit,
                    "STEP payload of {} bytes > {limit}",
                    p.len()
                );
            }
            if let Some(e) = &u.error {
                let size = e.error_type.as_ref().map_or(0, String::len)
                    + e.error_message.as_ref().map_or(0, String::len)
                    + e.error_data.as_ref().map_or(0, String::len)
                    + e.stack_trace
                        .as_ref()
                        .map_or(0, |s| s.iter().map(|l| l.len() + 4).sum());
                assert!(size <= limit, "STEP error of {size} bytes > {limit}");
            }
        }
        OperationType::Wait => {
            assert_eq!(u.action, OperationAction::Start, "{} on a WAIT", u.action)
        }
        OperationType::Execution => {
            assert!(
                matches!(u.action, OperationAction::Succeed | OperationAction::Fail),
                "{} on the EXECUTION",
                u.action
            );
            assert!(u.parent_id.is_none(), "EXECUTION update with a parent");
            if let Some(p) = &u.payload {
                assert!(
                    p.len() <= config.max_execution_result_bytes,
                    "EXECUTION payload of {} bytes",
                    p.len()
                );
            }
        }
        OperationType::Context => {
            assert!(
                matches!(
                    u.action,
                    OperationAction::Start | OperationAction::Succeed | OperationAction::Fail
                ),
                "{} on a CONTEXT",
                u.action
            );
            if let Some(p) = &u.payload {
                let limit = config.max_operation_payload_bytes;
                assert!(
                    p.len() <= limit,
                    "CONTEXT payload of {} bytes > {limit}",
                    p.len()
                );
            }
        }
        OperationType::Callback => {
            assert_eq!(
                u.action,
                OperationAction::Start,
                "{} on a CALLBACK",
                u.action
            );
            assert!(
                u.callback_options.is_some(),
                "CALLBACK START without options"
            );
        }
        OperationType::ChainedInvoke => {
            assert_eq!(
                u.action,
                OperationAction::Start,
                "{} on a CHAINED_INVOKE",
                u.action
            );
            assert!(
                u.chained_invoke_options
                    .as_ref()
                    .is_some_and(|o| !o.function_name.is_empty()),
                "CHAINED_INVOKE START without a target"
            );
        }
        ref other => panic!("the engine emitted a {other} update"),
    }
}
