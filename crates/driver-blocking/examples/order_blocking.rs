//! The same durable order workflow with a plain synchronous handler.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, RetryPolicy};
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

fn process(order: Order, ctx: &DurableContext) -> Result<Receipt, DurableError> {
    let quote: u64 = ctx
        .step("quote", |_| Ok(order.amount_cents))
        .retry(RetryPolicy::transient())
        .run()?;
    let charge: String = ctx
        .step("charge", |step| {
            Ok(format!("ch_{quote}_{}", step.attempt()))
        })
        .at_most_once()
        .retry(RetryPolicy::none())
        .run()?;
    ctx.wait("settle", Duration::from_secs(24 * 3600))?;
    ctx.logger().info(format!("order {} settled", order.id));
    Ok(Receipt {
        order: order.id,
        charge,
    })
}

fn main() -> Result<(), durable_blocking::LambdaError> {
    durable_blocking::run(process)
}
