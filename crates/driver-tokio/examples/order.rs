//! A durable order workflow as a Lambda function (async handler).
//!
//! Build for Lambda with `cargo lambda build --release --example order`, or run it locally on
//! the embedded durable service (see the README).

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, RetryPolicy};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Order {
    id: String,
    amount_cents: u64,
}

#[derive(Serialize)]
struct Receipt {
    order: String,
    charge: String,
}

#[derive(Debug)]
struct PaymentError(String);

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PaymentError {}

/// Stands in for a call to a payment provider.
async fn quote(amount_cents: u64) -> Result<u64, PaymentError> {
    if amount_cents == 0 {
        return Err(PaymentError("nothing to charge".into()));
    }
    Ok(amount_cents)
}

async fn process(order: Order, ctx: DurableContext) -> Result<Receipt, DurableError> {
    // Retried with exponential back-off and jitter; the invocation suspends between attempts.
    let quote: u64 = ctx
        .step(
            "quote",
            |_| async move { Ok(quote(order.amount_cents).await?) },
        )
        .retry(RetryPolicy::transient().retry_if_error_type("PaymentError"))
        .await?;

    // Never charged twice: the body runs only after its start is recorded, and an attempt
    // interrupted by a crash is reported to the retry strategy instead of re-run.
    let charge: String = ctx
        .step("charge", |step| async move {
            Ok(format!("ch_{quote}_{}", step.attempt()))
        })
        .at_most_once()
        .retry(RetryPolicy::none())
        .await?;

    // Suspends the function for a day; nothing is billed meanwhile.
    ctx.wait("settle", Duration::from_secs(24 * 3600)).await?;
    ctx.logger().info(format!("order {} settled", order.id));
    Ok(Receipt {
        order: order.id,
        charge,
    })
}

#[tokio::main]
async fn main() -> Result<(), durable_tokio::LambdaError> {
    durable_tokio::run(process).await
}
