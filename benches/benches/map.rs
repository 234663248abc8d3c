//! `ctx.map` (docs/performance.md §3):
//!
//! * live: a map over 1,000 items at `max_concurrency` 10, each item one step whose body
//!   sleeps 10 ms, against the latency fake at 10 ms per checkpoint call; floor: the same
//!   1,000 sleeps ten at a time without the SDK (`durable_bench::map_window_floor`);
//! * replay of a finished map of 10,000 items (one step each) from raw envelope bytes
//!   (`durable_bench::map::finished_map_envelope`: produced on the service model, its
//!   result rebuilt from the items because it is too large for one operation); baseline:
//!   the replay of 10,000 plain steps, per item.
//!
//! After criterion's runs an interleaved pass prints the ratios against the targets.
//!
//! `cargo bench -p durable-bench --bench map`

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion, Throughput};
use durable_bench::map::{finished_map_envelope, live_map, replay_finished_map};
use durable_bench::{
    bench_mode, envelope, fmt_duration, map_window_floor, median, ratio, replay_tokio, runtime,
    time, triangle, LiveRun, STEP_NAME,
};

const ITEMS: u64 = 1_000;
const CONCURRENCY: u32 = 10;
const BODY: Duration = Duration::from_millis(10);
const LATENCY: Duration = Duration::from_millis(10);
const REPLAY_ITEMS: u64 = 10_000;

fn bench_map(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("map_1000_c10");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ITEMS));
    group.bench_function("floor_sleeps_10ms", |b| {
        b.iter(|| rt.block_on(map_window_floor(ITEMS, CONCURRENCY as usize, BODY)))
    });
    group.bench_function("live_body_10ms_calls_10ms", |b| {
        b.iter(|| rt.block_on(live_map(ITEMS, CONCURRENCY, BODY, LATENCY)))
    });
    group.finish();

    let mut group = c.benchmark_group("map_replay_10000");
    group.sample_size(20);
    group.throughput(Throughput::Elements(REPLAY_ITEMS));
    let steps = envelope(REPLAY_ITEMS, STEP_NAME);
    group.bench_function("steps", |b| {
        b.iter(|| {
            let sum = rt.block_on(replay_tokio(black_box(&steps), REPLAY_ITEMS));
            assert_eq!(sum, triangle(REPLAY_ITEMS));
        })
    });
    let map = finished_map_envelope(REPLAY_ITEMS);
    group.bench_function("finished_map", |b| {
        b.iter(|| {
            let sum = rt.block_on(replay_finished_map(black_box(&map), REPLAY_ITEMS));
            assert_eq!(sum, triangle(REPLAY_ITEMS));
        })
    });
    group.finish();
}

criterion_group!(benches, bench_map);

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn summary() {
    let rt = runtime();
    println!("\n== map summary: {ITEMS} items, max_concurrency {CONCURRENCY}, bodies of 10 ms, 10 ms per call (medians of interleaved runs) ==");
    let (mut floors, mut lives): (Vec<Duration>, Vec<LiveRun>) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        floors.push(time(|| rt.block_on(map_window_floor(ITEMS, CONCURRENCY as usize, BODY))).0);
        lives.push(rt.block_on(live_map(ITEMS, CONCURRENCY, BODY, LATENCY)));
    }
    let floor = median(&mut floors);
    lives.sort_by_key(|r| r.wall);
    let live = lives[lives.len() / 2];
    let r = ratio(live.wall, floor);
    println!(
        "floor (1,000 sleeps of 10 ms, ten at a time, no SDK): {}",
        fmt_duration(floor)
    );
    println!(
        "map: {} = {r:.3} x floor; {} calls = {:.3} calls per item, {:.1} updates per call",
        fmt_duration(live.wall),
        live.calls,
        live.calls as f64 / ITEMS as f64,
        live.updates as f64 / live.calls.max(1) as f64
    );
    println!("target map <= 1.2 x floor: {r:.3} -> {}", verdict(r <= 1.2));

    let steps = envelope(REPLAY_ITEMS, STEP_NAME);
    let map = finished_map_envelope(REPLAY_ITEMS);
    let (mut s, mut m) = (Vec::new(), Vec::new());
    for _ in 0..21 {
        s.push(time(|| rt.block_on(replay_tokio(&steps, REPLAY_ITEMS))).0);
        m.push(time(|| rt.block_on(replay_finished_map(&map, REPLAY_ITEMS))).0);
    }
    let (s, m) = (median(&mut s), median(&mut m));
    let per_item = ratio(m, s);
    println!(
        "replay from raw bytes: finished map of {REPLAY_ITEMS} items ({:.2} MB envelope) {} = {} per item; \
         {REPLAY_ITEMS} steps ({:.2} MB) {} = {} per step",
        map.len() as f64 / 1e6,
        fmt_duration(m),
        fmt_duration(m / REPLAY_ITEMS as u32),
        steps.len() as f64 / 1e6,
        fmt_duration(s),
        fmt_duration(s / REPLAY_ITEMS as u32),
    );
    println!(
        "target map replay <= 2 x a step, per item: {per_item:.2} -> {}",
        verdict(per_item <= 2.0)
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
