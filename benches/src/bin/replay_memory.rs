//! Peak heap while replaying 100,000 completed steps, relative to the envelope's size.
//!
//! A counting global allocator (`peak_alloc`) tracks live heap bytes. The envelope bytes
//! are built and the runtime started first; then the peak is reset, and the peak of the
//! live bytes *added* during parse + replay + drop is reported, for each driver and for
//! the typed parse alone (the floor). The drivers take the bytes over as they take the
//! Lambda runtime's payload (`Envelope::from_vec`, no copy); the `from_slice` line shows
//! the cost of a copy on top.
//!
//! `cargo run --release -p durable-bench --bin replay_memory [-- STEPS]`

use std::hint::black_box;

use std::collections::HashMap;
use std::mem::size_of;

use durable_bench::evidence::{BoxedInput, BoxedOperation};
use durable_bench::{
    envelope, replay_blocking, replay_blocking_owned, replay_tokio, replay_tokio_owned, runtime,
    triangle, STEP_NAME,
};
use durable_proto::{
    CallbackDetails, ContextDetails, ErrorObject, InvocationInput, Operation, StepDetails,
};
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
        .unwrap_or(100_000);
    let rt = runtime();
    // Warm the runtime's and the blocking driver's lazily allocated state outside the
    // measurement.
    let small = envelope(10, STEP_NAME);
    rt.block_on(replay_tokio(&small, 10));
    replay_blocking(&small, 10);

    let bytes = envelope(n, STEP_NAME);
    let size = bytes.len();
    let (floor, ()) = peak_added(|| {
        let input: InvocationInput = serde_json::from_slice(black_box(&bytes)).expect("ok");
        drop(black_box(input));
    });
    let copy = bytes.clone();
    let (envelope_only, ()) = peak_added(|| {
        let envelope = durable_proto::Envelope::from_vec(black_box(copy)).expect("ok");
        drop(black_box(envelope));
    });
    let copy = bytes.clone();
    let (tokio_peak, sum) = peak_added(|| rt.block_on(replay_tokio_owned(copy, n)));
    assert_eq!(sum, triangle(n));
    let copy = bytes.clone();
    let (blocking_peak, sum) = peak_added(|| replay_blocking_owned(copy, n));
    assert_eq!(sum, triangle(n));
    let (sliced_peak, sum) = peak_added(|| rt.block_on(replay_tokio(&bytes, n)));
    assert_eq!(sum, triangle(n));
    let (sliced_blocking, sum) = peak_added(|| replay_blocking(&bytes, n));
    assert_eq!(sum, triangle(n));

    // Evidence: the boxed layout, parsed alone and then indexed by id the way a journal
    // could index it (positions instead of a second copy of every record).
    let (boxed, ()) = peak_added(|| {
        let input: BoxedInput = serde_json::from_slice(black_box(&bytes)).expect("ok");
        drop(black_box(input));
    });
    let (boxed_indexed, ()) = peak_added(|| {
        let input: BoxedInput = serde_json::from_slice(black_box(&bytes)).expect("ok");
        let ops = input.operations();
        let index: HashMap<&str, u32> = ops
            .iter()
            .enumerate()
            .map(|(i, op)| (op.id(), i as u32))
            .collect();
        drop(black_box(index));
    });

    let mb = |b: usize| b as f64 / 1e6;
    println!(
        "size_of: Operation {} B, StepDetails {} B, ContextDetails {} B, CallbackDetails {} B, \
         ErrorObject {} B; boxed-details layout {} B",
        size_of::<Operation>(),
        size_of::<StepDetails>(),
        size_of::<ContextDetails>(),
        size_of::<CallbackDetails>(),
        size_of::<ErrorObject>(),
        size_of::<BoxedOperation>()
    );
    println!("steps: {n}");
    println!("envelope: {size} bytes ({:.2} MB)", mb(size));
    println!(
        "floor (typed parse alone): peak +{floor} bytes = {:.2} x envelope",
        floor as f64 / size as f64
    );
    println!(
        "the engine's read alone (Envelope::from_vec, bytes taken over): peak +{envelope_only} \
         bytes = {:.2} x envelope",
        envelope_only as f64 / size as f64
    );
    for (name, peak) in [
        ("tokio", tokio_peak),
        ("blocking", blocking_peak),
        ("tokio from_slice (a copy)", sliced_peak),
        ("blocking from_slice (a copy)", sliced_blocking),
    ] {
        println!(
            "{name} replay: peak +{peak} bytes ({:.2} MB) = {:.2} x envelope, {:.2} x floor",
            mb(peak),
            peak as f64 / size as f64,
            peak as f64 / floor as f64
        );
    }
    println!(
        "evidence, boxed details: parse alone peak +{boxed} bytes = {:.2} x envelope; \
         + id index (HashMap<&str, u32>) = {:.2} x envelope",
        boxed as f64 / size as f64,
        boxed_indexed as f64 / size as f64
    );
    let worst = tokio_peak.max(blocking_peak) as f64 / size as f64;
    println!(
        "target peak heap <= 1.5 x envelope: {worst:.2} -> {}",
        if worst <= 1.5 { "met" } else { "MISSED" }
    );
}
