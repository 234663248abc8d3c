//! Map and parallel: a CONTEXT operation (sub-type `Map` / `Parallel`) whose items run in
//! child contexts of their own (`MapIteration` / `ParallelBranch`), or, when flat, in
//! virtual contexts whose operations are recorded directly under the batch.
//!
//! The engine decides everything that must be identical on every replay: which item starts
//! next (in index order, at most `max_concurrency` at once), each item's id (its index, never
//! its finishing order), when the completion rule is met (after which no item starts and
//! late outcomes are ignored), and what the batch records.
//!
//! ```text
//!  no record ──START──▶ items start in index order; each ends ──▶ completion rule met
//!            ──SUCCEED(batch result)──▶ SUCCEEDED ─replay─▶ recorded result, no item runs
//!  result above the per-operation limit ──SUCCEED(summary, ReplayChildren)──▶ replay re-runs
//!            exactly the items the summary lists as finished, and rebuilds the same result
//!  STARTED   ─replay─▶ items replay from their own records, unfinished ones run on
//! ```

use crate::begin::Kind;
use crate::completion::{BatchCounts, CompletionConfig, CompletionReason};
use crate::context::ContextStart;
use crate::error::ExecutionError;
use crate::execution::Execution;
use crate::journal::ContextRef;
use crate::operation::OperationHandle;
use crate::step::{OperationResult, StepOutcome, SERIALIZATION_ERROR_TYPE};
use crate::wire::{ErrorObject, OperationType};

/// Which batch operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchKind {
    /// `map`: one function over a list of items (sub-types `Map` / `MapIteration`).
    Map,
    /// `parallel`: a list of branches (sub-types `Parallel` / `ParallelBranch`).
    Parallel,
}

impl BatchKind {
    /// The sub-type of the batch's own CONTEXT operation.
    pub fn sub_type(self) -> &'static str {
        match self {
            Self::Map => "Map",
            Self::Parallel => "Parallel",
        }
    }

    /// The sub-type of each item's CONTEXT operation.
    pub fn item_sub_type(self) -> &'static str {
        match self {
            Self::Map => "MapIteration",
            Self::Parallel => "ParallelBranch",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Self::Map => "map",
            Self::Parallel => "parallel",
        }
    }
}

/// How a batch's items are recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Nesting {
    /// Each item is a CONTEXT operation of its own: its result is recorded, and a replay
    /// returns it without running the item.
    #[default]
    Nested,
    /// Items are virtual contexts: no operation per item (fewer operations and checkpoints),
    /// their operations are recorded directly under the batch, and a replay runs the item
    /// again (its operations return their recorded results).
    Flat,
}

/// How a batch runs.
#[derive(Debug, Clone, Default)]
pub struct BatchConfig {
    /// At most this many items in flight at once (`None`: no bound). Zero is refused.
    pub max_concurrency: Option<u32>,
    /// When the batch completes.
    pub completion: CompletionConfig,
    /// How items are recorded.
    pub nesting: Nesting,
}

/// Where an item of a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemStatus {
    /// Not started (and, once the batch completed, never will be).
    NotStarted,
    /// Started and not finished; once the batch completed, abandoned.
    Started,
    /// Succeeded.
    Succeeded,
    /// Failed.
    Failed,
}

impl ItemStatus {
    fn code(self) -> char {
        match self {
            Self::NotStarted => '-',
            Self::Started => 'R',
            Self::Succeeded => 'S',
            Self::Failed => 'F',
        }
    }

    fn from_code(c: char) -> Option<Self> {
        Some(match c {
            '-' => Self::NotStarted,
            'R' => Self::Started,
            'S' => Self::Succeeded,
            'F' => Self::Failed,
            _ => return None,
        })
    }
}

/// A batch being run in this invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchRef(u32);

/// What the driver does when user code runs a map or parallel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchStart {
    /// The batch finished on record: decode this result without running any item.
    Done {
        /// The batch's operation.
        op: OperationHandle,
        /// Its recorded result.
        result: OperationResult,
    },
    /// Call [`Execution::activate`] on `op`, then start items as
    /// [`poll_batch_item`](Execution::poll_batch_item) hands them out until
    /// [`batch_completion`](Execution::batch_completion) says the batch is complete.
    Run {
        /// The batch's operation.
        op: OperationHandle,
        /// The batch.
        batch: BatchRef,
    },
}

/// What the driver does with an item [`poll_batch_item`](Execution::poll_batch_item) handed
/// out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ItemStart {
    /// The item finished on record (it is counted already): decode its result.
    Done {
        /// Its recorded result.
        result: OperationResult,
    },
    /// Run the item's function in context `child`, then report with
    /// [`handle_batch_item_outcome`](Execution::handle_batch_item_outcome).
    Run {
        /// The context the item's operations are begun in.
        child: ContextRef,
    },
}

#[derive(Debug)]
pub(crate) struct BatchState {
    op: OperationHandle,
    kind: BatchKind,
    ctx: ContextRef,
    config: BatchConfig,
    statuses: Vec<ItemStatus>,
    /// Each running item's CONTEXT operation (nested) and context.
    items: Vec<Option<(Option<OperationHandle>, ContextRef)>>,
    next: usize,
    running: u32,
    counts: BatchCounts,
    reason: Option<CompletionReason>,
    /// The recorded summary of a batch being rebuilt (`ReplayChildren`): exactly these
    /// statuses and this reason.
    forced: Option<(Vec<ItemStatus>, CompletionReason)>,
    /// Items the summary lists as finished that have not ended with that status yet; kept
    /// as a count so that each item's end is checked in constant time (a scan of the
    /// summary per item made rebuilding a 10,000-item batch quadratic).
    forced_pending: usize,
    recorded: bool,
}

impl Execution {
    /// The user code runs a map or parallel of `items` items named `name` in context `ctx`.
    ///
    /// The configuration is checked first (a zero `max_concurrency`, a percentage outside
    /// 0–100, a custom rule with thresholds are [`ExecutionError::InvalidBatch`] with nothing
    /// checkpointed).
    pub fn begin_batch(
        &mut self,
        ctx: ContextRef,
        kind: BatchKind,
        name: Option<&str>,
        items: u32,
        config: BatchConfig,
    ) -> Result<BatchStart, ExecutionError> {
        let what = kind.what();
        if config.max_concurrency == Some(0) {
            return Err(ExecutionError::InvalidBatch {
                what,
                reason: "max_concurrency must be at least 1 (leave it unset for no bound)".into(),
            });
        }
        config.completion.validate(what)?;
        let begun = self.begin(
            ctx,
            Kind {
                operation_type: OperationType::Context,
                sub_type: kind.sub_type(),
            },
            name,
        )?;
        let op = begun.op;
        let summary = begun.record.result.clone();
        let rebuild = begun.record.replay_children;
        let start = self.start_context(ctx, op, begun.record)?;
        let ContextStart::Run { child, .. } = start else {
            let ContextStart::Done { op, result } = start else {
                unreachable!("ContextStart has two variants")
            };
            return Ok(BatchStart::Done { op, result });
        };
        let forced = if rebuild {
            Some(
                parse_summary(summary.as_deref(), items as usize).ok_or_else(|| {
                    let e = ExecutionError::MalformedRecord {
                        id: self.identity(op).map_or_else(String::new, |i| i.id.clone()),
                        what: "a batch recorded with ReplayChildren lacks its item summary",
                    };
                    self.fail_execution(&e);
                    e
                })?,
            )
        } else {
            None
        };
        let mut state = BatchState {
            op,
            kind,
            ctx: child,
            config,
            statuses: vec![ItemStatus::NotStarted; items as usize],
            items: vec![None; items as usize],
            next: 0,
            running: 0,
            counts: BatchCounts {
                total: items,
                ..BatchCounts::default()
            },
            reason: None,
            forced_pending: forced.as_ref().map_or(0, |(statuses, _)| {
                statuses.iter().filter(|s| is_finished(**s)).count()
            }),
            forced,
            recorded: false,
        };
        if let Some((statuses, _)) = &state.forced {
            // Items abandoned when the batch completed stay abandoned: never run again.
            for (i, s) in statuses.iter().enumerate() {
                if *s == ItemStatus::Started {
                    state.statuses[i] = ItemStatus::Started;
                    state.counts.started += 1;
                }
            }
        }
        state.reason = state.evaluate();
        self.batches.push(state);
        Ok(BatchStart::Run {
            op,
            batch: BatchRef((self.batches.len() - 1) as u32),
        })
    }

    /// The next item to start, if one may start now: in index order, while fewer than
    /// `max_concurrency` run and the batch is not complete. Call it again after every item
    /// ends.
    pub fn poll_batch_item(&mut self, batch: BatchRef) -> Option<u32> {
        let closing = self.is_closing();
        let b = self.batches.get(batch.0 as usize)?;
        if closing || b.recorded {
            return None;
        }
        if b.reason.is_some() {
            return self.poll_recorded_item(batch);
        }
        let b = self.batches.get_mut(batch.0 as usize)?;
        if b.config.max_concurrency.is_some_and(|m| b.running >= m) {
            return None;
        }
        while b.next < b.statuses.len() {
            let i = b.next;
            b.next += 1;
            let skip = b
                .forced
                .as_ref()
                .is_some_and(|(s, _)| !matches!(s[i], ItemStatus::Succeeded | ItemStatus::Failed));
            if skip || b.statuses[i] != ItemStatus::NotStarted {
                continue;
            }
            b.statuses[i] = ItemStatus::Started;
            b.running += 1;
            b.counts.started += 1;
            return Some(i as u32);
        }
        None
    }

    /// After the rule was met in a replay: the items this invocation had not reached but an
    /// earlier one had. An item finished on record ended before the rule was met (nothing is
    /// recorded for an item afterwards), so it belongs to the result: it is handed out to be
    /// read back (its begin returns `ItemStart::Done`); an item started on record but not
    /// finished was running when the rule was met, so it is abandoned. Flat items have no
    /// record of their own and cannot be caught up this way.
    fn poll_recorded_item(&mut self, batch: BatchRef) -> Option<u32> {
        let b = self.batches.get(batch.0 as usize)?;
        if b.forced.is_some() || b.config.nesting == Nesting::Flat {
            return None;
        }
        let batch_id = self.identity(b.op)?.id.clone();
        loop {
            let b = self.batches.get(batch.0 as usize)?;
            let i = b.next;
            if i >= b.statuses.len() {
                return None;
            }
            let status = b.statuses[i];
            let id = crate::ids::operation_id(Some(&batch_id), i as u32 + 1);
            let recorded = self.journal.get(&id).map(|r| r.is_terminal());
            let b = self.batches.get_mut(batch.0 as usize)?;
            b.next += 1;
            if status != ItemStatus::NotStarted {
                continue;
            }
            match recorded {
                Some(true) => {
                    b.statuses[i] = ItemStatus::Started;
                    b.running += 1;
                    b.counts.started += 1;
                    return Some(i as u32);
                }
                Some(false) => {
                    b.statuses[i] = ItemStatus::Started;
                    b.counts.started += 1;
                }
                None => {}
            }
        }
    }

    /// Begins item `index` (handed out by [`poll_batch_item`](Self::poll_batch_item)) named
    /// `name`: a CONTEXT operation at position `index + 1` of the batch (nested), or a virtual
    /// context (flat). An item finished on record is counted at once.
    pub fn begin_batch_item(
        &mut self,
        batch: BatchRef,
        index: u32,
        name: Option<&str>,
    ) -> Result<ItemStart, ExecutionError> {
        let b = self.batch(batch)?;
        let (kind, ctx, nesting, batch_op) = (b.kind, b.ctx, b.config.nesting, b.op);
        let i = index as usize;
        if b.statuses.get(i) != Some(&ItemStatus::Started) || b.items[i].is_some() {
            return Err(ExecutionError::Misuse {
                what: "a batch item was begun that was not handed out, or twice",
            });
        }
        if nesting == Nesting::Flat {
            let batch_id = self.slot(batch_op)?.identity.id.clone();
            let path = crate::ids::operation_id(Some(&batch_id), index + 1);
            let child = self.journal.open_virtual_context(ctx, path, batch_id);
            self.batches[batch.0 as usize].items[i] = Some((None, child));
            return Ok(ItemStart::Run { child });
        }
        let kind = Kind {
            operation_type: OperationType::Context,
            sub_type: kind.item_sub_type(),
        };
        let begun = self.begin_at(ctx, kind, name, Some(index + 1))?;
        let op = begun.op;
        match self.start_context(ctx, op, begun.record)? {
            ContextStart::Run { child, .. } => {
                self.activate(op);
                self.batches[batch.0 as usize].items[i] = Some((Some(op), child));
                Ok(ItemStart::Run { child })
            }
            ContextStart::Done { result, .. } => {
                self.end_item(batch, i, result.is_ok());
                Ok(ItemStart::Done { result })
            }
        }
    }

    /// Item `index` of `batch` returned (`outcome`, serialized with the item serializer).
    /// A nested item's result is recorded on its CONTEXT operation (above the per-operation
    /// limit with `ReplayChildren`, like any child context). An outcome that arrives after
    /// the batch completed is not recorded and not counted.
    pub fn handle_batch_item_outcome(
        &mut self,
        batch: BatchRef,
        index: u32,
        outcome: StepOutcome,
    ) -> Result<OperationResult, ExecutionError> {
        let b = self.batch(batch)?;
        let i = index as usize;
        let Some(Some((op, _))) = b.items.get(i).copied() else {
            return Err(ExecutionError::Misuse {
                what: "an outcome was reported for a batch item that is not running",
            });
        };
        let late = b.reason.is_some() || b.statuses[i] != ItemStatus::Started;
        let result = match (late, op) {
            (true, op) => {
                if let Some(op) = op {
                    self.release(op);
                }
                outcome_result(outcome)
            }
            (false, Some(op)) => self.handle_context_outcome(op, outcome)?,
            (false, None) => {
                self.ensure_running()?;
                outcome_result(outcome)
            }
        };
        if !late {
            self.end_item(batch, i, result.is_ok());
        }
        Ok(result)
    }

    /// Item `index` was dropped before it ended (its batch completed, or the user code
    /// dropped the batch): its operation is released.
    pub fn release_batch_item(&mut self, batch: BatchRef, index: u32) {
        let op = self
            .batches
            .get(batch.0 as usize)
            .and_then(|b| b.items.get(index as usize).copied().flatten())
            .and_then(|(op, _)| op);
        if let Some(op) = op {
            self.release(op);
        }
    }

    /// Why the batch completed, once it has: start no further item, drop the running ones,
    /// and record the result with [`handle_batch_outcome`](Self::handle_batch_outcome).
    pub fn batch_completion(&self, batch: BatchRef) -> Option<CompletionReason> {
        self.batches.get(batch.0 as usize)?.reason
    }

    /// Each item's status (read it once the batch completed to build the result).
    pub fn batch_items(&self, batch: BatchRef) -> &[ItemStatus] {
        self.batches
            .get(batch.0 as usize)
            .map_or(&[], |b| b.statuses.as_slice())
    }

    /// The operation id of item `index` (nested), or of its virtual context (flat): how
    /// failures of the item are identified.
    pub fn batch_item_id(&self, batch: BatchRef, index: u32) -> String {
        let batch_id = self
            .batches
            .get(batch.0 as usize)
            .and_then(|b| self.identity(b.op))
            .map(|i| i.id.as_str());
        crate::ids::operation_id(batch_id, index + 1)
    }

    /// Whether `batch` is being rebuilt from its items (its result was recorded as a summary
    /// with `ReplayChildren`): its result is final, and nothing is recorded for it again.
    pub fn is_batch_rebuild(&self, batch: BatchRef) -> bool {
        self.batches
            .get(batch.0 as usize)
            .is_some_and(|b| b.forced.is_some())
    }

    /// The running counts.
    pub fn batch_counts(&self, batch: BatchRef) -> BatchCounts {
        self.batches
            .get(batch.0 as usize)
            .map_or_else(BatchCounts::default, |b| b.counts)
    }

    /// The batch completed and its result was serialized (`outcome`): records it on the
    /// batch's operation. Items still running are abandoned: nothing more is recorded for
    /// them. A result above the per-operation limit is recorded as a summary of the item
    /// statuses with `ReplayChildren`; a replay rebuilds the same result from the items it
    /// lists. A batch rebuilt on replay records nothing again.
    pub fn handle_batch_outcome(
        &mut self,
        batch: BatchRef,
        outcome: StepOutcome,
    ) -> Result<OperationResult, ExecutionError> {
        let b = self.batch(batch)?;
        let Some(reason) = b.reason else {
            return Err(ExecutionError::Misuse {
                what: "a batch result was reported before the batch completed",
            });
        };
        if b.recorded {
            return Err(ExecutionError::Misuse {
                what: "a batch result was reported twice",
            });
        }
        let op = b.op;
        let summary = summary(&b.statuses, reason);
        self.batches[batch.0 as usize].recorded = true;
        self.abandon_batch(batch);
        self.end_context(op, outcome, summary)
    }

    /// Abandons the items of `batch` still running: nothing more begins in their contexts
    /// (so nothing more is recorded for them) and their operations are released. Done by
    /// [`handle_batch_outcome`](Self::handle_batch_outcome); a front end that gives a batch
    /// up without a result calls it itself.
    pub fn abandon_batch(&mut self, batch: BatchRef) {
        let Some(b) = self.batches.get(batch.0 as usize) else {
            return;
        };
        let abandoned: Vec<_> = b
            .items
            .iter()
            .zip(&b.statuses)
            .filter(|(_, s)| **s == ItemStatus::Started)
            .filter_map(|(item, _)| *item)
            .collect();
        for (item_op, ctx) in abandoned {
            self.journal.abandon(ctx);
            if let Some(item_op) = item_op {
                self.release(item_op);
            }
        }
    }

    fn batch(&self, batch: BatchRef) -> Result<&BatchState, ExecutionError> {
        self.batches
            .get(batch.0 as usize)
            .ok_or(ExecutionError::Misuse {
                what: "unknown batch handle",
            })
    }

    fn end_item(&mut self, batch: BatchRef, i: usize, succeeded: bool) {
        let Some(b) = self.batches.get_mut(batch.0 as usize) else {
            return;
        };
        let before = b.statuses[i];
        b.statuses[i] = if succeeded {
            b.counts.succeeded += 1;
            ItemStatus::Succeeded
        } else {
            b.counts.failed += 1;
            ItemStatus::Failed
        };
        b.running = b.running.saturating_sub(1);
        if let Some((want, _)) = &b.forced {
            // Exactly the count of mismatches the summary scan used to find.
            if is_finished(want[i]) && before == want[i] {
                b.forced_pending += 1;
            }
            if is_finished(want[i]) && b.statuses[i] == want[i] {
                b.forced_pending -= 1;
            }
        }
        // The first reason stands: items read back after it do not change why it completed.
        if b.reason.is_none() {
            b.reason = b.evaluate();
        }
    }
}

impl BatchState {
    fn evaluate(&self) -> Option<CompletionReason> {
        if let Some((_, reason)) = &self.forced {
            // Rebuilding: complete once every item the summary lists as finished has ended
            // with its recorded status.
            return (self.forced_pending == 0).then_some(*reason);
        }
        self.config.completion.evaluate(&self.counts)
    }
}

/// Whether `status` is an end (succeeded or failed).
fn is_finished(status: ItemStatus) -> bool {
    matches!(status, ItemStatus::Succeeded | ItemStatus::Failed)
}

/// An unrecorded item's outcome as a result.
fn outcome_result(outcome: StepOutcome) -> OperationResult {
    match outcome {
        StepOutcome::Value(v) => Ok(Some(v)),
        StepOutcome::Error(e) => Err(e),
        StepOutcome::Unserializable(message) => Err(ErrorObject::new(
            SERIALIZATION_ERROR_TYPE,
            format!("a batch item's result could not be serialized: {message}"),
        )),
    }
}

/// The summary recorded in place of a result too large to record: the completion reason
/// and one status letter per item (`S`, `F`, `R` for abandoned, `-` for never started).
fn summary(statuses: &[ItemStatus], reason: CompletionReason) -> String {
    let items: String = statuses.iter().map(|s| s.code()).collect();
    serde_json::json!({ "completionReason": reason.as_str(), "items": items }).to_string()
}

fn parse_summary(
    payload: Option<&str>,
    items: usize,
) -> Option<(Vec<ItemStatus>, CompletionReason)> {
    let value: serde_json::Value = serde_json::from_str(payload?).ok()?;
    let reason = CompletionReason::from_name(value.get("completionReason")?.as_str()?)?;
    let statuses: Option<Vec<_>> = value
        .get("items")?
        .as_str()?
        .chars()
        .map(ItemStatus::from_code)
        .collect();
    let statuses = statuses?;
    (statuses.len() == items).then_some((statuses, reason))
}
