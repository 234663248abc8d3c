//! Cold start of a minimal durable handler per driver: the stripped release size of the
//! example bootstrap binaries, and the time from process start to the runtime's first
//! `/next` and to the first checkpoint call, against a fake Lambda Runtime API and
//! checkpoint endpoint on loopback (`durable_bench::runtime_api`). Both timestamps are taken
//! in this process on one monotonic clock: `spawn()` on one side, the request's arrival on
//! the other. The baseline is `plain_lambda`, the same `lambda_runtime` loop without the SDK;
//! `order_eager` is the example's workflow with the client built before the runtime starts.
//!
//! `cargo run --release -p durable-bench --bin cold_start [-- RUNS] [--no-build] [--system-roots]`
//!
//! The timed runs are interleaved (one run of each binary per round), so load from other
//! processes falls on every binary alike.
//!
//! `--system-roots` points `SSL_CERT_FILE` at the system's CA bundle, so the SDK's HTTPS
//! client reads and parses it at start instead of using its compiled-in roots: what trusting
//! the system's store costs.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use durable_bench::fmt_duration;
use durable_bench::runtime_api::FakeLambda;

struct Binary {
    label: &'static str,
    /// `cargo build` arguments that produce it.
    build: &'static [&'static str],
    /// Its path under the target directory's `release/`.
    path: &'static str,
}

const BINARIES: [Binary; 4] = [
    Binary {
        label: "plain lambda_runtime (baseline)",
        build: &["-p", "durable-bench", "--bin", "plain_lambda"],
        path: "plain_lambda",
    },
    Binary {
        label: "durable-tokio example `order`",
        build: &["-p", "durable-tokio", "--example", "order"],
        path: "examples/order",
    },
    Binary {
        label: "durable-blocking example `order_blocking`",
        build: &["-p", "durable-blocking", "--example", "order_blocking"],
        path: "examples/order_blocking",
    },
    Binary {
        label: "`order_eager` (client built before the runtime starts)",
        build: &["-p", "durable-bench", "--bin", "order_eager"],
        path: "order_eager",
    },
];

fn envelope() -> Vec<u8> {
    let arn =
        "arn:aws:lambda:us-east-1:123456789012:function:bench:1/durable-execution/order/exec-1";
    format!(
        r#"{{"DurableExecutionArn":"{arn}","CheckpointToken":"t0","InitialExecutionState":{{"Operations":[{{"Id":"exec-1","Type":"EXECUTION","Status":"STARTED","StartTimestamp":1795872239000,"ExecutionDetails":{{"InputPayload":"{{\"id\":\"o-1\",\"amount_cents\":4200}}"}}}}]}}}}"#
    )
    .into_bytes()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

fn build(bin: &Binary) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet"])
        .args(bin.build)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {} failed", bin.label);
}

/// Copies and strips `path`; returns the stripped copy.
fn stripped(path: &Path, out_dir: &Path) -> PathBuf {
    let name = path.file_name().expect("a file name");
    let copy = out_dir.join(name);
    std::fs::copy(path, &copy).expect("copy the binary");
    let status = Command::new("strip")
        .arg(&copy)
        .status()
        .expect("strip runs");
    assert!(status.success(), "strip failed");
    copy
}

struct Run {
    next: Duration,
    checkpoint: Option<Duration>,
    response: Duration,
}

/// The system's CA bundle, where distributions keep it (Amazon Linux first, as on Lambda).
fn system_bundle() -> &'static str {
    [
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/ssl/cert.pem",
    ]
    .into_iter()
    .find(|p| Path::new(p).is_file())
    .expect("a system CA bundle")
}

async fn run_once(bin: &Path, home: &Path, system_roots: bool) -> Run {
    let fake = FakeLambda::start(envelope()).await.expect("bind loopback");
    let mut command = tokio::process::Command::new(bin);
    command.env_clear();
    if system_roots {
        command.env("SSL_CERT_FILE", system_bundle());
    }
    let start = Instant::now();
    let mut child = command
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home)
        .env("AWS_LAMBDA_RUNTIME_API", fake.host_port())
        .env("AWS_ENDPOINT_URL_LAMBDA", fake.endpoint())
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the bootstrap binary");
    let observed = fake.wait_response(Duration::from_secs(20)).await;
    let _ = child.kill().await;
    let since = |t: Option<Instant>| t.map(|t| t.duration_since(start));
    let response = since(observed.response).unwrap_or_else(|| {
        panic!(
            "{} posted no response within 20 s (checkpoints seen: {})",
            bin.display(),
            observed.checkpoints
        )
    });
    Run {
        next: since(observed.first_next).expect("the runtime polled /next"),
        checkpoint: since(observed.first_checkpoint),
        response,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs: usize = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(20)
        .max(1);
    let target = target_dir();
    let out_dir = target.join("durable-bench");
    let home = out_dir.join("empty-home");
    std::fs::create_dir_all(&home).expect("create target/durable-bench");
    let rt = durable_bench::runtime();
    let system_roots = args.iter().any(|a| a == "--system-roots");

    let how = if system_roots {
        ", SSL_CERT_FILE = the system's bundle"
    } else {
        ""
    };
    println!("== cold start: {runs} runs per binary, medians{how} ==");
    // The targets (docs/performance.md): stripped size <= 3 x the baseline's, and the first
    // checkpoint call <= 1.5 ms after the baseline's first /next.
    println!("| binary | release size | stripped | stripped vs baseline | spawn -> /next | spawn -> 1st checkpoint | 1st checkpoint - baseline /next | spawn -> response | /next vs baseline |");
    println!("|---|---|---|---|---|---|---|---|---|");
    // Build, strip and warm every binary first, then interleave the timed runs (one of each
    // binary per round), so that load from other processes falls on all of them alike.
    let mut copies = Vec::new();
    for bin in &BINARIES {
        if !args.iter().any(|a| a == "--no-build") {
            build(bin);
        }
        let path = target.join("release").join(bin.path);
        let size = std::fs::metadata(&path).expect("built binary").len();
        let copy = stripped(&path, &out_dir);
        let small = std::fs::metadata(&copy).expect("stripped copy").len();
        // One untimed run warms the page cache, as on a warm Lambda host disk.
        rt.block_on(run_once(&copy, &home, system_roots));
        copies.push((bin, size, copy, small));
    }
    let mut all: Vec<Vec<Run>> = copies.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for ((_, _, copy, _), runs) in copies.iter().zip(&mut all) {
            runs.push(rt.block_on(run_once(copy, &home, system_roots)));
        }
    }
    let mut baseline: Option<(u64, Duration)> = None;
    for ((bin, size, _, small), all) in copies.iter().zip(all) {
        let (size, small) = (*size, *small);
        let next = median(all.iter().map(|r| r.next).collect());
        let response = median(all.iter().map(|r| r.response).collect());
        let checkpoints: Vec<Duration> = all.iter().filter_map(|r| r.checkpoint).collect();
        let checkpoint = (!checkpoints.is_empty()).then(|| median(checkpoints));
        let (base_size, base_next) = *baseline.get_or_insert((small, next));
        let above = checkpoint.map_or("-".into(), |c| {
            format!(
                "{:+.2} ms",
                (c.as_secs_f64() - base_next.as_secs_f64()) * 1e3
            )
        });
        println!(
            "| {} | {:.2} MB | {:.2} MB | {:.2} x | {} | {} | {} | {} | {:.2} x |",
            bin.label,
            size as f64 / 1e6,
            small as f64 / 1e6,
            small as f64 / base_size as f64,
            fmt_duration(next),
            checkpoint.map_or("-".into(), fmt_duration),
            above,
            fmt_duration(response),
            next.as_secs_f64() / base_next.as_secs_f64(),
        );
    }
}
