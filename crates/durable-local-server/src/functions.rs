//! Declared functions: what `serve` and `run` host, from the command line or a config file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::ConfigError;

/// The invocation timeout a function gets when none is declared (Lambda's default is 3 s;
/// bootstraps built in debug mode start slower, so the local default is generous).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One function the server hosts: a command that is a Lambda custom runtime (it talks to
/// the Runtime API at `AWS_LAMBDA_RUNTIME_API`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The function name (`[a-zA-Z0-9-_]`, 1 to 64 characters).
    pub name: String,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// How long one invocation may run before the process is stopped (`Sandbox.Timedout`).
    pub timeout: Duration,
    /// Whether the function has a durable configuration: an Invoke starts an execution. A
    /// plain function's Invoke just runs it once with the payload.
    pub durable: bool,
    /// The durable configuration's execution timeout, if any.
    pub execution_timeout: Option<Duration>,
    /// Extra environment variables for the process.
    pub environment: BTreeMap<String, String>,
}

impl FunctionSpec {
    /// A durable function running `command` with the default timeout.
    pub fn durable(name: impl Into<String>, command: Vec<String>) -> Self {
        Self {
            name: name.into(),
            command,
            timeout: DEFAULT_TIMEOUT,
            durable: true,
            execution_timeout: None,
            environment: BTreeMap::new(),
        }
    }

    /// Parses a command-line declaration `NAME=PROGRAM [ARGS...]` (the command is split on
    /// whitespace; use a config file for arguments with spaces).
    pub fn parse_flag(flag: &str) -> Result<Self, ConfigError> {
        let (name, command) = flag.split_once('=').ok_or_else(|| ConfigError::Flag {
            flag: flag.to_owned(),
            reason: "expected NAME=COMMAND".to_owned(),
        })?;
        let command: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
        let spec = Self::durable(name.trim(), command);
        spec.validate().map_err(|reason| ConfigError::Flag {
            flag: flag.to_owned(),
            reason,
        })?;
        Ok(spec)
    }

    fn validate(&self) -> Result<(), String> {
        let name_ok = (1..=64).contains(&self.name.len())
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !name_ok {
            return Err(format!(
                "function name {:?}: use 1 to 64 characters of [a-zA-Z0-9-_]",
                self.name
            ));
        }
        if self.command.is_empty() {
            return Err(format!("function {:?}: the command is empty", self.name));
        }
        if self.timeout.is_zero() {
            return Err(format!(
                "function {:?}: the timeout must be positive",
                self.name
            ));
        }
        Ok(())
    }
}

/// The config file: `{"functions": [{"name": …, "command": […], …}]}` (JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    functions: Vec<FunctionEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionEntry {
    name: String,
    command: Vec<String>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
    /// `{"execution_timeout_seconds": N}` or `false` for a plain function; durable when
    /// absent.
    #[serde(default)]
    durable: Option<DurableEntry>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum DurableEntry {
    Flag(bool),
    Config {
        #[serde(default)]
        execution_timeout_seconds: Option<u64>,
    },
}

/// Reads a config file. Relative program paths are taken relative to the file's directory
/// when such a file exists there, so a config can sit next to its binaries.
pub fn load_config(path: &Path) -> Result<Vec<FunctionSpec>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    let file: ConfigFile = serde_json::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let base = path.parent().map(Path::to_owned).unwrap_or_default();
    let mut specs = Vec::new();
    for entry in file.functions {
        let (durable, execution_timeout) = match entry.durable {
            None | Some(DurableEntry::Flag(true)) => (true, None),
            Some(DurableEntry::Flag(false)) => (false, None),
            Some(DurableEntry::Config {
                execution_timeout_seconds,
            }) => (true, execution_timeout_seconds.map(Duration::from_secs)),
        };
        let mut command = entry.command;
        if let Some(program) = command.first_mut() {
            *program = resolve_program(&base, program);
        }
        let spec = FunctionSpec {
            name: entry.name,
            command,
            timeout: entry
                .timeout_seconds
                .map_or(DEFAULT_TIMEOUT, Duration::from_secs),
            durable,
            execution_timeout,
            environment: entry.environment,
        };
        spec.validate().map_err(|message| ConfigError::Parse {
            path: path.to_owned(),
            message,
        })?;
        specs.push(spec);
    }
    Ok(specs)
}

fn resolve_program(base: &Path, program: &str) -> String {
    let candidate = PathBuf::from(program);
    if candidate.is_relative() && program.contains('/') {
        let beside = base.join(&candidate);
        if beside.exists() {
            return beside.to_string_lossy().into_owned();
        }
    }
    program.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_declare_durable_functions() {
        let spec = FunctionSpec::parse_flag("orders=./bootstrap --fast").unwrap();
        assert_eq!(spec.name, "orders");
        assert_eq!(spec.command, ["./bootstrap", "--fast"]);
        assert!(spec.durable);
        let e = FunctionSpec::parse_flag("orders").unwrap_err();
        assert!(e.to_string().contains("NAME=COMMAND"), "{e}");
        let e = FunctionSpec::parse_flag("bad name=x").unwrap_err();
        assert!(e.to_string().contains("[a-zA-Z0-9-_]"), "{e}");
        assert!(FunctionSpec::parse_flag("orders=").is_err());
    }

    #[test]
    fn config_files_declare_settings() {
        let dir = std::env::temp_dir().join(format!("dls-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("functions.json");
        std::fs::write(
            &path,
            r#"{"functions":[
              {"name":"orders","command":["/bin/true"],"timeout_seconds":5,
               "durable":{"execution_timeout_seconds":86400},"environment":{"A":"1"}},
              {"name":"echo","command":["/bin/cat"],"durable":false}]}"#,
        )
        .unwrap();
        let specs = load_config(&path).unwrap();
        assert_eq!(specs[0].timeout, Duration::from_secs(5));
        assert_eq!(specs[0].execution_timeout, Some(Duration::from_secs(86400)));
        assert_eq!(specs[0].environment["A"], "1");
        assert!(!specs[1].durable);
        std::fs::write(&path, r#"{"functions":[{"name":"x","cmd":[]}]}"#).unwrap();
        let e = load_config(&path).unwrap_err();
        assert!(e.to_string().contains("functions.json"), "{e}");
    }
}
