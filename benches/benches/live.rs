//! Live execution: N = 100 sequential steps in a first invocation (no history) through
//! `durable_tokio::handle`, against an in-memory service whose every checkpoint call takes
//! 0, 1 or 10 ms, for both step semantics. After criterion's runs, a summary pass prints
//! calls per step, wall time per step, and the round trips the handler waited for, each
//! relative to the measured round trip of one call, and checks the targets.
//!
//! `cargo bench -p durable-bench --bench live`

use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion};
use durable_bench::{
    bench_mode, fmt_duration, live, median, runtime, time, FakeService, LiveRun, Workload,
};
use durable_tokio::{CheckpointClient, StepSemantics};

const N: u64 = 100;
const LATENCIES_MS: [u64; 3] = [0, 1, 10];
const BODY: Duration = Duration::from_millis(1);

fn label(s: StepSemantics) -> &'static str {
    match s {
        StepSemantics::AtMostOncePerRetry => "at_most_once",
        _ => "at_least_once",
    }
}

const SEMANTICS: [StepSemantics; 2] = [
    StepSemantics::AtLeastOncePerRetry,
    StepSemantics::AtMostOncePerRetry,
];

fn sequential(n: u64, semantics: StepSemantics, body: Duration) -> Workload {
    Workload::Sequential { n, semantics, body }
}

fn bench_live(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("live_100_steps");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    for semantics in SEMANTICS {
        for ms in LATENCIES_MS {
            let latency = Duration::from_millis(ms);
            let id = BenchmarkId::new(label(semantics), format!("{ms}ms"));
            group.bench_function(id, |b| {
                b.iter(|| rt.block_on(live(sequential(N, semantics, Duration::ZERO), latency)))
            });
        }
    }
    let id = BenchmarkId::new("at_least_once_body_1ms", "10ms");
    group.bench_function(id, |b| {
        b.iter(|| {
            let w = sequential(N, StepSemantics::AtLeastOncePerRetry, BODY);
            rt.block_on(live(w, Duration::from_millis(10)))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_live);

/// The round trip of one call to the fake service, as the driver sees it (the sleep's
/// real duration, timer granularity included).
fn round_trip(rt: &tokio::runtime::Runtime, latency: Duration) -> Duration {
    let service = FakeService::new(latency);
    let mut samples: Vec<Duration> = (0..15)
        .map(|i| {
            time(|| {
                rt.block_on(service.checkpoint("arn".into(), format!("t{i}"), Vec::new()))
                    .expect("ok")
            })
            .0
        })
        .collect();
    median(&mut samples)
}

fn runs(rt: &tokio::runtime::Runtime, w: Workload, latency: Duration, k: usize) -> LiveRun {
    let mut all: Vec<LiveRun> = (0..k).map(|_| rt.block_on(live(w, latency))).collect();
    all.sort_by_key(|r| r.wall);
    all[k / 2]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn summary() {
    let rt = runtime();
    println!("\n== live summary: {N} sequential steps, medians of 5 runs ==");
    println!(
        "| semantics | call latency | measured RTT | wall | wall/step | calls | calls/step | \
         updates/call | awaited RTTs (total) | awaited RTTs/step |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut checks = Vec::new();
    for semantics in SEMANTICS {
        let base = runs(
            &rt,
            sequential(N, semantics, Duration::ZERO),
            Duration::ZERO,
            5,
        );
        for ms in LATENCIES_MS {
            let latency = Duration::from_millis(ms);
            let rtt = round_trip(&rt, latency);
            let r = runs(&rt, sequential(N, semantics, Duration::ZERO), latency, 5);
            // Round trips on the handler's critical path: the time latency added, in RTTs.
            let awaited = if ms == 0 {
                f64::NAN
            } else {
                r.wall.saturating_sub(base.wall).as_secs_f64() / rtt.as_secs_f64()
            };
            println!(
                "| {} | {ms} ms | {} | {} | {} | {} | {:.2} | {:.1} | {awaited:.1} | {:.2} |",
                label(semantics),
                fmt_duration(rtt),
                fmt_duration(r.wall),
                fmt_duration(r.wall / N as u32),
                r.calls,
                r.calls as f64 / N as f64,
                r.updates as f64 / r.calls.max(1) as f64,
                awaited / N as f64,
            );
            if ms == 10 {
                checks.push((semantics, awaited, r));
            }
        }
    }
    // N steps whose bodies take 1 ms each, at 10 ms per call: N x step time + a few RTTs.
    let latency = Duration::from_millis(10);
    let rtt = round_trip(&rt, latency);
    let floor = {
        let mut s: Vec<Duration> = (0..5)
            .map(|_| {
                time(|| {
                    rt.block_on(async {
                        for _ in 0..N {
                            tokio::time::sleep(BODY).await;
                        }
                    })
                })
                .0
            })
            .collect();
        median(&mut s)
    };
    let w = sequential(N, StepSemantics::AtLeastOncePerRetry, BODY);
    let r = runs(&rt, w, latency, 5);
    let extra = r.wall.saturating_sub(floor).as_secs_f64() / rtt.as_secs_f64();
    println!(
        "at_least_once, bodies of 1 ms, 10 ms calls: wall {} vs {} for the {N} bodies alone \
         (ratio {:.2}); extra = {extra:.1} RTTs; {} calls",
        fmt_duration(r.wall),
        fmt_duration(floor),
        r.wall.as_secs_f64() / floor.as_secs_f64(),
        r.calls
    );
    for (semantics, awaited, run) in checks {
        match semantics {
            StepSemantics::AtMostOncePerRetry => println!(
                "target at-most-once = one awaited round trip per step: {:.2} RTT/step, {:.2} \
                 calls/step -> {}",
                awaited / N as f64,
                run.calls as f64 / N as f64,
                verdict((0.8..=1.3).contains(&(awaited / N as f64)))
            ),
            _ => println!(
                "target at-least-once never waits for a round trip: {awaited:.1} RTTs for {N} \
                 steps (the final flush needs >= 1) -> {}",
                verdict(awaited <= 5.0)
            ),
        }
    }
    println!(
        "target N fast steps at 10 ms ~ N x step time + a few RTTs: {extra:.1} RTTs over the \
         bodies' time -> {}",
        verdict(extra <= 5.0)
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
