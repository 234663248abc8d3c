//! Suite `parallel` (requirements 8-1 .. 8-22) on `durable-blocking`.

use std::time::Duration;

use durable_blocking::{
    BatchResult, Branch, CompletionConfig, DurableContext, DurableError, Nesting, StepError,
};
use serde_json::{json, Value};

use crate::{batch_accessors, batch_summary, ServiceError, Wrapped};

/// Runs the handler called `name`, if it is one of this suite's.
pub fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_blocking::run;
    Some(match name {
        "parallel_basic" => run(basic),
        "parallel_unnamed" => run(unnamed),
        "parallel_named_branches" => run(named_branches),
        "parallel_mixed_types" => run(mixed_types),
        "parallel_empty" => run(empty),
        "parallel_fail_fast" => run(fail_fast),
        "parallel_throw_if_error" => run(throw_if_error),
        "parallel_min_successful" => run(min_successful),
        "parallel_tolerated_within" => run(tolerated_within),
        "parallel_tolerated_exceeded" => run(tolerated_exceeded),
        "parallel_concurrent" => run(concurrent),
        "parallel_flat" => run(flat),
        "parallel_percentage_exceeded" => run(percentage_exceeded),
        "parallel_branch_waits" => run(branch_waits),
        "parallel_item_serdes" => run(item_serdes),
        "parallel_all_tolerated" => run(all_tolerated),
        "parallel_min_unreached" => run(min_unreached),
        "parallel_min_and_tolerance" => run(min_and_tolerance),
        "parallel_zero_concurrency" => run(zero_concurrency),
        "parallel_accessors" => run(accessors),
        "parallel_nested" => run(nested),
        "parallel_percentage_within" => run(percentage_within),
        _ => return None,
    })
}

/// A branch returning `value` without any operation.
fn constant<'c>(value: &str) -> Branch<'c, String> {
    let value = value.to_owned();
    Branch::new(move |_| Ok(value))
}

/// A branch running one step that returns `value`.
fn one_step<'c>(value: &str) -> Branch<'c, String> {
    let value = value.to_owned();
    Branch::new(move |c| Ok(c.step("task", |_| Ok(value)).run()?))
}

/// A branch that fails.
fn failing<'c>() -> Branch<'c, String> {
    Branch::new(|_| Err(StepError::from(ServiceError("branch failed".into()))))
}

/// A branch per letter: `o` returns "ok", `x` fails.
fn branches<'c>(pattern: &str) -> Vec<Branch<'c, String>> {
    pattern
        .chars()
        .map(|c| if c == 'x' { failing() } else { constant("ok") })
        .collect()
}

/// A parallel of `branches`, one at a time, under `completion`.
fn sequential<'c>(
    ctx: &'c DurableContext,
    name: &str,
    branches: Vec<Branch<'c, String>>,
    completion: CompletionConfig,
) -> Result<BatchResult<String>, DurableError> {
    ctx.parallel(name, branches)
        .max_concurrency(1)
        .completion(completion)
        .run()
}

/// `{completionReason, successCount, failureCount, totalCount}`.
fn counts(batch: &BatchResult<String>) -> Value {
    json!({
        "completionReason": batch.completion_reason().as_str(),
        "successCount": batch.success_count(),
        "failureCount": batch.failure_count(),
        "totalCount": batch.total_count(),
    })
}

/// 8-1: two branches of one step each, in order.
fn basic(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("parallel", vec![one_step("task-1"), one_step("task-2")])
        .max_concurrency(1)
        .run()?;
    Ok(batch.into_values())
}

/// 8-2: the unnamed form; branches return constants.
fn unnamed(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel_unnamed(vec![constant("alpha"), constant("beta")])
        .max_concurrency(1)
        .run()?;
    Ok(batch.into_values())
}

/// 8-3: named branches.
fn named_branches(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel(
            "named",
            vec![
                Branch::named("first", |_| Ok("one".to_owned())),
                Branch::named("second", |_| Ok("two".to_owned())),
            ],
        )
        .max_concurrency(1)
        .run()?;
    Ok(batch.into_values())
}

/// 8-4: branches of different value types.
fn mixed_types(_: Value, ctx: &DurableContext) -> Result<Vec<Value>, DurableError> {
    let batch = ctx
        .parallel(
            "mixed",
            vec![
                Branch::new(|_| Ok(json!("hello"))),
                Branch::new(|_| Ok(json!(42))),
                Branch::new(|_| Ok(json!({"k": "v"}))),
            ],
        )
        .max_concurrency(1)
        .run()?;
    Ok(batch.into_values())
}

/// 8-5: no branches at all.
fn empty(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    Ok(ctx.parallel("empty", Vec::new()).run()?.into_values())
}

/// 8-6: fail fast after the second branch fails.
fn fail_fast(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let batch = sequential(
        ctx,
        "fail-fast",
        branches("oxo"),
        CompletionConfig::all_successful(),
    )?;
    Ok(batch_summary(&batch))
}

/// 8-7: fail fast, then rethrow the first failure.
fn throw_if_error(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = sequential(
        ctx,
        "rethrow",
        branches("xo"),
        CompletionConfig::all_successful(),
    )?;
    Ok(batch.throw_if_error()?.into_values())
}

/// 8-8: two successes are enough.
fn min_successful(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().min_successful(2);
    let batch = sequential(ctx, "min-successful", branches("oooo"), completion)?;
    Ok(json!({
        "completionReason": batch.completion_reason().as_str(),
        "successCount": batch.success_count(),
        "totalCount": batch.total_count(),
    }))
}

/// 8-9: one failure tolerated; every branch runs.
fn tolerated_within(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = sequential(ctx, "tolerated", branches("oxo"), completion)?;
    Ok(batch_summary(&batch))
}

/// 8-10: the second failure exceeds the tolerance of one.
fn tolerated_exceeded(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = sequential(ctx, "tolerated-exceeded", branches("xxo"), completion)?;
    Ok(counts(&batch))
}

/// 8-11: two at a time; results in branch order.
fn concurrent(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel(
            "concurrent",
            vec![constant("r0"), constant("r1"), constant("r2")],
        )
        .max_concurrency(2)
        .run()?;
    Ok(batch.into_values())
}

/// 8-12: flat nesting; the steps are recorded under the parallel itself.
fn flat(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("flat", vec![one_step("fa"), one_step("fb")])
        .max_concurrency(1)
        .nesting(Nesting::Flat)
        .run()?;
    Ok(batch.into_values())
}

/// 8-13: 2 of 4 failed is above 25 %.
fn percentage_exceeded(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_percentage(25.0);
    let batch = sequential(ctx, "percentage", branches("xxoo"), completion)?;
    Ok(counts(&batch))
}

/// 8-14: the second branch waits; the invocation suspends and the branch finishes later.
fn branch_waits(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let waits = Branch::new(|c| {
        c.wait("pause", Duration::from_secs(2))?;
        Ok("b1".to_owned())
    });
    let batch = ctx
        .parallel("waits", vec![one_step("b0"), waits])
        .max_concurrency(1)
        .run()?;
    Ok(batch.into_values())
}

/// 8-15: each branch's result is recorded wrapped.
fn item_serdes(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("wrapped", vec![constant("x"), constant("y")])
        .max_concurrency(1)
        .item_serdes(Wrapped)
        .run()?;
    Ok(batch.into_values())
}

/// 8-16: three failures, all tolerated.
fn all_tolerated(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(3);
    let batch = sequential(ctx, "all-fail", branches("xxx"), completion)?;
    Ok(batch_summary(&batch))
}

/// 8-17: three successes wanted, two reached; failures do not stop it.
fn min_unreached(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().min_successful(3);
    let batch = sequential(ctx, "min-unreached", branches("oxo"), completion)?;
    Ok(batch_summary(&batch))
}

/// 8-18: the failure tolerance is exceeded before the minimum could be reached.
fn min_and_tolerance(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default()
        .min_successful(3)
        .tolerated_failure_count(1);
    let batch = sequential(ctx, "min-and-tolerance", branches("xxoo"), completion)?;
    Ok(counts(&batch))
}

/// 8-19: a concurrency of zero is refused; the error fails the execution.
fn zero_concurrency(_: Value, ctx: &DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .parallel("zero", vec![constant("a"), constant("b")])
        .max_concurrency(0)
        .run()?;
    Ok(batch.into_values())
}

/// 8-20: the accessors' view of a batch with one failure.
fn accessors(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = sequential(ctx, "accessors", branches("oxo"), completion)?;
    Ok(batch_accessors(&batch))
}

/// 8-21: a parallel inside a branch of a parallel.
fn nested(_: Value, ctx: &DurableContext) -> Result<Vec<Vec<String>>, DurableError> {
    let outer = Branch::new(|c| {
        let inner = c
            .parallel("inner", vec![one_step("i1"), one_step("i2")])
            .max_concurrency(1)
            .run()?;
        Ok(inner.into_values())
    });
    let batch = ctx
        .parallel("outer", vec![outer])
        .max_concurrency(1)
        .run()?;
    Ok(batch.into_values())
}

/// 8-22: 1 of 4 failed is not above 25 %.
fn percentage_within(_: Value, ctx: &DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_percentage(25.0);
    let batch = sequential(ctx, "percentage-within", branches("xooo"), completion)?;
    Ok(batch_summary(&batch))
}
