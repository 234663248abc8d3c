//! The same durable order workflow with a plain synchronous handler.

use std::time::Duration;

use durable_blocking::{DurableContext, DurableError, RetryPolicy, StepConfig};
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
    let quote: u64 = ctx.step_with(
        "quote",
        StepConfig::new().retry(RetryPolicy::transient()),
        |_| Ok::<_, std::io::Error>(order.amount_cents),
    )?;
    let charge: String = ctx.step_with(
        "charge",
        StepConfig::new().at_most_once().retry(RetryPolicy::none()),
        |step| Ok::<_, std::io::Error>(format!("ch_{quote}_{}", step.attempt())),
    )?;
    ctx.wait("settle", Duration::from_secs(24 * 3600))?;
    ctx.logger().info(format!("order {} settled", order.id));
    Ok(Receipt {
        order: order.id,
        charge,
    })
}

fn main() -> Result<(), lambda_runtime::Error> {
    durable_blocking::run(process)
}
