//! The real Kinesis connectors: a source and a sink on the official AWS SDK for Rust. Each owns a
//! small tokio runtime and calls the SDK with `block_on` from its own engine thread, which is the
//! bridge between the async SDK and the engine's plain threads: nothing else in the engine knows
//! tokio. Credentials come from the SDK's standard chain (environment variables, `~/.aws`
//! profiles, web identity, container and instance roles), never from the pipeline.

pub mod sink;
pub mod source;

use aws_config::{BehaviorVersion, Region};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::{DisplayErrorContext, SdkError};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

use crate::runtime::contract::RunError;

/// A client for one stream, with the runtime its calls run on.
pub struct Connection {
    runtime: tokio::runtime::Runtime,
    client: Client,
    stream: String,
    /// Where calls go, for messages: the endpoint, or the region.
    at: String,
}

impl Connection {
    /// A client for `stream` in `region`, at `endpoint` when given (a local emulator).
    pub fn open(stream: &str, region: &str, endpoint: Option<&str>) -> Result<Self, RunError> {
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
            client: Client::new(&config),
            stream: stream.to_string(),
            at: endpoint.map_or_else(|| format!("AWS {region}"), str::to_string),
        })
    }

    /// Runs one SDK call to its end on this connection's runtime.
    fn call<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        self.runtime.block_on(call)
    }

    fn client(&self) -> &Client {
        &self.client
    }

    /// What went wrong with a call, for a person: the service's code and message, or the
    /// transport's failure, with a hint where one helps.
    fn explain<E, R>(&self, doing: &str, error: &SdkError<E, R>) -> RunError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let text = DisplayErrorContext(error).to_string();
        let hint = if text.contains("credentials") || text.contains("Credentials") {
            "; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws (a pipeline file never holds credentials)"
        } else if matches!(
            error,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        ) {
            "; is the endpoint running and reachable?"
        } else {
            ""
        };
        let message = format!(
            "{doing} stream `{}` at {}: {text}{hint}",
            self.stream, self.at
        );
        // A failure to get through may pass; what the service refused will not by itself.
        match error {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
                RunError::transient(message)
            }
            _ => RunError::io(message),
        }
    }
}
