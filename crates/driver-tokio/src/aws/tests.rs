//! [`LambdaClient`] end to end against a fake HTTP connection: real request serialization,
//! response parsing (epoch-second timestamps), error parsing and the SDK's own retries.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_lambda::config::http::{HttpRequest, HttpResponse};
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_lambda::primitives::SdkBody;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector,
};
use durable_proto::{
    ErrorObject, FailureClass, OperationAction, OperationStatus, OperationType, OperationUpdate,
    StepOptions, Timestamp,
};
use serde_json::{json, Value};

use super::*;

const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:f:1/durable-execution/e/1";
const ENCODED_ARN: &str =
    "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3A1%2Fdurable-execution%2Fe%2F1";

/// What the fake connection saw.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    body: Option<Value>,
}

/// A canned reply: status, extra headers, body.
type Reply = (u16, Vec<(&'static str, &'static str)>, String);

/// Answers each request with the next canned `(status, headers, body)` and records it.
#[derive(Debug, Clone, Default)]
struct Fake {
    replies: Arc<Mutex<VecDeque<Reply>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Fake {
    fn reply(self, status: u16, body: Value) -> Self {
        self.reply_with(status, Vec::new(), body.to_string())
    }

    fn reply_with(
        self,
        status: u16,
        headers: Vec<(&'static str, &'static str)>,
        body: String,
    ) -> Self {
        self.replies
            .lock()
            .unwrap()
            .push_back((status, headers, body));
        self
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    fn client(&self) -> LambdaClient {
        let fake = self.clone();
        let config = aws_sdk_lambda::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("AKID", "SECRET", None, None, "test"))
            .endpoint_url("http://durable.test")
            // Standard retries, with a negligible backoff to keep the tests fast.
            .retry_config(RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)))
            .http_client(http_client_fn(move |_, _| {
                SharedHttpConnector::new(fake.clone())
            }))
            .build();
        LambdaClient::new(aws_sdk_lambda::Client::from_conf(config))
    }
}

impl HttpConnector for Fake {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request
            .body()
            .bytes()
            .filter(|bytes| !bytes.is_empty())
            .map(|bytes| serde_json::from_slice(bytes).expect("request body is JSON"));
        self.seen.lock().unwrap().push(Seen {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            body,
        });
        let (status, headers, body) = self
            .replies
            .lock()
            .unwrap()
            .pop_front()
            .expect("a canned reply for every request");
        let mut response = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
        response
            .headers_mut()
            .insert("content-type", "application/json");
        for (name, value) in headers {
            response.headers_mut().insert(name, value);
        }
        HttpConnectorFuture::ready(Ok(response))
    }
}

fn retry_update() -> OperationUpdate {
    let mut update = OperationUpdate::new("s1", OperationType::Step, OperationAction::Retry);
    update.name = Some("compute".into());
    update.sub_type = Some("Step".into());
    update.error = Some(ErrorObject::new("Boom", "transient"));
    update.step_options = Some(StepOptions {
        next_attempt_delay_seconds: Some(1),
    });
    update
}

#[tokio::test]
async fn checkpoint_sends_updates_and_reads_epoch_seconds() {
    let fake = Fake::default().reply(
        200,
        json!({
            "CheckpointToken": "token-2",
            "NewExecutionState": {"Operations": [{
                "Id": "s1", "Type": "STEP", "Status": "PENDING", "Name": "compute",
                "SubType": "Step", "StartTimestamp": 1795872239.102954,
                "StepDetails": {"Attempt": 1, "NextAttemptTimestamp": 1795872240.106,
                    "Error": {"ErrorType": "Boom", "ErrorMessage": "transient",
                        "StackTrace": ["a", "b"]}}
            }]}
        }),
    );
    let response = fake
        .client()
        .checkpoint(ARN.into(), "token-1".into(), vec![retry_update()])
        .await
        .unwrap();

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].method, "POST");
    assert_eq!(
        seen[0].uri,
        format!("http://durable.test/2025-12-01/durable-executions/{ENCODED_ARN}/checkpoint")
    );
    let mut body = seen[0].body.clone().unwrap();
    let client_token = body.as_object_mut().unwrap().remove("ClientToken");
    assert!(client_token.is_some_and(|t| !t.as_str().unwrap().is_empty()));
    assert_eq!(
        body,
        json!({"CheckpointToken": "token-1", "Updates": [{
            "Id": "s1", "Name": "compute", "Type": "STEP", "SubType": "Step", "Action": "RETRY",
            "Error": {"ErrorType": "Boom", "ErrorMessage": "transient"},
            "StepOptions": {"NextAttemptDelaySeconds": 1}
        }]})
    );

    assert_eq!(response.checkpoint_token.as_deref(), Some("token-2"));
    assert_eq!(response.new_execution_state.next_marker, None);
    let op = &response.new_execution_state.operations[0];
    assert_eq!(op.status, OperationStatus::Pending);
    assert_eq!(op.start_timestamp, Some(Timestamp(1_795_872_239_103)));
    let step = op.step_details.as_ref().unwrap();
    assert_eq!(step.attempt, 1);
    assert_eq!(
        step.next_attempt_timestamp,
        Some(Timestamp(1_795_872_240_106))
    );
    let error = step.error.as_ref().unwrap();
    assert_eq!(
        error.stack_trace.as_deref(),
        Some(&["a".into(), "b".into()][..])
    );
}

#[tokio::test]
async fn empty_checkpoint_is_a_poll_and_missing_parts_read_as_none() {
    let fake = Fake::default()
        .reply(200, json!({"NewExecutionState": {"NextMarker": ""}}))
        .reply(
            200,
            json!({"CheckpointToken": "", "NewExecutionState": {"NextMarker": "m2"}}),
        )
        .reply(200, json!({}));
    let client = fake.client();
    for expected_marker in [None, Some("m2"), None] {
        let response = client
            .checkpoint(ARN.into(), "t".into(), Vec::new())
            .await
            .unwrap();
        assert_eq!(response.checkpoint_token, None);
        assert!(response.new_execution_state.operations.is_empty());
        assert_eq!(
            response.new_execution_state.next_marker.as_deref(),
            expected_marker
        );
    }
    let body = fake.seen()[0].body.clone().unwrap();
    assert_eq!(body["Updates"], json!([]));
}

#[tokio::test]
async fn get_state_pages_with_marker_and_max_items() {
    let fake = Fake::default()
        .reply(
            200,
            json!({"Operations": [{"Id": "w1", "Type": "WAIT", "Status": "STARTED",
                "StartTimestamp": 1795872239, "WaitDetails": {"ScheduledEndTimestamp": 1795872249.5}}],
                "NextMarker": "page-3"}),
        )
        .reply(200, json!({"Operations": [], "NextMarker": ""}));
    let client = fake.client();
    let page = client
        .get_state(ARN.into(), "tok/en+=".into(), "page-2".into())
        .await
        .unwrap();
    assert_eq!(page.next_marker.as_deref(), Some("page-3"));
    let wait = page.operations[0].wait_details.as_ref().unwrap();
    assert_eq!(
        wait.scheduled_end_timestamp,
        Some(Timestamp(1_795_872_249_500))
    );
    assert_eq!(page.operations[0].operation_type, OperationType::Wait);

    let last = client
        .get_state(ARN.into(), "t".into(), String::new())
        .await
        .unwrap();
    assert_eq!(last, ExecutionState::default());

    let seen = fake.seen();
    assert_eq!(seen[0].method, "GET");
    let (path, query) = seen[0].uri.split_once('?').unwrap();
    assert_eq!(
        path,
        format!("http://durable.test/2025-12-01/durable-executions/{ENCODED_ARN}/state")
    );
    let mut params: Vec<&str> = query.split('&').collect();
    params.sort_unstable();
    assert_eq!(
        params,
        [
            "CheckpointToken=tok%2Fen%2B%3D",
            "Marker=page-2",
            "MaxItems=1000"
        ]
    );
    assert!(!seen[1].uri.contains("Marker="), "{}", seen[1].uri);
}

#[tokio::test]
async fn stale_token_from_the_emulator_is_retryable() {
    // The emulator's error body names the code in `Type`, which the SDK does not read: the
    // SDK reports an unmodeled error, and the code comes from the body.
    let fake = Fake::default().reply(
        400,
        json!({"Type": "InvalidParameterValueException", "message": "Invalid checkpoint token"}),
    );
    let failure = fake
        .client()
        .checkpoint(ARN.into(), "used".into(), Vec::new())
        .await
        .unwrap_err();
    assert_eq!(failure.http_status, Some(400));
    assert_eq!(
        failure.error_code.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert_eq!(failure.message, "Invalid checkpoint token");
    assert_eq!(failure.class(), FailureClass::RetryInvocation);
}

#[tokio::test]
async fn modeled_errors_carry_code_and_request_id() {
    let fake = Fake::default().reply_with(
        400,
        vec![
            ("x-amzn-errortype", "InvalidParameterValueException"),
            ("x-amzn-requestid", "req-9"),
        ],
        json!({"message": "Payload exceeds the limit"}).to_string(),
    );
    let failure = fake
        .client()
        .get_state(ARN.into(), "t".into(), "m".into())
        .await
        .unwrap_err();
    assert_eq!(
        failure.error_code.as_deref(),
        Some("InvalidParameterValueException")
    );
    assert_eq!(
        failure.message,
        "Payload exceeds the limit (request id: req-9)"
    );
    assert_eq!(failure.class(), FailureClass::FailExecution);
}

#[tokio::test]
async fn sdk_retries_throttling_and_5xx_but_not_4xx() {
    let throttled = || json!({"__type": "TooManyRequestsException", "message": "Rate exceeded"});
    let fake = Fake::default()
        .reply(429, throttled())
        .reply(429, throttled())
        .reply(429, throttled())
        .reply(
            500,
            json!({"__type": "ServiceException", "message": "internal"}),
        )
        .reply(
            502,
            json!({"__type": "KMSDisabledException", "message": "key off"}),
        )
        .reply(
            200,
            json!({"CheckpointToken": "t2", "NewExecutionState": {}}),
        )
        .reply(
            400,
            json!({"__type": "InvalidParameterValueException", "message": "bad"}),
        );
    let client = fake.client();
    let token = |s: &Seen| s.body.as_ref().unwrap()["ClientToken"].clone();

    // Throttling: three attempts in all (standard mode), then the failure is ours.
    let failure = client
        .checkpoint(ARN.into(), "t".into(), vec![retry_update()])
        .await
        .unwrap_err();
    assert_eq!(failure.http_status, Some(429));
    assert_eq!(
        failure.error_code.as_deref(),
        Some("TooManyRequestsException")
    );
    assert_eq!(failure.message, "Rate exceeded");
    let seen = fake.seen();
    assert_eq!(seen.len(), 3);
    // Every attempt of one call carries the same idempotency token.
    assert_eq!(token(&seen[0]), token(&seen[2]));

    // 500 and 502 (ServiceException, KMS*) are retried in-process too; a success after them
    // is all the caller sees.
    let response = client
        .checkpoint(ARN.into(), "t".into(), Vec::new())
        .await
        .unwrap();
    assert_eq!(response.checkpoint_token.as_deref(), Some("t2"));
    let seen = fake.seen();
    assert_eq!(seen.len(), 6);
    assert_eq!(token(&seen[3]), token(&seen[5]));
    assert_ne!(token(&seen[2]), token(&seen[3]));

    // Other 4xx are not retried.
    let failure = client
        .checkpoint(ARN.into(), "t".into(), Vec::new())
        .await
        .unwrap_err();
    assert_eq!(failure.http_status, Some(400));
    assert_eq!(failure.class(), FailureClass::FailExecution);
    assert_eq!(fake.seen().len(), 7);
}

#[tokio::test]
async fn invalid_updates_fail_before_sending() {
    let fake = Fake::default();
    let failure = fake
        .client()
        .checkpoint(String::new(), "t".into(), Vec::new())
        .await
        .unwrap_err();
    assert_eq!(failure.http_status, Some(400));
    assert_eq!(failure.error_code.as_deref(), Some("InvalidRequest"));
    assert!(
        failure.message.contains("durable_execution_arn"),
        "{}",
        failure.message
    );
    assert!(fake.seen().is_empty());
}
