//! The handlers on `durable-blocking` (synchronous), one module per suite.

pub mod step;
pub mod wait;

/// Runs the handler called `name` on the Lambda runtime until the runtime stops.
pub fn run(name: &str) -> Result<(), lambda_runtime::Error> {
    if let Some(done) = step::run(name) {
        return done;
    }
    if let Some(done) = wait::run(name) {
        return done;
    }
    Err(crate::unknown_handler(name))
}
