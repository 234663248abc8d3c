//! The production [`CheckpointClient`]: the durable-execution API through `aws-sdk-lambda`.

mod connector;
mod convert;
mod credentials;
mod error;
mod https;
#[cfg(test)]
mod https_tests;
#[cfg(test)]
mod tests;

use aws_config::{BehaviorVersion, SdkConfig};
use durable_proto::{ApiFailure, CheckpointResponse, ExecutionState, OperationUpdate};
use tokio::sync::OnceCell;

use crate::client::{BoxFuture, CheckpointClient};

/// Most operations one `GetDurableExecutionState` page may hold (the API's maximum).
const MAX_ITEMS_PER_PAGE: i32 = 1000;

const CHECKPOINT: &str = "CheckpointDurableExecution";
const GET_STATE: &str = "GetDurableExecutionState";

/// Calls `CheckpointDurableExecution` and `GetDurableExecutionState` with `aws-sdk-lambda`.
///
/// Cloning is cheap (the SDK client is reference-counted), so one client can serve every
/// invocation; [`LambdaClient::shared`] keeps one per process.
///
/// Configuration is the AWS SDK's standard chain: region and credentials from the environment
/// (inside Lambda, the function's role), and the endpoint from `AWS_ENDPOINT_URL_LAMBDA` or
/// `AWS_ENDPOINT_URL` (or the shared config file's `services` section) when set, which is how a
/// local emulator is reached. The SDK's standard retry mode applies: throttling
/// (`TooManyRequestsException`), timeouts and connection errors are retried in-process (3
/// attempts in all by default; `AWS_MAX_ATTEMPTS` / `AWS_RETRY_MODE` change it) before a
/// failure is reported.
#[derive(Clone, Debug)]
pub struct LambdaClient {
    inner: aws_sdk_lambda::Client,
}

static SHARED: OnceCell<LambdaClient> = OnceCell::const_new();

impl LambdaClient {
    /// Wraps an SDK client configured by the caller.
    pub fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { inner: client }
    }

    /// A client from shared AWS configuration, e.g. the result of `aws_config::load_defaults`.
    ///
    /// Service-specific settings in `config` apply, such as an `AWS_ENDPOINT_URL_LAMBDA`
    /// endpoint that `aws_config` loaded.
    pub fn from_conf(config: &SdkConfig) -> Self {
        Self::new(aws_sdk_lambda::Client::new(config))
    }

    /// A client from the standard AWS configuration chain (environment variables, shared config
    /// files, container or instance credentials), with the latest SDK behavior version.
    ///
    /// Loading resolves the region and sets up credential providers; it makes no API calls.
    /// Every call (the checkpoint API, and the credential providers' own) goes over HTTP/1.1
    /// with rustls on *ring* (feature `aws-lc-rs`: aws-lc-rs), verifying servers against
    /// Mozilla's root certificates, compiled in; `SSL_CERT_FILE` (a PEM bundle, such as the
    /// system's `/etc/pki/tls/certs/ca-bundle.crt`) or `SSL_CERT_DIR` replaces them, e.g. for
    /// a private CA. Proxy settings from the environment (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY`, `NO_PROXY`) apply.
    ///
    /// Credentials come from the standard chain in its order (environment, profiles, web
    /// identity, container, instance metadata), but only the environment's link is built
    /// here: the rest, which a Lambda function never reaches, is built on the first request
    /// that finds no credentials in the environment.
    pub async fn from_env() -> Self {
        let https = https::HttpsClient::new();
        let http = https.clone();
        let rest: credentials::BuildRest = Box::new(move || {
            let http = http.clone();
            Box::pin(async move {
                aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http)
                    .load()
                    .await
                    .credentials_provider()
            })
        });
        let env = aws_config::environment::EnvironmentVariableCredentialsProvider::new();
        let config = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https)
            .credentials_provider(credentials::EnvFirst::new(env, rest))
            .load()
            .await;
        Self::new(aws_sdk_lambda::Client::new(&config))
    }

    /// Starts building the process-wide client ([`shared`](Self::shared)) in a task on the
    /// current tokio runtime and returns at once; the returned [`SharedLambdaClient`]'s calls
    /// wait for it. [`run`](crate::run) uses this so that loading the AWS configuration
    /// overlaps the Lambda runtime's start instead of delaying it.
    ///
    /// Panics if called outside a tokio runtime, as `tokio::spawn` does.
    pub fn start_shared() -> SharedLambdaClient {
        tokio::spawn(async {
            Self::shared().await;
        });
        SharedLambdaClient { _private: () }
    }

    /// The process-wide client, built by [`LambdaClient::from_env`] on first use.
    ///
    /// Later calls return a clone of the same client (and its connection pool), so a warm
    /// Lambda environment does not rebuild it per invocation. Configuration is read once: the
    /// environment at the first call wins.
    pub async fn shared() -> Self {
        SHARED.get_or_init(Self::from_env).await.clone()
    }

    /// The wrapped SDK client.
    pub fn sdk_client(&self) -> &aws_sdk_lambda::Client {
        &self.inner
    }
}

/// The process-wide [`LambdaClient`] as a [`CheckpointClient`], possibly still being built
/// (see [`LambdaClient::start_shared`]): every call first waits for it.
#[derive(Clone, Debug)]
pub struct SharedLambdaClient {
    _private: (),
}

impl CheckpointClient for SharedLambdaClient {
    fn checkpoint(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        Box::pin(async move {
            let client = LambdaClient::shared().await;
            client
                .checkpoint(durable_execution_arn, checkpoint_token, updates)
                .await
        })
    }

    fn get_state(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        Box::pin(async move {
            let client = LambdaClient::shared().await;
            client
                .get_state(durable_execution_arn, checkpoint_token, marker)
                .await
        })
    }
}

impl From<aws_sdk_lambda::Client> for LambdaClient {
    fn from(client: aws_sdk_lambda::Client) -> Self {
        Self::new(client)
    }
}

impl CheckpointClient for LambdaClient {
    fn checkpoint(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        updates: Vec<OperationUpdate>,
    ) -> BoxFuture<Result<CheckpointResponse, ApiFailure>> {
        let client = self.inner.clone();
        Box::pin(async move {
            // The SDK fills in `ClientToken` (idempotency) itself, once per call, so its
            // in-process retries cannot apply a batch twice.
            let output = client
                .checkpoint_durable_execution()
                .durable_execution_arn(durable_execution_arn)
                .checkpoint_token(checkpoint_token)
                .set_updates(Some(convert::updates_to_aws(updates)?))
                .send()
                .await
                .map_err(|err| error::failure_from_sdk(CHECKPOINT, &err))?;
            // The model requires `NewExecutionState`, but the SDK tolerates its absence.
            let (operations, next_marker) = match output.new_execution_state {
                Some(state) => (state.operations.unwrap_or_default(), state.next_marker),
                None => (Vec::new(), None),
            };
            Ok(CheckpointResponse {
                checkpoint_token: convert::non_empty(output.checkpoint_token),
                new_execution_state: convert::state_from_aws(operations, next_marker),
            })
        })
    }

    fn get_state(
        &self,
        durable_execution_arn: String,
        checkpoint_token: String,
        marker: String,
    ) -> BoxFuture<Result<ExecutionState, ApiFailure>> {
        let client = self.inner.clone();
        Box::pin(async move {
            let output = client
                .get_durable_execution_state()
                .durable_execution_arn(durable_execution_arn)
                .checkpoint_token(checkpoint_token)
                // An empty marker would be sent as `Marker=`; absent means the first page.
                .set_marker(convert::non_empty(Some(marker)))
                .max_items(MAX_ITEMS_PER_PAGE)
                .send()
                .await
                .map_err(|err| error::failure_from_sdk(GET_STATE, &err))?;
            Ok(convert::state_from_aws(
                output.operations,
                output.next_marker,
            ))
        })
    }
}
