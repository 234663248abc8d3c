//! Sans-IO replay engine for AWS Lambda durable functions.

mod retry;
mod wire;

pub use retry::*;
pub use wire::*;
