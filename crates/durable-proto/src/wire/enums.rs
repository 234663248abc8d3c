use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A string enum whose unknown values are kept rather than rejected, so a newer service can add
/// values without breaking older SDKs, and whatever we echo back is what we received.
trait WireEnum: Sized {
    const EXPECTING: &'static str;
    fn from_wire(text: &str) -> Self;
}

struct WireVisitor<T>(PhantomData<T>);

impl<'de, T: WireEnum> Visitor<'de> for WireVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    // Borrowed, transient (escaped) and owned strings all arrive here through serde's defaults.
    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from_wire(v))
    }
}

macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $expecting:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)*, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this SDK does not know, kept verbatim so it serializes back unchanged.
            /// Build values with `From<&str>` so a known string never lands here.
            Unknown(String),
        }

        impl $name {
            /// The wire string.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )+
                    Self::Unknown(text) => text,
                }
            }
        }

        impl WireEnum for $name {
            const EXPECTING: &'static str = $expecting;

            fn from_wire(text: &str) -> Self {
                match text {
                    $( $wire $(| $alias)* => Self::$variant, )+
                    other => Self::Unknown(other.to_owned()),
                }
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                <Self as WireEnum>::from_wire(text)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(WireVisitor(PhantomData))
            }
        }
    };
}

wire_enum! {
    /// The kind of a durable operation (`Operation.Type`, `OperationUpdate.Type`).
    OperationType, "an OperationType string" {
        /// `EXECUTION`: the whole durable execution; created by the service.
        Execution = "EXECUTION",
        /// `CONTEXT`: a child context grouping other operations.
        Context = "CONTEXT",
        /// `STEP`: a checkpointed unit of user code.
        Step = "STEP",
        /// `WAIT`: a durable timer.
        Wait = "WAIT",
        /// `CALLBACK`: a wait for an external system to report a result.
        Callback = "CALLBACK",
        /// `CHAINED_INVOKE`: an invocation of another Lambda function.
        ChainedInvoke = "CHAINED_INVOKE",
    }
}

wire_enum! {
    /// The state of a durable operation (`Operation.Status`).
    OperationStatus, "an OperationStatus string" {
        /// `STARTED`: running or in flight.
        Started = "STARTED",
        /// `PENDING`: a step waiting for its retry timer.
        Pending = "PENDING",
        /// `READY`: a step whose retry timer fired; its next attempt may run.
        Ready = "READY",
        /// `SUCCEEDED`: finished with a result.
        Succeeded = "SUCCEEDED",
        /// `FAILED`: finished with an error.
        Failed = "FAILED",
        /// `CANCELLED`: cancelled before finishing.
        Cancelled = "CANCELLED",
        /// `TIMED_OUT` (also read from `TIMEDOUT`, which some producers have sent).
        TimedOut = "TIMED_OUT" | "TIMEDOUT",
        /// `STOPPED`: stopped from outside (e.g. `StopDurableExecution` of an invoked target).
        Stopped = "STOPPED",
    }
}

impl OperationStatus {
    /// Whether the operation has finished for good: SUCCEEDED, FAILED, CANCELLED, TIMED_OUT or
    /// STOPPED. Unknown statuses are not terminal.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Failed | Self::Cancelled | Self::TimedOut | Self::Stopped
        )
    }
}

wire_enum! {
    /// What an [`OperationUpdate`](crate::OperationUpdate) asks the service to do.
    OperationAction, "an OperationAction string" {
        /// `START`: create the operation.
        Start = "START",
        /// `SUCCEED`: finish it with a payload.
        Succeed = "SUCCEED",
        /// `FAIL`: finish it with an error.
        Fail = "FAIL",
        /// `RETRY`: a step attempt failed; schedule another after a delay.
        Retry = "RETRY",
        /// `CANCEL`: cancel a wait or chained invoke.
        Cancel = "CANCEL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip() {
        for (value, wire) in [
            (OperationType::Execution, "EXECUTION"),
            (OperationType::Context, "CONTEXT"),
            (OperationType::Step, "STEP"),
            (OperationType::Wait, "WAIT"),
            (OperationType::Callback, "CALLBACK"),
            (OperationType::ChainedInvoke, "CHAINED_INVOKE"),
        ] {
            let json = format!("\"{wire}\"");
            assert_eq!(serde_json::to_string(&value).unwrap(), json);
            assert_eq!(
                serde_json::from_slice::<OperationType>(json.as_bytes()).unwrap(),
                value
            );
            assert_eq!(value.to_string(), wire);
        }
        for wire in [
            "STARTED",
            "PENDING",
            "READY",
            "SUCCEEDED",
            "FAILED",
            "CANCELLED",
            "TIMED_OUT",
            "STOPPED",
        ] {
            let status = OperationStatus::from(wire);
            assert!(!matches!(status, OperationStatus::Unknown(_)), "{wire}");
            assert_eq!(status.as_str(), wire);
        }
        for wire in ["START", "SUCCEED", "FAIL", "RETRY", "CANCEL"] {
            let action = OperationAction::from(wire);
            assert!(!matches!(action, OperationAction::Unknown(_)), "{wire}");
            assert_eq!(
                serde_json::to_string(&action).unwrap(),
                format!("\"{wire}\"")
            );
        }
    }

    #[test]
    fn unknown_values_are_preserved() {
        let value: OperationType = serde_json::from_str("\"TELEPORT\"").unwrap();
        assert_eq!(value, OperationType::Unknown("TELEPORT".into()));
        assert_eq!(serde_json::to_string(&value).unwrap(), "\"TELEPORT\"");
        let status: OperationStatus = serde_json::from_str("\"PAUSED\"").unwrap();
        assert_eq!(status.as_str(), "PAUSED");
        assert!(!status.is_terminal());
        // Case matters on the wire; a lowercase value is a different (unknown) value.
        let action: OperationAction = serde_json::from_str("\"start\"").unwrap();
        assert_eq!(action, OperationAction::Unknown("start".into()));
    }

    #[test]
    fn timedout_alias() {
        let status: OperationStatus = serde_json::from_str("\"TIMEDOUT\"").unwrap();
        assert_eq!(status, OperationStatus::TimedOut);
        assert_eq!(serde_json::to_string(&status).unwrap(), "\"TIMED_OUT\"");
    }

    #[test]
    fn terminal_statuses() {
        let terminal: Vec<_> = ["STARTED", "PENDING", "READY", "SUCCEEDED", "FAILED"]
            .into_iter()
            .chain(["CANCELLED", "TIMED_OUT", "STOPPED"])
            .filter(|s| OperationStatus::from(*s).is_terminal())
            .collect();
        assert_eq!(
            terminal,
            ["SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "STOPPED"]
        );
    }

    #[test]
    fn escaped_owned_and_borrowed_strings() {
        // An escape forces serde_json to hand over a transient, unescaped copy.
        let value: OperationType = serde_json::from_slice(br#""CHAINED\u005fINVOKE""#).unwrap();
        assert_eq!(value, OperationType::ChainedInvoke);
        let value: OperationAction = serde_json::from_value(serde_json::json!("RETRY")).unwrap();
        assert_eq!(value, OperationAction::Retry);
        let value: OperationStatus = serde_json::from_reader(&b"\"READY\""[..]).unwrap();
        assert_eq!(value, OperationStatus::Ready);
        let err = serde_json::from_str::<OperationStatus>("7").unwrap_err();
        assert!(err.to_string().contains("OperationStatus"), "{err}");
    }
}
