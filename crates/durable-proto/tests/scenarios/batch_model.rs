//! The reference model of a generated batch (`batches.rs`): which items start, in which
//! invocation each finishes, when the completion rule is met and what the result says,
//! computed from the configuration and the items' fates alone, with exact (integer)
//! arithmetic for the failure percentage.
//!
//! It follows the harness's schedule: in every invocation items are handed out in index
//! order while fewer than `max_concurrency` run; an item finished on record counts at once;
//! an item held up (wait, retry, condition) stays running the first time it runs and
//! finishes the next time; the invocation suspends when no item can start. Thresholds
//! combine; when one item's end meets several, a failure tolerance exceeded wins over the
//! minimum of successes, which wins over all items having completed.
//!
//! **Known deviation (flat batches only).** The model's `truth` is what happened: an item
//! started in an earlier invocation and still running when the rule is met is abandoned
//! (`R`), and an item that finished in an earlier invocation keeps its outcome. A replay of a
//! flat batch only knows the items it handed out in the invocation that meets the rule:
//! when that happens before it reaches such an item in index order, the item is reported as
//! never started (`-`), its outcome dropped (`as_is`). Nested batches read such items back
//! from their records (bug B1 in docs/reliability.md, fixed for them); flat items have no
//! record of their own. The property accepts `as_is` only for flat batches.

use durable_workflows::{BatchSpec, ItemBlock};

/// What a generated batch must return.
#[derive(Debug, Clone)]
pub(crate) struct Expected {
    /// The encoded result of what happened.
    pub(crate) truth: String,
    /// Its status letters.
    pub(crate) statuses: String,
    /// The encoded result a flat batch gives today (see the module docs).
    pub(crate) as_is: String,
    /// Its status letters.
    pub(crate) as_is_statuses: String,
    /// Whether each item was ever started, in any invocation.
    pub(crate) ever_started: Vec<bool>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    succeeded: u32,
    failed: u32,
}

/// The completion rule, evaluated independently of the engine's code.
fn rule(spec: &BatchSpec, c: Counts) -> Option<&'static str> {
    let total = spec.items.len() as u64;
    let failed = u64::from(c.failed);
    let over_count = spec.tolerated_failure_count.is_some_and(|t| c.failed > t);
    // failed / total > per_mille / 1000, without floating point.
    let over_share = spec
        .tolerated_failure_per_mille
        .is_some_and(|p| total > 0 && failed * 1000 > u64::from(p) * total);
    if over_count || over_share {
        return Some("FAILURE_TOLERANCE_EXCEEDED");
    }
    if spec.min_successful.is_some_and(|m| c.succeeded >= m) {
        return Some("MIN_SUCCESSFUL_REACHED");
    }
    (u64::from(c.succeeded + c.failed) >= total).then_some("ALL_COMPLETED")
}

/// The reference result of `spec`.
pub(crate) fn expected(spec: &BatchSpec) -> Expected {
    let n = spec.items.len();
    // Across invocations: each item's outcome once finished, whether it was held up yet,
    // whether it ever started.
    let mut finished: Vec<Option<bool>> = vec![None; n];
    let mut held_up = vec![false; n];
    let mut ever_started = vec![false; n];
    for _invocation in 0..2 * n + 2 {
        let mut counts = Counts::default();
        let mut statuses = vec!['-'; n];
        let mut running = 0u32;
        let mut reason = rule(spec, counts);
        let mut next = 0;
        while reason.is_none() && next < n && spec.max_concurrency.map_or(true, |m| running < m) {
            let i = next;
            next += 1;
            statuses[i] = 'R';
            ever_started[i] = true;
            running += 1;
            let item = &spec.items[i];
            let outcome = match finished[i] {
                Some(ok) => Some(ok),
                None if item.block != ItemBlock::None && !held_up[i] => {
                    held_up[i] = true;
                    None
                }
                None => {
                    finished[i] = Some(item.succeed);
                    Some(item.succeed)
                }
            };
            if let Some(ok) = outcome {
                running -= 1;
                statuses[i] = if ok { 'S' } else { 'F' };
                if ok {
                    counts.succeeded += 1;
                } else {
                    counts.failed += 1;
                }
                reason = rule(spec, counts);
            }
        }
        let Some(reason) = reason else {
            assert!(running > 0, "the model suspended with nothing held up");
            continue;
        };
        let as_is: String = statuses.iter().collect();
        let truth: String = statuses
            .iter()
            .enumerate()
            .map(|(i, s)| match (s, finished[i]) {
                ('-', Some(true)) => 'S',
                ('-', Some(false)) => 'F',
                ('-', None) if ever_started[i] => 'R',
                (s, _) => *s,
            })
            .collect();
        let encode = |letters: &str| {
            let values: Vec<Option<String>> = letters
                .chars()
                .enumerate()
                .map(|(i, s)| match s {
                    'S' => Some(super::batches::item_value(i, &spec.items[i])),
                    'F' => Some("failed: Boom".to_owned()),
                    _ => None,
                })
                .collect();
            super::batches::encode(reason, letters, &values)
        };
        return Expected {
            truth: encode(&truth),
            statuses: truth,
            as_is: encode(&as_is),
            as_is_statuses: as_is,
            ever_started,
        };
    }
    unreachable!("every item finishes by its second run")
}
