//! The examples in `examples/`, run as tests so they cannot rot: each file is compiled here
//! as a module and its `run` is checked against the history it must produce.

use durable_local::{EntryKind, EventType, ExecutionStatus, TestExecution};
use durable_proto::{OperationStatus, OperationType};

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/order_workflow.rs"]
mod order_workflow;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/trial_reminder.rs"]
mod trial_reminder;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/fan_out.rs"]
mod fan_out;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// `(CurrentAttempt, NextAttemptDelaySeconds)` of every step event of `name` that has them.
fn retries(execution: &TestExecution, name: &str) -> Vec<(u32, Option<u32>)> {
    execution
        .events_of(name)
        .iter()
        .filter_map(|e| e.retry_details())
        .map(|r| (r.current_attempt, r.next_attempt_delay_seconds))
        .collect()
}

fn step_types(execution: &TestExecution, name: &str) -> Vec<EventType> {
    execution
        .events_of(name)
        .iter()
        .map(|e| e.event_type)
        .collect()
}

#[tokio::test]
async fn order_workflow_retries_the_payment_charges_once_and_waits_a_day() {
    let execution = order_workflow::run().await.unwrap();

    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let receipt: order_workflow::Receipt = execution.result().unwrap();
    assert_eq!(
        receipt,
        order_workflow::Receipt {
            order_id: "order-1042".into(),
            authorization: "auth_order-1042".into(),
            charge: "ch_4200_attempt1".into(),
            tracking: "1Z-order-1042".into(),
        }
    );
    use EventType::*;
    assert_eq!(
        step_types(&execution, "authorize payment"),
        [
            StepStarted,
            StepFailed,
            StepStarted,
            StepFailed,
            StepStarted,
            StepSucceeded
        ]
    );
    assert_eq!(execution.step_attempts("authorize payment"), Some(3));
    let payment = retries(&execution, "authorize payment");
    assert_eq!(
        payment.iter().map(|r| r.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "{payment:?}"
    );
    // Full jitter: the delays are drawn from [0, 10 s) and [0, 20 s), at least 1 s on the wire.
    let (first, second) = (payment[0].1.unwrap(), payment[1].1.unwrap());
    assert!((1..=10).contains(&first), "{payment:?}");
    assert!((1..=20).contains(&second), "{payment:?}");
    assert_eq!(payment[2].1, None);
    let failure = execution.events_of("authorize payment")[1].error().unwrap();
    assert!(
        failure.type_name().ends_with("GatewayTimeout"),
        "{failure:?}"
    );
    assert_eq!(failure.message(), "gateway timeout on attempt 1");

    // The at-most-once charge ran once; the day-long wait took a day of virtual time.
    assert_eq!(
        step_types(&execution, "charge card"),
        [StepStarted, StepSucceeded]
    );
    assert_eq!(execution.step_attempts("charge card"), Some(1));
    assert_eq!(
        step_types(&execution, "settlement window"),
        [WaitStarted, WaitSucceeded]
    );
    let wait = execution.events_of("settlement window");
    assert_eq!(
        wait[1].event_timestamp.as_millis() - wait[0].event_timestamp.as_millis(),
        DAY_MS
    );
    assert_eq!(
        execution.elapsed_millis(),
        DAY_MS + i64::from(first + second) * 1000
    );
    // One invocation per retry, one after the wait.
    assert_eq!(execution.invocation_count(), 4);
    let names: Vec<_> = execution
        .user_operations()
        .map(|op| op.name.as_deref().unwrap_or(""))
        .collect();
    assert_eq!(
        names,
        [
            "authorize payment",
            "charge card",
            "settlement window",
            "ship order"
        ]
    );
    assert!(execution
        .user_operations()
        .all(|op| op.status == OperationStatus::Succeeded));
    assert!(execution.timeline().to_string().contains("retry in"));
}

#[tokio::test]
async fn trial_reminder_waits_ten_days_in_no_time() {
    for (email, result) in [
        (
            "ada@example.com",
            "ada@example.com: converted to the paid plan",
        ),
        ("bob@example.org", "bob@example.org: trial expired"),
    ] {
        let execution = trial_reminder::run(email).await.unwrap();
        assert_eq!(execution.status(), ExecutionStatus::Succeeded);
        assert_eq!(execution.result::<String>().unwrap(), result);
        assert_eq!(execution.elapsed_millis(), 10 * DAY_MS);
        assert_eq!(execution.invocation_count(), 3);

        let waits: Vec<_> = execution
            .events_of_type(EventType::WaitStarted)
            .iter()
            .map(|e| (e.name.clone().unwrap(), e.event_timestamp))
            .collect();
        let start = execution.record().start_timestamp();
        assert_eq!(
            waits,
            [
                ("7-day trial".to_owned(), start),
                (
                    "3-day grace period".to_owned(),
                    start.plus_seconds(7 * 86_400)
                ),
            ]
        );
        let steps: Vec<_> = execution
            .events_of_type(EventType::StepSucceeded)
            .iter()
            .map(|e| {
                let offset = e.event_timestamp.as_millis() - start.as_millis();
                (e.name.clone().unwrap(), offset / DAY_MS)
            })
            .collect();
        assert_eq!(
            steps,
            [
                ("send welcome email".to_owned(), 0),
                ("send reminder".to_owned(), 7),
                ("convert or expire".to_owned(), 10),
            ]
        );
    }
}

#[tokio::test]
async fn fan_out_retries_one_quote_and_keeps_the_others() {
    let execution = fan_out::run().await.unwrap();

    assert_eq!(execution.status(), ExecutionStatus::Succeeded);
    let order: fan_out::PurchaseOrder = execution.result().unwrap();
    assert_eq!(order.number, "PO-SKU-7-contoso");
    assert_eq!(order.quote.price_cents, 1_150);
    assert_eq!(order.quotes, 3);

    // Ids follow creation order, whatever order the steps finished in.
    let ops: Vec<_> = execution
        .user_operations()
        .map(|op| {
            let attempts = op.step_details.as_ref().map_or(0, |d| d.attempt);
            (op.id.as_str(), op.name.as_deref().unwrap(), attempts)
        })
        .collect();
    assert_eq!(
        ops,
        [
            ("1", "quote northwind", 1),
            ("2", "quote contoso", 3),
            ("3", "quote fabrikam", 1),
            ("4", "place order", 1),
        ]
    );
    assert!(execution
        .user_operations()
        .all(|op| op.operation_type == OperationType::Step
            && op.status == OperationStatus::Succeeded));
    use EventType::*;
    assert_eq!(
        step_types(&execution, "quote contoso"),
        [
            StepStarted,
            StepFailed,
            StepStarted,
            StepFailed,
            StepStarted,
            StepSucceeded
        ]
    );
    assert_eq!(
        retries(&execution, "quote contoso"),
        [(1, Some(30)), (2, Some(30)), (3, None)]
    );
    // The quotes that succeeded ran once: later invocations replayed them from the history.
    for name in ["quote northwind", "quote fabrikam"] {
        assert_eq!(step_types(&execution, name), [StepStarted, StepSucceeded]);
    }
    assert_eq!(execution.invocation_count(), 3);
    assert_eq!(execution.elapsed_millis(), 60_000);
    let timeline = execution.timeline();
    assert_eq!(timeline.entries_of(EntryKind::Retry).count(), 2);
}
