//! Lambda bootstrap serving the conformance handlers on durable-blocking; `_HANDLER` picks one.

fn main() -> Result<(), lambda_runtime::Error> {
    conformance::blocking_driver::run(&conformance::handler_name())
}
