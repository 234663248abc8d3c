//! What a map or parallel returns: every started item's outcome, in index order, and why
//! the batch completed.

use durable_proto::{CompletionReason, ErrorObject};
use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};

use crate::error::DurableError;
use crate::failure::OperationFailure;

/// How one item of a batch ended.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ItemResult<T> {
    /// The item returned this value.
    Succeeded(T),
    /// The item failed (returned an error or panicked).
    Failed(OperationFailure),
    /// The item started but had not finished when the batch completed; it was abandoned.
    Started,
}

/// One started item of a batch.
#[derive(Debug, Clone)]
pub struct BatchItem<T> {
    /// The item's position in the input (0-based).
    pub index: usize,
    /// How it ended.
    pub result: ItemResult<T>,
}

impl<T> BatchItem<T> {
    /// The value, if the item succeeded.
    pub fn value(&self) -> Option<&T> {
        match &self.result {
            ItemResult::Succeeded(v) => Some(v),
            _ => None,
        }
    }

    /// The failure, if the item failed.
    pub fn error(&self) -> Option<&OperationFailure> {
        match &self.result {
            ItemResult::Failed(f) => Some(f),
            _ => None,
        }
    }
}

/// Whether any item of a batch failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStatus {
    /// No item failed.
    Succeeded,
    /// At least one item failed.
    Failed,
}

impl BatchStatus {
    /// `SUCCEEDED` or `FAILED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "SUCCEEDED",
            Self::Failed => "FAILED",
        }
    }
}

/// The result of a map or parallel: the items that started, in index order (items never
/// started because the batch completed first are not listed), and the completion reason.
///
/// A batch with failed items is still a result, not an error: inspect it, or turn the first
/// failure into an error with [`throw_if_error`](Self::throw_if_error).
///
/// ```
/// use durable_tokio::{BatchItem, BatchResult, CompletionReason, ItemResult};
/// let batch = BatchResult::new(
///     vec![
///         BatchItem { index: 0, result: ItemResult::Succeeded(2) },
///         BatchItem { index: 1, result: ItemResult::Succeeded(4) },
///     ],
///     CompletionReason::AllCompleted,
/// );
/// assert_eq!(batch.values(), vec![&2, &4]);
/// assert!(!batch.has_failure());
/// assert_eq!(batch.throw_if_error().unwrap().into_values(), vec![2, 4]);
/// ```
#[derive(Debug, Clone)]
pub struct BatchResult<T> {
    items: Vec<BatchItem<T>>,
    reason: CompletionReason,
}

impl<T> BatchResult<T> {
    /// A result of `items` (in index order) that completed for `reason`; for custom batch
    /// serializers, which rebuild the result from what they recorded.
    pub fn new(items: Vec<BatchItem<T>>, reason: CompletionReason) -> Self {
        Self { items, reason }
    }

    /// A result in which every item succeeded with these values, in order.
    pub fn from_values(values: impl IntoIterator<Item = T>) -> Self {
        let items = values
            .into_iter()
            .enumerate()
            .map(|(index, v)| BatchItem {
                index,
                result: ItemResult::Succeeded(v),
            })
            .collect();
        Self::new(items, CompletionReason::AllCompleted)
    }

    /// Every started item, in index order.
    pub fn items(&self) -> &[BatchItem<T>] {
        &self.items
    }

    /// Every started item, in index order, by value.
    pub fn into_items(self) -> Vec<BatchItem<T>> {
        self.items
    }

    /// The items that succeeded.
    pub fn succeeded(&self) -> Vec<&BatchItem<T>> {
        self.items.iter().filter(|i| i.value().is_some()).collect()
    }

    /// The items that failed.
    pub fn failed(&self) -> Vec<&BatchItem<T>> {
        self.items.iter().filter(|i| i.error().is_some()).collect()
    }

    /// The items that started and were abandoned when the batch completed.
    pub fn started(&self) -> Vec<&BatchItem<T>> {
        self.items
            .iter()
            .filter(|i| matches!(i.result, ItemResult::Started))
            .collect()
    }

    /// The values of the items that succeeded, in index order.
    pub fn values(&self) -> Vec<&T> {
        self.items.iter().filter_map(BatchItem::value).collect()
    }

    /// The values of the items that succeeded, in index order, by value.
    pub fn into_values(self) -> Vec<T> {
        self.items
            .into_iter()
            .filter_map(|i| match i.result {
                ItemResult::Succeeded(v) => Some(v),
                _ => None,
            })
            .collect()
    }

    /// The failures, in index order.
    pub fn errors(&self) -> Vec<&OperationFailure> {
        self.items.iter().filter_map(BatchItem::error).collect()
    }

    /// Whether any item failed.
    pub fn has_failure(&self) -> bool {
        self.items.iter().any(|i| i.error().is_some())
    }

    /// The first failure as [`DurableError::BatchItemFailed`], or the result itself.
    pub fn throw_if_error(self) -> Result<Self, DurableError> {
        match self.errors().first() {
            Some(f) => Err(DurableError::BatchItemFailed((*f).clone())),
            None => Ok(self),
        }
    }

    /// Items that succeeded.
    pub fn success_count(&self) -> usize {
        self.items.iter().filter(|i| i.value().is_some()).count()
    }

    /// Items that failed.
    pub fn failure_count(&self) -> usize {
        self.items.iter().filter(|i| i.error().is_some()).count()
    }

    /// Items abandoned unfinished.
    pub fn started_count(&self) -> usize {
        self.started().len()
    }

    /// Items that started (finished or not): the length of [`items`](Self::items).
    pub fn total_count(&self) -> usize {
        self.items.len()
    }

    /// [`BatchStatus::Failed`] if any item failed.
    pub fn status(&self) -> BatchStatus {
        if self.has_failure() {
            BatchStatus::Failed
        } else {
            BatchStatus::Succeeded
        }
    }

    /// Why the batch completed.
    pub fn completion_reason(&self) -> CompletionReason {
        self.reason
    }
}

/// The recorded form: `{"all":[{"index":0,"status":"SUCCEEDED","result":…},
/// {"index":1,"status":"FAILED","id":"2-2","error":{…}}],"completionReason":"ALL_COMPLETED"}`.
#[derive(Serialize, Deserialize)]
struct Wire<T> {
    all: Vec<WireItem<T>>,
    #[serde(rename = "completionReason")]
    completion_reason: String,
}

#[derive(Serialize, Deserialize)]
struct WireItem<T> {
    index: usize,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    result: Option<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<ErrorObject>,
}

fn none<T>() -> Option<T> {
    None
}

impl<T: Serialize> Serialize for BatchResult<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let all = self
            .items
            .iter()
            .map(|i| {
                let (status, result, failure) = match &i.result {
                    ItemResult::Succeeded(v) => ("SUCCEEDED", Some(v), None),
                    ItemResult::Failed(f) => ("FAILED", None, Some(f)),
                    ItemResult::Started => ("STARTED", None, None),
                };
                WireItem {
                    index: i.index,
                    status: status.to_owned(),
                    id: failure.map(|f| f.operation_id().to_owned()),
                    name: failure.and_then(|f| f.name().map(str::to_owned)),
                    result,
                    error: failure.map(|f| f.error().clone()),
                }
            })
            .collect();
        Wire {
            all,
            completion_reason: self.reason.as_str().to_owned(),
        }
        .serialize(s)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for BatchResult<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let wire = Wire::<T>::deserialize(d)?;
        let reason = CompletionReason::from_name(&wire.completion_reason).ok_or_else(|| {
            D::Error::custom(format!(
                "unknown completion reason {:?}",
                wire.completion_reason
            ))
        })?;
        let mut items = Vec::with_capacity(wire.all.len());
        for w in wire.all {
            let result = match w.status.as_str() {
                "SUCCEEDED" => match w.result {
                    Some(v) => ItemResult::Succeeded(v),
                    // A recorded null: the value type must accept it.
                    None => ItemResult::Succeeded(
                        serde_json::from_str("null").map_err(D::Error::custom)?,
                    ),
                },
                "FAILED" => ItemResult::Failed(OperationFailure::new(
                    w.id.unwrap_or_default(),
                    w.name,
                    w.error
                        .unwrap_or_else(|| ErrorObject::new("BatchItemFailed", "")),
                )),
                "STARTED" => ItemResult::Started,
                other => return Err(D::Error::custom(format!("unknown item status {other:?}"))),
            };
            items.push(BatchItem {
                index: w.index,
                result,
            });
        }
        Ok(Self { items, reason })
    }
}
