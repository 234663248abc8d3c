//! The `order` example's workflow with the checkpoint client built **before** the Lambda
//! runtime starts (what `durable_tokio::run` did until it started building the client in a
//! task alongside the runtime). `cold_start` runs it beside the example to show what the
//! overlap saves.

use std::sync::Arc;
use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, LambdaClient, Options, RetryPolicy};
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

async fn process(order: Order, ctx: DurableContext) -> Result<Receipt, DurableError> {
    let amount = order.amount_cents;
    let quote: u64 = ctx
        .step("quote", |_| async move { Ok(amount) })
        .retry(RetryPolicy::transient())
        .await?;
    let charge: String = ctx
        .step("charge", |step| async move {
            Ok(format!("ch_{quote}_{}", step.attempt()))
        })
        .at_most_once()
        .retry(RetryPolicy::none())
        .await?;
    ctx.wait("settle", Duration::from_secs(24 * 3600)).await?;
    Ok(Receipt {
        order: order.id,
        charge,
    })
}

#[tokio::main]
async fn main() -> Result<(), durable_tokio::LambdaError> {
    durable_tokio::check_lambda_environment()?;
    let client = Arc::new(LambdaClient::shared().await);
    durable_tokio::run_with_client(client, Options::default(), process).await
}
