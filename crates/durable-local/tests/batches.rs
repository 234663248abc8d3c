//! Map and parallel through both drivers on the local service: results, completion rules,
//! suspension across invocations and what the service records.

use std::time::Duration;

use durable_local::LocalRunner;
use durable_proto::{OperationStatus, OperationType};
use durable_tokio::{
    Branch, CompletionConfig, CompletionReason, DurableContext, DurableError, Nesting, StepError,
};

type Blocking<'a> = &'a durable_blocking::DurableContext;

/// The `(sub_type, status)` of every CONTEXT operation, in id order of the history.
fn contexts(execution: &durable_local::TestExecution) -> Vec<(String, OperationStatus)> {
    execution
        .operations()
        .iter()
        .filter(|o| o.operation_type == OperationType::Context)
        .map(|o| (o.sub_type.clone().unwrap_or_default(), o.status.clone()))
        .collect()
}

#[tokio::test]
async fn a_map_returns_values_in_index_order_and_records_an_iteration_per_item() {
    let mut runner = LocalRunner::new();
    runner.register("async", |items: Vec<u32>, ctx: DurableContext| async move {
        let batch = ctx
            .map("double", items, |c, n, _| async move {
                Ok(c.step("twice", move |_| async move { Ok(n * 2) }).await?)
            })
            .max_concurrency(2)
            .await?;
        assert_eq!(batch.completion_reason(), CompletionReason::AllCompleted);
        Ok::<_, DurableError>(batch.into_values())
    });
    runner.register_blocking("blocking", |items: Vec<u32>, ctx: Blocking<'_>| {
        let batch = ctx
            .map("double", items, |c, n, _| {
                Ok(c.step("twice", |_| Ok(n * 2)).run()?)
            })
            .max_concurrency(2)
            .run()?;
        Ok::<_, DurableError>(batch.into_values())
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, vec![1u32, 2, 3, 4, 5]).await.unwrap();
        assert_eq!(
            execution.result::<Vec<u32>>().unwrap(),
            vec![2, 4, 6, 8, 10],
            "{function}"
        );
        let map = execution.operation("double").unwrap();
        assert_eq!(map.sub_type.as_deref(), Some("Map"));
        let iterations: Vec<_> = execution
            .operations()
            .iter()
            .filter(|o| o.sub_type.as_deref() == Some("MapIteration"))
            .collect();
        assert_eq!(iterations.len(), 5, "{function}");
        for (i, it) in iterations.iter().enumerate() {
            // Ids follow the item index, whatever order the items finished in.
            assert_eq!(it.id, format!("{}-{}", map.id, i + 1), "{function}");
            assert_eq!(it.parent_id.as_deref(), Some(map.id.as_str()));
            assert_eq!(it.status, OperationStatus::Succeeded);
        }
    }
}

#[tokio::test]
async fn failure_tolerance_stops_the_batch_and_no_item_starts_after_it() {
    let mut runner = LocalRunner::new();
    let outcome = |i: usize| -> Result<String, StepError> {
        if i == 1 || i == 2 {
            Err(StepError::msg(format!("item {i} failed")))
        } else {
            Ok(format!("ok {i}"))
        }
    };
    runner.register("async", move |_: (), ctx: DurableContext| async move {
        let batch = ctx
            .map(
                "items",
                (0..5).collect::<Vec<usize>>(),
                move |_, i, _| async move { outcome(i) },
            )
            .max_concurrency(1)
            .completion(CompletionConfig::default().tolerated_failure_count(1))
            .await?;
        Ok::<_, DurableError>((
            batch.completion_reason().as_str().to_owned(),
            batch.success_count(),
            batch.failure_count(),
            batch.total_count(),
        ))
    });
    runner.register_blocking("blocking", move |_: (), ctx: Blocking<'_>| {
        let batch = ctx
            .map("items", (0..5).collect::<Vec<usize>>(), move |_, i, _| {
                outcome(i)
            })
            .max_concurrency(1)
            .completion(CompletionConfig::default().tolerated_failure_count(1))
            .run()?;
        Ok::<_, DurableError>((
            batch.completion_reason().as_str().to_owned(),
            batch.success_count(),
            batch.failure_count(),
            batch.total_count(),
        ))
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(
            execution.result::<(String, usize, usize, usize)>().unwrap(),
            ("FAILURE_TOLERANCE_EXCEEDED".to_owned(), 1, 2, 3),
            "{function}"
        );
        // Items 3 and 4 never started: no operation was recorded for them.
        assert_eq!(
            contexts(&execution),
            vec![
                ("Map".to_owned(), OperationStatus::Succeeded),
                ("MapIteration".to_owned(), OperationStatus::Succeeded),
                ("MapIteration".to_owned(), OperationStatus::Failed),
                ("MapIteration".to_owned(), OperationStatus::Failed),
            ],
            "{function}"
        );
    }
}

#[tokio::test]
async fn a_branch_blocked_on_a_wait_suspends_the_invocation_and_finishes_on_replay() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let batch = ctx
            .parallel(
                "two",
                vec![
                    Branch::new(|c| async move {
                        Ok(c.step("b0", |_| async { Ok("b0".to_owned()) }).await?)
                    }),
                    Branch::new(|c| async move {
                        c.wait("nap", Duration::from_secs(2)).await?;
                        Ok("b1".to_owned())
                    }),
                ],
            )
            .await?;
        Ok::<_, DurableError>(batch.into_values())
    });
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        let batch = ctx
            .parallel(
                "two",
                vec![
                    durable_blocking::Branch::new(|c| {
                        Ok(c.step("b0", |_| Ok("b0".to_owned())).run()?)
                    }),
                    durable_blocking::Branch::new(|c| {
                        c.wait("nap", Duration::from_secs(2))?;
                        Ok("b1".to_owned())
                    }),
                ],
            )
            .run()?;
        Ok::<_, DurableError>(batch.into_values())
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(
            execution.result::<Vec<String>>().unwrap(),
            vec!["b0", "b1"],
            "{function}"
        );
        assert_eq!(execution.invocation_count(), 2, "{function}");
        // The finished branch ran once: its step has one attempt.
        assert_eq!(execution.step_attempts("b0"), Some(1), "{function}");
    }
}

#[tokio::test]
async fn flat_nesting_records_no_operation_per_item() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let batch = ctx
            .map("flat", vec!["fa", "fb"], |c, s, _| async move {
                Ok(c.step("item", move |_| async move { Ok(s.to_owned()) })
                    .await?)
            })
            .nesting(Nesting::Flat)
            .await?;
        Ok::<_, DurableError>(batch.into_values())
    });
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        let batch = ctx
            .map("flat", vec!["fa", "fb"], |c, s, _| {
                Ok(c.step("item", |_| Ok(s.to_owned())).run()?)
            })
            .nesting(Nesting::Flat)
            .run()?;
        Ok::<_, DurableError>(batch.into_values())
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(execution.result::<Vec<String>>().unwrap(), vec!["fa", "fb"]);
        let map = execution.operation("flat").unwrap();
        let steps = execution.operations_named("item");
        assert_eq!(steps.len(), 2, "{function}");
        for step in steps {
            assert_eq!(
                step.parent_id.as_deref(),
                Some(map.id.as_str()),
                "{function}"
            );
        }
        assert_eq!(
            contexts(&execution).len(),
            1,
            "{function}: only the Map context"
        );
    }
}

#[tokio::test]
async fn zero_concurrency_is_refused_before_anything_is_recorded() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let refused = ctx
            .map("m", vec![1u8], |_, n, _| async move { Ok(n) })
            .max_concurrency(0)
            .await
            .unwrap_err();
        assert!(
            matches!(refused, DurableError::InvalidArgument(_)),
            "{refused:?}"
        );
        Ok::<_, DurableError>(())
    });
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        let refused = ctx
            .map("m", vec![1u8], |_, n, _| Ok(n))
            .max_concurrency(0)
            .run()
            .unwrap_err();
        assert!(
            matches!(refused, DurableError::InvalidArgument(_)),
            "{refused:?}"
        );
        Ok::<_, DurableError>(())
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert!(execution.user_operations().next().is_none(), "{function}");
    }
}

#[tokio::test]
async fn an_empty_map_completes_at_once() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let batch = ctx
            .map("none", Vec::<u8>::new(), |_, n, _| async move { Ok(n) })
            .await?;
        Ok::<_, DurableError>((
            batch.total_count(),
            batch.completion_reason().as_str().to_owned(),
        ))
    });
    let execution = runner.run("async", ()).await.unwrap();
    assert_eq!(
        execution.result::<(usize, String)>().unwrap(),
        (0, "ALL_COMPLETED".to_owned())
    );
    assert_eq!(
        contexts(&execution),
        vec![("Map".to_owned(), OperationStatus::Succeeded)]
    );
}

#[tokio::test]
async fn a_result_above_the_limit_is_rebuilt_from_the_items_on_replay() {
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let batch = ctx
            .map("large", vec![0u32, 1, 2, 3, 4], |c, n, _| async move {
                Ok(c.step("chunk", move |_| async move {
                    Ok(format!("{n}").repeat(70 * 1024))
                })
                .await?)
            })
            .max_concurrency(1)
            .completion(CompletionConfig::default().min_successful(4))
            .await?;
        // The replay after this wait rebuilds the map from its items' records.
        ctx.wait("after", Duration::from_secs(1)).await?;
        let lengths: Vec<usize> = batch.values().iter().map(|v| v.len()).collect();
        Ok::<_, DurableError>((lengths, batch.completion_reason().as_str().to_owned()))
    });
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        let batch = ctx
            .map("large", vec![0u32, 1, 2, 3, 4], |c, n, _| {
                Ok(c.step("chunk", |_| Ok(format!("{n}").repeat(70 * 1024)))
                    .run()?)
            })
            .max_concurrency(1)
            .completion(CompletionConfig::default().min_successful(4))
            .run()?;
        ctx.wait("after", Duration::from_secs(1))?;
        let lengths: Vec<usize> = batch.values().iter().map(|v| v.len()).collect();
        Ok::<_, DurableError>((lengths, batch.completion_reason().as_str().to_owned()))
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(
            execution.result::<(Vec<usize>, String)>().unwrap(),
            (vec![70 * 1024; 4], "MIN_SUCCESSFUL_REACHED".to_owned()),
            "{function}"
        );
        assert_eq!(execution.invocation_count(), 2, "{function}");
        let map = execution.operation("large").unwrap();
        let details = map.context_details.as_ref().unwrap();
        assert_eq!(details.replay_children, Some(true), "{function}");
        // Each item's step ran once: the rebuild replayed them from their records, and the
        // fifth item, never started, stayed so.
        assert_eq!(execution.operations_named("chunk").len(), 4, "{function}");
        for chunk in execution.operations_named("chunk") {
            assert_eq!(
                chunk.step_details.as_ref().unwrap().attempt,
                1,
                "{function}"
            );
        }
    }
}

#[tokio::test]
async fn items_running_when_the_rule_is_met_are_abandoned_and_stay_so_on_every_replay() {
    // Item 1 succeeds at once; items 0 and 2 are blocked on waits when it does, so the map
    // completes (first successful) with them abandoned. The wait after the map outlasts
    // theirs: later invocations replay the map after their timers fired.
    let mut runner = LocalRunner::new();
    runner.register("async", |_: (), ctx: DurableContext| async move {
        let batch = ctx
            .map("first", vec![0u64, 1, 2], |c, n, _| async move {
                if n != 1 {
                    c.wait("slow", Duration::from_secs(5 + n)).await?;
                }
                Ok(c.step("done", move |_| async move { Ok(n) }).await?)
            })
            .completion(CompletionConfig::first_successful())
            .await?;
        ctx.wait("after", Duration::from_secs(60)).await?;
        let started: Vec<usize> = batch.started().iter().map(|i| i.index).collect();
        Ok::<_, DurableError>((batch.into_values(), started))
    });
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        let batch = ctx
            .map("first", vec![0u64, 1, 2], |c, n, _| {
                if n != 1 {
                    c.wait("slow", Duration::from_secs(5 + n))?;
                }
                Ok(c.step("done", |_| Ok(n)).run()?)
            })
            .completion(CompletionConfig::first_successful())
            .run()?;
        ctx.wait("after", Duration::from_secs(60))?;
        let started: Vec<usize> = batch.started().iter().map(|i| i.index).collect();
        Ok::<_, DurableError>((batch.into_values(), started))
    });
    for function in ["async", "blocking"] {
        let execution = runner.run(function, ()).await.unwrap();
        assert_eq!(
            execution.result::<(Vec<u64>, Vec<usize>)>().unwrap(),
            (vec![1], vec![0, 2]),
            "{function}"
        );
        // Only item 1's step ever ran: the abandoned items never went past their waits.
        assert_eq!(execution.operations_named("done").len(), 1, "{function}");
        let iterations: Vec<_> = execution
            .operations()
            .iter()
            .filter(|o| o.sub_type.as_deref() == Some("MapIteration"))
            .map(|o| o.status.clone())
            .collect();
        assert_eq!(
            iterations,
            vec![
                OperationStatus::Started,
                OperationStatus::Succeeded,
                OperationStatus::Started
            ],
            "{function}"
        );
    }
}

#[tokio::test]
async fn an_operation_inside_a_step_body_of_a_blocking_item_is_still_refused() {
    // Items run on threads of their own; the refusal follows the thread whose body it is.
    let mut runner = LocalRunner::new();
    runner.register_blocking("blocking", |_: (), ctx: Blocking<'_>| {
        let batch = ctx
            .map("items", vec![0u32, 1, 2], |c, n, _| {
                if n == 1 {
                    c.step("sneaky", |_| Ok(c.wait("inside", Duration::from_secs(1))?))
                        .run()?;
                }
                Ok(c.step("plain", |_| Ok(n)).run()?)
            })
            .max_concurrency(3)
            .run()?;
        Ok::<_, DurableError>(batch.into_values())
    });
    let execution = runner.run("blocking", ()).await.unwrap();
    assert_eq!(execution.status(), durable_local::ExecutionStatus::Failed);
    assert_eq!(
        execution.error().unwrap().error_type.as_deref(),
        Some("ConcurrencyContractError")
    );
    assert!(execution.operation("inside").is_none());
}
