//! Replay: raw envelope bytes of N completed steps to the handler's output, through
//! `Envelope::from_vec` (the engine takes the bytes over, as it takes the Lambda runtime's
//! payload; the copy handed to it is made outside the timing) and `durable_tokio::handle`
//! (and `durable_blocking::handle`), with a checkpoint client that panics if called. Beside it two floors: the typed owned parse of
//! the same bytes (`InvocationInput`) and a `serde_json::Value` parse. After criterion's
//! runs, an interleaved pass prints the ratios (replay / each floor, 100k / 10k) and checks
//! them against the targets in docs/performance.md.
//!
//! `cargo bench -p durable-bench --bench replay`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, BatchSize, BenchmarkId, Criterion, Throughput};
use durable_bench::{
    bench_mode, context_envelope, envelope, fmt_duration, median, ratio, replay_blocking_owned,
    replay_contexts_tokio, replay_tokio, replay_tokio_owned, runtime, time, triangle, STEP_NAME,
};
use durable_proto::InvocationInput;

const SIZES: [u64; 3] = [1_000, 10_000, 100_000];

fn floor(bytes: &[u8]) -> InvocationInput {
    serde_json::from_slice::<InvocationInput>(bytes).expect("a valid envelope")
}

fn value_floor(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice::<serde_json::Value>(bytes).expect("valid JSON")
}

fn replay(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("replay");
    for n in SIZES {
        let bytes = envelope(n, STEP_NAME);
        group.throughput(Throughput::Elements(n));
        group.sample_size(if n >= 100_000 { 10 } else { 30 });
        group.bench_with_input(BenchmarkId::new("floor_parse", n), &bytes, |b, bytes| {
            b.iter(|| floor(black_box(bytes)))
        });
        group.bench_with_input(BenchmarkId::new("value_parse", n), &bytes, |b, bytes| {
            b.iter(|| value_floor(black_box(bytes)))
        });
        group.bench_with_input(BenchmarkId::new("tokio", n), &bytes, |b, bytes| {
            b.iter_batched(
                || bytes.clone(),
                |copy| assert_eq!(rt.block_on(replay_tokio_owned(copy, n)), triangle(n)),
                BatchSize::LargeInput,
            )
        });
        if n == 10_000 {
            group.bench_with_input(BenchmarkId::new("blocking", n), &bytes, |b, bytes| {
                b.iter_batched(
                    || bytes.clone(),
                    |copy| assert_eq!(replay_blocking_owned(copy, n), triangle(n)),
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_secs(1));
    targets = replay
}

/// Medians of interleaved runs, so that both sides of each ratio see the same machine state.
struct Medians {
    floor: Duration,
    value: Duration,
    tokio: Duration,
    blocking: Option<Duration>,
}

fn measure(n: u64, rounds: usize, with_blocking: bool) -> Medians {
    let rt = runtime();
    let bytes = envelope(n, STEP_NAME);
    let (mut f, mut v, mut t, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        f.push(time(|| drop(black_box(floor(&bytes)))).0);
        v.push(time(|| drop(black_box(value_floor(&bytes)))).0);
        let copy = bytes.clone();
        t.push(time(|| rt.block_on(replay_tokio_owned(copy, n))).0);
        if with_blocking {
            let copy = bytes.clone();
            b.push(time(|| replay_blocking_owned(copy, n)).0);
        }
    }
    Medians {
        floor: median(&mut f),
        value: median(&mut v),
        tokio: median(&mut t),
        blocking: with_blocking.then(|| median(&mut b)),
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn summary() {
    println!("\n== replay summary (medians of interleaved runs) ==");
    println!(
        "| steps | envelope | typed parse | Value parse | tokio replay | replay/typed | replay/Value | per step |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut results = Vec::new();
    for n in SIZES {
        let m = measure(n, if n >= 100_000 { 9 } else { 21 }, n == 10_000);
        println!(
            "| {n} | {:.1} MB | {} | {} | {} | {:.2} | {:.2} | {} |",
            envelope(n, STEP_NAME).len() as f64 / 1e6,
            fmt_duration(m.floor),
            fmt_duration(m.value),
            fmt_duration(m.tokio),
            ratio(m.tokio, m.floor),
            ratio(m.tokio, m.value),
            fmt_duration(m.tokio / n as u32),
        );
        results.push((n, m));
    }
    let m10 = &results[1].1;
    let m100 = &results[2].1;
    let blocking = m10.blocking.expect("measured at 10k");
    println!(
        "blocking driver, 10000 steps: {} = {:.2} x Value parse, {:.2} x tokio",
        fmt_duration(blocking),
        ratio(blocking, m10.value),
        ratio(blocking, m10.tokio)
    );
    let r10 = ratio(m10.tokio, m10.value);
    let scaling = ratio(m100.tokio, m10.tokio);
    let typed_scaling = ratio(m100.floor, m10.floor);
    let value_scaling = ratio(m100.value, m10.value);
    println!(
        "scaling 100k/10k: tokio replay {scaling:.2}, typed parse {typed_scaling:.2}, Value parse {value_scaling:.2} (linear = 10)"
    );
    println!(
        "target replay(10k) <= 0.5 x Value parse: {r10:.2} -> {}",
        verdict(r10 <= 0.5)
    );
    for (floor, own) in [
        ("typed parse", typed_scaling),
        ("Value parse", value_scaling),
    ] {
        println!(
            "target scaling within 10% of the floor's own ({floor} {own:.2}): {scaling:.2} = {:.3} x -> {}",
            scaling / own,
            verdict(scaling <= own * 1.1)
        );
    }
    println!("target zero checkpoint calls on pure replay: met (the client panics on any call)");
    // Child contexts against plain steps, per operation, interleaved.
    let rt = runtime();
    let n = 1_000;
    let (steps, contexts) = (envelope(n, STEP_NAME), context_envelope(n));
    let (mut s, mut c) = (Vec::new(), Vec::new());
    for _ in 0..31 {
        s.push(time(|| rt.block_on(replay_tokio(&steps, n))).0);
        c.push(
            time(|| {
                assert_eq!(
                    rt.block_on(replay_contexts_tokio(&contexts, n)),
                    triangle(n)
                )
            })
            .0,
        );
    }
    let (s, c) = (median(&mut s), median(&mut c));
    let per_op = ratio(c, s);
    println!(
        "1000 child contexts (one step each) {} vs 1000 steps {}: {per_op:.2} x per operation",
        fmt_duration(c),
        fmt_duration(s)
    );
    println!(
        "target child-context replay <= 1.5 x a step, per operation: {per_op:.2} -> {}",
        verdict(per_op <= 1.5)
    );
}

fn main() {
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
    if bench_mode() {
        summary();
    }
}
