//! The cold-start baseline: a minimal Lambda function on `lambda_runtime` without the durable
//! SDK, echoing its event. `cold_start` compares the durable example binaries with it.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
