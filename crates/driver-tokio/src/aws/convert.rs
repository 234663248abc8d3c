//! Conversions between the engine's wire types (`durable_proto`) and `aws-sdk-lambda` types.
//!
//! Values are moved, never cloned, because payloads can be megabytes. Enum values the SDK does
//! not know travel through `as_str()` / `From<&str>` on both sides, so an unknown value arrives
//! (and is echoed back) verbatim. Integer fields differ in width (`u32` here, `i32` in the SDK):
//! they are clamped, never wrapped, and nothing here panics.

use aws_sdk_lambda::error::BuildError;
use aws_sdk_lambda::types as aws;
use aws_smithy_types::DateTime;
use durable_proto::{
    ApiFailure, CallbackDetails, ChainedInvokeDetails, ContextDetails, ErrorObject,
    ExecutionDetails, ExecutionState, Operation, OperationStatus, OperationType, OperationUpdate,
    StepDetails, Timestamp, WaitDetails,
};

/// The error code of an [`ApiFailure`] for a request we could not even build: our own input was
/// invalid, so retrying cannot help. HTTP 400 makes the engine fail the execution.
pub(crate) const INVALID_REQUEST: &str = "InvalidRequest";

/// An [`ApiFailure`] for a request that could not be built (permanent, like a 400).
pub(crate) fn invalid_request(message: String) -> ApiFailure {
    ApiFailure {
        http_status: Some(400),
        error_code: Some(INVALID_REQUEST.to_owned()),
        message,
    }
}

/// Converts one update for `CheckpointDurableExecution`.
///
/// Fails only when the SDK rejects the update as incomplete (a required field missing), which
/// our types rule out; the failure is reported as a permanent [`invalid_request`].
pub(crate) fn update_to_aws(update: OperationUpdate) -> Result<aws::OperationUpdate, ApiFailure> {
    let OperationUpdate {
        id,
        parent_id,
        name,
        operation_type,
        sub_type,
        action,
        payload,
        error,
        step_options,
        wait_options,
        callback_options,
        chained_invoke_options,
        context_options,
    } = update;
    let built_id = id.clone();
    let chained_invoke_options = chained_invoke_options
        .map(|options| {
            aws::ChainedInvokeOptions::builder()
                .function_name(options.function_name)
                .set_tenant_id(options.tenant_id)
                .set_x_amzn_trace_id(options.x_amzn_trace_id)
                .build()
        })
        .transpose()
        .map_err(|err| build_failure(&built_id, "ChainedInvokeOptions", &err))?;
    aws::OperationUpdate::builder()
        .id(id)
        .set_parent_id(parent_id)
        .set_name(name)
        .r#type(aws::OperationType::from(operation_type.as_str()))
        .set_sub_type(sub_type)
        .action(aws::OperationAction::from(action.as_str()))
        .set_payload(payload)
        .set_error(error.map(error_to_aws))
        .set_step_options(step_options.map(|o| {
            aws::StepOptions::builder()
                .set_next_attempt_delay_seconds(o.next_attempt_delay_seconds.map(clamp_i32))
                .build()
        }))
        .set_wait_options(wait_options.map(|o| {
            aws::WaitOptions::builder()
                .set_wait_seconds(o.wait_seconds.map(clamp_i32))
                .build()
        }))
        // The SDK's fields are plain i32 where 0 means "none" and is not sent, the same meaning
        // as our `None` and `Some(0)`.
        .set_callback_options(callback_options.map(|o| {
            aws::CallbackOptions::builder()
                .set_timeout_seconds(o.timeout_seconds.map(clamp_i32))
                .set_heartbeat_timeout_seconds(o.heartbeat_timeout_seconds.map(clamp_i32))
                .build()
        }))
        .set_chained_invoke_options(chained_invoke_options)
        .set_context_options(context_options.map(|o| {
            aws::ContextOptions::builder()
                .set_replay_children(o.replay_children)
                .build()
        }))
        .build()
        .map_err(|err| build_failure(&built_id, "OperationUpdate", &err))
}

/// Converts every update, failing on the first one the SDK rejects.
pub(crate) fn updates_to_aws(
    updates: Vec<OperationUpdate>,
) -> Result<Vec<aws::OperationUpdate>, ApiFailure> {
    updates.into_iter().map(update_to_aws).collect()
}

fn build_failure(id: &str, shape: &str, err: &BuildError) -> ApiFailure {
    invalid_request(format!(
        "could not build the CheckpointDurableExecution request: {shape} of the update for \
         operation `{id}` is invalid: {err}"
    ))
}

/// `u32` → `i32`, saturating at `i32::MAX` (68 years of seconds; the service caps at 366 days
/// and rejects anything larger with a clear validation error).
fn clamp_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn error_to_aws(error: ErrorObject) -> aws::ErrorObject {
    aws::ErrorObject::builder()
        .set_error_type(error.error_type)
        .set_error_message(error.error_message)
        .set_error_data(error.error_data)
        .set_stack_trace(error.stack_trace)
        .build()
}

fn error_from_aws(error: aws::ErrorObject) -> ErrorObject {
    ErrorObject {
        error_type: error.error_type,
        error_message: error.error_message,
        error_data: error.error_data,
        stack_trace: error.stack_trace,
    }
}

/// Epoch milliseconds of an SDK `DateTime`, rounded to the nearest millisecond; `None` if it
/// does not fit in an `i64`.
///
/// The API sends epoch seconds as a JSON number and the SDK parses it through an `f64`, so a
/// time sent as `1795872240.106` arrives as `…240.105999946`; truncating would lose a
/// millisecond, rounding restores it.
pub(crate) fn millis_from_datetime(time: &DateTime) -> Option<i64> {
    const NANOS_PER_MILLI: i128 = 1_000_000;
    // `secs()` is the floor and `subsec_nanos()` the non-negative remainder, also before 1970.
    let nanos = i128::from(time.secs()) * 1_000_000_000 + i128::from(time.subsec_nanos());
    let millis = (nanos + NANOS_PER_MILLI / 2).div_euclid(NANOS_PER_MILLI);
    i64::try_from(millis).ok()
}

fn timestamp(time: &DateTime) -> Option<Timestamp> {
    millis_from_datetime(time).map(Timestamp::from_millis)
}

/// Converts one operation from an API response.
///
/// The SDK substitutes the epoch (0) for a missing `StartTimestamp`, so exactly 0 reads as
/// `None`. A missing `Id`, `Type` or `Status` arrives as the SDK's substitutes (`""`,
/// `"no value was set"`), which the engine sees as an empty id and unknown values.
pub(crate) fn operation_from_aws(op: aws::Operation) -> Operation {
    let start = &op.start_timestamp;
    let start_timestamp = if start.secs() == 0 && start.subsec_nanos() == 0 {
        None
    } else {
        timestamp(start)
    };
    Operation {
        operation_type: OperationType::from(op.r#type.as_str()),
        status: OperationStatus::from(op.status.as_str()),
        start_timestamp,
        end_timestamp: op.end_timestamp.as_ref().and_then(timestamp),
        id: op.id,
        parent_id: op.parent_id,
        name: op.name,
        sub_type: op.sub_type,
        execution_details: op.execution_details.map(|d| {
            Box::new(ExecutionDetails {
                input_payload: d.input_payload,
            })
        }),
        context_details: op.context_details.map(|d| {
            Box::new(ContextDetails {
                replay_children: d.replay_children,
                result: d.result,
                error: d.error.map(error_from_aws),
            })
        }),
        step_details: op.step_details.map(|d| {
            Box::new(StepDetails {
                // A negative count is nonsense; read it as "no attempt finished".
                attempt: u32::try_from(d.attempt).unwrap_or(0),
                next_attempt_timestamp: d.next_attempt_timestamp.as_ref().and_then(timestamp),
                result: d.result,
                error: d.error.map(error_from_aws),
            })
        }),
        wait_details: op.wait_details.map(|d| {
            Box::new(WaitDetails {
                scheduled_end_timestamp: d.scheduled_end_timestamp.as_ref().and_then(timestamp),
            })
        }),
        callback_details: op.callback_details.map(|d| {
            Box::new(CallbackDetails {
                callback_id: d.callback_id,
                result: d.result,
                error: d.error.map(error_from_aws),
            })
        }),
        chained_invoke_details: op.chained_invoke_details.map(|d| {
            Box::new(ChainedInvokeDetails {
                result: d.result,
                error: d.error.map(error_from_aws),
            })
        }),
    }
}

/// A page of operations; an empty `next_marker` means "no more pages", like an absent one.
pub(crate) fn state_from_aws(
    operations: Vec<aws::Operation>,
    next_marker: Option<String>,
) -> ExecutionState {
    ExecutionState {
        operations: operations.into_iter().map(operation_from_aws).collect(),
        next_marker: non_empty(next_marker),
    }
}

/// `None` for an absent or empty string: neither can be sent back to the service.
pub(crate) fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use durable_proto::{
        CallbackOptions, ChainedInvokeOptions, ContextOptions, OperationAction, StepOptions,
        WaitOptions,
    };

    use super::*;

    fn full_update() -> OperationUpdate {
        OperationUpdate {
            id: "op-1".into(),
            parent_id: Some("ctx-1".into()),
            name: Some("charge card".into()),
            operation_type: OperationType::ChainedInvoke,
            sub_type: Some("ChainedInvoke".into()),
            action: OperationAction::Start,
            payload: Some("{\"amount\":5}".into()),
            error: Some(ErrorObject {
                error_type: Some("Boom".into()),
                error_message: Some("it broke".into()),
                error_data: Some("{\"k\":1}".into()),
                stack_trace: Some(vec!["at a".into(), "at b".into()]),
            }),
            step_options: Some(StepOptions {
                next_attempt_delay_seconds: Some(7),
            }),
            wait_options: Some(WaitOptions {
                wait_seconds: Some(31_622_400),
            }),
            callback_options: Some(CallbackOptions {
                timeout_seconds: Some(300),
                heartbeat_timeout_seconds: Some(60),
            }),
            chained_invoke_options: Some(ChainedInvokeOptions {
                function_name: "arn:aws:lambda:us-east-1:123456789012:function:f:1".into(),
                tenant_id: Some("tenant-a".into()),
                x_amzn_trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793".into()),
            }),
            context_options: Some(ContextOptions {
                replay_children: Some(true),
            }),
        }
    }

    #[test]
    fn update_carries_every_field() {
        let aws = update_to_aws(full_update()).unwrap();
        assert_eq!(aws.id(), "op-1");
        assert_eq!(aws.parent_id(), Some("ctx-1"));
        assert_eq!(aws.name(), Some("charge card"));
        assert_eq!(aws.r#type(), &aws::OperationType::ChainedInvoke);
        assert_eq!(aws.sub_type(), Some("ChainedInvoke"));
        assert_eq!(aws.action(), &aws::OperationAction::Start);
        assert_eq!(aws.payload(), Some("{\"amount\":5}"));
        let error = aws.error().unwrap();
        assert_eq!(error.error_type(), Some("Boom"));
        assert_eq!(error.error_message(), Some("it broke"));
        assert_eq!(error.error_data(), Some("{\"k\":1}"));
        assert_eq!(error.stack_trace(), ["at a", "at b"]);
        assert_eq!(
            aws.step_options().unwrap().next_attempt_delay_seconds(),
            Some(7)
        );
        assert_eq!(aws.wait_options().unwrap().wait_seconds(), Some(31_622_400));
        let callback = aws.callback_options().unwrap();
        assert_eq!(callback.timeout_seconds(), 300);
        assert_eq!(callback.heartbeat_timeout_seconds(), 60);
        let invoke = aws.chained_invoke_options().unwrap();
        assert_eq!(
            invoke.function_name(),
            "arn:aws:lambda:us-east-1:123456789012:function:f:1"
        );
        assert_eq!(invoke.tenant_id(), Some("tenant-a"));
        assert_eq!(
            invoke.x_amzn_trace_id(),
            Some("Root=1-5759e988-bd862e3fe1be46a994272793")
        );
        assert_eq!(aws.context_options().unwrap().replay_children(), Some(true));
    }

    #[test]
    fn sparse_update_stays_sparse() {
        let update = OperationUpdate {
            step_options: Some(StepOptions::default()),
            callback_options: Some(CallbackOptions::default()),
            error: Some(ErrorObject::default()),
            ..OperationUpdate::new("s", OperationType::Step, OperationAction::Retry)
        };
        let aws = update_to_aws(update).unwrap();
        assert_eq!(aws.parent_id(), None);
        assert_eq!(aws.name(), None);
        assert_eq!(aws.sub_type(), None);
        assert_eq!(aws.payload(), None);
        assert_eq!(
            aws.step_options().unwrap().next_attempt_delay_seconds(),
            None
        );
        assert_eq!(aws.callback_options().unwrap().timeout_seconds(), 0);
        let error = aws.error().unwrap();
        assert_eq!(error.error_type(), None);
        assert_eq!(error.stack_trace, None);
        assert!(aws.wait_options().is_none());
        assert!(aws.chained_invoke_options().is_none());
        assert!(aws.context_options().is_none());
    }

    #[test]
    fn every_enum_value_and_unknown_ones_cross_verbatim() {
        let types = ["EXECUTION", "CONTEXT", "STEP", "WAIT", "CALLBACK"];
        let actions = ["START", "SUCCEED", "FAIL", "RETRY", "CANCEL"];
        for (t, a) in types
            .into_iter()
            .chain(["CHAINED_INVOKE", "TELEPORT"])
            .zip(actions.into_iter().chain(["PAUSE", "RESUME"]))
        {
            let update =
                OperationUpdate::new("x", OperationType::from(t), OperationAction::from(a));
            let aws = update_to_aws(update).unwrap();
            assert_eq!(aws.r#type().as_str(), t);
            assert_eq!(aws.action().as_str(), a);
        }
        let aws = update_to_aws(OperationUpdate::new(
            "x",
            OperationType::Callback,
            OperationAction::Cancel,
        ))
        .unwrap();
        assert_eq!(aws.r#type(), &aws::OperationType::Callback);
        assert_eq!(aws.action(), &aws::OperationAction::Cancel);
    }

    #[test]
    fn oversized_integers_saturate() {
        let update = OperationUpdate {
            step_options: Some(StepOptions {
                next_attempt_delay_seconds: Some(u32::MAX),
            }),
            wait_options: Some(WaitOptions {
                wait_seconds: Some(i32::MAX as u32 + 1),
            }),
            callback_options: Some(CallbackOptions {
                timeout_seconds: Some(u32::MAX),
                heartbeat_timeout_seconds: Some(i32::MAX as u32),
            }),
            ..OperationUpdate::new("x", OperationType::Step, OperationAction::Retry)
        };
        let aws = update_to_aws(update).unwrap();
        assert_eq!(
            aws.step_options().unwrap().next_attempt_delay_seconds(),
            Some(i32::MAX)
        );
        assert_eq!(aws.wait_options().unwrap().wait_seconds(), Some(i32::MAX));
        let callback = aws.callback_options().unwrap();
        assert_eq!(callback.timeout_seconds(), i32::MAX);
        assert_eq!(callback.heartbeat_timeout_seconds(), i32::MAX);
    }

    #[test]
    fn build_errors_become_permanent_invalid_request_failures() {
        let err = aws::OperationUpdate::builder().id("x").build().unwrap_err();
        let failure = build_failure("x", "OperationUpdate", &err);
        assert_eq!(failure.http_status, Some(400));
        assert_eq!(failure.error_code.as_deref(), Some(INVALID_REQUEST));
        assert!(failure.message.contains("`x`"), "{}", failure.message);
        assert!(failure.message.contains("r#type"), "{}", failure.message);
        assert_eq!(failure.class(), durable_proto::FailureClass::FailExecution);
    }

    fn error(tag: &str) -> aws::ErrorObject {
        aws::ErrorObject::builder()
            .error_type(format!("{tag}Type"))
            .error_message(format!("{tag} message"))
            .error_data(format!("{tag} data"))
            .stack_trace(format!("{tag} line 1"))
            .stack_trace(format!("{tag} line 2"))
            .build()
    }

    fn ours(tag: &str) -> Option<ErrorObject> {
        Some(ErrorObject {
            error_type: Some(format!("{tag}Type")),
            error_message: Some(format!("{tag} message")),
            error_data: Some(format!("{tag} data")),
            stack_trace: Some(vec![format!("{tag} line 1"), format!("{tag} line 2")]),
        })
    }

    #[test]
    fn operation_carries_every_field() {
        let op = aws::Operation::builder()
            .id("s1")
            .parent_id("c1")
            .name("compute")
            .r#type(aws::OperationType::Step)
            .sub_type("Step")
            .start_timestamp(DateTime::from_secs_f64(1_795_872_239.102_954))
            .end_timestamp(DateTime::from_secs_f64(1_795_872_240.5))
            .status(aws::OperationStatus::Pending)
            .execution_details(
                aws::ExecutionDetails::builder()
                    .input_payload("{\"order\":1}")
                    .build(),
            )
            .context_details(
                aws::ContextDetails::builder()
                    .replay_children(true)
                    .result("\"ctx\"")
                    .error(error("Context"))
                    .build(),
            )
            .step_details(
                aws::StepDetails::builder()
                    .attempt(2)
                    .next_attempt_timestamp(DateTime::from_secs_f64(1_795_872_240.106))
                    .result("\"state\"")
                    .error(error("Step"))
                    .build(),
            )
            .wait_details(
                aws::WaitDetails::builder()
                    .scheduled_end_timestamp(DateTime::from_secs(1_795_872_300))
                    .build(),
            )
            .callback_details(
                aws::CallbackDetails::builder()
                    .callback_id("abc+/=")
                    .result("\"approved\"")
                    .error(error("Callback"))
                    .build(),
            )
            .chained_invoke_details(
                aws::ChainedInvokeDetails::builder()
                    .result("42")
                    .error(error("Invoke"))
                    .build(),
            )
            .build()
            .unwrap();
        let expected = Operation {
            id: "s1".into(),
            parent_id: Some("c1".into()),
            name: Some("compute".into()),
            operation_type: OperationType::Step,
            sub_type: Some("Step".into()),
            start_timestamp: Some(Timestamp(1_795_872_239_103)),
            end_timestamp: Some(Timestamp(1_795_872_240_500)),
            status: OperationStatus::Pending,
            execution_details: Some(Box::new(ExecutionDetails {
                input_payload: Some("{\"order\":1}".into()),
            })),
            context_details: Some(Box::new(ContextDetails {
                replay_children: Some(true),
                result: Some("\"ctx\"".into()),
                error: ours("Context"),
            })),
            step_details: Some(Box::new(StepDetails {
                attempt: 2,
                next_attempt_timestamp: Some(Timestamp(1_795_872_240_106)),
                result: Some("\"state\"".into()),
                error: ours("Step"),
            })),
            wait_details: Some(Box::new(WaitDetails {
                scheduled_end_timestamp: Some(Timestamp(1_795_872_300_000)),
            })),
            callback_details: Some(Box::new(CallbackDetails {
                callback_id: Some("abc+/=".into()),
                result: Some("\"approved\"".into()),
                error: ours("Callback"),
            })),
            chained_invoke_details: Some(Box::new(ChainedInvokeDetails {
                result: Some("42".into()),
                error: ours("Invoke"),
            })),
        };
        assert_eq!(operation_from_aws(op), expected);
    }

    #[test]
    fn sparse_and_odd_operations() {
        let op = aws::Operation::builder()
            .id("w")
            .r#type(aws::OperationType::from("HOLOGRAM"))
            .start_timestamp(DateTime::from_secs(0))
            .status(aws::OperationStatus::from("TIMEDOUT"))
            .step_details(aws::StepDetails::builder().attempt(-3).build())
            .build()
            .unwrap();
        let op = operation_from_aws(op);
        assert_eq!(op.operation_type, OperationType::Unknown("HOLOGRAM".into()));
        assert_eq!(op.status, OperationStatus::TimedOut);
        assert_eq!(op.start_timestamp, None);
        assert_eq!(op.end_timestamp, None);
        assert_eq!(op.parent_id, None);
        let step = op.step_details.unwrap();
        assert_eq!(step.attempt, 0);
        assert_eq!(step.next_attempt_timestamp, None);
        assert!(op.context_details.is_none() && op.wait_details.is_none());

        for status in [
            "STARTED",
            "PENDING",
            "READY",
            "SUCCEEDED",
            "FAILED",
            "CANCELLED",
            "TIMED_OUT",
            "STOPPED",
            "PAUSED",
        ] {
            let op = aws::Operation::builder()
                .id("x")
                .r#type(aws::OperationType::Wait)
                .start_timestamp(DateTime::from_secs(1))
                .status(aws::OperationStatus::from(status))
                .build()
                .unwrap();
            assert_eq!(operation_from_aws(op).status.as_str(), status);
        }
    }

    #[test]
    fn timestamps_round_to_the_nearest_millisecond() {
        let ms = |t: DateTime| millis_from_datetime(&t);
        // What the SDK's JSON parser produces for epoch seconds with a fraction.
        assert_eq!(
            ms(DateTime::from_secs_f64(1_795_872_240.106)),
            Some(1_795_872_240_106)
        );
        assert_eq!(
            ms(DateTime::from_secs_f64(1_795_872_239.102_954)),
            Some(1_795_872_239_103)
        );
        assert_eq!(ms(DateTime::from_secs_f64(1.5)), Some(1_500));
        assert_eq!(
            ms(DateTime::from_secs(1_767_323_045)),
            Some(1_767_323_045_000)
        );
        assert_eq!(
            ms(DateTime::from_secs_and_nanos(0, 999_999_999)),
            Some(1_000)
        );
        assert_eq!(ms(DateTime::from_secs_and_nanos(0, 499_999)), Some(0));
        assert_eq!(ms(DateTime::from_millis(-1)), Some(-1));
        assert_eq!(ms(DateTime::from_secs_f64(-0.25)), Some(-250));
        assert_eq!(ms(DateTime::from_secs(i64::MAX)), None);
        assert_eq!(ms(DateTime::from_secs(i64::MIN)), None);
    }

    #[test]
    fn empty_markers_are_absent() {
        assert_eq!(
            state_from_aws(Vec::new(), Some(String::new())).next_marker,
            None
        );
        assert_eq!(state_from_aws(Vec::new(), None).next_marker, None);
        assert_eq!(
            state_from_aws(Vec::new(), Some("m".into()))
                .next_marker
                .as_deref(),
            Some("m")
        );
    }
}
