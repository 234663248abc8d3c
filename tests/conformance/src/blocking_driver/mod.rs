//! The handlers on `durable-blocking` (synchronous), one module per suite.

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

/// A suite's dispatcher: runs the handler called `name`, if it is one of the suite's.
type Suite = fn(&str) -> Option<Result<(), lambda_runtime::Error>>;

/// Runs the handler called `name` on the Lambda runtime until the runtime stops.
pub fn run(name: &str) -> Result<(), lambda_runtime::Error> {
    let suites: [Suite; 10] = [
        step::run,
        wait::run,
        child::run,
        callback::run,
        wait_for_callback::run,
        invoke::run,
        wait_for_condition::run,
        parallel::run,
        map::run,
        plugin::run,
    ];
    for suite in suites {
        if let Some(done) = suite(name) {
            return done;
        }
    }
    Err(crate::unknown_handler(name))
}
