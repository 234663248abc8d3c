//! Retry strategies (placeholder).
