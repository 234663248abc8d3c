//! Sans-IO replay engine for AWS Lambda durable functions.

mod retry;
mod rng;
mod wire;

pub use retry::*;
pub use rng::SeededRng;
pub use wire::*;
