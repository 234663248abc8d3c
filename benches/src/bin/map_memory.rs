//! Peak heap while replaying a finished map of 10,000 items (one step each), relative to the
//! envelope's size: the method of `replay_memory` (a counting global allocator; the envelope
//! is built and the runtime warmed first; the peak of the live bytes *added* by parse +
//! replay + drop), on the envelope of `durable_bench::map::finished_map_envelope`, the
//! bytes taken over by the engine as it takes the Lambda runtime's payload. The replay of as
//! many plain steps is measured beside it.
//!
//! `cargo run --release -p durable-bench --bin map_memory [-- ITEMS]`

use std::hint::black_box;

use durable_bench::map::{finished_map_envelope, replay_finished_map, replay_finished_map_owned};
use durable_bench::{envelope, replay_tokio_owned, runtime, triangle, STEP_NAME};
use durable_proto::InvocationInput;
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Peak live bytes above what was live before `f` ran.
fn peak_added<R>(f: impl FnOnce() -> R) -> (usize, R) {
    let before = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let r = f();
    (HEAP.peak_usage().saturating_sub(before), r)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rt = runtime();
    // Warm the runtime's lazily allocated state outside the measurement.
    let small = finished_map_envelope(10);
    rt.block_on(replay_finished_map(&small, 10));

    let bytes = finished_map_envelope(n);
    let steps = envelope(n, STEP_NAME);
    let mb = |b: usize| b as f64 / 1e6;
    let (floor, ()) = peak_added(|| {
        let input: InvocationInput = serde_json::from_slice(black_box(&bytes)).expect("ok");
        drop(black_box(input));
    });
    let copy = bytes.clone();
    let (peak, sum) = peak_added(|| rt.block_on(replay_finished_map_owned(copy, n)));
    assert_eq!(sum, triangle(n));
    let copy = steps.clone();
    let (steps_peak, sum) = peak_added(|| rt.block_on(replay_tokio_owned(copy, n)));
    assert_eq!(sum, triangle(n));
    let size = bytes.len();
    println!("items: {n}");
    println!("finished-map envelope: {size} bytes ({:.2} MB)", mb(size));
    println!(
        "floor (typed parse alone): peak +{floor} bytes = {:.2} x envelope",
        floor as f64 / size as f64
    );
    println!(
        "map replay: peak +{peak} bytes ({:.2} MB) = {:.2} x envelope, {:.2} x floor",
        mb(peak),
        peak as f64 / size as f64,
        peak as f64 / floor as f64
    );
    println!(
        "for comparison, {n} steps: envelope {} bytes, replay peak +{steps_peak} bytes = {:.2} x",
        steps.len(),
        steps_peak as f64 / steps.len() as f64
    );
    let ratio = peak as f64 / size as f64;
    println!(
        "target peak heap <= 3 x envelope: {ratio:.2} -> {}",
        if ratio <= 3.0 { "met" } else { "MISSED" }
    );
}
