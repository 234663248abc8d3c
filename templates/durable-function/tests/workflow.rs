//! The workflow on the local durable service: real SDK driver, virtual time (the day's
//! settlement takes no wall time), no AWS account.

use durable_local::{ExecutionStatus, LocalRunner};
use {{crate_name}}::{process, Order, Receipt, SETTLEMENT};

fn order(amount_cents: u64) -> Order {
    Order {
        id: "o-1".into(),
        amount_cents,
    }
}

#[tokio::test]
async fn an_order_is_charged_once_and_confirmed_after_settlement() {
    let mut runner = LocalRunner::new();
    runner.register("orders", process);
    let execution = runner.run("orders", order(4200)).await.unwrap();

    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    assert_eq!(
        execution.result::<Receipt>().unwrap(),
        Receipt {
            order: "o-1".into(),
            charge: "ch_o-1_4200_1".into(),
        }
    );
    assert_eq!(execution.step_attempts("charge"), Some(1));
    // Two invocations: the first suspends at the wait, the second finishes.
    assert_eq!(execution.invocations().len(), 2);
    assert!(execution.elapsed_millis() >= SETTLEMENT.as_millis() as i64);
}

#[tokio::test]
async fn a_refused_quote_is_retried_then_fails_the_execution() {
    let mut runner = LocalRunner::new();
    runner.register("orders", process);
    let execution = runner.run("orders", order(0)).await.unwrap();

    assert_eq!(execution.status(), ExecutionStatus::Failed);
    assert_eq!(execution.step_attempts("quote"), Some(3));
    // Nothing was charged.
    assert!(execution.operation("charge").is_none());
}
