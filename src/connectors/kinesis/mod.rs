//! The real Kinesis connectors: a source and a sink on the official AWS SDK for Rust, each with
//! the runtime and configuration of `connectors::aws`.

pub mod sink;
pub mod source;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::error::SdkError;

use super::aws::Aws;
use crate::runtime::contract::RunError;

/// A client for one stream.
pub struct Connection {
    aws: Aws,
    client: Client,
    stream: String,
}

impl Connection {
    /// A client for `stream` in `region`, at `endpoint` when given (a local emulator).
    pub fn open(stream: &str, region: &str, endpoint: Option<&str>) -> Result<Self, RunError> {
        let aws = Aws::new(region, endpoint)?;
        let client = Client::new(&aws.config);
        Ok(Self {
            aws,
            client,
            stream: stream.to_string(),
        })
    }

    /// Runs one SDK call to its end on this connection's runtime.
    fn call<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        self.aws.call(call)
    }

    fn client(&self) -> &Client {
        &self.client
    }

    /// What went wrong with a call, for a person.
    fn explain<E, R>(&self, doing: &str, error: &SdkError<E, R>) -> RunError
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.aws
            .explain(doing, &format!("stream `{}`", self.stream), error)
    }
}
