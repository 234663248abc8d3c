//! One replay (or one floor parse) of an N-step envelope and nothing else, for profilers:
//! `valgrind --tool=callgrind` counts instructions repeatably, so the ratio of two runs'
//! totals is a noise-free replay/floor figure (docs/performance.md).
//!
//! `cargo run --release -p durable-bench --bin replay_profile -- <MODE> [STEPS] [REPEAT]`
//!
//! Modes: `floor`, `value` (a `serde_json::Value` parse), `boxed`, `floor_map`, `floor_index`, `tokio`, `blocking`, `envelope`.
//! `envelope` only builds the bytes: subtract its count from the others. `boxed` parses
//! the evidence layout of `durable_bench::evidence` (smaller records) instead of the SDK's.
//!
//! Map modes, on the envelope of a finished map of N items
//! (`durable_bench::map::finished_map_envelope`, produced by running the map on the service
//! model): `map_envelope` (building it only: subtract it), `map_floor` (its typed parse),
//! `map` (its replay with the async driver).

use std::collections::HashMap;
use std::hint::black_box;

use durable_bench::evidence::BoxedInput;
use durable_bench::map::{finished_map_envelope, replay_finished_map};
use durable_bench::{envelope, replay_blocking, replay_tokio, runtime, triangle, STEP_NAME};
use durable_proto::{InvocationInput, Operation};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "tokio".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let repeat: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let rt = runtime();
    let bytes = if mode.starts_with("map") {
        finished_map_envelope(n)
    } else {
        envelope(n, STEP_NAME)
    };
    for _ in 0..repeat {
        once(&rt, &mode, &bytes, n);
    }
}

fn once(rt: &tokio::runtime::Runtime, mode: &str, bytes: &[u8], n: u64) {
    match mode {
        "envelope" | "map_envelope" => {}
        "floor" | "map_floor" => drop(black_box(
            serde_json::from_slice::<InvocationInput>(black_box(bytes)).expect("ok"),
        )),
        "value" | "map_value" => drop(black_box(
            serde_json::from_slice::<serde_json::Value>(black_box(bytes)).expect("ok"),
        )),
        "boxed" => drop(black_box(
            serde_json::from_slice::<BoxedInput>(black_box(bytes)).expect("ok"),
        )),
        // Evidence: the parse plus what the journal does with it today (every record moved
        // into a HashMap keyed by a clone of its id), or plus an index of positions instead.
        "floor_map" => {
            let input = serde_json::from_slice::<InvocationInput>(black_box(bytes)).expect("ok");
            let map: HashMap<String, Operation> = input
                .initial_execution_state
                .operations
                .into_iter()
                .map(|op| (op.id.clone(), op))
                .collect();
            drop(black_box(map));
        }
        "floor_index" => {
            let input = serde_json::from_slice::<InvocationInput>(black_box(bytes)).expect("ok");
            let ops = &input.initial_execution_state.operations;
            let index: HashMap<&str, u32> = ops
                .iter()
                .enumerate()
                .map(|(i, op)| (op.id.as_str(), i as u32))
                .collect();
            drop(black_box(index));
        }
        "tokio" => assert_eq!(rt.block_on(replay_tokio(bytes, n)), triangle(n)),
        "blocking" => assert_eq!(replay_blocking(bytes, n), triangle(n)),
        "map" => assert_eq!(rt.block_on(replay_finished_map(bytes, n)), triangle(n)),
        other => panic!("unknown mode {other}; see the module docs"),
    }
}
