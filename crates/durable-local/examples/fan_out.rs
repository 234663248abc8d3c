//! A fan-out: ask three suppliers for a quote at once (three steps awaited together with
//! `tokio::join!`), where one supplier is unavailable twice before it answers, then place
//! the order with the cheapest.
//!
//! Steps awaited together get their ids in the order they are created (1, 2, 3), whatever
//! order they finish in, so every replay matches the history. While the flaky quote waits
//! for its retry, the function suspends; the quotes that already succeeded are not asked
//! again on the next invocation: their results come from the history.
//!
//! ```text
//! cargo run -p durable-local --example fan_out
//! ```
//!
//! `tests/examples.rs` runs [`run`] and checks the history, so this file cannot rot.

use std::fmt;
use std::time::{Duration, Instant};

use durable_local::{format_duration, LocalRunner, RunnerError, TestExecution};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};
use serde::{Deserialize, Serialize};

/// One supplier's quote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// Who quoted.
    pub supplier: String,
    /// The price.
    pub price_cents: u64,
}

/// The execution's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseOrder {
    /// The purchase order number.
    pub number: String,
    /// The winning quote.
    pub quote: Quote,
    /// How many quotes were compared.
    pub quotes: usize,
}

/// What a supplier's API fails with.
#[derive(Debug)]
pub struct SupplierUnavailable;

impl fmt::Display for SupplierUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("supplier unavailable")
    }
}

impl std::error::Error for SupplierUnavailable {}

/// 4 attempts, 30 s apart (no jitter, so the timeline is easy to read).
pub fn quote_retries() -> RetryPolicy {
    RetryPolicy::try_linear(
        4,
        Duration::from_secs(30),
        Duration::ZERO,
        Duration::from_secs(30),
    )
    .expect("a valid retry policy")
    .with_jitter(Jitter::None)
}

fn quote(supplier: &str, price_cents: u64) -> Quote {
    Quote {
        supplier: supplier.to_owned(),
        price_cents,
    }
}

/// The workflow.
pub async fn fan_out(sku: String, ctx: DurableContext) -> Result<PurchaseOrder, DurableError> {
    let (northwind, contoso, fabrikam) = tokio::join!(
        ctx.step("quote northwind", |_| async {
            Ok(quote("northwind", 1_290))
        })
        .retry(quote_retries()),
        // Unavailable on attempts 1 and 2 (deterministically), then the cheapest.
        ctx.step("quote contoso", |step| async move {
            if step.attempt() <= 2 {
                Err(SupplierUnavailable.into())
            } else {
                Ok(quote("contoso", 1_150))
            }
        })
        .retry(quote_retries()),
        ctx.step("quote fabrikam", |_| async { Ok(quote("fabrikam", 1_340)) })
            .retry(quote_retries()),
    );
    let quotes = [northwind?, contoso?, fabrikam?];
    let best = quotes
        .iter()
        .min_by_key(|q| q.price_cents)
        .cloned()
        .expect("three quotes");

    let supplier = best.supplier.clone();
    let number: String = ctx
        .step("place order", move |_| async move {
            Ok(format!("PO-{sku}-{supplier}"))
        })
        .await?;
    Ok(PurchaseOrder {
        number,
        quote: best,
        quotes: quotes.len(),
    })
}

/// Runs one purchase through a fresh [`LocalRunner`] to the end.
pub async fn run() -> Result<TestExecution, RunnerError> {
    let mut runner = LocalRunner::new();
    runner.register("purchasing", fan_out);
    runner.run("purchasing", "SKU-7").await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "A fan-out of three concurrent quote steps (one unavailable twice), on virtual time.\n"
    );
    let wall = Instant::now();
    let execution = run().await?;
    let wall = wall.elapsed();
    println!("status:  {}", execution.status());
    println!("result:  {}", execution.result_json().unwrap_or("(none)"));
    println!(
        "took:    {} of virtual time in {:.1} ms of wall time, {} invocations\n",
        format_duration(execution.elapsed_millis()),
        wall.as_secs_f64() * 1000.0,
        execution.invocation_count()
    );
    println!("{}", execution.timeline());
    Ok(())
}
