//! Errors user code sees, and how any error becomes a wire `ErrorObject`.

use std::any::Any;
use std::fmt::{Debug, Display};

use durable_proto::{ErrorObject, ExecutionError, OperationType};

use crate::failure::OperationFailure;

/// An error from a durable operation.
///
/// In async handlers only the catchable variants reach user code; suspension and fatal
/// engine errors are handled by the driver and never surface here.
///
/// A failure has one variant per operation kind, each carrying an [`OperationFailure`]:
/// the operation's id and name, the recorded error object (type, message, data, stack
/// trace; identical on every replay) and, for a failure decided in this invocation, the
/// original Rust error ([`OperationFailure::downcast_ref`], also reachable through
/// [`std::error::Error::source`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurableError {
    /// A step failed for good: its retries are exhausted, or its error was not retried.
    #[error(transparent)]
    StepFailed(OperationFailure),
    /// A step's last attempt ran longer than its timeout (`.timeout(..)`).
    #[error(transparent)]
    StepTimedOut(OperationFailure),
    /// A child context's function returned an error (or panicked).
    #[error(transparent)]
    ChildContextFailed(OperationFailure),
    /// The external system completed a callback with a failure.
    #[error(transparent)]
    CallbackFailed(OperationFailure),
    /// A callback's overall timeout elapsed before the external system completed it.
    #[error(transparent)]
    CallbackTimedOut(OperationFailure),
    /// A callback's heartbeat timeout elapsed without a heartbeat.
    #[error(transparent)]
    CallbackHeartbeatTimedOut(OperationFailure),
    /// A chained invoke's target failed.
    #[error(transparent)]
    InvokeFailed(OperationFailure),
    /// A chained invoke's target timed out.
    #[error(transparent)]
    InvokeTimedOut(OperationFailure),
    /// A chained invoke's target execution was stopped.
    #[error(transparent)]
    InvokeStopped(OperationFailure),
    /// An item of a map or parallel failed ([`BatchResult::throw_if_error`]).
    ///
    /// [`BatchResult::throw_if_error`]: crate::BatchResult::throw_if_error
    #[error(transparent)]
    BatchItemFailed(OperationFailure),
    /// A wait-for-condition check failed (returned an error or panicked).
    #[error(transparent)]
    ConditionFailed(OperationFailure),
    /// A wait-for-condition's strategy ran out of attempts before the condition held.
    #[error(transparent)]
    ConditionAttemptsExhausted(OperationFailure),
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
    /// The error user code sees for an operation of `kind` that finished with `failure`
    /// (recorded, or decided in this invocation): a value the SDK could not serialize is a
    /// [`Serialization`](DurableError::Serialization) error naming the operation, anything
    /// else the kind's failure variant. Both are the same on every replay.
    pub(crate) fn from_failure(kind: &OperationType, failure: OperationFailure) -> Self {
        if failure.error_type() == durable_proto::SERIALIZATION_ERROR_TYPE {
            return Self::Serialization {
                operation_id: failure.operation_id().to_owned(),
                message: failure.message().to_owned(),
            };
        }
        match kind {
            OperationType::Context => Self::ChildContextFailed(failure),
            OperationType::Step
                if failure.error_type() == durable_proto::STEP_TIMED_OUT_ERROR_TYPE =>
            {
                Self::StepTimedOut(failure)
            }
            // Every other kind that can fail today is a step; a new kind adds its variant.
            _ => Self::StepFailed(failure),
        }
    }

    /// The failure, for any operation kind's failure variant.
    pub fn failure(&self) -> Option<&OperationFailure> {
        match self {
            Self::StepFailed(f)
            | Self::StepTimedOut(f)
            | Self::ChildContextFailed(f)
            | Self::CallbackFailed(f)
            | Self::CallbackTimedOut(f)
            | Self::CallbackHeartbeatTimedOut(f)
            | Self::InvokeFailed(f)
            | Self::InvokeTimedOut(f)
            | Self::InvokeStopped(f)
            | Self::BatchItemFailed(f)
            | Self::ConditionFailed(f)
            | Self::ConditionAttemptsExhausted(f) => Some(f),
            _ => None,
        }
    }

    /// The structured data a failed step recorded ([`StepError::with_data`]), read as `T`:
    /// `None` when there is none, `Some(Err(..))` when it does not match `T`.
    pub fn error_data<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Option<Result<T, serde_json::Error>> {
        let data = self.failure()?.error().error_data.as_deref()?;
        Some(serde_json::from_str(data))
    }

    /// A stable code for this kind of error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::StepFailed(_) => "DT-E001",
            Self::Serialization { .. } => "DT-E002",
            Self::InvalidArgument(_) => "DT-E003",
            Self::Suspended => "DT-E004",
            Self::Closing(_) => "DT-E005",
            Self::ChildContextFailed(_) => "DT-E006",
            Self::CallbackFailed(_) => "DT-E007",
            Self::CallbackTimedOut(_) => "DT-E008",
            Self::CallbackHeartbeatTimedOut(_) => "DT-E009",
            Self::InvokeFailed(_) => "DT-E010",
            Self::InvokeTimedOut(_) => "DT-E011",
            Self::InvokeStopped(_) => "DT-E012",
            Self::BatchItemFailed(_) => "DT-E013",
            Self::ConditionFailed(_) => "DT-E014",
            Self::ConditionAttemptsExhausted(_) => "DT-E015",
            Self::StepTimedOut(_) => "DT-E016",
        }
    }

    /// Whether this is a failure recorded for a value of error type `E`, matched by
    /// [`readable_type_name`] (so it works on replay, where the original value is gone).
    pub fn is_failure_of<E: 'static>(&self) -> bool {
        self.failure()
            .is_some_and(|f| f.error_type() == readable_type_name::<E>())
    }

    /// The wire error this error records as.
    pub fn to_error_object(&self) -> ErrorObject {
        match self {
            Self::Serialization { .. } => ErrorObject::new("SerializationError", self.to_string()),
            Self::InvalidArgument(e) => ErrorObject::new(e.error_type(), e.to_string()),
            // Every failure variant records the error it carries.
            _ => match self.failure() {
                Some(f) => f.error().clone(),
                None => ErrorObject::new("DurableSdkInternalError", self.to_string()),
            },
        }
    }
}

/// The error a step body returns.
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it, so `?` works in a body
/// on every error type and `Ok(value)` needs no type annotation. The conversion records the
/// error's [`readable_type_name`] (so `retry_if_error_type("PaymentDeclined")` matches the
/// caller's own type, and `DurableError::is_failure_of::<PaymentDeclined>()` matches the
/// recorded failure on replay) and its `Display` text; an [`ErrorObject`] or a
/// [`DurableError`] keeps the type it already records. To choose a stable name of your own
/// or attach structured data that survives the round trip, build one with
/// [`StepError::new`] and [`with_data`](StepError::with_data).
///
/// ```
/// use durable_tokio::StepError;
///
/// #[derive(Debug)]
/// struct Declined;
/// impl std::fmt::Display for Declined {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("card declined") }
/// }
/// impl std::error::Error for Declined {}
///
/// let e = StepError::from(Declined);
/// assert_eq!(e.error_type(), "Declined");
/// assert_eq!(e.message(), "card declined");
/// assert!(e.source_error().is_some_and(|s| s.is::<Declined>()));
///
/// let e = StepError::new("PaymentDeclined", "insufficient funds").with_data(&serde_json::json!({"code": 51}));
/// assert_eq!(e.to_error_object().error_data.as_deref(), Some(r#"{"code":51}"#));
/// ```
pub struct StepError {
    object: ErrorObject,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StepError {
    /// An error with a type name of your choosing (stable across refactors) and a message.
    pub fn new(error_type: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            object: ErrorObject::new(error_type, message),
            source: None,
        }
    }

    /// An error with only a message (recorded with type `Error`), e.g. for string errors:
    /// `.map_err(StepError::msg)?`.
    pub fn msg(message: impl Display) -> Self {
        Self::new("Error", message.to_string())
    }

    /// Attaches structured data, serialized as JSON into the recorded `ErrorData`; read it
    /// back from the failure with [`DurableError::error_data`]. Data that cannot be
    /// serialized is left out.
    pub fn with_data<T: serde::Serialize + ?Sized>(mut self, data: &T) -> Self {
        self.object.error_data = serde_json::to_string(data).ok();
        self
    }

    /// The type name this error records.
    pub fn error_type(&self) -> &str {
        self.object.type_name()
    }

    /// The message this error records.
    pub fn message(&self) -> &str {
        self.object.message()
    }

    /// The original error, when this one was converted from a Rust error (first runs only:
    /// a replay has only the record).
    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.source.as_deref()
    }

    /// The wire form.
    pub fn to_error_object(&self) -> ErrorObject {
        self.object.clone()
    }

    /// The wire form and the original error.
    pub(crate) fn into_parts(
        self,
    ) -> (
        ErrorObject,
        Option<Box<dyn std::error::Error + Send + Sync>>,
    ) {
        (self.object, self.source)
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for StepError {
    fn from(error: E) -> Self {
        let object = error_object_of(&error);
        Self {
            object,
            source: Some(Box::new(error)),
        }
    }
}

impl Debug for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepError")
            .field("error_type", &self.object.type_name())
            .field("message", &self.object.message())
            .finish_non_exhaustive()
    }
}

impl Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(&self.object, f)
    }
}

/// Converts any error user code returns into the wire form.
///
/// An [`ErrorObject`] or [`DurableError`] keeps its recorded type and message, so a step
/// failure propagated out of the handler fails the execution with the step's original
/// error. Anything else records its [`readable_type_name`] as `ErrorType`, except the
/// anonymous carriers `String`, `&str` and boxed `dyn Error`, which record `Error`; the
/// `Display` text becomes `ErrorMessage`.
pub fn error_object_of<E: Display + Debug + 'static>(error: &E) -> ErrorObject {
    let any = error as &dyn Any;
    if let Some(e) = any.downcast_ref::<ErrorObject>() {
        return e.clone();
    }
    if let Some(e) = any.downcast_ref::<DurableError>() {
        return e.to_error_object();
    }
    if let Some(e) = any.downcast_ref::<StepError>() {
        return e.to_error_object();
    }
    ErrorObject::new(error_type_name::<E>(), error.to_string())
}

/// The name an error of type `E` is recorded under: the type's own name without its
/// module path, closures or generic arguments (`my_crate::billing::PaymentDeclined` and
/// `Declined<String>` record as `PaymentDeclined` and `Declined`), so records stay
/// matchable when code moves between modules and retry filters match generic types.
pub fn readable_type_name<E: ?Sized + 'static>() -> String {
    let full = std::any::type_name::<E>();
    let base = full.split('<').next().unwrap_or(full);
    let last = base.rsplit("::").next().unwrap_or(base);
    if last.is_empty() {
        full.to_owned()
    } else {
        last.to_owned()
    }
}

fn error_type_name<E: 'static>() -> String {
    let name = std::any::type_name::<E>();
    // These say nothing about what went wrong; a type filter could not tell them apart.
    let anonymous = name == "alloc::string::String"
        || name == "&str"
        || name.starts_with("alloc::boxed::Box<dyn core::error::Error");
    if anonymous {
        "Error".to_owned()
    } else {
        readable_type_name::<E>()
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
        assert_eq!(e.type_name(), "PaymentDeclined");
        assert_eq!(e.message(), "declined");
        assert_eq!(error_object_of(&"busy".to_owned()).type_name(), "Error");
        assert_eq!(error_object_of(&"busy").type_name(), "Error");
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(PaymentDeclined);
        assert_eq!(error_object_of(&boxed).type_name(), "Error");
        assert_eq!(error_object_of(&boxed).message(), "declined");
    }

    #[derive(Debug)]
    struct Generic<T>(T);

    impl<T> Display for Generic<T> {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("generic")
        }
    }

    #[test]
    fn generic_and_nested_types_record_a_readable_name() {
        // Finding 7 of the reliability probe: `…::{{closure}}::Generic<alloc::string::String>`
        // was recorded and `retry_if_error_type("Generic")` could not match it.
        fn inner() -> ErrorObject {
            #[derive(Debug)]
            struct Local;
            impl Display for Local {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("l")
                }
            }
            error_object_of(&Local)
        }
        assert_eq!(
            error_object_of(&Generic("x".to_owned())).type_name(),
            "Generic"
        );
        assert_eq!(inner().type_name(), "Local");
        let policy = durable_proto::RetryPolicy::default().retry_if_error_type("Generic");
        assert!(policy.is_retryable(&error_object_of(&Generic(1u8))));
        let failure = OperationFailure::new("1", None, error_object_of(&PaymentDeclined));
        assert!(DurableError::StepFailed(failure).is_failure_of::<PaymentDeclined>());
    }

    #[test]
    fn recorded_errors_pass_through_unchanged() {
        let original = ErrorObject::new("Boom", "x");
        assert_eq!(error_object_of(&original), original);
        let step = DurableError::StepFailed(OperationFailure::new("1", None, original.clone()));
        assert_eq!(error_object_of(&step), original);
    }
}
