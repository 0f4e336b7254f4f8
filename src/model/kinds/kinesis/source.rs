//! Kinesis source: reads a real Kinesis data stream (AWS, or a local emulator such as
//! kinesis-local) with the official AWS SDK, shard by shard and parents before children, each
//! record's data a JSON object with the declared fields; records that are not go to `errors`.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use serde::{Deserialize, Serialize};

use super::connection::{check_endpoint, check_region, check_stream_name};
use super::consumers::{PlannedStart, StartingPosition};
use super::{ARRIVAL, PARTITION_KEY, SEQUENCE_NUMBER, SHARD_ID};
use crate::model::columns::{ColumnDecl, timestamp_type};
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue};
use crate::model::infer::parse_timestamp_millis;
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report, short,
};
use crate::model::kinds::source_time::{Time, source_outputs, source_ports, time_field};
use crate::model::kinds::{KindId, NodeKind, PlannedKind, SourceKind};
use crate::model::node::Family;

/// The shortest wait between two rounds of `GetRecords` calls that found nothing.
pub const MIN_POLL_MS: i64 = 200;

/// A real Kinesis data stream, read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisSource {
    /// The stream's name.
    pub stream: String,
    pub region: String,
    /// A Kinesis-compatible address (a local emulator); none: AWS's own for the region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub start: StartingPosition,
    /// The fields of each record's JSON data (the stream is not read while checking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnDecl>>,
    pub time: Time,
    #[serde(default)]
    pub until: ReadUntil,
    /// The wait before asking a shard again when it had nothing new.
    #[serde(default = "default_poll_every")]
    pub poll_every: Duration,
}

/// When the source ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ReadUntil {
    /// Once every shard has been read to its newest record (`MillisBehindLatest` 0 and nothing
    /// more): what was in the stream when it got there.
    #[default]
    CaughtUp,
    /// After this many records.
    Records(u64),
    /// Never: read what comes until the run is stopped.
    Never,
}

fn default_poll_every() -> Duration {
    Duration::from_secs(1)
}

/// The runnable form of a Kinesis source.
#[derive(Debug, Clone)]
pub struct PlannedKinesisSource {
    pub stream: String,
    pub region: String,
    pub endpoint: Option<String>,
    pub start: PlannedStart,
    pub until: ReadUntil,
    pub poll_every_ms: i64,
    pub time: Time,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Kinesis source (AWS)",
    family: Family::Source,
    id_stem: "kinesis_in",
    explanation: "Reads a real Kinesis data stream, on AWS or a local emulator (set the endpoint), with the official AWS SDK: every shard, parents before children, from the trim horizon, the newest record or a time. Each record's data is a JSON object with the declared fields; each row also gets its shard id, sequence number, partition key and arrival time. Credentials come from the standard AWS chain (environment, ~/.aws), never from the file.",
    keywords: "kinesis aws stream real read consume getrecords sdk emulator kinesis-local localstack source shard",
    default: || {
        NodeKind::Source(SourceKind::Kinesis(KinesisSource {
            stream: "trips".into(),
            region: "us-east-1".into(),
            endpoint: Some("http://127.0.0.1:4567".into()),
            start: StartingPosition::TrimHorizon,
            schema: Some(vec![
                ColumnDecl::new("event_time", crate::model::columns::ColumnType::Timestamp),
                ColumnDecl::new("value", crate::model::columns::ColumnType::Float64),
            ]),
            time: Time::event("event_time"),
            until: ReadUntil::CaughtUp,
            poll_every: default_poll_every(),
        }))
    },
};

impl KindModel for KinesisSource {
    fn kind_id(&self) -> KindId {
        KindId::KinesisSource
    }

    fn ports(&self) -> Ports {
        source_ports()
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        check_stream_name(&self.stream, report);
        check_region(&self.region, report);
        if let Some(endpoint) = &self.endpoint {
            check_endpoint(endpoint, report);
        }
        self.time.check(report);
        if let StartingPosition::AtTimestamp(text) = &self.start
            && parse_timestamp_millis(text).is_none()
        {
            report.error(
                "start",
                format!("`{text}` is not a time; write e.g. 2024-01-15T08:10:00Z"),
            );
        }
        if self.poll_every.as_millis() < MIN_POLL_MS {
            report.error(
                "poll_every",
                format!(
                    "poll_every is at least {MIN_POLL_MS}ms (a shard answers 5 calls a second), not {}",
                    self.poll_every
                ),
            );
        }
        if matches!(self.until, ReadUntil::Records(0)) {
            report.error("until", "Records(0) would read nothing");
        }
    }

    fn plan(&self, _: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let Some(columns) = self.schema.as_ref().filter(|c| !c.is_empty()) else {
            report.error(
                "schema",
                "declare the fields of the records' JSON data: the stream is not read while a pipeline is checked",
            );
            return None;
        };
        let mut fields: Vec<ArrowField> = columns.iter().map(ColumnDecl::field).collect();
        for added in [SHARD_ID, SEQUENCE_NUMBER, PARTITION_KEY, ARRIVAL] {
            if fields.iter().any(|f| f.name() == added) {
                report.error(
                    "schema",
                    format!("`{added}` is a column the source adds to each record; name the field otherwise"),
                );
                return None;
            }
        }
        fields.extend(metadata_fields());
        let outputs = source_outputs(Schema::new(fields), &self.time, report)?;
        let start = match &self.start {
            StartingPosition::TrimHorizon => PlannedStart::TrimHorizon,
            StartingPosition::Latest => PlannedStart::Latest,
            StartingPosition::AtTimestamp(text) => {
                PlannedStart::AtTimestamp(parse_timestamp_millis(text)?)
            }
        };
        let planned = PlannedKinesisSource {
            stream: self.stream.clone(),
            region: self.region.clone(),
            endpoint: self.endpoint.clone(),
            start,
            until: self.until,
            poll_every_ms: self.poll_every.as_millis(),
            time: self.time.clone(),
        };
        Some(Planned::new(
            PlannedKind::KinesisSource(Box::new(planned)),
            0,
            outputs,
        ))
    }

    fn summary(&self) -> String {
        let at = self
            .endpoint
            .as_deref()
            .map_or_else(|| self.region.clone(), |e| short(e, 30));
        format!("{} at {at}; {}", self.stream, self.time.summary())
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
                "start",
                "TrimHorizon: the oldest record kept. Latest: only what arrives from now on. AtTimestamp: from a time on.",
                FieldValue::Choice(&mut self.start),
            ),
            Field::new(
                "fields",
                "The fields of each record's JSON data",
                FieldValue::List(&mut self.schema),
            ),
            time_field(&mut self.time),
            Field::new(
                "until",
                "CaughtUp: end once every shard is read to its newest record. Records: after that many. Never: until stopped.",
                FieldValue::Choice(&mut self.until),
            ),
            Field::new(
                "poll every",
                "The wait before asking a shard again when it had nothing new (at least 200ms)",
                FieldValue::Duration(&mut self.poll_every),
            ),
        ]
    }
}

/// What the source adds to each record's fields: where it was and when it arrived.
pub fn metadata_fields() -> Vec<ArrowField> {
    vec![
        ArrowField::new(SHARD_ID, DataType::Utf8, false),
        ArrowField::new(SEQUENCE_NUMBER, DataType::Utf8, false),
        ArrowField::new(PARTITION_KEY, DataType::Utf8, false),
        ArrowField::new(ARRIVAL, timestamp_type(), false),
    ]
}

/// The schema of the record fields and the metadata, for tests and the connector.
pub fn record_schema(columns: &[ColumnDecl]) -> Arc<Schema> {
    let mut fields: Vec<ArrowField> = columns.iter().map(ColumnDecl::field).collect();
    fields.extend(metadata_fields());
    Arc::new(Schema::new(fields))
}

impl Choice for ReadUntil {
    fn options(&self) -> Vec<&'static str> {
        vec!["CaughtUp", "Records", "Never"]
    }

    fn selected(&self) -> usize {
        match self {
            ReadUntil::CaughtUp => 0,
            ReadUntil::Records(_) => 1,
            ReadUntil::Never => 2,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match index {
            0 => ReadUntil::CaughtUp,
            1 => ReadUntil::Records(1_000),
            _ => ReadUntil::Never,
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            ReadUntil::Records(n) => vec![Field::new(
                "records",
                "End after this many records",
                FieldValue::BigCount(n),
            )],
            _ => Vec::new(),
        }
    }
}
