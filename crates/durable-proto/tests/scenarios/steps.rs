use std::cell::Cell;
use std::time::Duration;

use super::*;

fn no_jitter(max_attempts: u32, initial: u64) -> RetryPolicy {
    RetryPolicy::try_exponential(
        max_attempts,
        Duration::from_secs(initial),
        Duration::from_secs(60),
        2.0,
    )
    .unwrap()
    .with_jitter(Jitter::None)
}

fn actions(svc: &FakeService) -> Vec<Vec<String>> {
    svc.calls
        .iter()
        .map(|c| c.iter().map(|u| format!("{}:{}", u.id, u.action)).collect())
        .collect()
}

#[test]
fn first_run_sends_start_and_succeed_in_one_call() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "charge",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::default(),
            |a| {
                assert_eq!(a, 1);
                Ok("\"ok\"".into())
            },
        )?;
        user_error(r)
    });
    assert_eq!(inv.output().status, InvocationStatus::Succeeded);
    assert_eq!(inv.output().result.as_deref(), Some("\"ok\""));
    assert_eq!(actions(&svc), [["1:START", "1:SUCCEED"]]);
    let update = &svc.calls[0][1];
    assert_eq!(update.name.as_deref(), Some("charge"));
    assert_eq!(update.sub_type.as_deref(), Some("Step"));
    assert_eq!(update.payload.as_deref(), Some("\"ok\""));
}

#[test]
fn succeeded_and_failed_records_replay_without_running_the_body() {
    let mut svc = FakeService::new("{}");
    let program = |ctx: &mut Ctx<'_>| {
        let a = ctx.step(
            "a",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Ok("1".into()),
        )?;
        let b = ctx.step(
            "b",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Err(boom("no")),
        )?;
        assert_eq!(
            b.unwrap_err().message(),
            "no",
            "a caught failure replays as the same error"
        );
        ctx.wait("w", 10)?;
        user_error(a)
    };
    let first = invoke(&mut svc, ExecutionConfig::default(), &program);
    assert_eq!(first.output().status, InvocationStatus::Pending);
    let calls_before = svc.calls.len();
    svc.fire_timers();
    let second = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        assert!(ctx.exec.is_replaying());
        let a = ctx.step(
            "a",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| panic!("ran a"),
        )?;
        let b = ctx.step(
            "b",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| panic!("ran b"),
        )?;
        assert_eq!(b.unwrap_err().message(), "no");
        assert!(ctx.exec.is_replaying(), "the wait is still to be re-traced");
        ctx.wait("w", 10)?;
        assert!(
            !ctx.exec.is_replaying(),
            "every recorded operation was re-traced"
        );
        user_error(a)
    });
    assert_eq!(second.output().status, InvocationStatus::Succeeded);
    assert_eq!(second.output().result.as_deref(), Some("1"));
    assert_eq!(
        svc.calls.len(),
        calls_before,
        "pure replay makes no checkpoint call"
    );
}

#[test]
fn a_retryable_failure_checkpoints_retry_and_suspends() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "flaky",
            StepSemantics::AtLeastOncePerRetry,
            &no_jitter(3, 2),
            |_| Err(boom("timeout")),
        )?;
        user_error(r)
    });
    assert_eq!(inv.output().status, InvocationStatus::Pending);
    assert_eq!(actions(&svc), [["1:START", "1:RETRY"]]);
    let retry = &svc.calls[0][1];
    assert_eq!(retry.error.as_ref().unwrap().message(), "timeout");
    assert_eq!(
        retry
            .step_options
            .as_ref()
            .unwrap()
            .next_attempt_delay_seconds,
        Some(2)
    );
    assert_eq!(svc.op("1").status, OperationStatus::Pending);
}

#[test]
fn failure_without_retry_fails_the_step_and_the_execution() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "once",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Err(boom("declined")),
        )?;
        user_error(r)
    });
    assert_eq!(actions(&svc), [["1:START", "1:FAIL"]]);
    let out = inv.output();
    assert_eq!(out.status, InvocationStatus::Failed);
    assert_eq!(out.error.as_ref().unwrap().message(), "declined");
    assert_eq!(svc.op("1").status, OperationStatus::Failed);
}

#[test]
fn retries_exhaust_into_the_original_error() {
    let mut svc = FakeService::new("{}");
    let invocations = run_to_end(&mut svc, &|ctx| {
        let r = ctx.step(
            "flaky",
            StepSemantics::AtLeastOncePerRetry,
            &no_jitter(3, 1),
            |a| Err(boom(&format!("fail {a}"))),
        )?;
        user_error(r)
    });
    assert_eq!(invocations.len(), 3);
    let out = invocations[2].output();
    assert_eq!(out.status, InvocationStatus::Failed);
    assert_eq!(out.error.as_ref().unwrap().message(), "fail 3");
    assert_eq!(svc.step_attempt("1"), 3);
    let delays: Vec<_> = svc
        .calls
        .iter()
        .flatten()
        .filter_map(|u| u.step_options.as_ref()?.next_attempt_delay_seconds)
        .collect();
    assert_eq!(delays, [1, 2]);
}

#[test]
fn pending_replay_suspends_and_ready_replay_runs_the_next_attempt() {
    let mut svc = FakeService::new("{}");
    let runs = Cell::new(0);
    let program = |ctx: &mut Ctx<'_>| {
        let r = ctx.step(
            "s",
            StepSemantics::AtLeastOncePerRetry,
            &no_jitter(5, 1),
            |a| {
                runs.set(runs.get() + 1);
                if a < 2 {
                    Err(boom("again"))
                } else {
                    Ok(a.to_string())
                }
            },
        )?;
        user_error(r)
    };
    assert_eq!(
        invoke(&mut svc, ExecutionConfig::default(), &program)
            .output()
            .status,
        InvocationStatus::Pending
    );
    let calls = svc.calls.len();
    // Timer not fired: PENDING on replay suspends without running anything.
    let inv = invoke(&mut svc, ExecutionConfig::default(), &program);
    assert_eq!(inv.output().status, InvocationStatus::Pending);
    assert_eq!(runs.get(), 1);
    assert_eq!(svc.calls.len(), calls);
    // Timer fired: READY runs attempt 2 after a new START.
    svc.fire_timers();
    let inv = invoke(&mut svc, ExecutionConfig::default(), &program);
    assert_eq!(inv.output().result.as_deref(), Some("2"));
    assert_eq!(
        inv.events.iter().find(|e| matches!(e, Event::Body(..))),
        Some(&Event::Body("s".into(), 2))
    );
    assert_eq!(actions(&svc).last().unwrap(), &["1:START", "1:SUCCEED"]);
}

#[test]
fn at_most_once_flushes_start_before_the_body_and_at_least_once_does_not() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "pay",
            StepSemantics::AtMostOncePerRetry,
            &RetryPolicy::none(),
            |_| Ok("1".into()),
        )?;
        user_error(r)
    });
    assert_eq!(
        inv.events,
        [
            Event::Checkpoint(vec!["1:START".into()]),
            Event::Body("pay".into(), 1),
            Event::Checkpoint(vec!["1:SUCCEED".into()]),
        ]
    );
    let mut svc = FakeService::new("{}");
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "log",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Ok("1".into()),
        )?;
        user_error(r)
    });
    assert_eq!(
        inv.events,
        [
            Event::Body("log".into(), 1),
            Event::Checkpoint(vec!["1:START".into(), "1:SUCCEED".into()])
        ]
    );
}

/// Leaves step 1 STARTED on the service, as a crash mid-body would.
fn crashed_mid_body(semantics: StepSemantics) -> FakeService {
    let mut svc = FakeService::new("{}");
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    let start = exec
        .begin_step(
            ContextRef::ROOT,
            StepRequest {
                name: Some("pay"),
                semantics,
            },
            &RetryPolicy::none(),
        )
        .unwrap();
    assert!(matches!(start, StepStart::Run { .. }));
    let Some(ServiceRequest::Checkpoint {
        checkpoint_token,
        updates,
    }) = exec.poll_request()
    else {
        panic!()
    };
    svc.checkpoint(&checkpoint_token, updates);
    svc
}

#[test]
fn started_at_most_once_replay_goes_through_the_strategy() {
    // Strategy retries: RETRY with StepInterruptedError, body not run, suspend.
    let mut svc = crashed_mid_body(StepSemantics::AtMostOncePerRetry);
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "pay",
            StepSemantics::AtMostOncePerRetry,
            &no_jitter(2, 3),
            |_| panic!("must not re-run"),
        )?;
        user_error(r)
    });
    assert_eq!(inv.output().status, InvocationStatus::Pending);
    let retry = svc.calls.last().unwrap().last().unwrap();
    assert_eq!(retry.action, OperationAction::Retry);
    assert_eq!(
        retry.error.as_ref().unwrap().type_name(),
        "StepInterruptedError"
    );
    assert_eq!(
        retry
            .step_options
            .as_ref()
            .unwrap()
            .next_attempt_delay_seconds,
        Some(3)
    );
    // The retry then runs attempt 2.
    svc.fire_timers();
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "pay",
            StepSemantics::AtMostOncePerRetry,
            &no_jitter(2, 3),
            |a| Ok(a.to_string()),
        )?;
        user_error(r)
    });
    assert_eq!(inv.output().result.as_deref(), Some("2"));

    // Strategy stops: FAIL, the error reaches user code.
    let mut svc = crashed_mid_body(StepSemantics::AtMostOncePerRetry);
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "pay",
            StepSemantics::AtMostOncePerRetry,
            &RetryPolicy::none(),
            |_| panic!("must not re-run"),
        )?;
        user_error(r)
    });
    assert_eq!(inv.output().status, InvocationStatus::Failed);
    assert_eq!(
        inv.output().error.as_ref().unwrap().type_name(),
        "StepInterruptedError"
    );
    assert_eq!(svc.op("1").status, OperationStatus::Failed);
}

#[test]
fn started_at_least_once_replay_reruns_the_same_attempt_without_start() {
    let mut svc = crashed_mid_body(StepSemantics::AtLeastOncePerRetry);
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "pay",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |a| Ok(a.to_string()),
        )?;
        user_error(r)
    });
    assert_eq!(inv.output().result.as_deref(), Some("1"));
    assert_eq!(actions(&svc).last().unwrap(), &["1:SUCCEED"]);
}

#[test]
fn five_failures_across_six_invocations_keep_attempts_monotonic() {
    let mut svc = FakeService::new("{}");
    let seen = std::cell::RefCell::new(Vec::new());
    let mut wire_attempts = Vec::new();
    let program = |ctx: &mut Ctx<'_>| {
        let r = ctx.step(
            "s",
            StepSemantics::AtLeastOncePerRetry,
            &no_jitter(6, 1),
            |a| {
                seen.borrow_mut().push(a);
                if a <= 5 {
                    Err(boom(&format!("failure {a}")))
                } else {
                    Ok("\"done\"".into())
                }
            },
        )?;
        user_error(r)
    };
    for i in 0..6 {
        let inv = invoke(&mut svc, ExecutionConfig::default(), &program);
        wire_attempts.push(svc.step_attempt("1"));
        if i < 5 {
            assert_eq!(inv.output().status, InvocationStatus::Pending);
            assert_eq!(svc.op("1").status, OperationStatus::Pending);
            svc.fire_timers();
        } else {
            assert_eq!(inv.output().result.as_deref(), Some("\"done\""));
        }
    }
    assert_eq!(*seen.borrow(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        wire_attempts,
        [1, 2, 3, 4, 5, 6],
        "Attempt counts finished attempts"
    );
    let delays: Vec<_> = svc
        .calls
        .iter()
        .flatten()
        .filter_map(|u| u.step_options.as_ref()?.next_attempt_delay_seconds)
        .collect();
    assert_eq!(delays, [1, 2, 4, 8, 16]);
}

#[test]
fn a_mismatch_on_a_pending_record_is_non_determinism() {
    let mut svc = FakeService::new("{}");
    let program = |ctx: &mut Ctx<'_>| {
        let r = ctx.step(
            "fetch",
            StepSemantics::AtLeastOncePerRetry,
            &no_jitter(3, 1),
            |_| Err(boom("x")),
        )?;
        user_error(r)
    };
    invoke(&mut svc, ExecutionConfig::default(), &program);
    assert_eq!(svc.op("1").status, OperationStatus::Pending);
    for changed in [
        &(|ctx: &mut Ctx<'_>| {
            let r = ctx.step(
                "renamed",
                StepSemantics::AtLeastOncePerRetry,
                &RetryPolicy::none(),
                |_| Ok("1".into()),
            )?;
            user_error(r)
        }) as &dyn Fn(&mut Ctx<'_>) -> Result<String, Stop>,
        &|ctx: &mut Ctx<'_>| {
            ctx.wait("fetch", 5)?;
            Ok("1".into())
        },
    ] {
        let calls = svc.calls.len();
        let inv = invoke(&mut svc, ExecutionConfig::default(), changed);
        let out = inv.output();
        assert_eq!(out.status, InvocationStatus::Failed);
        let err = out.error.as_ref().unwrap();
        assert_eq!(err.type_name(), "NonDeterministicExecutionError");
        assert!(err.message().contains("operation 1"), "{}", err.message());
        assert!(
            err.message().contains("\"fetch\""),
            "names the recorded name: {}",
            err.message()
        );
        assert_eq!(
            svc.calls.len(),
            calls,
            "nothing is checkpointed for the mismatched call"
        );
    }
}

#[test]
fn a_fatal_error_cannot_be_swallowed_by_user_code() {
    let mut svc = FakeService::new("{}");
    invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let r = ctx.step(
            "a",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Ok("1".into()),
        )?;
        user_error(r)
    });
    let inv = invoke(&mut svc, ExecutionConfig::default(), &|ctx| {
        let swallowed = ctx.step(
            "b",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::none(),
            |_| Ok("1".into()),
        );
        assert!(matches!(
            swallowed,
            Err(Stop::Fatal(ExecutionError::NonDeterminism { .. }))
        ));
        Ok("\"fine\"".into())
    });
    assert_eq!(inv.output().status, InvocationStatus::Failed);
}

#[test]
fn an_oversize_step_result_fails_the_step_with_a_clear_error() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(
        &mut svc,
        config(|c| {
            c.max_operation_payload_bytes = 1_000;
        }),
        &|ctx| {
            let r = ctx.step(
                "big",
                StepSemantics::AtLeastOncePerRetry,
                &RetryPolicy::default(),
                |_| Ok("x".repeat(1_001)),
            )?;
            let e = r.unwrap_err();
            assert_eq!(e.type_name(), "PayloadTooLarge");
            assert!(e.message().contains("1001 bytes"), "{}", e.message());
            Ok("\"handled\"".into())
        },
    );
    assert_eq!(inv.output().result.as_deref(), Some("\"handled\""));
    assert_eq!(actions(&svc), [["1:START", "1:FAIL"]]);
}

#[test]
fn unacknowledged_work_is_bounded() {
    let mut svc = FakeService::new("{}");
    let inv = invoke(
        &mut svc,
        config(|c| {
            c.max_unacknowledged_updates = 4;
        }),
        &|ctx| {
            for i in 0..10 {
                let r = ctx.step(
                    &format!("s{i}"),
                    StepSemantics::AtLeastOncePerRetry,
                    &RetryPolicy::none(),
                    |_| Ok("1".into()),
                )?;
                r.map_err(Stop::Failed)?;
            }
            Ok("0".into())
        },
    );
    assert_eq!(inv.output().status, InvocationStatus::Succeeded);
    // Every body ran with at most 4 updates outstanding, so the run needed several calls.
    assert!(svc.calls.len() >= 4, "{:?}", actions(&svc));
    assert!(svc.calls.iter().all(|c| c.len() <= 6));
    assert_eq!(svc.calls.iter().map(Vec::len).sum::<usize>(), 20);
}

/// Runs a step that fails five times under the default policy (full jitter) to the end, every
/// invocation with `seed`; returns the checkpoint calls as JSON and the
/// `NextAttemptDelaySeconds` of every RETRY, in order.
fn jittered_retries(seed: u64) -> (String, Vec<u32>) {
    let mut svc = FakeService::new("{}");
    let program = |ctx: &mut Ctx<'_>| {
        let r = ctx.step(
            "j",
            StepSemantics::AtLeastOncePerRetry,
            &RetryPolicy::default(),
            |a| {
                if a < 6 {
                    Err(boom("jitter me"))
                } else {
                    Ok("1".into())
                }
            },
        )?;
        user_error(r)
    };
    let config = config(|c| {
        c.seed = Some(seed);
    });
    let mut done = false;
    for _ in 0..10 {
        let inv = invoke(&mut svc, config.clone(), &program);
        if inv.output().status != InvocationStatus::Pending {
            assert_eq!(inv.output().status, InvocationStatus::Succeeded);
            done = true;
            break;
        }
        svc.fire_timers();
    }
    assert!(done, "the step did not succeed on its sixth attempt");
    let delays: Vec<u32> = svc
        .calls
        .iter()
        .flatten()
        .filter(|u| u.action == OperationAction::Retry)
        .map(|u| {
            u.step_options
                .as_ref()
                .and_then(|o| o.next_attempt_delay_seconds)
                .expect("a RETRY carries its delay")
        })
        .collect();
    (serde_json::to_string(&svc.calls).unwrap(), delays)
}

#[test]
fn the_same_seed_gives_byte_identical_checkpoints() {
    let (calls, delays) = jittered_retries(1);
    assert_eq!(delays.len(), 5, "{delays:?}");
    // Full jitter over 5 s, 10 s, 20 s, 40 s, 60 s: each delay in [0, base), at least 1 s and
    // rounded up on the wire.
    for (delay, base) in delays.iter().zip([5, 10, 20, 40, 60]) {
        assert!((1..=base).contains(delay), "{delays:?}");
    }
    assert_eq!(jittered_retries(1), (calls, delays.clone()));
    // The delays come from the seeded RNG: other seeds give other sequences.
    let other: Vec<Vec<u32>> = [2, 3, 4].map(|seed| jittered_retries(seed).1).into();
    for d in &other {
        assert_ne!(d, &delays, "seeds 1 and another gave the same delays");
    }
    assert!(
        other[0] != other[1] && other[1] != other[2] && other[0] != other[2],
        "{other:?}"
    );
}

/// Found by fuzzing (F3): a recorded attempt count of u32::MAX must not overflow.
#[test]
fn a_huge_recorded_attempt_count_does_not_overflow() {
    let mut svc = crashed_mid_body(StepSemantics::AtLeastOncePerRetry);
    svc.edit_record("1", |op| {
        op.step_details.as_mut().expect("step details").attempt = u32::MAX;
    });
    let mut exec = Execution::new(svc.envelope(), ExecutionConfig::default());
    let request = StepRequest {
        name: Some("pay"),
        semantics: StepSemantics::AtLeastOncePerRetry,
    };
    let start = exec
        .begin_step(ContextRef::ROOT, request, &RetryPolicy::none())
        .unwrap();
    assert!(
        matches!(
            start,
            StepStart::Run {
                attempt: u32::MAX,
                ..
            }
        ),
        "{start:?}"
    );
}
