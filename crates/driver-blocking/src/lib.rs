//! Driver for durable functions (blocking).
