//! An order workflow on durable-local's embedded service, on virtual time:
//!
//! 1. `authorize payment` calls a flaky payment gateway (it times out on attempts 1 and 2),
//!    retried with exponential back-off and full jitter; the function suspends between
//!    attempts;
//! 2. `charge card` runs at most once per attempt: its body starts only after its START is
//!    recorded, so a crash can never charge twice;
//! 3. `settlement window` waits a whole day, which takes no wall time here;
//! 4. `ship order` books the shipment.
//!
//! ```text
//! cargo run -p durable-local --example order_workflow
//! ```
//!
//! `tests/examples.rs` runs [`run`] and checks the history, so this file cannot rot.

use std::fmt;
use std::time::{Duration, Instant};

use durable_local::{format_duration, LocalRunner, RunnerError, TestExecution};
use durable_tokio::{DurableContext, DurableError, Jitter, RetryPolicy};
use serde::{Deserialize, Serialize};

/// The execution's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Order {
    /// The order id.
    pub id: String,
    /// What to charge.
    pub amount_cents: u64,
}

/// The execution's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The order id.
    pub order_id: String,
    /// The payment authorization.
    pub authorization: String,
    /// The charge, tagged with the attempt that made it.
    pub charge: String,
    /// The shipment's tracking number.
    pub tracking: String,
}

/// What the flaky payment gateway fails with.
#[derive(Debug)]
pub struct GatewayTimeout {
    /// The attempt that timed out.
    pub attempt: u32,
}

impl fmt::Display for GatewayTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gateway timeout on attempt {}", self.attempt)
    }
}

impl std::error::Error for GatewayTimeout {}

/// Up to 5 attempts, 10 s doubling to at most 5 min, full jitter: each delay is drawn from
/// `[0, base)` and goes on the wire rounded up to whole seconds (at least 1 s). The SDK seeds
/// the draw from the execution's ARN and the invocation's first checkpoint token (pin it
/// with `LocalRunnerBuilder::handler_seed` when a test needs exact delays).
pub fn payment_retries() -> RetryPolicy {
    RetryPolicy::try_exponential(5, Duration::from_secs(10), Duration::from_secs(300), 2.0)
        .expect("a valid retry policy")
        .with_jitter(Jitter::Full)
}

/// The workflow: a plain `durable_tokio` handler, exactly as it would run on Lambda.
pub async fn order_workflow(order: Order, ctx: DurableContext) -> Result<Receipt, DurableError> {
    let id = order.id.clone();
    let authorization: String = ctx
        .step("authorize payment", move |step| async move {
            // A deterministic stand-in for a flaky network call.
            if step.attempt() <= 2 {
                Err(GatewayTimeout {
                    attempt: step.attempt(),
                }
                .into())
            } else {
                Ok(format!("auth_{id}"))
            }
        })
        .retry(payment_retries())
        .await?;

    let amount = order.amount_cents;
    let charge: String = ctx
        .step("charge card", move |step| async move {
            Ok(format!("ch_{amount}_attempt{}", step.attempt()))
        })
        .at_most_once()
        .await?;

    ctx.wait("settlement window", Duration::from_secs(24 * 3600))
        .await?;

    let id = order.id.clone();
    let tracking: String = ctx
        .step("ship order", move |_| async move { Ok(format!("1Z-{id}")) })
        .await?;

    Ok(Receipt {
        order_id: order.id,
        authorization,
        charge,
        tracking,
    })
}

/// Runs one order through a fresh [`LocalRunner`] to the end.
pub async fn run() -> Result<TestExecution, RunnerError> {
    let mut runner = LocalRunner::new();
    runner.register("orders", order_workflow);
    let order = Order {
        id: "order-1042".to_owned(),
        amount_cents: 4200,
    };
    runner.run("orders", order).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!(
        "An order workflow on durable-local's embedded durable service: a flaky payment call \
         retried with jitter, an at-most-once charge and a one-day wait, on virtual time.\n"
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
