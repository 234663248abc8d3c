//! The benchmarks' count targets as quick tests (no timing is asserted): pure replay makes no
//! call; at-most-once steps cost one checkpoint call each; at-least-once steps do not wait
//! for a call each.

use std::time::Duration;

use durable_bench::{
    envelope, live, replay_blocking, replay_map, replay_tokio, runtime, triangle, Workload,
    MAP_NAME, STEP_NAME,
};
use durable_tokio::StepSemantics;

#[test]
fn pure_replay_makes_no_call() {
    // NoCallClient panics on any call.
    let rt = runtime();
    let bytes = envelope(1_000, STEP_NAME);
    assert_eq!(rt.block_on(replay_tokio(&bytes, 1_000)), triangle(1_000));
    assert_eq!(replay_blocking(&bytes, 1_000), triangle(1_000));
    let bytes = envelope(100, MAP_NAME);
    assert_eq!(rt.block_on(replay_map(&bytes, 100, 10)), triangle(100));
}

#[test]
fn at_most_once_costs_one_call_per_step() {
    let rt = runtime();
    let n = 20;
    let w = Workload::Sequential {
        n,
        semantics: StepSemantics::AtMostOncePerRetry,
        body: Duration::ZERO,
    };
    let run = rt.block_on(live(w, Duration::ZERO));
    // START 1; then SUCCEED i + START i+1 together; then the last SUCCEED.
    assert_eq!(run.calls, n + 1, "{run:?}");
    assert_eq!(run.updates, 2 * n, "{run:?}");
}

#[test]
fn at_least_once_steps_share_calls() {
    let rt = runtime();
    let n = 100;
    let w = Workload::Sequential {
        n,
        semantics: StepSemantics::AtLeastOncePerRetry,
        body: Duration::ZERO,
    };
    // A slow service: the steps finish long before the first call returns.
    let run = rt.block_on(live(w, Duration::from_millis(50)));
    assert!(run.calls <= 5, "{run:?}");
    assert_eq!(run.updates, 2 * n, "{run:?}");
}

#[test]
fn map_emulation_runs_every_item() {
    let rt = runtime();
    let w = Workload::Map {
        items: 50,
        concurrency: 10,
        body: Duration::from_millis(1),
    };
    let run = rt.block_on(live(w, Duration::ZERO));
    assert_eq!(run.updates, 100, "{run:?}");
}

#[test]
fn a_map_records_four_updates_per_item_and_shares_calls() {
    let rt = runtime();
    let run = rt.block_on(durable_bench::map::live_map(
        100,
        10,
        Duration::from_millis(1),
        Duration::from_millis(50),
    ));
    // Per item: its CONTEXT's START and SUCCEED, its step's START and SUCCEED; plus the map's
    // own START and SUCCEED.
    assert_eq!(run.updates, 4 * 100 + 2, "{run:?}");
    // Items finish while a call is in flight; the next call carries all of them.
    assert!(run.calls <= 10, "{run:?}");
}

#[test]
fn a_finished_map_replays_from_its_items_without_a_call() {
    let items = 8_000;
    let bytes = durable_bench::map::finished_map_envelope(items);
    let text = String::from_utf8(bytes.clone()).unwrap();
    // The result did not fit on the map's record: the items are in the envelope to rebuild
    // it from.
    assert!(
        text.contains("\"ReplayChildren\":true"),
        "no ReplayChildren"
    );
    assert_eq!(
        text.matches("\"SubType\":\"MapIteration\"").count(),
        items as usize
    );
    let rt = runtime();
    assert_eq!(
        rt.block_on(durable_bench::map::replay_finished_map(&bytes, items)),
        triangle(items)
    );
}
