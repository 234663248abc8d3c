//! Lambda bootstrap serving the conformance handlers on durable-tokio; `_HANDLER` picks one.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    conformance::tokio_driver::run(&conformance::handler_name()).await
}
