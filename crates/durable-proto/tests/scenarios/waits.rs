use std::time::Duration;

use super::*;

#[test]
fn a_wait_starts_suspends_and_then_lets_replay_continue() {
    let mut svc = FakeService::new("{}");
    let invs = run_to_end(&mut svc, &|ctx| {
        ctx.wait("cool-off", 86_400)?;
        Ok("\"after\"".into())
    });
    assert_eq!(invs.len(), 2);
    assert_eq!(invs[0].output().status, InvocationStatus::Pending);
    assert_eq!(invs[0].events, [Event::Checkpoint(vec!["1:START".into()])]);
    let start = &svc.calls[0][0];
    assert_eq!(start.operation_type, OperationType::Wait);
    assert_eq!(start.sub_type.as_deref(), Some("Wait"));
    assert_eq!(
        start.wait_options.as_ref().unwrap().wait_seconds,
        Some(86_400)
    );
    assert_eq!(invs[1].output().result.as_deref(), Some("\"after\""));
    assert_eq!(svc.calls.len(), 1);
}

#[test]
fn wait_durations_are_validated_and_rounded_up() {
    let mut svc = FakeService::new("{}");
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    for bad in [Duration::ZERO, Duration::from_secs(31_622_401)] {
        let err = exec.begin_wait(ContextRef::ROOT, None, bad).unwrap_err();
        assert_eq!(err.code(), "DP-X004");
    }
    assert!(
        exec.poll_request().is_none(),
        "a rejected wait checkpoints nothing"
    );
    // One rule for fractions: whole seconds, rounded up (a wait never ends early).
    for millis in [1, 500, 999, 1_000, 1_500] {
        assert!(matches!(
            exec.begin_wait(ContextRef::ROOT, None, Duration::from_millis(millis))
                .unwrap(),
            WaitStart::Blocked { .. }
        ));
    }
    let Some(ServiceRequest::Checkpoint { updates, .. }) = exec.poll_request() else {
        panic!()
    };
    let seconds: Vec<_> = updates
        .iter()
        .map(|u| u.wait_options.as_ref().unwrap().wait_seconds.unwrap())
        .collect();
    assert_eq!(seconds, [1, 1, 1, 1, 2]);
    assert_eq!(updates[0].id, "1", "the rejected calls consumed no ids");
}

#[test]
fn names_are_validated() {
    let mut svc = FakeService::new("{}");
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    let err = exec
        .begin_wait(ContextRef::ROOT, Some("caf\u{e9}"), Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(err.code(), "DP-X003");
    let err = exec
        .begin_wait(
            ContextRef::ROOT,
            Some(&"n".repeat(257)),
            Duration::from_secs(1),
        )
        .unwrap_err();
    assert_eq!(err.code(), "DP-X003");
    let err = exec
        .begin_wait(ContextRef::ROOT, Some(""), Duration::from_secs(1))
        .unwrap_err();
    assert_eq!(
        err.code(),
        "DP-X003",
        "an empty name is refused, not taken as none"
    );
    assert!(
        exec.poll_request().is_none(),
        "refused calls checkpoint nothing"
    );
}

/// Found by fuzzing (F1): rounding the largest durations up must not overflow into a zero.
#[test]
fn the_largest_durations_are_rejected_not_wrapped() {
    let mut svc = FakeService::new("{}");
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    let err = exec
        .begin_wait(ContextRef::ROOT, None, Duration::new(u64::MAX, 128))
        .unwrap_err();
    assert_eq!(err.code(), "DP-X004");
    assert!(exec.poll_request().is_none());
}

#[test]
fn a_finished_child_context_replays_its_result_without_running_its_function() {
    let mut svc = FakeService::new("{}");
    let runs = std::cell::Cell::new(0);
    let program = |ctx: &mut Ctx<'_>| {
        let r = ctx.child("group", |c| {
            runs.set(runs.get() + 1);
            let v = c.step(
                "inner",
                StepSemantics::AtLeastOncePerRetry,
                &RetryPolicy::none(),
                |_| Ok("41".into()),
            )?;
            user_error(v)
        })?;
        ctx.wait("w", 5)?;
        user_error(r)
    };
    let invocations = run_to_end(&mut svc, &program);
    assert_eq!(invocations.len(), 2);
    assert_eq!(invocations[1].output().result.as_deref(), Some("41"));
    assert_eq!(runs.get(), 1, "the replay served the recorded result");
    assert_eq!(svc.op("1").operation_type, OperationType::Context);
    assert_eq!(svc.op("1-1").parent_id.as_deref(), Some("1"));
}

#[test]
fn a_child_result_above_the_limit_is_rebuilt_from_its_children_on_replay() {
    let mut svc = FakeService::new("{}");
    let runs = std::cell::Cell::new(0);
    // Three small step results make a result too large for the context itself.
    let part = "x".repeat(12);
    let big = format!("\"{part}{part}{part}\"");
    let program = |ctx: &mut Ctx<'_>| {
        let r = ctx.child("group", |c| {
            runs.set(runs.get() + 1);
            let mut joined = String::new();
            for name in ["a", "b", "c"] {
                let v = c.step(
                    name,
                    StepSemantics::AtLeastOncePerRetry,
                    &RetryPolicy::none(),
                    |_| Ok(part.clone()),
                )?;
                joined += &user_error(v)?;
            }
            Ok(format!("\"{joined}\""))
        })?;
        ctx.wait("w", 5)?;
        user_error(r)
    };
    let config = config(|c| {
        c.max_operation_payload_bytes = 30;
    });
    let first = invoke(&mut svc, config.clone(), &program);
    assert_eq!(first.output().status, InvocationStatus::Pending);
    let ctx_op = &svc.op("1");
    let details = ctx_op.context_details.as_ref().unwrap();
    assert_eq!(details.replay_children, Some(true));
    assert_eq!(
        details.result.as_deref(),
        Some(""),
        "the large result is not recorded"
    );
    svc.fire_timers();
    let second = invoke(&mut svc, config, &program);
    assert_eq!(second.output().result.as_deref(), Some(big.as_str()));
    assert_eq!(runs.get(), 2, "the function ran again to rebuild the value");
    let sent: Vec<&String> = second
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Checkpoint(ids) => Some(ids),
            _ => None,
        })
        .flatten()
        .collect();
    assert!(
        sent.iter().all(|u| !u.starts_with("1:")),
        "nothing is checkpointed again for the context: {sent:?}"
    );
}
