//! The handlers on `durable-tokio` (async), one module per suite.

pub mod callback;
pub mod child;
pub mod invoke;
pub mod map;
pub mod parallel;
pub mod plugin;
pub mod step;
pub mod wait;
pub mod wait_for_callback;
pub mod wait_for_condition;

/// Runs the handler called `name` on the Lambda runtime until the runtime stops.
pub async fn run(name: &str) -> Result<(), lambda_runtime::Error> {
    if let Some(done) = step::run(name).await {
        return done;
    }
    if let Some(done) = wait::run(name).await {
        return done;
    }
    if let Some(done) = child::run(name).await {
        return done;
    }
    if let Some(done) = callback::run(name).await {
        return done;
    }
    if let Some(done) = wait_for_callback::run(name).await {
        return done;
    }
    if let Some(done) = invoke::run(name).await {
        return done;
    }
    if let Some(done) = wait_for_condition::run(name).await {
        return done;
    }
    if let Some(done) = parallel::run(name).await {
        return done;
    }
    if let Some(done) = map::run(name).await {
        return done;
    }
    if let Some(done) = plugin::run(name).await {
        return done;
    }
    Err(crate::unknown_handler(name))
}
