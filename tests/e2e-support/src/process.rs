//! Process and log-file helpers (Linux `/proc`; signals through the `kill` command).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::http::clip;

/// Whether `pid` is a live (non-zombie) process whose command line contains `pattern`.
pub(crate) fn pid_alive(pid: u32, pattern: &str) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The state follows the parenthesised command name, which may itself contain spaces.
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("X");
    if state == "Z" || state == "X" {
        return false;
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&cmdline)
        .replace('\0', " ")
        .contains(pattern)
}

pub(crate) fn kill(signal: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub(crate) fn tail(path: &Path, lines: usize) -> String {
    match fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..]
                .iter()
                .map(|l| format!("    {}\n", clip(l, 400)))
                .collect()
        }
        Err(e) => format!("    (cannot read: {e})\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_alive_sees_this_process() {
        assert!(pid_alive(std::process::id(), ""));
        assert!(!pid_alive(
            std::process::id(),
            "surely-not-in-the-cmdline-xyz"
        ));
    }
}
