//! Checkpoint batch validation, one test per rule, calling the service directly.

mod common;

use common::*;
use durable_local::ServiceConfig;
use durable_proto::{
    ChainedInvokeOptions, ErrorObject, OperationAction as A, OperationType as T, StepOptions,
};

#[test]
fn stale_reused_and_unknown_tokens_are_rejected() {
    let mut f = Fixture::new();
    let first = f.token.clone();
    f.checkpoint(vec![step("1", A::Start)]).unwrap();
    assert_ne!(f.token, first, "tokens rotate");
    for token in [first.as_str(), "bm90LWEtdG9rZW4=", ""] {
        let err = f
            .svc
            .checkpoint(&f.arn, token, vec![step_succeed("1", "1")])
            .unwrap_err();
        assert_eq!(err.error_name(), "InvalidParameterValueException");
        assert_eq!(err.message(), "Invalid checkpoint token");
        assert_eq!(err.http_status(), 400);
        let err = f.svc.get_state(&f.arn, token, None, None).unwrap_err();
        assert_eq!(err.message(), "Invalid checkpoint token");
    }
    assert_eq!(f.status("1"), "STARTED", "rejected calls changed nothing");
    // Once the invocation ended, even the last token is dead.
    let last = f.token.clone();
    f.svc
        .complete_invocation(
            &f.arn,
            durable_local::InvocationEnd::Errored(ErrorObject::new("X", "y")),
        )
        .unwrap();
    let err = f.svc.checkpoint(&f.arn, &last, vec![]).unwrap_err();
    assert_eq!(err.message(), "Invalid checkpoint token");
    let err = f.svc.checkpoint("arn:nope", &last, vec![]).unwrap_err();
    assert_eq!(err.error_name(), "ResourceNotFoundException");
}

#[test]
fn duplicate_ids_in_one_batch() {
    let mut f = Fixture::new();
    let dup = "Cannot checkpoint multiple operations with the same ID.";
    f.rejects(vec![wait_start("w", 5), wait_start("w", 5)], dup);
    f.rejects(vec![step("s", A::Start), step("s", A::Start)], dup);
    f.rejects(
        vec![
            step("s", A::Start),
            step_succeed("s", "1"),
            step("s", A::Fail),
        ],
        dup,
    );
    f.rejects(vec![step_succeed("s", "1"), step_succeed("s", "2")], dup);
    // START followed by one non-START is the allowed exception, for STEP and CONTEXT.
    f.checkpoint(vec![step("s", A::Start), step_succeed("s", "1")])
        .unwrap();
    f.checkpoint(vec![context("c", A::Start), context_succeed("c", false)])
        .unwrap();
    assert_eq!(f.status("s"), "SUCCEEDED");
    assert_eq!(f.status("c"), "SUCCEEDED");
}

#[test]
fn actions_must_fit_the_type() {
    let mut f = Fixture::new();
    let wrong = "Invalid action for the given operation type.";
    f.rejects(vec![update("w", T::Wait, A::Retry)], wrong);
    f.rejects(vec![update("w", T::Wait, A::Succeed)], wrong);
    f.rejects(vec![update("cb", T::Callback, A::Succeed)], wrong);
    f.rejects(vec![update("s", T::Step, A::Cancel)], wrong);
    f.rejects(vec![update("c", T::Context, A::Retry)], wrong);
    f.rejects(vec![update("i", T::ChainedInvoke, A::Succeed)], wrong);
    f.rejects(vec![execution_update("e", A::Start)], wrong);
    f.rejects(
        vec![update("s", T::Step, A::Unknown("PAUSE".into()))],
        wrong,
    );
    f.rejects(
        vec![update("x", T::Unknown("HOLOGRAM".into()), A::Start)],
        "Unknown operation type.",
    );
}

#[test]
fn actions_must_fit_the_status() {
    let mut f = Fixture::new();
    f.checkpoint(vec![
        step("s", A::Start),
        wait_start("w", 60),
        context("c", A::Start),
        update("cb", T::Callback, A::Start),
    ])
    .unwrap();
    f.rejects(
        vec![step("s", A::Start)],
        "Invalid current STEP state to start.",
    );
    f.rejects(
        vec![wait_start("w", 60)],
        "Cannot start a WAIT that already exist.",
    );
    f.rejects(
        vec![context("c", A::Start)],
        "Cannot start a CONTEXT that already exist.",
    );
    f.rejects(
        vec![update("cb", T::Callback, A::Start)],
        "Cannot start a CALLBACK that already exist.",
    );
    f.rejects(
        vec![update("nope", T::Wait, A::Cancel)],
        "Cannot cancel a WAIT that does not exist or has already completed.",
    );
    f.checkpoint(vec![step_retry("s", 5)]).unwrap();
    assert_eq!(f.status("s"), "PENDING");
    f.rejects(
        vec![step_retry("s", 5)],
        "Invalid current STEP state to re-attempt.",
    );
    f.rejects(
        vec![step_succeed("s", "1")],
        "Invalid current STEP state to close.",
    );
    f.rejects(
        vec![step("s", A::Start)],
        "Invalid current STEP state to start.",
    );
    f.checkpoint(vec![context_succeed("c", false)]).unwrap();
    f.rejects(
        vec![context_succeed("c", false)],
        "Invalid current CONTEXT state to close.",
    );
    f.checkpoint(vec![update("w", T::Wait, A::Cancel)]).unwrap();
    assert_eq!(f.status("w"), "CANCELLED");
}

#[test]
fn oversize_payloads_are_rejected() {
    let mut f = Fixture::new();
    let big = "x".repeat(256 * 1024 + 1);
    f.rejects(
        vec![step("s", A::Start), step_succeed("s", &big)],
        "Payload size must be less than or equal to 262144 bytes.",
    );
    // Exactly at the limit is fine; EXECUTION updates may carry up to 6 MiB.
    f.checkpoint(vec![step_succeed("s", &big[1..])]).unwrap();
    let mut exec = execution_update("result", A::Succeed);
    exec.payload = Some("y".repeat(6 * 1024 * 1024 + 1));
    f.rejects(
        vec![exec.clone()],
        "Payload size must be less than or equal to 6291456 bytes.",
    );
    exec.payload = Some("y".repeat(1024 * 1024));
    f.checkpoint(vec![exec]).unwrap();

    let mut config = ServiceConfig::default();
    config.max_operation_payload_bytes = 10;
    config.max_error_bytes = 40;
    let mut f = Fixture::with_config(config);
    f.rejects(
        vec![step_succeed("s", "12345678901")],
        "Payload size must be less than or equal to 10 bytes.",
    );
    let mut fail = step("s", A::Fail);
    fail.error = Some(ErrorObject::new(
        "Boom",
        "a message longer than forty bytes",
    ));
    f.rejects(vec![fail], "Error object size must be less than 40 bytes.");
}

#[test]
fn execution_update_must_be_last_and_alone() {
    let mut f = Fixture::new();
    f.rejects(
        vec![execution_update("e", A::Succeed), step("s", A::Start)],
        "EXECUTION checkpoint must be the last update.",
    );
    f.rejects(
        vec![
            execution_update("e", A::Succeed),
            execution_update("e2", A::Fail),
        ],
        "Cannot checkpoint multiple EXECUTION updates.",
    );
    let mut exec = execution_update("e", A::Succeed);
    exec.payload = Some("42".into());
    let response = f
        .svc
        .checkpoint(&f.arn, &f.token, vec![step("s", A::Start), exec])
        .unwrap();
    assert_eq!(
        response.checkpoint_token, None,
        "a finished execution takes no more checkpoints"
    );
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.status(), durable_local::ExecutionStatus::Succeeded);
    assert_eq!(record.result(), Some("42"));
}

#[test]
fn parents_must_be_contexts_that_exist() {
    let mut f = Fixture::new();
    let bad = "Invalid parent operation id.";
    f.rejects(vec![child(step("s", A::Start), "ghost")], bad);
    f.checkpoint(vec![step("p", A::Start)]).unwrap();
    f.rejects(vec![child(step("s", A::Start), "p")], bad);
    // Started earlier in the same batch, or already stored: fine.
    f.checkpoint(vec![
        context("c", A::Start),
        child(step("c-1", A::Start), "c"),
    ])
    .unwrap();
    f.checkpoint(vec![child(step_succeed("c-1", "1"), "c")])
        .unwrap();
    f.rejects(vec![child(step("x", A::Start), "not valid!")], bad);
}

#[test]
fn updates_must_match_the_stored_operation() {
    let mut f = Fixture::new();
    f.checkpoint(vec![
        context("c", A::Start),
        child(step("s", A::Start), "c"),
    ])
    .unwrap();
    let mut renamed = child(step_succeed("s", "1"), "c");
    renamed.name = Some("other".into());
    f.rejects(vec![renamed], "Inconsistent operation name.");
    let mut retyped = child(update("s", T::Context, A::Succeed), "c");
    retyped.name = Some("op-s".into());
    f.rejects(vec![retyped], "Inconsistent operation type.");
    let mut resubtyped = child(step_succeed("s", "1"), "c");
    resubtyped.sub_type = Some("WaitForCondition".into());
    f.rejects(vec![resubtyped], "Inconsistent operation subtype.");
    f.checkpoint(vec![context("c2", A::Start)]).unwrap();
    f.rejects(
        vec![child(step_succeed("s", "1"), "c2")],
        "Inconsistent parent operation id.",
    );
    // Omitted metadata is not compared.
    let mut bare = step_succeed("s", "1");
    bare.name = None;
    bare.sub_type = None;
    f.checkpoint(vec![bare]).unwrap();
}

#[test]
fn update_shapes() {
    let mut f = Fixture::new();
    f.checkpoint(vec![step("s", A::Start)]).unwrap();
    let mut succeed_with_error = step_succeed("s", "1");
    succeed_with_error.error = Some(ErrorObject::new("E", "m"));
    f.rejects(
        vec![succeed_with_error],
        "Cannot provide an Error for SUCCEED action.",
    );
    let mut fail_with_payload = step("s", A::Fail);
    fail_with_payload.payload = Some("1".into());
    f.rejects(
        vec![fail_with_payload],
        "Cannot provide a Payload for FAIL action.",
    );
    let mut retry = step_retry("s", 1);
    retry.step_options = None;
    f.rejects(
        vec![retry.clone()],
        "Invalid StepOptions for the given action.",
    );
    retry.step_options = Some(StepOptions {
        next_attempt_delay_seconds: Some(0),
    });
    f.rejects(vec![retry], "Invalid StepOptions for the given action.");
    let mut both = step_retry("s", 1);
    both.payload = Some("state".into());
    f.rejects(
        vec![both],
        "Cannot provide both error and payload to RETRY a STEP.",
    );
    f.rejects(
        vec![wait_start("w", 0)],
        "Invalid WaitOptions for the given action.",
    );
    f.rejects(
        vec![update("i", T::ChainedInvoke, A::Start)],
        "Invalid ChainedInvokeOptions for the given action.",
    );
    f.rejects(vec![step("has space", A::Start)], "Invalid operation id.");
    f.rejects(
        vec![step(&"x".repeat(65), A::Start)],
        "Invalid operation id.",
    );
    let mut long_name = step("n", A::Start);
    long_name.name = Some("n".repeat(257));
    f.rejects(vec![long_name], "Invalid operation name.");
    let mut sub = step("n", A::Start);
    sub.sub_type = Some("no spaces allowed".into());
    f.rejects(vec![sub], "Invalid operation subtype.");
    let mut invoke = update("i", T::ChainedInvoke, A::Start);
    invoke.chained_invoke_options = Some(ChainedInvokeOptions {
        function_name: "target:1".into(),
        tenant_id: None,
        x_amzn_trace_id: None,
    });
    f.checkpoint(vec![invoke]).unwrap();
    assert_eq!(f.status("i"), "STARTED");
}

#[test]
fn batches_are_atomic() {
    let mut f = Fixture::new();
    // The first two updates are fine; the third is not: nothing of the batch is applied.
    f.rejects(
        vec![
            step("a", A::Start),
            wait_start("w", 10),
            update("w", T::Wait, A::Retry),
        ],
        "Invalid action for the given operation type.",
    );
    let record = f.svc.execution(&f.arn).unwrap();
    assert_eq!(record.operations().len(), 1, "only the EXECUTION operation");
    // The token was not consumed by the rejected call.
    f.checkpoint(vec![step("a", A::Start)]).unwrap();
}

#[test]
fn completions_without_start_follow_the_leniency_setting() {
    // Default (emulator behaviour): a SUCCEED for a step never started creates it.
    let mut f = Fixture::new();
    f.checkpoint(vec![step_succeed("s", "1")]).unwrap();
    assert_eq!(f.status("s"), "SUCCEEDED");
    assert_eq!(f.attempt("s"), 1);
    f.checkpoint(vec![context_succeed("c", false)]).unwrap();
    assert_eq!(f.status("c"), "SUCCEEDED");

    let mut config = ServiceConfig::default();
    config.require_start = true;
    let mut f = Fixture::with_config(config);
    f.rejects(
        vec![step_succeed("s", "1")],
        "Invalid current STEP state to close.",
    );
    f.rejects(
        vec![step_retry("s", 1)],
        "Invalid current STEP state to re-attempt.",
    );
    f.rejects(
        vec![context_succeed("c", false)],
        "Invalid current CONTEXT state to close.",
    );
    f.checkpoint(vec![step("s", A::Start), step_succeed("s", "1")])
        .unwrap();
}

#[test]
fn batch_size_is_capped() {
    let mut config = ServiceConfig::default();
    config.max_batch_updates = 2;
    let mut f = Fixture::with_config(config);
    f.rejects(
        vec![
            step("a", A::Start),
            step("b", A::Start),
            step("c", A::Start),
        ],
        "Cannot checkpoint more than 2 updates in one call.",
    );
}
