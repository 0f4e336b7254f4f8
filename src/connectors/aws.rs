//! What the AWS connectors share: a small tokio runtime each owns (the SDK is async; the engine's
//! threads are plain, and a call runs to its end with `block_on`), and the SDK's configuration:
//! the region, an endpoint for an emulator, rustls on ring, and credentials from the standard
//! chain (environment variables, `~/.aws` profiles, web identity, container and instance roles),
//! never from the pipeline.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_kinesis::error::{DisplayErrorContext, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::runtime::contract::RunError;

/// A runtime and a configuration to make SDK clients from.
pub struct Aws {
    runtime: tokio::runtime::Runtime,
    pub config: SdkConfig,
    /// Where calls go, for messages: the endpoint, or the region.
    pub at: String,
}

impl Aws {
    /// The SDK set up for `region`, talking to `endpoint` when given (a local emulator).
    pub fn new(region: &str, endpoint: Option<&str>) -> Result<Self, RunError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RunError::internal(format!("starting the AWS client's runtime: {e}")))?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .http_client(http);
        if let Some(endpoint) = endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        let config = runtime.block_on(loader.load());
        Ok(Self {
            runtime,
            config,
            at: endpoint.map_or_else(|| format!("AWS {region}"), str::to_string),
        })
    }

    /// Runs one SDK call to its end.
    pub fn call<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(call)
    }

    /// What went wrong with a call on `what`, for a person: the service's code and message, or
    /// the transport's failure, with a hint where one helps. A failure to get through may pass
    /// (transient); what the service refused will not by itself.
    pub fn explain<E, R>(&self, doing: &str, what: &str, error: &SdkError<E, R>) -> RunError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let text = DisplayErrorContext(error).to_string();
        let unreachable = matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        );
        let hint = if text.contains("credentials") || text.contains("Credentials") {
            "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws (a pipeline file never holds credentials)"
        } else if unreachable {
            "; is the endpoint running and reachable?"
        } else {
            ""
        };
        let message = format!("{doing} {what} at {}: {text}{hint}", self.at);
        if unreachable {
            RunError::transient(message)
        } else {
            RunError::io(message)
        }
    }
}
