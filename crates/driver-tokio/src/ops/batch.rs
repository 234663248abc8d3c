//! The core of map and parallel, shared by both front ends: the engine decides which item
//! starts and when the batch is complete; this core turns items' outcomes into results and
//! the batch's result into its record. The async front end (`ops/map.rs`) polls items as
//! futures; the blocking one runs them on scoped threads.

use std::fmt::{Debug, Display};
use std::sync::Arc;

use durable_proto::{
    BatchConfig, BatchKind, BatchRef, BatchStart, ErrorObject, ItemStart, ItemStatus,
    OperationHandle, OperationResult, StepOutcome,
};

use crate::batch_result::{BatchItem, BatchResult, ItemResult};
use crate::context::{DurableContext, Shared};
use crate::error::{error_object_of, DurableError};
use crate::failure::{source_of, ErrorSource, OperationFailure};
use crate::ops::step::{decode, value_outcome};
use crate::ops::{refusal, Interrupt, ReleaseGuard};
use crate::serdes::Serdes;

/// How a batch runs, besides the engine's configuration: its serializers and item namer.
#[doc(hidden)]
pub struct BatchSerdes<T> {
    /// Serializes each item's value (recorded on the item's operation when nested).
    pub item: Arc<dyn Serdes<T>>,
    /// Serializes the whole result (recorded on the batch's operation).
    pub batch: Arc<dyn Serdes<BatchResult<T>>>,
}

impl<T> Clone for BatchSerdes<T> {
    fn clone(&self) -> Self {
        Self {
            item: self.item.clone(),
            batch: self.batch.clone(),
        }
    }
}

/// An item handed out to run.
#[doc(hidden)]
pub enum ItemEntered {
    /// Finished on record (already counted).
    Done,
    /// Run the item's function with this context.
    Run(DurableContext),
}

/// A begun map or parallel.
#[doc(hidden)]
pub struct BatchCall<T> {
    shared: Arc<Shared>,
    start: Option<Result<BatchStart, Interrupt>>,
    batch: Option<(OperationHandle, BatchRef)>,
    results: Vec<Option<ItemResult<T>>>,
    serdes: BatchSerdes<T>,
    _guard: Option<ReleaseGuard>,
}

impl<T> BatchCall<T> {
    /// Begins a batch of `items` items in `ctx`'s context.
    pub fn begin(
        ctx: &DurableContext,
        kind: BatchKind,
        name: Option<&str>,
        items: usize,
        config: BatchConfig,
        serdes: BatchSerdes<T>,
    ) -> Self {
        let shared = ctx.shared().clone();
        let start = match u32::try_from(items) {
            Ok(n) => shared
                .lock()
                .exec
                .begin_batch(ctx.context_ref(), kind, name, n, config)
                .map_err(refusal),
            Err(_) => Err(Interrupt::User(DurableError::InvalidArgument(
                durable_proto::ExecutionError::InvalidBatch {
                    what: "map",
                    reason: format!("{items} items are more than a batch can hold"),
                },
            ))),
        };
        shared.changed.notify_one();
        let op = match &start {
            Ok(BatchStart::Done { op, .. } | BatchStart::Run { op, .. }) => Some(*op),
            _ => None,
        };
        Self {
            _guard: ReleaseGuard::watching(&shared, op),
            shared,
            start: Some(start),
            batch: None,
            results: (0..items).map(|_| None).collect(),
            serdes,
        }
    }

    /// The recorded result, when the batch finished on record (no item runs).
    pub fn finished_on_record(&mut self) -> Option<Result<BatchResult<T>, Interrupt>> {
        match self.start.take()? {
            Ok(BatchStart::Done { op, result }) => {
                Some(decode(&self.shared, op, &*self.serdes.batch, result, None))
            }
            other => {
                self.start = Some(other);
                None
            }
        }
    }

    /// User code awaits the batch: `None` when items are to run from now on, else the
    /// batch's final answer (its recorded result, or a refusal).
    pub fn enter(&mut self) -> Option<Result<BatchResult<T>, Interrupt>> {
        if let Some(done) = self.finished_on_record() {
            return Some(done);
        }
        match self.start.take() {
            Some(Ok(BatchStart::Run { op, batch })) => {
                self.shared.lock().exec.activate(op);
                self.batch = Some((op, batch));
                None
            }
            Some(Err(e)) => Some(Err(e)),
            Some(Ok(_)) => Some(Err(Interrupt::Blocked)),
            None if self.batch.is_some() => None,
            None => Some(Err(Interrupt::Blocked)),
        }
    }

    /// The next item to start, if one may start now (in index order, within the concurrency
    /// bound, before completion), begun with the name `name_of(index)` gives.
    pub fn next_item(
        &mut self,
        name_of: impl FnOnce(usize) -> Option<String>,
    ) -> Option<Result<(usize, ItemEntered), Interrupt>> {
        let (batch_op, batch) = self.batch?;
        let mut g = self.shared.lock();
        let index = g.exec.poll_batch_item(batch)?;
        let name = name_of(index as usize);
        let begun = g
            .exec
            .begin_batch_item(batch, index, name.as_deref())
            .map_err(refusal);
        drop(g);
        self.shared.changed.notify_one();
        let i = index as usize;
        Some(match begun {
            Err(e) => Err(e),
            Ok(ItemStart::Run { child }) => Ok((
                i,
                ItemEntered::Run(DurableContext::new(self.shared.clone(), child)),
            )),
            Ok(ItemStart::Done { result }) => {
                self.results[i] = Some(self.item_result(batch_op, batch, index, result, None));
                Ok((i, ItemEntered::Done))
            }
            Ok(_) => Err(Interrupt::Blocked),
        })
    }

    /// Item `index`'s function returned (`Err` for a panic). A blocking function that
    /// unwound from a suspension is not an outcome: the item stays running.
    pub fn item_returned<E>(
        &mut self,
        index: usize,
        returned: Result<Result<T, E>, ErrorObject>,
    ) -> Result<(), Interrupt>
    where
        E: Display + Debug + 'static,
    {
        let Some((batch_op, batch)) = self.batch else {
            return Err(Interrupt::Blocked);
        };
        let mut source = None;
        let outcome = match returned {
            Err(panic) => StepOutcome::Error(panic),
            Ok(Ok(value)) => value_outcome(&*self.serdes.item, &value),
            Ok(Err(e)) => {
                if crate::ops::is_unwinding(&e) {
                    return Err(Interrupt::Blocked);
                }
                let object = error_object_of(&e);
                source = source_of(e);
                StepOutcome::Error(object)
            }
        };
        let recorded =
            self.shared
                .lock()
                .exec
                .handle_batch_item_outcome(batch, index as u32, outcome);
        self.shared.changed.notify_one();
        let result = recorded.map_err(refusal)?;
        self.results[index] = Some(self.item_result(batch_op, batch, index as u32, result, source));
        Ok(())
    }

    /// Item `index` stopped without an outcome (dropped, or its thread unwound): its
    /// operation no longer holds the invocation.
    pub fn item_dropped(&self, index: usize) {
        if let Some((_, batch)) = self.batch {
            self.shared
                .lock()
                .exec
                .release_batch_item(batch, index as u32);
            self.shared.changed.notify_one();
        }
    }

    /// Gives the batch up without a result (the invocation is ending, or a front end leaves
    /// early): its running items are abandoned, and parked item threads wake to unwind.
    pub fn abandon(&mut self) {
        if let Some((_, batch)) = self.batch {
            self.shared.lock().exec.abandon_batch(batch);
            self.shared.changed.notify_one();
            self.shared.acked.send_modify(|n| *n += 1);
        }
    }

    /// Whether the batch completed (start no further item; drop the running ones).
    pub fn is_complete(&self) -> bool {
        self.batch
            .is_some_and(|(_, batch)| self.shared.lock().exec.batch_completion(batch).is_some())
    }

    /// Records the completed batch's result and returns it as a replay will read it.
    pub fn finish(&mut self) -> Result<BatchResult<T>, Interrupt> {
        let Some((op, batch)) = self.batch else {
            return Err(Interrupt::Blocked);
        };
        let (statuses, reason) = {
            let g = self.shared.lock();
            let Some(reason) = g.exec.batch_completion(batch) else {
                return Err(Interrupt::Closing(
                    "a batch was finished before it completed (a front-end bug)".into(),
                ));
            };
            (g.exec.batch_items(batch).to_vec(), reason)
        };
        let mut items = Vec::new();
        for (index, status) in statuses.iter().enumerate() {
            let result = match status {
                ItemStatus::NotStarted => continue,
                ItemStatus::Started => ItemResult::Started,
                _ => match self.results[index].take() {
                    Some(r) => r,
                    // Counted on record but not read: cannot happen through this core.
                    None => ItemResult::Started,
                },
            };
            items.push(BatchItem { index, result });
        }
        let result = BatchResult::new(items, reason);
        let (rebuild, limit) = {
            let g = self.shared.lock();
            (
                g.exec.is_batch_rebuild(batch),
                g.exec.config().max_operation_payload_bytes,
            )
        };
        // A rebuild records nothing: there is nothing to serialize.
        let outcome = if rebuild {
            StepOutcome::Value(String::new())
        } else {
            value_outcome(&*self.serdes.batch, &result)
        };
        let oversized = matches!(&outcome, StepOutcome::Value(p) if p.len() > limit);
        let recorded = self.shared.lock().exec.handle_batch_outcome(batch, outcome);
        self.shared.changed.notify_one();
        // Parked item threads of a blocking front end see their items abandoned.
        self.shared.acked.send_modify(|n| *n += 1);
        let recorded = recorded.map_err(refusal)?;
        if recorded.is_ok() && (rebuild || oversized) {
            // A result above the per-operation limit is never read back from a record (it is
            // rebuilt from the items), so neither its first run nor a rebuild round-trips it
            // through the batch serializer: both hand back the items as read from theirs.
            return Ok(result);
        }
        decode(&self.shared, op, &*self.serdes.batch, recorded, None)
    }

    /// One item's result: its value read back through the item serializer (so a first run
    /// sees what a replay sees), or its failure.
    fn item_result(
        &self,
        batch_op: OperationHandle,
        batch: BatchRef,
        index: u32,
        result: OperationResult,
        source: Option<ErrorSource>,
    ) -> ItemResult<T> {
        match result {
            Ok(_) => match decode(&self.shared, batch_op, &*self.serdes.item, result, None) {
                Ok(v) => ItemResult::Succeeded(v),
                Err(Interrupt::User(e)) => {
                    ItemResult::Failed(self.failure(batch, index, e.to_error_object(), None))
                }
                Err(_) => ItemResult::Started,
            },
            Err(error) => ItemResult::Failed(self.failure(batch, index, error, source)),
        }
    }

    fn failure(
        &self,
        batch: BatchRef,
        index: u32,
        error: ErrorObject,
        source: Option<ErrorSource>,
    ) -> OperationFailure {
        let id = self.shared.lock().exec.batch_item_id(batch, index);
        OperationFailure::new(id, None, error).with_shared_source(source)
    }
}
