//! Run AWS Lambda durable functions with async (tokio) handlers.

mod aws;
mod client;

pub use aws::LambdaClient;
pub use client::{BoxFuture, CheckpointClient};
