//! durable-proto must stay embeddable in any executor: its normal (non-dev) dependency tree
//! may not contain an async runtime, an HTTP stack or the AWS SDK.

use std::process::Command;

#[test]
fn normal_dependency_tree_has_no_io_crates() {
    let cargo = env!("CARGO");
    let output = Command::new(cargo)
        .args([
            "tree",
            "--package",
            "durable-proto",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).expect("utf-8");
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        crates.contains(&"durable-proto"),
        "unexpected tree:\n{tree}"
    );
    let forbidden: Vec<&&str> = crates
        .iter()
        .filter(|name| {
            matches!(
                **name,
                "tokio" | "hyper" | "reqwest" | "ureq" | "mio" | "async-std" | "lambda_runtime"
            ) || name.starts_with("aws-")
        })
        .collect();
    assert!(
        forbidden.is_empty(),
        "durable-proto depends on IO crates: {forbidden:?}\n{tree}"
    );
}
