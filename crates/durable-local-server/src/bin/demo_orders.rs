//! `durable-local-demo-orders`: the README's order workflow as a Lambda bootstrap (a custom
//! runtime binary), for trying `durable-local serve` / `run` and for their end-to-end tests:
//!
//! ```text
//! durable-local run orders --function orders=durable-local-demo-orders --event '{"id":"o-1"}'
//! ```
//!
//! The quote fails its first attempt (a retry back-off on the service's clock), the charge
//! runs at most once, and a one-day wait settles the order. With `"crash_marker": PATH` in
//! the event, the first process to reach the charge exits abruptly (and creates PATH so
//! the restarted one does not), to show that a crash loses nothing already checkpointed.
//! With `"notify": FUNCTION`, the settled order invokes FUNCTION (a chained invoke) with
//! `{"id": "<id>-followup"}` and puts its result in the receipt.

use std::time::Duration;

use durable_tokio::{DurableContext, DurableError, RetryPolicy};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct Order {
    id: String,
    #[serde(default)]
    crash_marker: Option<String>,
    /// A function to notify with a chained invoke once the order is settled.
    #[serde(default)]
    notify: Option<String>,
}

#[derive(Serialize)]
struct Receipt {
    order: String,
    charge: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    notified: Option<serde_json::Value>,
}

#[derive(Debug)]
struct PaymentError(String);

impl std::fmt::Display for PaymentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PaymentError {}

async fn process(order: Order, ctx: DurableContext) -> Result<Receipt, DurableError> {
    let quote: u64 = ctx
        .step("quote", |step| async move {
            if step.attempt() == 1 {
                return Err(PaymentError("the quote service is warming up".into()).into());
            }
            Ok(4200)
        })
        .retry(RetryPolicy::transient())
        .await?;
    let marker = order.crash_marker.clone();
    let charge: String = ctx
        .step("charge", |step| async move {
            if let Some(path) = marker {
                if std::fs::metadata(&path).is_err() {
                    let _ = std::fs::write(&path, b"crashed once");
                    std::process::exit(17);
                }
            }
            Ok(format!("ch_{quote}_{}", step.attempt()))
        })
        .at_most_once()
        .await?;
    ctx.wait("settle", Duration::from_secs(24 * 3600)).await?;
    let notified = match &order.notify {
        Some(target) => {
            let input = serde_json::json!({ "id": format!("{}-followup", order.id) });
            Some(ctx.invoke("notify", target, &input).await?)
        }
        None => None,
    };
    Ok(Receipt {
        order: order.id,
        charge,
        notified,
    })
}

#[tokio::main]
async fn main() -> Result<(), durable_tokio::LambdaError> {
    durable_tokio::run(process).await
}
