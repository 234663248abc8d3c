//! One replay (or one floor parse) of an N-step envelope and nothing else, for profilers:
//! `valgrind --tool=callgrind` counts instructions repeatably, so the ratio of two runs'
//! totals is a noise-free replay/floor figure (docs/performance.md).
//!
//! `cargo run --release -p durable-bench --bin replay_profile -- <floor|boxed|tokio|blocking|envelope> [STEPS]`
//!
//! `envelope` only builds the bytes: subtract its count from the others. `boxed` parses
//! the evidence layout of `durable_bench::evidence` (smaller records) instead of the SDK's.

use std::hint::black_box;

use durable_bench::evidence::BoxedInput;
use durable_bench::{envelope, replay_blocking, replay_tokio, runtime, triangle, STEP_NAME};
use durable_proto::InvocationInput;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "tokio".into());
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rt = runtime();
    let bytes = envelope(n, STEP_NAME);
    match mode.as_str() {
        "envelope" => {}
        "floor" => drop(black_box(
            serde_json::from_slice::<InvocationInput>(black_box(&bytes)).expect("ok"),
        )),
        "boxed" => drop(black_box(
            serde_json::from_slice::<BoxedInput>(black_box(&bytes)).expect("ok"),
        )),
        "tokio" => assert_eq!(rt.block_on(replay_tokio(&bytes, n)), triangle(n)),
        "blocking" => assert_eq!(replay_blocking(&bytes, n), triangle(n)),
        other => panic!("unknown mode {other}; use floor, boxed, tokio, blocking or envelope"),
    }
}
