//! Suite `map` (requirements 9-1 .. 9-20) on `durable-tokio`.

use std::time::Duration;

use durable_tokio::{
    BatchResult, CompletionConfig, DurableContext, DurableError, Nesting, StepError,
};
use serde_json::{json, Value};

use crate::{batch_summary, OpSerde, PrefixedText, ServiceError};

/// Runs the handler called `name`, if it is one of this suite's.
pub async fn run(name: &str) -> Option<Result<(), lambda_runtime::Error>> {
    use durable_tokio::run;
    Some(match name {
        "map_basic" => run(basic).await,
        "map_unnamed" => run(unnamed).await,
        "map_index" => run(index).await,
        "map_empty" => run(empty).await,
        "map_fail_fast" => run(fail_fast).await,
        "map_throw_if_error" => run(throw_if_error).await,
        "map_min_successful" => run(min_successful).await,
        "map_tolerated_within" => run(tolerated_within).await,
        "map_tolerated_exceeded" => run(tolerated_exceeded).await,
        "map_percentage_exceeded" => run(percentage_exceeded).await,
        "map_concurrent" => run(concurrent).await,
        "map_flat" => run(flat).await,
        "map_item_namer" => run(item_namer).await,
        "map_item_serdes" => run(item_serdes).await,
        "map_item_waits" => run(item_waits).await,
        "map_large_result" => run(large_result).await,
        "map_then_wait" => run(then_wait).await,
        "map_failure_then_wait" => run(failure_then_wait).await,
        "map_operation_serdes" => run(operation_serdes).await,
        "map_operation_serdes_replay" => run(operation_serdes_replay).await,
        _ => return None,
    })
}

/// Items as letters: `o` succeeds ("ok"), `x` fails.
fn pattern(letters: &str) -> Vec<char> {
    letters.chars().collect()
}

/// A map over `letters`, one item at a time, under `completion`.
async fn outcomes(
    ctx: &DurableContext,
    name: &str,
    letters: &str,
    completion: CompletionConfig,
) -> Result<BatchResult<String>, DurableError> {
    ctx.map(name, pattern(letters), |_, letter, i| async move {
        if letter == 'x' {
            Err(StepError::from(ServiceError(format!("item {i} failed"))))
        } else {
            Ok("ok".to_owned())
        }
    })
    .max_concurrency(1)
    .completion(completion)
    .await
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

/// Upper-cases each of `items` in its own iteration.
async fn uppercased(
    ctx: &DurableContext,
    items: &[&str],
) -> Result<BatchResult<String>, DurableError> {
    let items = items.iter().map(|s| (*s).to_owned()).collect();
    ctx.map("upper", items, |_, s: String, _| async move {
        Ok(s.to_uppercase())
    })
    .max_concurrency(1)
    .await
}

/// 9-1: a greeting step per item.
async fn basic(names: Vec<String>, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .map("map", names, |c, name, _| async move {
            Ok(c.step(
                "greet",
                move |_| async move { Ok(format!("Hello, {name}!")) },
            )
            .await?)
        })
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 9-2: the unnamed form; each item doubled directly.
async fn unnamed(items: Vec<i64>, ctx: DurableContext) -> Result<Vec<i64>, DurableError> {
    let batch = ctx
        .map_unnamed(items, |_, n, _| async move { Ok(n * 2) })
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 9-3: item plus index.
async fn index(items: Vec<i64>, ctx: DurableContext) -> Result<Vec<i64>, DurableError> {
    let batch = ctx
        .map("index", items, |_, n, i| async move { Ok(n + i as i64) })
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 9-4: no items.
async fn empty(items: Vec<Value>, ctx: DurableContext) -> Result<Vec<Value>, DurableError> {
    let batch = ctx
        .map("empty", items, |_, v, _| async move { Ok(v) })
        .await?;
    Ok(batch.into_values())
}

/// 9-5: fail fast after the second item fails.
async fn fail_fast(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let batch = outcomes(&ctx, "fail-fast", "oxo", CompletionConfig::all_successful()).await?;
    Ok(batch_summary(&batch))
}

/// 9-6: fail fast, then rethrow the first failure.
async fn throw_if_error(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = outcomes(&ctx, "rethrow", "xo", CompletionConfig::all_successful()).await?;
    Ok(batch.throw_if_error()?.into_values())
}

/// 9-7: two successes are enough.
async fn min_successful(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().min_successful(2);
    let batch = outcomes(&ctx, "min-successful", "oooo", completion).await?;
    Ok(json!({
        "completionReason": batch.completion_reason().as_str(),
        "successCount": batch.success_count(),
        "totalCount": batch.total_count(),
    }))
}

/// 9-8: one failure tolerated; every item runs.
async fn tolerated_within(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = outcomes(&ctx, "tolerated", "oxo", completion).await?;
    Ok(batch_summary(&batch))
}

/// 9-9: the second failure exceeds the tolerance of one.
async fn tolerated_exceeded(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = outcomes(&ctx, "tolerated-exceeded", "xxo", completion).await?;
    Ok(counts(&batch))
}

/// 9-10: 2 of 4 failed is above 25 %.
async fn percentage_exceeded(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_percentage(25.0);
    let batch = outcomes(&ctx, "percentage", "xxoo", completion).await?;
    Ok(counts(&batch))
}

/// 9-11: two at a time; results in item order.
async fn concurrent(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .map("concurrent", vec![0, 1, 2], |_, n: u32, _| async move {
            Ok(format!("r{n}"))
        })
        .max_concurrency(2)
        .await?;
    Ok(batch.into_values())
}

/// 9-12: flat nesting; the steps are recorded under the map itself.
async fn flat(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .map("flat", vec!["fa", "fb"], |c, s, _| async move {
            Ok(c.step("item", move |_| async move { Ok(s.to_owned()) })
                .await?)
        })
        .max_concurrency(1)
        .nesting(Nesting::Flat)
        .await?;
    Ok(batch.into_values())
}

/// 9-13: iterations named from their item.
async fn item_namer(items: Vec<i64>, ctx: DurableContext) -> Result<Vec<i64>, DurableError> {
    let batch = ctx
        .map("named", items, |_, n, _| async move { Ok(n * 10) })
        .item_namer(|n, _| format!("item-{n}"))
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 9-14: each iteration's result recorded through a custom serializer.
async fn item_serdes(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let items = vec!["x".to_owned(), "y".to_owned()];
    let batch = ctx
        .map("serdes", items, |_, s: String, _| async move {
            Ok(s.to_uppercase())
        })
        .item_serdes(PrefixedText)
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 9-15: the second iteration waits; the invocation suspends and it finishes later.
async fn item_waits(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = ctx
        .map("waits", vec![0u32, 1], |c, n, _| async move {
            if n == 1 {
                c.wait("pause", Duration::from_secs(1)).await?;
            }
            Ok(c.step("work", move |_| async move { Ok(format!("r{n}")) })
                .await?)
        })
        .max_concurrency(1)
        .await?;
    Ok(batch.into_values())
}

/// 9-16: four ~70 KB results; the map's own result is too large to record inline.
async fn large_result(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let batch = ctx
        .map("large", vec![0u32, 1, 2, 3], |_, n, _| async move {
            Ok(format!("{n}").repeat(70 * 1024))
        })
        .max_concurrency(1)
        .await?;
    Ok(json!({"successCount": batch.success_count(), "totalCount": batch.total_count()}))
}

/// 9-17: a wait after the map; the replay does not run the map again.
async fn then_wait(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    let batch = uppercased(&ctx, &["a", "b"]).await?;
    ctx.wait("after", Duration::from_secs(1)).await?;
    Ok(batch.into_values())
}

/// 9-18: a tolerated failure, then a wait; the replay keeps the failed iteration.
async fn failure_then_wait(_: Value, ctx: DurableContext) -> Result<Value, DurableError> {
    let completion = CompletionConfig::default().tolerated_failure_count(1);
    let batch = outcomes(&ctx, "tolerated", "ox", completion).await?;
    ctx.wait("after", Duration::from_secs(1)).await?;
    Ok(batch_summary(&batch))
}

/// The map of requirements 9-19 and 9-20, with the operation-level serializer.
async fn op_serde_map(ctx: &DurableContext) -> Result<BatchResult<String>, DurableError> {
    let items = vec!["x".to_owned(), "y".to_owned()];
    ctx.map("opserde", items, |_, s: String, _| async move {
        Ok(s.to_uppercase())
    })
    .serdes(OpSerde)
    .max_concurrency(1)
    .await
}

/// 9-19: the whole result recorded through an operation-level serializer.
async fn operation_serdes(_: Value, ctx: DurableContext) -> Result<Vec<String>, DurableError> {
    Ok(op_serde_map(&ctx).await?.into_values())
}

/// 9-20: as 9-19, then a wait: the replay reads the result back through the serializer.
async fn operation_serdes_replay(
    _: Value,
    ctx: DurableContext,
) -> Result<Vec<String>, DurableError> {
    let batch = op_serde_map(&ctx).await?;
    ctx.wait("after", Duration::from_secs(1)).await?;
    Ok(batch.into_values())
}
