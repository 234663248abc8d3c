//! Driver for durable functions (tokio).
