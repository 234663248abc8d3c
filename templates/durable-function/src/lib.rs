//! The durable workflow of {{project-name}}: an order is quoted (a call that may fail
//! transiently, retried with back-off), charged at most once, and confirmed after a
//! settlement period during which the function is suspended and not billed.
//!
//! `src/main.rs` runs it on Lambda; `tests/workflow.rs` runs it on the local durable service,
//! on virtual time.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, RetryPolicy};
use serde::{Deserialize, Serialize};

/// The event that starts an execution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// What to charge, in cents.
    pub amount_cents: u64,
}

/// The execution's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The order's id.
    pub order: String,
    /// The payment provider's charge id.
    pub charge: String,
}

/// How long an order settles before it is confirmed.
pub const SETTLEMENT: Duration = Duration::from_secs(24 * 3600);

/// A payment provider's refusal.
#[derive(Debug)]
pub struct PaymentError(pub String);

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PaymentError {}

/// Stands in for your payment provider's quote call.
async fn quote(order: &Order) -> Result<u64, PaymentError> {
    if order.amount_cents == 0 {
        return Err(PaymentError("nothing to charge".into()));
    }
    Ok(order.amount_cents)
}

/// The workflow. Code outside step bodies runs again on every replay: keep it
/// deterministic (no clock, no randomness, no IO); do those inside steps.
pub async fn process(order: Order, ctx: DurableContext) -> Result<Receipt, DurableError> {
    let order = &order;
    // Retried with exponential back-off and jitter; the function suspends between attempts.
    let amount: u64 = ctx
        .step("quote", |_| async move { Ok(quote(order).await?) })
        .retry(RetryPolicy::transient().retry_if_error_type("PaymentError"))
        .await?;

    // Never charged twice: the body runs only after its start is checkpointed.
    let charge: String = ctx
        .step("charge", move |step| async move {
            Ok(format!("ch_{}_{amount}_{}", order.id, step.attempt()))
        })
        .at_most_once()
        .retry(RetryPolicy::none())
        .await?;

    // The function returns PENDING here and Lambda invokes it again a day later.
    ctx.wait("settle", SETTLEMENT).await?;
    ctx.logger().info(format!("order {} settled", order.id));
    Ok(Receipt {
        order: order.id.clone(),
        charge,
    })
}
