//! The production checkpoint client (placeholder).
/// Placeholder.
#[derive(Debug)]
pub struct LambdaClient;
