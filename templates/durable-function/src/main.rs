//! The Lambda bootstrap of {{project-name}}. Built with `cargo lambda build --release`; run
//! locally with `durable-local run` (see README.md).

#[tokio::main]
async fn main() -> Result<(), durable_tokio::LambdaError> {
    durable_tokio::run({{crate_name}}::process).await
}
