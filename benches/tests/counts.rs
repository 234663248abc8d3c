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
