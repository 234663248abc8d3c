//! Errors user code sees, and how any error becomes a wire `ErrorObject`.

use std::any::Any;
use std::fmt::{Debug, Display};

use durable_proto::{ErrorObject, ExecutionError};

/// An error from a durable operation.
///
/// In async handlers only the catchable variants reach user code; suspension and fatal
/// engine errors are handled by the driver and never surface here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// The step failed and will not be retried (or its retries are exhausted); carries the
    /// recorded error, identical on every replay.
    #[error("step failed: {}: {}", .0.type_name(), .0.message())]
    StepFailed(ErrorObject),
    /// A value could not be serialized for checkpointing, or a recorded value could not be
    /// read back as the requested type.
    #[error("serialization error for operation {operation_id}: {message}")]
    Serialization {
        /// The operation whose value failed.
        operation_id: String,
        /// What the serializer said.
        message: String,
    },
    /// The call was invalid (a bad name or duration); nothing was checkpointed.
    #[error(transparent)]
    InvalidArgument(ExecutionError),
    /// The invocation is suspending; propagate this error out of the handler unchanged
    /// (only blocking handlers see it).
    #[error("the invocation is suspending; return this error from the handler unchanged")]
    Suspended,
    /// The execution or invocation is ending because of an error the SDK handles (for
    /// example non-determinism or an unusable checkpoint API); propagate it unchanged (only
    /// blocking handlers see it).
    #[error("the invocation is ending: {0}")]
    Closing(String),
}

impl DurableError {
    /// The wire error this error records as.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            Self::StepFailed(e) => e.clone(),
            Self::Serialization { .. } => ErrorObject::new("SerializationError", self.to_string()),
            Self::InvalidArgument(e) => ErrorObject::new(e.error_type(), e.to_string()),
            Self::Suspended | Self::Closing(_) => {
                ErrorObject::new("DurableSdkInternalError", self.to_string())
            }
        }
    }
}

/// Converts any error user code returns into the wire form.
///
/// An [`ErrorObject`] or [`DurableError`] keeps its recorded type and message, so a step
/// failure propagated out of the handler fails the execution with the step's original
/// error. Anything else records its Rust type path as `ErrorType` (so retry filters by type
/// name match), except the anonymous carriers `String`, `&str` and boxed `dyn Error`, which
/// record `Error`; the `Display` text becomes `ErrorMessage`.
pub fn error_object_of<E: Display + Debug + 'static>(error: &E) -> ErrorObject {
    let any = error as &dyn Any;
    if let Some(e) = any.downcast_ref::<ErrorObject>() {
        return e.clone();
    }
    if let Some(e) = any.downcast_ref::<DurableError>() {
        return e.to_error_object();
    }
    ErrorObject::new(error_type_name::<E>(), error.to_string())
}

fn error_type_name<E: 'static>() -> &'static str {
    let name = std::any::type_name::<E>();
    // These say nothing about what went wrong; a type filter could not tell them apart.
    let anonymous = name == "alloc::string::String"
        || name == "&str"
        || name.starts_with("alloc::boxed::Box<dyn core::error::Error");
    if anonymous {
        "Error"
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct PaymentDeclined;

    impl Display for PaymentDeclined {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("declined")
        }
    }

    impl std::error::Error for PaymentDeclined {}

    #[test]
    fn user_types_keep_their_path_and_carriers_become_error() {
        let e = error_object_of(&PaymentDeclined);
        assert!(
            e.type_name().ends_with("::PaymentDeclined"),
            "{}",
            e.type_name()
        );
        assert_eq!(e.message(), "declined");
        assert_eq!(error_object_of(&"busy".to_owned()).type_name(), "Error");
        assert_eq!(error_object_of(&"busy").type_name(), "Error");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(PaymentDeclined);
        assert_eq!(error_object_of(&boxed).type_name(), "Error");
        assert_eq!(error_object_of(&boxed).message(), "declined");
    }

    #[test]
    fn recorded_errors_pass_through_unchanged() {
        let original = ErrorObject::new("Boom", "x");
        assert_eq!(error_object_of(&original), original);
        let step = DurableError::StepFailed(original.clone());
        assert_eq!(error_object_of(&step), original);
    }
}
