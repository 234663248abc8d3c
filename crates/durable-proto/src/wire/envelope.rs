use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::{de as helpers, Operation};

/// A page of operations: `InitialExecutionState` in the envelope, `NewExecutionState` in a
/// checkpoint response, or a `GetDurableExecutionState` response.
///
/// Timestamps inside are read as milliseconds; see [`Timestamp`](crate::Timestamp) for why API
/// responses (epoch seconds) should come from `aws-sdk-lambda` types instead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionState {
    /// The operations on this page; absent or `null` reads as empty. The first envelope page
    /// may be empty while `next_marker` is set.
    #[serde(default, deserialize_with = "helpers::null_as_default")]
    pub operations: Vec<Operation>,
    /// Where the next page starts; `None` (absent, `null` or `""`) means no more pages.
    #[serde(
        default,
        deserialize_with = "helpers::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_marker: Option<String>,
}

/// The payload the service invokes a durable function with (the "envelope").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InvocationInput {
    /// The execution's ARN. Treat as opaque beyond [`execution_id_from_arn`].
    pub durable_execution_arn: String,
    /// The token for this invocation's first checkpoint.
    pub checkpoint_token: String,
    /// The first page of the execution's operations.
    #[serde(default, deserialize_with = "helpers::null_as_default")]
    pub initial_execution_state: ExecutionState,
    /// Ids of operations that changed since the previous invocation; informational only.
    #[serde(default, deserialize_with = "helpers::null_as_default")]
    pub updated_operation_ids: Vec<String>,
}

/// The body of a `CheckpointDurableExecution` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CheckpointResponse {
    /// The token for the next checkpoint. `None` (absent, `null` or `""`) means the service
    /// accepts no more checkpoints: the execution is terminal.
    #[serde(
        default,
        deserialize_with = "helpers::empty_as_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub checkpoint_token: Option<String>,
    /// Operations changed since the last checkpoint; follow `next_marker` with the new token.
    #[serde(default, deserialize_with = "helpers::null_as_default")]
    pub new_execution_state: ExecutionState,
}

/// The execution id inside an execution ARN: its last `/`-separated segment, which is also the
/// EXECUTION operation's `Id`. Nothing else is parsed, because the emulator's "ARN" is a bare
/// `uuid/uuid`.
pub fn execution_id_from_arn(arn: &str) -> &str {
    match arn.rfind('/') {
        Some(slash) => &arn[slash + 1..],
        None => arn,
    }
}

/// Why an invocation payload could not be read as a durable-execution envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The bytes are not JSON (including non-UTF-8 text and nesting past serde_json's limit).
    #[error("the invocation payload is not valid JSON: {detail}")]
    NotJson {
        /// The JSON parser's message, with line and column.
        detail: String,
    },
    /// Valid JSON, but not an object with `DurableExecutionArn` and `CheckpointToken`.
    #[error(
        "the invocation payload is not a durable-execution invocation (it has no \
         DurableExecutionArn/CheckpointToken); is durability (DurableConfig) configured on this \
         function?"
    )]
    NotDurable,
    /// An envelope whose fields have the wrong shape, e.g. a number where a string belongs.
    #[error("the durable-execution invocation envelope is malformed: {detail}")]
    Malformed {
        /// The deserializer's message, naming the field or type and the line and column.
        detail: String,
    },
    /// `DurableExecutionArn` or `CheckpointToken` is an empty string.
    #[error("the durable-execution invocation envelope has an empty `{field}`")]
    EmptyField {
        /// The wire name of the empty field.
        field: &'static str,
    },
}

impl EnvelopeError {
    /// A stable code for this kind of error, for logs and documentation (`DP-E001`…).
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotJson { .. } => "DP-E001",
            Self::NotDurable => "DP-E002",
            Self::Malformed { .. } => "DP-E003",
            Self::EmptyField { .. } => "DP-E004",
        }
    }
}

impl InvocationInput {
    /// Parses the raw invocation payload. Never panics; see [`EnvelopeError`] for the failures.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        // serde would also build a struct from a JSON array, which no real envelope is; only
        // objects take the fast path.
        let main_error = if first_non_whitespace(bytes) == Some(b'{') {
            match serde_json::from_slice::<Self>(bytes) {
                Ok(input) => return input.validated(),
                Err(error) => Some(error),
            }
        } else {
            None
        };
        // Failure path only: a second, allocation-free pass tells "not JSON" and "not an
        // envelope" apart from "an envelope with a bad field".
        if let Some(error) = &main_error {
            if !matches!(error.classify(), serde_json::error::Category::Data) {
                return Err(EnvelopeError::NotJson {
                    detail: error.to_string(),
                });
            }
        }
        let probe =
            serde_json::from_slice::<Probe>(bytes).map_err(|error| EnvelopeError::NotJson {
                detail: error.to_string(),
            })?;
        match main_error {
            Some(error) if probe.is_envelope() => Err(EnvelopeError::Malformed {
                detail: error.to_string(),
            }),
            _ => Err(EnvelopeError::NotDurable),
        }
    }

    /// Reads an envelope that is already a JSON value (e.g. a runtime's `serde_json::Value`
    /// event). Fails like [`from_slice`](Self::from_slice), except never with `NotJson`.
    pub fn from_value(value: serde_json::Value) -> Result<Self, EnvelopeError> {
        let is_envelope = value.as_object().is_some_and(|object| {
            ENVELOPE_KEYS
                .iter()
                .all(|key| object.get(*key).is_some_and(|v| !v.is_null()))
        });
        if !is_envelope {
            return Err(EnvelopeError::NotDurable);
        }
        serde_json::from_value::<Self>(value)
            .map_err(|error| EnvelopeError::Malformed {
                detail: error.to_string(),
            })?
            .validated()
    }

    fn validated(self) -> Result<Self, EnvelopeError> {
        let empty = if self.durable_execution_arn.is_empty() {
            Some(ENVELOPE_KEYS[0])
        } else if self.checkpoint_token.is_empty() {
            Some(ENVELOPE_KEYS[1])
        } else {
            None
        };
        match empty {
            Some(field) => Err(EnvelopeError::EmptyField { field }),
            None => Ok(self),
        }
    }
}

const ENVELOPE_KEYS: [&str; 2] = ["DurableExecutionArn", "CheckpointToken"];

fn first_non_whitespace(bytes: &[u8]) -> Option<u8> {
    bytes
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// Which envelope keys a JSON document has (non-null) at its top level, if it is an object.
/// Skips every value with `IgnoredAny`, which serde_json walks iteratively, so even absurdly
/// nested input cannot overflow the stack here.
#[derive(Default)]
struct Probe {
    is_object: bool,
    has_arn: bool,
    has_token: bool,
}

impl Probe {
    fn is_envelope(&self) -> bool {
        self.is_object && self.has_arn && self.has_token
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ProbeVisitor)
    }
}

struct ProbeVisitor;

impl<'de> Visitor<'de> for ProbeVisitor {
    type Value = Probe;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Probe, E> {
        Ok(Probe::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Probe, E> {
        Ok(Probe::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Probe, E> {
        Ok(Probe::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Probe, E> {
        Ok(Probe::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Probe, E> {
        Ok(Probe::default())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Probe, E> {
        Ok(Probe::default())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Probe, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Probe::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe, A::Error> {
        let mut probe = Probe {
            is_object: true,
            ..Probe::default()
        };
        while let Some(key) = map.next_key::<ProbeKey>()? {
            let present = map.next_value::<Option<IgnoredAny>>()?.is_some();
            match key {
                ProbeKey::Arn => probe.has_arn |= present,
                ProbeKey::Token => probe.has_token |= present,
                ProbeKey::Other => {}
            }
        }
        Ok(probe)
    }
}

enum ProbeKey {
    Arn,
    Token,
    Other,
}

impl<'de> Deserialize<'de> for ProbeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(ProbeKeyVisitor)
    }
}

struct ProbeKeyVisitor;

impl<'de> Visitor<'de> for ProbeKeyVisitor {
    type Value = ProbeKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<ProbeKey, E> {
        Ok(match key {
            "DurableExecutionArn" => ProbeKey::Arn,
            "CheckpointToken" => ProbeKey::Token,
            _ => ProbeKey::Other,
        })
    }
}
