//! Locations, the one-time venv setup, work directories and ports.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Error, Result};

/// The workspace root (where `Cargo.toml`, `scripts/` and `tests/harness/` live).
pub fn workspace_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = here.join("../..");
    root.canonicalize().unwrap_or(root)
}

/// `tests/harness/` (shim, setup scripts, `examples/py_child.py`).
pub fn harness_dir() -> PathBuf {
    workspace_root().join("tests/harness")
}

/// This crate's `fixtures/` directory.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub(crate) fn emulator_script() -> PathBuf {
    workspace_root().join("scripts/emulator.sh")
}

/// Runs `scripts/emulator.sh setup` once per process (idempotent; quick when the venv is
/// already there) and returns the venv path. The outcome is cached, failures included.
pub fn ensure_setup() -> Result<PathBuf> {
    static SETUP: OnceLock<std::result::Result<PathBuf, String>> = OnceLock::new();
    SETUP
        .get_or_init(|| {
            let script = emulator_script();
            let out = Command::new("bash")
                .arg(&script)
                .arg("setup")
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("cannot run {} setup: {e}", script.display()))?;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let venv = stdout.lines().last().unwrap_or("").trim().to_string();
            if !out.status.success() || venv.is_empty() {
                return Err(format!(
                    "`{} setup` failed ({}); it needs python3 >= 3.11 and PyPI access. \
                     Output:\n{}{}",
                    script.display(),
                    out.status,
                    stdout,
                    stderr
                ));
            }
            Ok(PathBuf::from(venv))
        })
        .clone()
        .map_err(Error::new)
}

/// The venv's Python interpreter (the official Python SDK 3.0.0 is installed there).
pub fn venv_python() -> Result<PathBuf> {
    Ok(ensure_setup()?.join("bin/python"))
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        _ => workspace_root().join("target"),
    }
}

/// Creates a fresh, unique directory `target/e2e/<label>-<ms>-<pid>-<n>` (honours
/// `CARGO_TARGET_DIR`) for a test's logs and outputs; it is kept after the test for diagnosis.
pub fn new_workdir(label: &str) -> Result<PathBuf> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = target_dir()
        .join("e2e")
        .join(format!("{safe}-{ms}-{}-{seq}", std::process::id()));
    fs::create_dir_all(&dir)
        .map_err(|e| Error::new(format!("cannot create work dir {}: {e}", dir.display())))?;
    Ok(dir)
}

/// Two distinct free loopback ports (the OS picks them; both are held until both are known).
/// Another process may still take one before it is used: retry on "in use".
pub fn free_ports() -> Result<(u16, u16)> {
    let bind = || {
        TcpListener::bind("127.0.0.1:0")
            .map_err(|e| Error::new(format!("cannot bind a loopback port: {e}")))
    };
    let (a, b) = (bind()?, bind()?);
    let port = |l: &TcpListener| {
        l.local_addr()
            .map(|a| a.port())
            .map_err(|e| Error::new(format!("cannot read a bound port: {e}")))
    };
    Ok((port(&a)?, port(&b)?))
}

/// Builds a binary target of a workspace package (`cargo build -p <package> --bin <name>`,
/// debug profile) and returns its path, e.g. a Lambda `bootstrap` for runtime-api mode. Works
/// from inside `cargo test` (the outer build has finished by then).
pub fn build_binary(package: &str, bin: &str) -> Result<PathBuf> {
    cargo_build(package, "--bin", bin)?;
    Ok(target_dir().join("debug").join(bin))
}

/// Like [`build_binary`] for an example target (`--example <name>`).
pub fn build_example(package: &str, example: &str) -> Result<PathBuf> {
    cargo_build(package, "--example", example)?;
    Ok(target_dir().join("debug/examples").join(example))
}

fn cargo_build(package: &str, kind: &str, name: &str) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["build", "-p", package, kind, name])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo ({cargo:?}): {e}")))?;
    if !out.status.success() {
        return Err(Error::new(format!(
            "`cargo build -p {package} {kind} {name}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_ports_are_distinct() {
        let (a, b) = free_ports().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn paths_point_into_the_workspace() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(harness_dir().join("shim.py").is_file());
        assert!(emulator_script().is_file());
    }
}
