//! Kinesis sink: writes each row, as compact JSON, into a real Kinesis data stream (AWS, or a
//! local emulator) with the official AWS SDK's `PutRecords` (up to 500 records and 5 MiB a
//! request), the partition key from SQL; entries that fail (throttling, internal failures) are
//! retried with backoff.

use serde::{Deserialize, Serialize};

use super::connection::{check_endpoint, check_region, check_stream_name};
use super::{MAX_ATTEMPTS, plan_text};
use crate::expr::PlannedExpr;
use crate::model::duration::Duration;
use crate::model::form::{Field, FieldValue, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report, short,
};
use crate::model::kinds::{KindId, NodeKind, PlannedKind, SinkKind};
use crate::model::node::{Family, IN};

/// Rows into a real Kinesis data stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisSink {
    pub stream: String,
    pub region: String,
    /// A Kinesis-compatible address (a local emulator); none: AWS's own for the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// SQL giving each record's partition key, e.g. `CAST(trip_id AS VARCHAR)`.
    pub partition_key: String,
    /// SQL giving a decimal hash key that places the record instead, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit_hash_key: Option<String>,
    /// Attempts per record, the first included, before the run stops with the error.
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// The wait before the second attempt; each further one waits twice as long.
    #[serde(default = "default_backoff")]
    pub backoff: Duration,
}

fn default_attempts() -> u32 {
    5
}

fn default_backoff() -> Duration {
    Duration::from_millis(100)
}

/// The runnable form of a Kinesis sink.
#[derive(Debug, Clone)]
pub struct PlannedKinesisSink {
    pub stream: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub partition_key: PlannedExpr,
    pub explicit_hash_key: Option<PlannedExpr>,
    pub max_attempts: u32,
    pub backoff_ms: i64,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Kinesis sink (AWS)",
    family: Family::Sink,
    id_stem: "kinesis_out",
    explanation: "Writes each row as a JSON record into a real Kinesis data stream, on AWS or a local emulator (set the endpoint), with the official AWS SDK's PutRecords: up to 500 records a request, failed entries retried with backoff. The partition key is SQL over the row. Credentials come from the standard AWS chain (environment, ~/.aws), never from the file.",
    keywords: "kinesis aws stream real write produce putrecords sdk emulator kinesis-local localstack sink partition key",
    default: || {
        NodeKind::Sink(SinkKind::Kinesis(KinesisSink {
            stream: "trips".into(),
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:4567".into()),
            partition_key: "'key'".into(),
            explicit_hash_key: None,
            max_attempts: default_attempts(),
            backoff: default_backoff(),
        }))
    },
};

impl KindModel for KinesisSink {
    fn kind_id(&self) -> KindId {
        KindId::KinesisSink
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: Vec::new(),
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        check_stream_name(&self.stream, report);
        check_region(&self.region, report);
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(endpoint, report);
        }
        if !(1..=MAX_ATTEMPTS).contains(&self.max_attempts) {
            report.error(
                "max_attempts",
                format!(
                    "max_attempts is 1 (no retries) to {MAX_ATTEMPTS}, not {}",
                    self.max_attempts
                ),
            );
        }
        if self.backoff.as_millis() < 0 {
            report.error("backoff", "the backoff cannot be negative");
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let partition_key = plan_text(
            report,
            "partition_key",
            &self.partition_key,
            &input.schema,
            "a partition key is text: write e.g. `CAST(trip_id AS VARCHAR)`",
        );
        let explicit_hash_key = match &self.explicit_hash_key {
            Some(text) => Some(plan_text(
                report,
                "explicit_hash_key",
                text,
                &input.schema,
                "an explicit hash key is a decimal number as text, e.g. `'0'`",
            )?),
            None => None,
        };
        let planned = PlannedKinesisSink {
            stream: self.stream.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            partition_key: partition_key?,
            explicit_hash_key,
            max_attempts: self.max_attempts,
            backoff_ms: self.backoff.as_millis(),
        };
        Some(Planned::new(
            PlannedKind::KinesisSink(Box::new(planned)),
            1,
            Vec::new(),
        ))
    }

    fn summary(&self) -> String {
        let at = self
            .endpoint
            .as_deref()
            .map_or_else(|| self.region.clone(), |e| short(e, 30));
        format!(
            "{} at {at}, key {}",
            self.stream,
            short(&self.partition_key, 30)
        )
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "stream",
                "The stream's name",
                FieldValue::Text(&mut self.stream),
            ),
            Field::new(
                "region",
                "The AWS region, e.g. us-east-1",
                FieldValue::Text(&mut self.region),
            ),
            Field::new(
                "endpoint",
                "A local emulator's address, e.g. http://127.0.0.1:4567; empty: AWS itself",
                FieldValue::OptionalText(&mut self.endpoint),
            ),
            Field::new(
                "partition key",
                "SQL giving each record's partition key (text, 1 to 256 characters)",
                FieldValue::Sql(&mut self.partition_key, SqlRole::Expression),
            ),
            Field::new(
                "explicit hash key",
                "Optional SQL giving a decimal hash key (0 to 2^128 - 1) that places the record instead of its partition key's MD5",
                FieldValue::OptionalSql(&mut self.explicit_hash_key, SqlRole::Expression),
            ),
            Field::new(
                "max attempts",
                "Attempts per record, the first included, before the run stops with Kinesis's error",
                FieldValue::Count(&mut self.max_attempts),
            ),
            Field::new(
                "backoff",
                "The wait before the second attempt; each further one waits twice as long",
                FieldValue::Duration(&mut self.backoff),
            ),
        ]
    }
}
