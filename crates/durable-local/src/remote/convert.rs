//! `aws-sdk-lambda`'s shapes as the service model's: history events, statuses, errors and
//! times, so a fetched execution becomes an [`ExecutionRecord`](crate::ExecutionRecord).

use aws_sdk_lambda::operation::get_durable_execution::GetDurableExecutionOutput;
use aws_sdk_lambda::primitives::DateTime;
use aws_sdk_lambda::types as aws;
use durable_proto::{ErrorObject, Timestamp};

use crate::{
    CallbackStartedDetails, ChainedInvokeStartedDetails, EmptyDetails, ErrorDetails, EventDetails,
    EventError, EventPayload, EventType, ExecutionDescription, ExecutionStartedDetails,
    ExecutionStatus, HistoryEvent, InvocationCompletedDetails, ResultDetails, RetryDetails,
    StepEventDetails, WaitStartedDetails, WaitSucceededDetails,
};

/// Epoch milliseconds of an SDK time, rounded to the nearest millisecond (the API sends
/// fractional epoch seconds, which the SDK reads through an `f64`).
pub(crate) fn timestamp(time: &DateTime) -> Timestamp {
    let nanos = i128::from(time.secs()) * 1_000_000_000 + i128::from(time.subsec_nanos());
    let millis = (nanos + 500_000).div_euclid(1_000_000);
    Timestamp::from_millis(i64::try_from(millis).unwrap_or(i64::MAX))
}

pub(crate) fn error_from_aws(error: &aws::ErrorObject) -> ErrorObject {
    ErrorObject {
        error_type: error.error_type.clone(),
        error_message: error.error_message.clone(),
        error_data: error.error_data.clone(),
        stack_trace: error.stack_trace.clone(),
    }
}

pub(crate) fn error_to_aws(error: ErrorObject) -> aws::ErrorObject {
    aws::ErrorObject::builder()
        .set_error_type(error.error_type)
        .set_error_message(error.error_message)
        .set_error_data(error.error_data)
        .set_stack_trace(error.stack_trace)
        .build()
}

/// The model's status for the API's; a status this SDK version does not know reads as
/// RUNNING (not ended), so polling goes on until the overall timeout names it.
pub(crate) fn status_from_aws(status: &aws::ExecutionStatus) -> ExecutionStatus {
    match status.as_str() {
        "SUCCEEDED" => ExecutionStatus::Succeeded,
        "FAILED" => ExecutionStatus::Failed,
        "TIMED_OUT" => ExecutionStatus::TimedOut,
        "STOPPED" => ExecutionStatus::Stopped,
        "PAUSING" => ExecutionStatus::Pausing,
        "PAUSED" => ExecutionStatus::Paused,
        "DELETING" => ExecutionStatus::Deleting,
        _ => ExecutionStatus::Running,
    }
}

/// The function's name in a function ARN (`arn:aws:lambda:<region>:<account>:function:<name>
/// [:<qualifier>]`), or the name part of `name[:qualifier]`.
pub(crate) fn function_name_of(function: &str) -> &str {
    if function.starts_with("arn:") {
        function.split(':').nth(6).unwrap_or(function)
    } else {
        function.split(':').next().unwrap_or(function)
    }
}

pub(crate) fn description_from_aws(output: &GetDurableExecutionOutput) -> ExecutionDescription {
    ExecutionDescription {
        arn: output.durable_execution_arn.clone(),
        function_name: function_name_of(&output.function_arn).to_owned(),
        execution_name: output.durable_execution_name.clone(),
        status: status_from_aws(&output.status),
        input: output.input_payload.clone(),
        result: output.result.clone(),
        error: output.error.as_ref().map(error_from_aws),
        start: timestamp(&output.start_timestamp),
        end: output.end_timestamp.as_ref().map(timestamp),
    }
}

fn payload(p: Option<(&Option<String>, &Option<bool>)>) -> Option<EventPayload> {
    p.map(|(payload, truncated)| EventPayload {
        payload: payload.clone(),
        truncated: truncated.unwrap_or(false),
    })
}

fn result_payload(r: Option<&aws::EventResult>) -> Option<EventPayload> {
    payload(r.map(|r| (&r.payload, &r.truncated)))
}

fn input_payload(i: Option<&aws::EventInput>) -> Option<EventPayload> {
    payload(i.map(|i| (&i.payload, &i.truncated)))
}

fn event_error(e: Option<&aws::EventError>) -> Option<EventError> {
    e.map(|e| EventError {
        payload: e.payload.as_ref().map(error_from_aws),
        truncated: e.truncated.unwrap_or(false),
    })
}

fn errors(e: Option<&aws::EventError>) -> ErrorDetails {
    ErrorDetails {
        error: event_error(e),
    }
}

fn results(r: Option<&aws::EventResult>) -> ResultDetails {
    ResultDetails {
        result: result_payload(r),
    }
}

fn seconds(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn retry(r: Option<&aws::RetryDetails>) -> Option<RetryDetails> {
    r.map(|r| RetryDetails {
        current_attempt: seconds(r.current_attempt),
        next_attempt_delay_seconds: r.next_attempt_delay_seconds.map(seconds),
    })
}

/// One history event as the model's, or `None` for an event type this crate does not know
/// (a newer API's) or cannot read from this SDK version (pause and resume), which the
/// record then leaves out.
pub(crate) fn event_from_aws(event: &aws::Event) -> Option<HistoryEvent> {
    let name = event.event_type.as_ref()?.as_str();
    let event_type: EventType =
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()?;
    let details = details_from_aws(event_type, event)?;
    Some(HistoryEvent {
        event_type: details.event_type(),
        sub_type: event.sub_type.clone(),
        event_id: u64::try_from(event.event_id).unwrap_or(0),
        id: event.id.clone(),
        name: event.name.clone(),
        event_timestamp: event
            .event_timestamp
            .as_ref()
            .map_or(Timestamp::from_millis(0), timestamp),
        parent_id: event.parent_id.clone(),
        details,
    })
}

fn details_from_aws(event_type: EventType, e: &aws::Event) -> Option<EventDetails> {
    use EventType as T;
    Some(match event_type {
        T::ExecutionStarted => {
            let d = e.execution_started_details.as_ref();
            EventDetails::ExecutionStarted(ExecutionStartedDetails {
                input: input_payload(d.and_then(|d| d.input.as_ref())),
                execution_timeout: d
                    .map(|d| d.execution_timeout)
                    .filter(|&t| t > 0)
                    .and_then(|t| u64::try_from(t).ok()),
            })
        }
        T::ExecutionSucceeded => EventDetails::ExecutionSucceeded(results(
            e.execution_succeeded_details
                .as_ref()
                .and_then(|d| d.result.as_ref()),
        )),
        T::ExecutionFailed => EventDetails::ExecutionFailed(errors(
            e.execution_failed_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::ExecutionTimedOut => EventDetails::ExecutionTimedOut(errors(
            e.execution_timed_out_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::ExecutionStopped => EventDetails::ExecutionStopped(errors(
            e.execution_stopped_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::ContextStarted => EventDetails::ContextStarted(EmptyDetails {}),
        T::ContextSucceeded => EventDetails::ContextSucceeded(results(
            e.context_succeeded_details
                .as_ref()
                .and_then(|d| d.result.as_ref()),
        )),
        T::ContextFailed => EventDetails::ContextFailed(errors(
            e.context_failed_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::WaitStarted => {
            let d = e.wait_started_details.as_ref();
            EventDetails::WaitStarted(WaitStartedDetails {
                duration: d.map_or(0, |d| seconds(d.duration)),
                scheduled_end_timestamp: d.map_or(Timestamp::from_millis(0), |d| {
                    timestamp(&d.scheduled_end_timestamp)
                }),
            })
        }
        T::WaitSucceeded => EventDetails::WaitSucceeded(WaitSucceededDetails {
            duration: e
                .wait_succeeded_details
                .as_ref()
                .and_then(|d| d.duration)
                .map(seconds),
        }),
        T::WaitCancelled => EventDetails::WaitCancelled(errors(
            e.wait_cancelled_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::StepStarted => EventDetails::StepStarted(EmptyDetails {}),
        T::StepSucceeded => {
            let d = e.step_succeeded_details.as_ref();
            EventDetails::StepSucceeded(StepEventDetails {
                result: result_payload(d.and_then(|d| d.result.as_ref())),
                error: None,
                retry_details: retry(d.and_then(|d| d.retry_details.as_ref())),
            })
        }
        T::StepFailed => {
            let d = e.step_failed_details.as_ref();
            EventDetails::StepFailed(StepEventDetails {
                result: None,
                error: event_error(d.and_then(|d| d.error.as_ref())),
                retry_details: retry(d.and_then(|d| d.retry_details.as_ref())),
            })
        }
        T::ChainedInvokeStarted => {
            let d = e.chained_invoke_started_details.as_ref();
            EventDetails::ChainedInvokeStarted(ChainedInvokeStartedDetails {
                function_name: d.map(|d| d.function_name.clone()).unwrap_or_default(),
                tenant_id: d.and_then(|d| d.tenant_id.clone()),
                input: input_payload(d.and_then(|d| d.input.as_ref())),
                executed_version: d.and_then(|d| d.executed_version.clone()),
                durable_execution_arn: d.and_then(|d| d.durable_execution_arn.clone()),
            })
        }
        T::ChainedInvokeSucceeded => EventDetails::ChainedInvokeSucceeded(results(
            e.chained_invoke_succeeded_details
                .as_ref()
                .and_then(|d| d.result.as_ref()),
        )),
        T::ChainedInvokeFailed => EventDetails::ChainedInvokeFailed(errors(
            e.chained_invoke_failed_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::ChainedInvokeTimedOut => EventDetails::ChainedInvokeTimedOut(errors(
            e.chained_invoke_timed_out_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::ChainedInvokeStopped => EventDetails::ChainedInvokeStopped(errors(
            e.chained_invoke_stopped_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::CallbackStarted => {
            let d = e.callback_started_details.as_ref();
            EventDetails::CallbackStarted(CallbackStartedDetails {
                callback_id: d.map(|d| d.callback_id.clone()).unwrap_or_default(),
                heartbeat_timeout: d.and_then(|d| d.heartbeat_timeout).map(seconds),
                timeout: d.and_then(|d| d.timeout).map(seconds),
            })
        }
        T::CallbackSucceeded => EventDetails::CallbackSucceeded(results(
            e.callback_succeeded_details
                .as_ref()
                .and_then(|d| d.result.as_ref()),
        )),
        T::CallbackFailed => EventDetails::CallbackFailed(errors(
            e.callback_failed_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::CallbackTimedOut => EventDetails::CallbackTimedOut(errors(
            e.callback_timed_out_details
                .as_ref()
                .and_then(|d| d.error.as_ref()),
        )),
        T::InvocationCompleted => {
            let d = e.invocation_completed_details.as_ref();
            // The SDK substitutes the epoch for a missing timestamp (dex-local-runner sends
            // none): the invocation then reads as ending, and starting, at the event.
            let at_event = e.event_timestamp.as_ref().map(timestamp);
            let at = |f: fn(&aws::InvocationCompletedDetails) -> &DateTime| {
                d.map(|d| timestamp(f(d)))
                    .filter(|t| t.as_millis() != 0)
                    .or(at_event)
                    .unwrap_or(Timestamp::from_millis(0))
            };
            EventDetails::InvocationCompleted(InvocationCompletedDetails {
                start_timestamp: at(|d| &d.start_timestamp),
                end_timestamp: at(|d| &d.end_timestamp),
                request_id: d.map(|d| d.request_id.clone()).unwrap_or_default(),
                error: event_error(d.and_then(|d| d.error.as_ref())),
            })
        }
        // Pause and resume have no details in this SDK version's `Event` shape, and the
        // record does not need them: left out, like event types this crate does not know.
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: f64) -> DateTime {
        DateTime::from_secs_f64(secs)
    }

    #[test]
    fn a_retried_step_failure_keeps_its_error_attempt_and_delay() {
        let event = aws::Event::builder()
            .event_type(aws::EventType::StepFailed)
            .event_id(3)
            .id("1")
            .name("charge")
            .sub_type("Step")
            .parent_id("c")
            // Sent as fractional seconds and read through an f64.
            .event_timestamp(at(1_795_872_240.106))
            .step_failed_details(
                aws::StepFailedDetails::builder()
                    .error(
                        aws::EventError::builder()
                            .payload(
                                aws::ErrorObject::builder()
                                    .error_type("Declined")
                                    .error_message("no")
                                    .build(),
                            )
                            .build(),
                    )
                    .retry_details(
                        aws::RetryDetails::builder()
                            .current_attempt(1)
                            .next_attempt_delay_seconds(5)
                            .build(),
                    )
                    .build(),
            )
            .build();
        let ours = event_from_aws(&event).unwrap();
        assert_eq!(ours.event_type, EventType::StepFailed);
        assert_eq!(
            (ours.event_id, ours.id.as_deref(), ours.name.as_deref()),
            (3, Some("1"), Some("charge"))
        );
        assert_eq!(
            (ours.sub_type.as_deref(), ours.parent_id.as_deref()),
            (Some("Step"), Some("c"))
        );
        assert_eq!(
            ours.event_timestamp,
            Timestamp::from_millis(1_795_872_240_106)
        );
        assert_eq!(ours.error().unwrap().type_name(), "Declined");
        let retry = ours.retry_details().unwrap();
        assert_eq!(
            (retry.current_attempt, retry.next_attempt_delay_seconds),
            (1, Some(5))
        );
    }

    #[test]
    fn callbacks_and_invocations_convert_and_missing_invocation_times_read_as_the_event() {
        let started = aws::Event::builder()
            .event_type(aws::EventType::CallbackStarted)
            .id("2")
            .event_timestamp(at(10.0))
            .callback_started_details(
                aws::CallbackStartedDetails::builder()
                    .callback_id("cb-1")
                    .timeout(300)
                    .heartbeat_timeout(60)
                    .build()
                    .unwrap(),
            )
            .build();
        let EventDetails::CallbackStarted(d) = event_from_aws(&started).unwrap().details else {
            panic!("not a CallbackStarted");
        };
        assert_eq!(
            (d.callback_id.as_str(), d.timeout, d.heartbeat_timeout),
            ("cb-1", Some(300), Some(60))
        );

        // dex-local-runner sends InvocationCompletedDetails without times; the SDK fills in
        // the epoch.
        let completed = aws::Event::builder()
            .event_type(aws::EventType::InvocationCompleted)
            .event_timestamp(at(12.5))
            .invocation_completed_details(
                aws::InvocationCompletedDetails::builder()
                    .start_timestamp(at(0.0))
                    .end_timestamp(at(0.0))
                    .request_id("")
                    .build()
                    .unwrap(),
            )
            .build();
        let EventDetails::InvocationCompleted(d) = event_from_aws(&completed).unwrap().details
        else {
            panic!("not an InvocationCompleted");
        };
        assert_eq!(d.start_timestamp, Timestamp::from_millis(12_500));
        assert_eq!(d.end_timestamp, Timestamp::from_millis(12_500));
        assert!(d.error.is_none());
    }

    #[test]
    fn unknown_event_types_are_left_out_and_statuses_and_names_map() {
        let future = aws::Event::builder()
            .event_type(aws::EventType::from("SomethingNew"))
            .build();
        assert!(event_from_aws(&future).is_none());
        assert!(event_from_aws(&aws::Event::builder().build()).is_none());
        assert_eq!(
            status_from_aws(&aws::ExecutionStatus::TimedOut),
            ExecutionStatus::TimedOut
        );
        assert_eq!(
            status_from_aws(&aws::ExecutionStatus::from("SOMETHING_NEW")),
            ExecutionStatus::Running
        );
        assert_eq!(
            function_name_of("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
            "orders"
        );
        assert_eq!(function_name_of("orders:live"), "orders");
        assert_eq!(function_name_of("orders"), "orders");
        let error = ErrorObject {
            error_type: Some("T".into()),
            error_message: Some("m".into()),
            error_data: Some("{}".into()),
            stack_trace: Some(vec!["at x".into()]),
        };
        assert_eq!(error_from_aws(&error_to_aws(error.clone())), error);
    }
}
