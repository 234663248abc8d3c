//! A long-running workflow on virtual time: a free trial that sends a welcome email, waits
//! 7 days, sends a reminder, waits 3 more days, then converts the account to a paid plan or
//! lets the trial expire. Ten days of waiting finish in milliseconds.
//!
//! ```text
//! cargo run -p durable-local --example trial_reminder
//! ```
//!
//! `tests/examples.rs` runs [`run`] and checks the history, so this file cannot rot.

use std::fmt;
use std::time::{Duration, Instant};

use durable_local::{format_duration, LocalRunner, RunnerError, TestExecution};
use durable_tokio::{DurableContext, DurableError};
use serde::{Deserialize, Serialize};

/// One day.
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// The execution's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Signup {
    /// Who signed up.
    pub email: String,
}

/// What the (pretend) mail and billing systems fail with.
#[derive(Debug)]
pub struct Unavailable;

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("service unavailable")
    }
}

impl std::error::Error for Unavailable {}

/// Stands in for a call to the billing system: did this customer add a card during the
/// trial? (Here: everyone but `@example.org` addresses.)
pub fn has_payment_method(email: &str) -> bool {
    !email.ends_with("@example.org")
}

/// The workflow.
pub async fn trial_reminder(signup: Signup, ctx: DurableContext) -> Result<String, DurableError> {
    let email = signup.email.clone();
    ctx.step("send welcome email", move |_| async move {
        Ok(format!("welcome sent to {email}"))
    })
    .await?;

    ctx.wait("7-day trial", 7 * DAY).await?;

    let email = signup.email.clone();
    ctx.step("send reminder", move |_| async move {
        Ok(format!("reminder sent to {email}: 3 days left"))
    })
    .await?;

    ctx.wait("3-day grace period", 3 * DAY).await?;

    let email = signup.email;
    ctx.step("convert or expire", move |_| async move {
        Ok(if has_payment_method(&email) {
            format!("{email}: converted to the paid plan")
        } else {
            format!("{email}: trial expired")
        })
    })
    .await
}

/// Runs the trial of `email` through a fresh [`LocalRunner`] to the end.
pub async fn run(email: &str) -> Result<TestExecution, RunnerError> {
    let mut runner = LocalRunner::new();
    runner.register("trials", trial_reminder);
    let signup = Signup {
        email: email.to_owned(),
    };
    runner.run("trials", signup).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("A 10-day free trial (welcome, wait 7 days, reminder, wait 3 days, convert or expire), on virtual time.\n");
    let mut shown = None;
    for email in ["ada@example.com", "bob@example.org"] {
        let wall = Instant::now();
        let execution = run(email).await?;
        let wall = wall.elapsed();
        println!(
            "{:<16} {}  {} of virtual time, {:.1} ms of wall time, {} invocations",
            email,
            execution.result_json().unwrap_or("(no result)"),
            format_duration(execution.elapsed_millis()),
            wall.as_secs_f64() * 1000.0,
            execution.invocation_count()
        );
        shown.get_or_insert(execution);
    }
    if let Some(execution) = shown {
        println!("\n{}", execution.timeline());
    }
    Ok(())
}
