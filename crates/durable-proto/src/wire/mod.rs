//! Wire types of the durable-execution protocol, PascalCase as the service sends them.

mod error_object;

pub use error_object::ErrorObject;
