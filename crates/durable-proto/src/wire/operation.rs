use serde::{Deserialize, Serialize};

use super::{de, lenient_ts, ErrorObject, OperationStatus, OperationType, Timestamp};

/// `ExecutionDetails` of the EXECUTION operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExecutionDetails {
    /// The user's event, as a JSON string; the SDK parses it with its deserializer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_payload: Option<String>,
}

/// `ContextDetails` of a CONTEXT operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextDetails {
    /// Whether the service keeps sending this completed context's children so they can be
    /// replayed (set when the result was too large to checkpoint on the context itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_children: Option<bool>,
    /// The serialized result of a succeeded context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error of a failed context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `StepDetails` of a STEP operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepDetails {
    /// Number of **finished** attempts: 0 before any finished, 1 after the first RETRY (so the
    /// attempt about to run is `attempt + 1`), the total after a terminal action. Absent or
    /// `null` reads as 0.
    #[serde(default, deserialize_with = "de::null_as_default")]
    pub attempt: u32,
    /// When a PENDING step's retry timer fires.
    #[serde(
        default,
        deserialize_with = "lenient_ts::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub next_attempt_timestamp: Option<Timestamp>,
    /// The serialized result of a succeeded step, or the state carried by a RETRY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error of a failed step, or of the last failed attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `WaitDetails` of a WAIT operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitDetails {
    /// When the service will complete the wait.
    #[serde(
        default,
        deserialize_with = "lenient_ts::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub scheduled_end_timestamp: Option<Timestamp>,
}

/// `CallbackDetails` of a CALLBACK operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackDetails {
    /// The service-generated id external systems use to complete the callback. Opaque.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<String>,
    /// The result an external system reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The error an external system reported, or the timeout error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// `ChainedInvokeDetails` of a CHAINED_INVOKE operation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChainedInvokeDetails {
    /// The invoked function's serialized result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// The invoked function's error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// One recorded durable operation, as the service reports it in the envelope and API responses.
///
/// `Id`, `Type` and `Status` are required; every timestamp is read leniently (an unparseable one
/// becomes `None`), and unknown fields are ignored.
///
/// The detail blocks are boxed: a record uses at most one of the six, and keeping them inline
/// made every record of a long history ~750 bytes instead of ~220.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Operation {
    /// The operation id (SDK-chosen, except for EXECUTION).
    pub id: String,
    /// Id of the enclosing CONTEXT; `None` at the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The user-supplied name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The operation's kind.
    #[serde(rename = "Type")]
    pub operation_type: OperationType,
    /// The SDK's label for what produced the operation (e.g. `Step`, `WaitForCondition`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// When the operation started.
    #[serde(
        default,
        deserialize_with = "lenient_ts::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub start_timestamp: Option<Timestamp>,
    /// When the operation reached a terminal status.
    #[serde(
        default,
        deserialize_with = "lenient_ts::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_timestamp: Option<Timestamp>,
    /// The operation's current status.
    pub status: OperationStatus,
    /// EXECUTION details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_details: Option<Box<ExecutionDetails>>,
    /// CONTEXT details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_details: Option<Box<ContextDetails>>,
    /// STEP details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_details: Option<Box<StepDetails>>,
    /// WAIT details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_details: Option<Box<WaitDetails>>,
    /// CALLBACK details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_details: Option<Box<CallbackDetails>>,
    /// CHAINED_INVOKE details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_details: Option<Box<ChainedInvokeDetails>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_operation_round_trips_without_nulls() {
        let json = r#"{"Id":"a","Type":"WAIT","Status":"STARTED"}"#;
        let op: Operation = serde_json::from_str(json).unwrap();
        assert_eq!(op.operation_type, OperationType::Wait);
        assert_eq!(op.status, OperationStatus::Started);
        assert_eq!(serde_json::to_string(&op).unwrap(), json);
    }

    #[test]
    fn full_operation_round_trips() {
        let json = r#"{"Id":"s1","ParentId":"c1","Name":"compute","Type":"STEP","SubType":"Step",
            "StartTimestamp":1795872239083,"EndTimestamp":"2026-01-02T03:04:05Z","Status":"PENDING",
            "StepDetails":{"Attempt":1,"NextAttemptTimestamp":1795872240106,
              "Error":{"ErrorType":"Boom","ErrorMessage":"transient"}},
            "ContextDetails":{"ReplayChildren":true,"Result":"\"x\""},
            "CallbackDetails":{"CallbackId":"abc+/=","Result":"1"},
            "ChainedInvokeDetails":{"Error":{}},
            "WaitDetails":{"ScheduledEndTimestamp":1},
            "ExecutionDetails":{"InputPayload":"{}"}}"#;
        let op: Operation = serde_json::from_str(json).unwrap();
        let step = op.step_details.as_ref().unwrap();
        assert_eq!(step.attempt, 1);
        assert_eq!(
            step.next_attempt_timestamp,
            Some(Timestamp(1_795_872_240_106))
        );
        assert_eq!(step.error.as_ref().unwrap().type_name(), "Boom");
        assert_eq!(op.end_timestamp, Some(Timestamp(1_767_323_045_000)));
        assert_eq!(
            op.context_details.as_ref().unwrap().replay_children,
            Some(true)
        );
        let again: Operation = serde_json::from_slice(&serde_json::to_vec(&op).unwrap()).unwrap();
        assert_eq!(again, op);
    }

    #[test]
    fn required_fields_are_named_when_missing() {
        for (json, field) in [
            (r#"{"Type":"STEP","Status":"STARTED"}"#, "`Id`"),
            (r#"{"Id":"a","Status":"STARTED"}"#, "`Type`"),
            (r#"{"Id":"a","Type":"STEP"}"#, "`Status`"),
        ] {
            let err = serde_json::from_str::<Operation>(json).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn attempt_absent_or_null_is_zero() {
        let details: StepDetails = serde_json::from_str("{}").unwrap();
        assert_eq!(details.attempt, 0);
        let details: StepDetails = serde_json::from_str(r#"{"Attempt":null}"#).unwrap();
        assert_eq!(details.attempt, 0);
        assert!(serde_json::from_str::<StepDetails>(r#"{"Attempt":-1}"#).is_err());
    }

    #[test]
    fn odd_values_are_tolerated() {
        let json = r#"{"Id":"a","Type":"HOLOGRAM","Status":"PAUSED","Future":{"x":[1]},
            "StartTimestamp":"garbage","EndTimestamp":{"nested":true},
            "WaitDetails":{"ScheduledEndTimestamp":1795872240.106981,"Extra":1},
            "StepDetails":null}"#;
        let op: Operation = serde_json::from_str(json).unwrap();
        assert_eq!(op.operation_type, OperationType::Unknown("HOLOGRAM".into()));
        assert_eq!(op.status, OperationStatus::Unknown("PAUSED".into()));
        assert_eq!(op.start_timestamp, None);
        assert_eq!(op.end_timestamp, None);
        assert_eq!(op.step_details, None);
        let wait = op.wait_details.unwrap();
        assert_eq!(wait.scheduled_end_timestamp, Some(Timestamp(1_795_872_240)));
    }
}
