//! Suite `parallel` (requirements 8-1 .. 8-22) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{Branch, CompletionConfig, DurableContext, DurableError, Nesting, StepError};
use serde_json::{json, Value};

use crate::{batch_accessors, batch_summary, ServiceError, Wrapped};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "parallel_basic" => run(basic).await,
        "parallel_unnamed" => run(unnamed).await,
        "parallel_named_branches" => run(named_branches).await,
        "parallel_mixed_types" => run(mixed_types).await,
        "parallel_empty" => run(empty).await,
        "parallel_fail_fast" => run(fail_fast).await,
        "parallel_throw_if_error" => run(throw_if_error).await,
        "parallel_min_successful" => run(min_successful).await,
        "parallel_tolerated_within" => run(tolerated_within).await,
        "parallel_tolerated_exceeded" => run(tolerated_exceeded).await,
        "parallel_concurrent" => run(concurrent).await,
        "parallel_flat" => run(flat).await,
        "parallel_percentage_exceeded" => run(percentage_exceeded).await,
        "parallel_branch_waits" => run(branch_waits).await,
        "parallel_item_serdes" => run(item_serdes).await,
        "parallel_all_tolerated" => run(all_tolerated).await,
        "parallel_min_unreached" => run(min_unreached).await,
        "parallel_min_and_tolerance" => run(min_and_tolerance).await,
        "parallel_zero_concurrency" => run(zero_concurrency).await,
        "parallel_accessors" => run(accessors).await,
        "parallel_nested" => run(nested).await,
        "parallel_percentage_within" => run(percentage_within).await,
        _ => return None,
    })
}

/// A branch returning `value` without any operation.
fn constant<'c>(value: &str) -> Branch<'c, String> {
    let value = value.to_owned();
    Branch::new(move |_| async move { Ok(value) })
}

/// A branch running one step that returns `value`.
fn one_step<'c>(value: &str) -> Branch<'c, String> {
    let value = value.to_owned();
    Branch::new(
        move |c| async move { Ok(c.step("task", move |_| async move { Ok(value) }).await?) },
    )
}

/// A branch that fails.
fn failing<'c>() -> Branch<'c, String> {
    Branch::new(|_| async { Err(StepError::from(ServiceError("branch failed".into()))) })
}

/// A branch per letter: `o` returns "ok", `x` fails.
fn branches<'c>(pattern: &str) -> Vec<Branch<'c, String>> {
    pattern
        .chars()
        .map(|c| if c == 'x' { failing() } else { constant("ok") })
        .collect()
}

/// A parallel of `branches`, one at a time, under `completion`.
async fn sequential<'c>(
    ctx: &'c DurableContext,
    name: &str,
    branches: Vec<Branch<'c, String>>,
    completion: CompletionConfig,
) -> Result<durable_tokio::BatchResult<String>, DurableError> {
    ctx.parallel(name, branches)
        .max_concurrency(1)
        .completion(completion)
        .await
}

/// `{completionReason, successCount, failureCount, totalCount}`.
fn counts(batch: &durable_tokio::BatchResult<String>) -> Value {
    json!({
        "completionReason": batch.completion_reason().as_str(),
        "successCount": batch.success_count(),
        "failureCount": batch.failure_count(),
        "totalCount": batch.total_count(),
    })
}

/// 8-1: two branches of one step each, in order.
async fn basic(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("parallel", vec![one_step("task-1"), one_step("task-2")])
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 8-2: the unnamed form; branches return constants.
async fn unnamed(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel_unnamed(vec![constant("alpha"), constant("beta")])
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 8-3: named branches.
async fn named_branches(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel(
            "named",
            vec![
                Branch::named("first", |_| async { Ok("one".to_owned()) }),
                Branch::named("second", |_| async { Ok("two".to_owned()) }),
            ],
        )
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 8-4: branches of different value types.
async fn mixed_types(_: Value, ctx: DurableContext) -> Result<Vec<Value>, DurableError> {
    let batch = ctx
        .parallel(
            "mixed",
            vec![
                Branch::new(|_| async { Ok(json!("hello")) }),
                Branch::new(|_| async { Ok(json!(42)) }),
                Branch::new(|_| async { Ok(json!({"k": "v"})) }),
            ],
        )
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 8-5: no branches at all.
async fn empty(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    Ok(ctx.parallel("empty", Vec::new()).await?.into_values())
}

/// 8-6: fail fast after the second branch fails.
async fn fail_fast(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let batch = sequential(
        &ctx,
        "fail-fast",
        branches("oxo"),
        CompletionConfig::all_successful(),
    )
    .await?;
    Ok(batch_summary(&batch))
}

/// 8-7: fail fast, then rethrow the first failure.
async fn throw_if_error(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = sequential(
        &ctx,
        "rethrow",
        branches("xo"),
        CompletionConfig::all_successful(),
    )
    .await?;
    Ok(batch.throw_if_error()?.into_values())
}

/// 8-8: two successes are enough.
async fn min_successful(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().min_successful(2);
    let batch = sequential(&ctx, "min-successful", branches("oooo"), completion).await?;
    Ok(json!({
        "completionReason": batch.completion_reason().as_str(),
        "successCount": batch.success_count(),
        "totalCount": batch.total_count(),
    }))
}

/// 8-9: one failure tolerated; every branch runs.
async fn tolerated_within(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = sequential(&ctx, "tolerated", branches("oxo"), completion).await?;
    Ok(batch_summary(&batch))
}

/// 8-10: the second failure exceeds the tolerance of one.
async fn tolerated_exceeded(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = sequential(&ctx, "tolerated-exceeded", branches("xxo"), completion).await?;
    Ok(counts(&batch))
}

/// 8-11: two at a time; results in branch order.
async fn concurrent(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel(
            "concurrent",
            vec![constant("r0"), constant("r1"), constant("r2")],
        )
        .max_concurrency(2)
        .await?;
    Ok(batch.into_values())
}

/// 8-12: flat nesting; the steps are recorded under the parallel itself.
async fn flat(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("flat", vec![one_step("fa"), one_step("fb")])
        .max_concurrency(1)
        .nesting(Nesting::Flat)
        .await?;
    Ok(batch.into_values())
}

/// 8-13: 2 of 4 failed is above 25 %.
async fn percentage_exceeded(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_percentage(25.0);
    let batch = sequential(&ctx, "percentage", branches("xxoo"), completion).await?;
    Ok(counts(&batch))
}

/// 8-14: the second branch waits; the invocation suspends and the branch finishes later.
async fn branch_waits(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let waits = Branch::new(|c| async move {
        c.wait("pause", Duration::from_secs(2)).await?;
        Ok("b1".to_owned())
    });
    let batch = ctx
        .parallel("waits", vec![one_step("b0"), waits])
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 8-15: each branch's result is recorded wrapped.
async fn item_serdes(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("wrapped", vec![constant("x"), constant("y")])
        .max_concurrency(1)
        .item_serdes(Wrapped)
        .await?;
    Ok(batch.into_values())
}

/// 8-16: three failures, all tolerated.
async fn all_tolerated(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(3);
    let batch = sequential(&ctx, "all-fail", branches("xxx"), completion).await?;
    Ok(batch_summary(&batch))
}

/// 8-17: three successes wanted, two reached; failures do not stop it.
async fn min_unreached(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().min_successful(3);
    let batch = sequential(&ctx, "min-unreached", branches("oxo"), completion).await?;
    Ok(batch_summary(&batch))
}

/// 8-18: the failure tolerance is exceeded before the minimum could be reached.
async fn min_and_tolerance(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default()
        .min_successful(3)
        .tolerated_failure_count(1);
    let batch = sequential(&ctx, "min-and-tolerance", branches("xxoo"), completion).await?;
    Ok(counts(&batch))
}

/// 8-19: a concurrency of zero is refused; the error fails the execution.
async fn zero_concurrency(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("zero", vec![constant("a"), constant("b")])
        .max_concurrency(0)
        .await?;
    Ok(batch.into_values())
}

/// 8-20: the accessors' view of a batch with one failure.
async fn accessors(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = sequential(&ctx, "accessors", branches("oxo"), completion).await?;
    Ok(batch_accessors(&batch))
}

/// 8-21: a parallel inside a branch of a parallel.
async fn nested(_: Value, ctx: DurableContext) -> Result<Vec<Vec<String>>, DurableError> {
    let outer = Branch::new(|c| async move {
        let inner = c
            .parallel("inner", vec![one_step("i1"), one_step("i2")])
            .max_concurrency(1)
            .await?;
        Ok(inner.into_values())
    });
    let batch = ctx
        .parallel("outer", vec![outer])
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 8-22: 1 of 4 failed is not above 25 %.
async fn percentage_within(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_percentage(25.0);
    let batch = sequential(&ctx, "percentage-within", branches("xooo"), completion).await?;
    Ok(batch_summary(&batch))
}
