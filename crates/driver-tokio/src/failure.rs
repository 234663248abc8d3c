//! What user code gets when a durable operation failed for good.

use std::fmt::{Debug, Display};
use std::sync::Arc;

use durable_proto::ErrorObject;

/// The original Rust error behind a failure decided in this invocation.
pub(crate) type ErrorSource = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// A durable operation that failed for good: which operation, the error the service
/// recorded, and — when the failure was decided in this invocation rather than read from
/// the history — the original Rust error.
///
/// The recorded [`ErrorObject`] (type, message, data, stack trace) is identical on every
/// replay; the original error exists only in the invocation that produced it, so code that
/// must behave the same on replay matches on [`error_type`](Self::error_type) (or
/// `DurableError::is_failure_of`), and uses [`downcast_ref`](Self::downcast_ref) only for
/// extra detail (a log line, a metric).
///
/// ```
/// use durable_tokio::{DurableError, StepError};
///
/// #[derive(Debug)]
/// struct Declined { code: u16 }
/// impl std::fmt::Display for Declined {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { write!(f, "declined ({})", self.code) }
/// }
/// impl std::error::Error for Declined {}
///
/// # let e = durable_tokio::OperationFailure::new("3", Some("charge".into()),
/// #     StepError::from(Declined { code: 51 }).to_error_object())
/// #     .with_source(Declined { code: 51 });
/// # let e = DurableError::StepFailed(e);
/// // `e` is what `ctx.step("charge", ..).await` returned after the last attempt failed.
/// let DurableError::StepFailed(failure) = &e else { panic!() };
/// assert_eq!(failure.error_type(), "Declined");        // on every replay
/// assert_eq!(failure.name(), Some("charge"));
/// if let Some(declined) = failure.downcast_ref::<Declined>() {   // this invocation only
///     assert_eq!(declined.code, 51);
/// }
/// assert_eq!(e.to_string(), r#"operation "charge" (id 3) failed: Declined: declined (51)"#);
/// ```
#[derive(Clone)]
pub struct OperationFailure(Arc<Inner>);

/// Shared so that `DurableError` stays one pointer wide for its failure variants (it is
/// returned through every operation call) and clones are cheap.
#[derive(Clone)]
struct Inner {
    operation_id: String,
    name: Option<String>,
    error: ErrorObject,
    source: Option<ErrorSource>,
}

impl OperationFailure {
    /// A failure of operation `operation_id` (named `name`) with the recorded `error`.
    pub fn new(operation_id: impl Into<String>, name: Option<String>, error: ErrorObject) -> Self {
        Self(Arc::new(Inner {
            operation_id: operation_id.into(),
            name,
            error,
            source: None,
        }))
    }

    /// The same failure carrying the original Rust error.
    pub fn with_source(self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.with_shared_source(Some(Arc::new(source)))
    }

    pub(crate) fn with_shared_source(mut self, source: Option<ErrorSource>) -> Self {
        Arc::make_mut(&mut self.0).source = source;
        self
    }

    /// The failed operation's id.
    pub fn operation_id(&self) -> &str {
        &self.0.operation_id
    }

    /// The failed operation's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.0.name.as_deref()
    }

    /// The error as the service recorded it.
    pub fn error(&self) -> &ErrorObject {
        &self.0.error
    }

    /// The recorded error type (`ErrorType`): the Rust type's readable name, or the name a
    /// `StepError::new` chose.
    pub fn error_type(&self) -> &str {
        self.0.error.type_name()
    }

    /// The recorded message (`ErrorMessage`).
    pub fn message(&self) -> &str {
        self.0.error.message()
    }

    /// The original Rust error, when the failure was decided in this invocation (`None` on
    /// replay, where only the record exists, and for errors built from a name and message).
    pub fn source_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.0.source.as_deref()
    }

    /// The original error as `E`, when the failure was decided in this invocation and its
    /// error, or an error in its `source()` chain, is an `E` (so a child context's failure
    /// finds the error of the step that made it fail).
    pub fn downcast_ref<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let mut current = self
            .0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(e) = current {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            current = e.source();
        }
        None
    }

    /// The recorded error, consuming the failure.
    pub fn into_error(self) -> ErrorObject {
        Arc::try_unwrap(self.0).map_or_else(|shared| shared.error.clone(), |inner| inner.error)
    }
}

/// Two failures are equal when they name the same operation with the same recorded error;
/// the original error (present on the first run only) is not compared, so a failure equals
/// its replay.
impl PartialEq for OperationFailure {
    fn eq(&self, other: &Self) -> bool {
        self.0.operation_id == other.0.operation_id
            && self.0.name == other.0.name
            && self.0.error == other.0.error
    }
}

impl Eq for OperationFailure {}

impl Debug for OperationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperationFailure")
            .field("operation_id", &self.0.operation_id)
            .field("name", &self.0.name)
            .field("error", &self.0.error)
            .field("has_source", &self.0.source.is_some())
            .finish()
    }
}

impl Display for OperationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0.name {
            Some(name) => write!(
                f,
                "operation {name:?} (id {}) failed: ",
                self.0.operation_id
            )?,
            None => write!(f, "operation {} failed: ", self.0.operation_id)?,
        }
        write!(
            f,
            "{}: {}",
            self.0.error.type_name(),
            self.0.error.message()
        )
    }
}

impl std::error::Error for OperationFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The original error inside a value user code returned as an error, when it has one: a
/// `DurableError` (an inner operation's failure propagated with `?`), a `StepError`
/// converted from a Rust error, or a boxed `dyn Error`.
pub(crate) fn source_of<E: 'static>(error: E) -> Option<ErrorSource> {
    let mut slot = Some(error);
    let any = &mut slot as &mut dyn std::any::Any;
    if let Some(e) = any.downcast_mut::<Option<crate::DurableError>>() {
        return e.take().map(|e| Arc::new(e) as ErrorSource);
    }
    if let Some(e) = any.downcast_mut::<Option<crate::StepError>>() {
        return e.take()?.into_parts().1.map(ErrorSource::from);
    }
    if let Some(e) = any.downcast_mut::<Option<Box<dyn std::error::Error + Send + Sync>>>() {
        return e.take().map(ErrorSource::from);
    }
    None
}
