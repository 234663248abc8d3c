//! A bootstrap binary started by hand, outside a Lambda execution environment, exits with a
//! message naming what is missing and how to run it locally, not with a panic inside the
//! Lambda runtime. Needs no emulator: the binaries stop before any network access.

use std::process::{Command, Output};

fn run_by_hand(binary: &str) -> Output {
    Command::new(binary)
        .env_clear()
        // Which handler the binary dispatches to; not a Lambda variable.
        .env("_HANDLER", "step_ok")
        .output()
        .expect("the bootstrap binary starts")
}

fn assert_clear_refusal(binary: &str) {
    let out = run_by_hand(binary);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // `main` returned the error: status 1, not a panic's 101.
    assert_eq!(out.status.code(), Some(1), "{binary}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.starts_with(
            "Error: AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_MEMORY_SIZE, \
             AWS_LAMBDA_FUNCTION_VERSION and AWS_LAMBDA_RUNTIME_API are not set: this binary \
             is a Lambda function and must be started by a Lambda execution environment."
        ),
        "{stderr}"
    );
    assert!(stderr.contains("`cargo lambda watch`"), "{stderr}");
    assert!(stderr.contains("LocalRunner"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn the_async_driver_refuses_to_start_outside_lambda() {
    assert_clear_refusal(env!("CARGO_BIN_EXE_e2e-tokio"));
}

#[test]
fn the_blocking_driver_refuses_to_start_outside_lambda() {
    assert_clear_refusal(env!("CARGO_BIN_EXE_e2e-blocking"));
}

#[test]
fn one_missing_variable_is_named_alone() {
    let out = Command::new(env!("CARGO_BIN_EXE_e2e-tokio"))
        .env_clear()
        .env("_HANDLER", "step_ok")
        .env("AWS_LAMBDA_FUNCTION_NAME", "orders")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .output()
        .expect("the bootstrap binary starts");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("Error: AWS_LAMBDA_RUNTIME_API is not set: "),
        "{stderr}"
    );
}
