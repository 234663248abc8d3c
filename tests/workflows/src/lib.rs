//! Workflow generators shared by the property tests: the engine's scenario tests
//! (durable-proto) and the driver-level tests (durable-local) draw their programs from here,
//! so both explore the same space and a new operation kind is added to the generators once.
//!
//! A generated program is plain data; each test interprets it with its own front end (the
//! engine by hand, or the real async driver) and checks its own invariants.

use std::time::Duration;

use proptest::prelude::*;

/// One operation of a sequential program, named `op<index>` by the interpreters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpSpec {
    /// A step whose first `failures` attempts fail, retried up to `max_attempts` attempts in
    /// all with exponential back-off from 1 s (see [`BACKOFF`]) and no jitter.
    Step {
        /// At-most-once (START checkpointed before the body) instead of at-least-once.
        at_most_once: bool,
        /// Attempts allowed in all (1 = no retry).
        max_attempts: u32,
        /// How many attempts fail before one succeeds.
        failures: u32,
    },
    /// A durable wait.
    Wait {
        /// Its duration in seconds.
        secs: u64,
    },
    /// A callback the outside world completes between invocations: with the result
    /// `"cb:<index>"`, or with a failure of type `Rejected`.
    Callback {
        /// Whether the outside world fails it.
        fail: bool,
    },
    /// A chained invoke whose target ends between invocations: with the result
    /// `"inv:<index>"`, or failing with type `TargetFailed`.
    Invoke {
        /// Whether the target fails.
        fail: bool,
    },
}

impl OpSpec {
    /// Whether this is an at-least-once step or a wait (nothing that a crash could make run
    /// twice in a way the program would notice).
    pub fn is_at_least_once(&self) -> bool {
        !matches!(
            self,
            OpSpec::Step {
                at_most_once: true,
                ..
            }
        )
    }
}

/// The retry policy's parameters for generated steps: initial delay, max delay, factor.
pub const BACKOFF: (Duration, Duration, f64) =
    (Duration::from_secs(1), Duration::from_secs(60), 2.0);

/// One operation: three steps for every wait, callback or invoke; waits of 1 s up to
/// `max_wait_secs`.
pub fn op_spec(max_wait_secs: u64) -> impl Strategy<Value = OpSpec> {
    prop_oneof![
        9 => (any::<bool>(), 1u32..4, 0u32..4).prop_map(|(at_most_once, max_attempts, failures)| {
            OpSpec::Step { at_most_once, max_attempts, failures }
        }),
        3 => (1u64..max_wait_secs.max(2)).prop_map(|secs| OpSpec::Wait { secs }),
        2 => any::<bool>().prop_map(|fail| OpSpec::Callback { fail }),
        1 => any::<bool>().prop_map(|fail| OpSpec::Invoke { fail }),
    ]
}

/// The result the outside world sends for the callback at `index` (JSON).
pub fn callback_result(index: usize) -> String {
    format!("\"cb:{index}\"")
}

/// The result the invoke target returns for the invoke at `index` (JSON).
pub fn invoke_result(index: usize) -> String {
    format!("\"inv:{index}\"")
}

/// The index of the operation named `op<index>`.
pub fn index_of(name: &str) -> Option<usize> {
    name.strip_prefix("op")?.parse().ok()
}

/// A sequential program of `len` operations.
pub fn program(
    len: std::ops::Range<usize>,
    max_wait_secs: u64,
) -> impl Strategy<Value = Vec<OpSpec>> {
    prop::collection::vec(op_spec(max_wait_secs), len)
}

/// One operation of a branch of a concurrent program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchOp {
    /// A step returning its own tag after `io` ms of real time (different on every run).
    Step {
        /// Milliseconds of real time the body takes.
        io: u8,
    },
    /// A durable wait.
    Wait {
        /// Its duration in seconds.
        secs: u16,
    },
    /// A step raced against a wait in a biased `select!` (the loser is dropped).
    RacedStep,
    /// A wait created and dropped unpolled.
    DroppedWait,
}

impl BranchOp {
    /// Whether this operation returns a value the program collects (a step's tag).
    pub fn returns_tag(&self) -> bool {
        matches!(self, BranchOp::Step { .. } | BranchOp::RacedStep)
    }
}

/// One branch of a concurrent program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// Its operations, run in order.
    pub ops: Vec<BranchOp>,
    /// Whether the branch runs in its own child context.
    pub child: bool,
}

/// One branch operation: steps four times as often as each of the others.
pub fn branch_op() -> impl Strategy<Value = BranchOp> {
    prop_oneof![
        4 => (0u8..4).prop_map(|io| BranchOp::Step { io }),
        1 => (1u16..300).prop_map(|secs| BranchOp::Wait { secs }),
        1 => Just(BranchOp::RacedStep),
        1 => Just(BranchOp::DroppedWait),
    ]
}

/// A branch of one to three operations, in a child context or not.
pub fn branch() -> impl Strategy<Value = Branch> {
    (prop::collection::vec(branch_op(), 1..4), any::<bool>())
        .prop_map(|(ops, child)| Branch { ops, child })
}

/// The tag the step at `(branch, index)` returns.
pub fn tag(branch: usize, index: usize) -> String {
    format!("b{branch}.{index}")
}

/// How an item of a generated batch gets held up before its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemBlock {
    /// Not at all: one step, then the outcome.
    None,
    /// A one-second wait, then the step.
    Wait,
    /// The step's first attempt fails and is retried after one second.
    Retry,
    /// A wait for condition that is met on its second check (one second apart), then the
    /// step.
    Condition,
}

/// One item of a generated map or parallel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemSpec {
    /// Whether the item's (last) step succeeds; otherwise it fails for good and so does the
    /// item.
    pub succeed: bool,
    /// What holds the item up on its first run.
    pub block: ItemBlock,
}

/// A generated map or parallel: its items' fates and its configuration. Each interpreter
/// maps it onto its own API; the completion thresholds combine (any one met completes).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchSpec {
    /// `parallel` instead of `map`.
    pub parallel: bool,
    /// Flat nesting (items as virtual contexts) instead of a CONTEXT operation per item.
    pub flat: bool,
    /// At most this many items at once (`None`: no bound).
    pub max_concurrency: Option<u32>,
    /// Complete once this many items succeeded.
    pub min_successful: Option<u32>,
    /// Complete once more than this many items failed.
    pub tolerated_failure_count: Option<u32>,
    /// Complete once more than this percentage (in tenths of a percent, 0..=1000) of all
    /// items failed; tenths keep the reference arithmetic exact.
    pub tolerated_failure_per_mille: Option<u32>,
    /// The items.
    pub items: Vec<ItemSpec>,
    /// Whether the engine runs with a tiny per-operation payload limit, so that the batch's
    /// result does not fit on its record and is rebuilt from its items on replay.
    pub small_payloads: bool,
}

/// One batch item: failures as often as successes, half of them held up.
pub fn item_spec() -> impl Strategy<Value = ItemSpec> {
    let block = prop_oneof![
        4 => Just(ItemBlock::None),
        2 => Just(ItemBlock::Wait),
        1 => Just(ItemBlock::Retry),
        1 => Just(ItemBlock::Condition),
    ];
    (any::<bool>(), block).prop_map(|(succeed, block)| ItemSpec { succeed, block })
}

/// A map or parallel of up to `max_items` items with any concurrency bound (1..=4 or none)
/// and any combination of completion thresholds (none of them: all completed).
pub fn batch_spec(max_items: usize) -> impl Strategy<Value = BatchSpec> {
    let n = max_items as u32;
    (
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop::option::weighted(0.7, 1u32..5),
        prop::option::weighted(0.3, 0..=n + 1),
        prop::option::weighted(0.3, 0..=n),
        prop::option::weighted(0.3, 0u32..=1000),
        prop::collection::vec(item_spec(), 0..=max_items),
    )
        .prop_map(
            |((parallel, flat, small_payloads), max_concurrency, min, count, per_mille, items)| {
                BatchSpec {
                    parallel,
                    flat,
                    max_concurrency,
                    min_successful: min,
                    tolerated_failure_count: count,
                    tolerated_failure_per_mille: per_mille,
                    items,
                    small_payloads,
                }
            },
        )
}
