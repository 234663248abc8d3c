use serde::{Deserialize, Serialize};

use super::{ErrorObject, OperationAction, OperationType};

/// `StepOptions` of a STEP RETRY update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StepOptions {
    /// Seconds until the next attempt (service range 1..=31 622 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_delay_seconds: Option<u32>,
}

/// `WaitOptions` of a WAIT START update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WaitOptions {
    /// The wait's duration (service range 1..=31 622 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_seconds: Option<u32>,
}

/// `CallbackOptions` of a CALLBACK START update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallbackOptions {
    /// Seconds until the callback times out; 0 or absent means never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    /// Maximum seconds between heartbeats; 0 or absent means no heartbeat timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_timeout_seconds: Option<u32>,
}

/// `ChainedInvokeOptions` of a CHAINED_INVOKE START update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChainedInvokeOptions {
    /// The target function's name or ARN; durable targets need a qualified one.
    pub function_name: String,
    /// The tenant to invoke the target as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The X-Ray trace header to start the target with; without it the service passes the
    /// caller's own trace header on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_amzn_trace_id: Option<String>,
}

/// `ContextOptions` of a CONTEXT update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextOptions {
    /// Ask the service to keep sending the children of this context after it completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_children: Option<bool>,
}

/// One entry of a `CheckpointDurableExecution` request: an action on one operation.
///
/// Repeat `Name`, `SubType` and `ParentId` on every update of an operation; the service rejects
/// updates whose values differ from the stored ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OperationUpdate {
    /// The operation id.
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
    /// The SDK's label for what produced the operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_type: Option<String>,
    /// What to do.
    pub action: OperationAction,
    /// Success value, RETRY state, or chained-invoke input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Failure, or the error of a failed attempt on RETRY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// STEP options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_options: Option<StepOptions>,
    /// WAIT options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_options: Option<WaitOptions>,
    /// CALLBACK options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_options: Option<CallbackOptions>,
    /// CHAINED_INVOKE options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chained_invoke_options: Option<ChainedInvokeOptions>,
    /// CONTEXT options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_options: Option<ContextOptions>,
}

/// Upper bound on what one present field adds besides its value's characters: the quoted key
/// (the longest, `NextAttemptDelaySeconds`, has 23 bytes), colon, separating comma, and the
/// value's quotes, brackets or braces.
const FIELD_OVERHEAD: usize = 32;
/// `u32::MAX` has 10 digits.
const MAX_U32_DIGITS: usize = 10;
/// `false`.
const MAX_BOOL_LEN: usize = 5;

impl OperationUpdate {
    /// An update with only the required fields set.
    pub fn new(
        id: impl Into<String>,
        operation_type: OperationType,
        action: OperationAction,
    ) -> Self {
        Self {
            id: id.into(),
            parent_id: None,
            name: None,
            operation_type,
            sub_type: None,
            action,
            payload: None,
            error: None,
            step_options: None,
            wait_options: None,
            callback_options: None,
            chained_invoke_options: None,
            context_options: None,
        }
    }

    /// An upper bound on the length of this update's compact JSON (`serde_json::to_vec`), for
    /// enforcing checkpoint batch byte limits without serializing. It never under-estimates;
    /// it over-estimates by a few dozen bytes per field. Cost: one scan of each string.
    pub fn estimated_size(&self) -> usize {
        let mut size = 2 // braces
            + str_len(&self.id)
            + opt_str_len(&self.parent_id)
            + opt_str_len(&self.name)
            + str_len(self.operation_type.as_str())
            + opt_str_len(&self.sub_type)
            + str_len(self.action.as_str())
            + opt_str_len(&self.payload)
            + self.error.as_ref().map_or(0, error_len);
        if let Some(o) = &self.step_options {
            size += FIELD_OVERHEAD + opt_u32_len(o.next_attempt_delay_seconds);
        }
        if let Some(o) = &self.wait_options {
            size += FIELD_OVERHEAD + opt_u32_len(o.wait_seconds);
        }
        if let Some(o) = &self.callback_options {
            size += FIELD_OVERHEAD
                + opt_u32_len(o.timeout_seconds)
                + opt_u32_len(o.heartbeat_timeout_seconds);
        }
        if let Some(o) = &self.chained_invoke_options {
            size += FIELD_OVERHEAD
                + str_len(&o.function_name)
                + opt_str_len(&o.tenant_id)
                + opt_str_len(&o.x_amzn_trace_id);
        }
        if let Some(o) = &self.context_options {
            size += FIELD_OVERHEAD
                + o.replay_children
                    .map_or(0, |_| FIELD_OVERHEAD + MAX_BOOL_LEN);
        }
        size
    }
}

/// Bytes of `text` once JSON-escaped. serde_json escapes only `"`, `\` and control bytes, and
/// its longest escape (`\u00XX`) is 6 bytes; everything else, non-ASCII included, is copied.
fn escaped_len(text: &str) -> usize {
    let escapes = text
        .bytes()
        .filter(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .count();
    text.len() + 5 * escapes
}

fn str_len(text: &str) -> usize {
    FIELD_OVERHEAD + escaped_len(text)
}

fn opt_str_len(text: &Option<String>) -> usize {
    text.as_deref().map_or(0, str_len)
}

fn opt_u32_len(value: Option<u32>) -> usize {
    value.map_or(0, |_| FIELD_OVERHEAD + MAX_U32_DIGITS)
}

fn error_len(error: &ErrorObject) -> usize {
    FIELD_OVERHEAD
        + opt_str_len(&error.error_type)
        + opt_str_len(&error.error_message)
        + opt_str_len(&error.error_data)
        + error.stack_trace.as_ref().map_or(0, |lines| {
            // Each element: its quotes and a separating comma.
            FIELD_OVERHEAD + lines.iter().map(|l| escaped_len(l) + 3).sum::<usize>()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(text: &str) -> OperationUpdate {
        OperationUpdate {
            id: format!("id-{text}"),
            parent_id: Some(text.into()),
            name: Some(text.into()),
            operation_type: OperationType::Unknown(text.into()),
            sub_type: Some(text.into()),
            action: OperationAction::Unknown(text.into()),
            payload: Some(text.repeat(10)),
            error: Some(ErrorObject {
                error_type: Some(text.into()),
                error_message: Some(text.into()),
                error_data: Some(text.into()),
                stack_trace: Some(vec![text.into(), String::new(), text.into()]),
            }),
            step_options: Some(StepOptions {
                next_attempt_delay_seconds: Some(u32::MAX),
            }),
            wait_options: Some(WaitOptions {
                wait_seconds: Some(u32::MAX),
            }),
            callback_options: Some(CallbackOptions {
                timeout_seconds: Some(u32::MAX),
                heartbeat_timeout_seconds: Some(u32::MAX),
            }),
            chained_invoke_options: Some(ChainedInvokeOptions {
                function_name: text.into(),
                tenant_id: Some(text.into()),
                x_amzn_trace_id: Some(text.into()),
            }),
            context_options: Some(ContextOptions {
                replay_children: Some(false),
            }),
        }
    }

    fn samples() -> Vec<OperationUpdate> {
        let texts = [
            "",
            "a",
            "plain ascii payload",
            "\"quoted\" and \\back\\slashed\\",
            "\u{0}\u{1}\u{1f}\n\r\t\u{7f}",
            "héllo wörld ✓ 日本語 🦀",
            "{\"k\":[1,2,{\"n\":\"\\u0000\"}]}",
            "\"\"\"\"\"\"\"\"\"\"",
        ];
        let mut updates = vec![
            OperationUpdate::new("", OperationType::Step, OperationAction::Start),
            OperationUpdate::new("x", OperationType::ChainedInvoke, OperationAction::Succeed),
            OperationUpdate {
                step_options: Some(StepOptions::default()),
                wait_options: Some(WaitOptions::default()),
                callback_options: Some(CallbackOptions::default()),
                chained_invoke_options: Some(ChainedInvokeOptions::default()),
                context_options: Some(ContextOptions::default()),
                error: Some(ErrorObject::default()),
                ..OperationUpdate::new("y", OperationType::Context, OperationAction::Fail)
            },
        ];
        for text in texts {
            updates.push(full(text));
            let mut sparse =
                OperationUpdate::new(text, OperationType::Step, OperationAction::Retry);
            sparse.payload = Some(text.repeat(1000));
            sparse.step_options = Some(StepOptions {
                next_attempt_delay_seconds: Some(1),
            });
            updates.push(sparse);
        }
        updates
    }

    #[test]
    fn estimated_size_never_underestimates() {
        for update in samples() {
            let actual = serde_json::to_vec(&update).unwrap().len();
            let estimate = update.estimated_size();
            assert!(
                estimate >= actual,
                "estimate {estimate} < actual {actual} for {update:?}"
            );
            // Loose enough to stay an estimate, tight enough to be useful for a 750 KB cap.
            assert!(
                estimate <= actual * 6 + 1024,
                "estimate {estimate} vs actual {actual}"
            );
        }
    }

    #[test]
    fn serializes_only_present_fields() {
        let mut update = OperationUpdate::new("s1", OperationType::Step, OperationAction::Retry);
        update.sub_type = Some("Step".into());
        update.name = Some("compute".into());
        update.error = Some(ErrorObject::new("Boom", "transient"));
        update.step_options = Some(StepOptions {
            next_attempt_delay_seconds: Some(1),
        });
        let json = serde_json::to_string(&update).unwrap();
        assert_eq!(
            json,
            r#"{"Id":"s1","Name":"compute","Type":"STEP","SubType":"Step","Action":"RETRY","Error":{"ErrorType":"Boom","ErrorMessage":"transient"},"StepOptions":{"NextAttemptDelaySeconds":1}}"#
        );
        assert_eq!(
            serde_json::from_str::<OperationUpdate>(&json).unwrap(),
            update
        );
    }

    #[test]
    fn round_trips_every_field() {
        for update in samples() {
            let bytes = serde_json::to_vec(&update).unwrap();
            let back: OperationUpdate = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(back, update);
        }
    }
}
