//! Map over 1,000 items with concurrency 10. The SDK has no map operation yet, so this
//! EMULATES one: a sliding window of 10 at-least-once steps on a `FuturesUnordered`
//! (`durable_bench::map_window`), step futures created in item order so ids are
//! deterministic. A real map would add a child context per item (2 more updates each).
//!
//! * live, bodies of 1 ms, calls of 0 and 10 ms; floor: the same window of 1 ms sleeps
//!   without the SDK;
//! * replay of the 1,000 recorded steps; floor: the typed parse of the envelope.
//!
//! `cargo bench -p durable-bench --bench map`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use durable_bench::{
    bench_mode, envelope, fmt_duration, live, map_window_floor, median, ratio, replay_map, runtime,
    time, triangle, LiveRun, Workload, MAP_NAME,
};
use durable_proto::InvocationInput;

const ITEMS: u64 = 1_000;
const CONCURRENCY: usize = 10;
const BODY: Duration = Duration::from_millis(1);

fn workload() -> Workload {
    Workload::Map {
        items: ITEMS,
        concurrency: CONCURRENCY,
        body: BODY,
    }
}

fn bench_map(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("map_1000_c10");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ITEMS));
    group.bench_function("floor_sleeps_1ms", |b| {
        b.iter(|| rt.block_on(map_window_floor(ITEMS, CONCURRENCY, BODY)))
    });
    for ms in [0u64, 10] {
        let id = BenchmarkId::new("live_body_1ms", format!("{ms}ms"));
        group.bench_function(id, |b| {
            b.iter(|| rt.block_on(live(workload(), Duration::from_millis(ms))))
        });
    }
    let bytes = envelope(ITEMS, MAP_NAME);
    group.bench_function("floor_parse", |b| {
        b.iter(|| serde_json::from_slice::<InvocationInput>(black_box(&bytes)).expect("ok"))
    });
    group.bench_function("replay", |b| {
        b.iter(|| {
            let sum = rt.block_on(replay_map(black_box(&bytes), ITEMS, CONCURRENCY));
            assert_eq!(sum, triangle(ITEMS));
        })
    });
    group.finish();
}

criterion_group!(benches, bench_map);

fn summary() {
    let rt = runtime();
    println!("\n== map summary: {ITEMS} items, concurrency {CONCURRENCY} (emulated), medians ==");
    let mut floor: Vec<Duration> = (0..5)
        .map(|_| time(|| rt.block_on(map_window_floor(ITEMS, CONCURRENCY, BODY))).0)
        .collect();
    let floor = median(&mut floor);
    println!(
        "floor (same window of 1 ms sleeps, no SDK): {}",
        fmt_duration(floor)
    );
    for ms in [0u64, 10] {
        let mut all: Vec<LiveRun> = (0..5)
            .map(|_| rt.block_on(live(workload(), Duration::from_millis(ms))))
            .collect();
        all.sort_by_key(|r| r.wall);
        let r = all[2];
        println!(
            "live, {ms} ms calls: {} = {:.2} x floor; {} calls ({:.1} updates/call)",
            fmt_duration(r.wall),
            ratio(r.wall, floor),
            r.calls,
            r.updates as f64 / r.calls.max(1) as f64
        );
    }
    let bytes = envelope(ITEMS, MAP_NAME);
    let (mut p, mut r) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        p.push(time(|| drop(serde_json::from_slice::<InvocationInput>(&bytes))).0);
        r.push(time(|| rt.block_on(replay_map(&bytes, ITEMS, CONCURRENCY))).0);
    }
    let (p, r) = (median(&mut p), median(&mut r));
    println!(
        "replay: {} vs floor parse {} = {:.2} x",
        fmt_duration(r),
        fmt_duration(p),
        ratio(r, p)
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
