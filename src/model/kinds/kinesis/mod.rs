//! Kinesis data stream: the records written into it are routed to shards by the MD5 of their
//! partition key, checked against each shard's write limits per second of simulated arrival time,
//! and given a shard id, a sequence number and an arrival time — as Kinesis Data Streams does
//! (streaming-facts §1). Records over the limits go to `throttled`, invalid ones to `errors`.

pub mod connection;
pub mod consumers;
pub mod hash_ranges;
pub mod shard_map;
pub mod sink;
pub mod source;

use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind, StreamKind};
use crate::expr::{PlannedExpr, plan_expr};
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report, short,
};
use crate::model::node::{ERRORS, Family, IN, OUT};
use crate::model::time::RowTime;
use consumers::{Consumer, PlannedConsumer, check_consumers, fixed_ports};
use shard_map::{Reshard, ShardMap};

/// The port of records refused for going over a shard's write limits.
pub const THROTTLED_PORT: &str = "throttled";

/// The most shards a stream may have (the default shard quota of an account in the largest
/// regions, streaming-facts §1.1); each shard's state is allocated when the run starts.
pub const MAX_SHARDS: u32 = 20_000;
/// Shards of a new on-demand stream (4 MB/s of writes; kinesis-local creates 4).
pub const ON_DEMAND_SHARDS: u32 = 4;
/// Retention bounds: 24 hours to 365 days (streaming-facts §1.4).
pub const MIN_RETENTION_HOURS: i64 = 24;
pub const MAX_RETENTION_HOURS: i64 = 8_760;

/// The columns the stream adds to every record it accepts.
pub const SHARD_ID: &str = "shard_id";
pub const SEQUENCE_NUMBER: &str = "sequence_number";
pub const PARTITION_KEY: &str = "partition_key";
pub const ARRIVAL: &str = "approximate_arrival_timestamp";

/// How many shards the stream has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Capacity {
    /// A fixed number of shards.
    Provisioned { shards: u32 },
    /// Kinesis plans the shards; a new stream starts with 4 shards' worth.
    OnDemand,
}

impl Capacity {
    /// The shards the stream starts with.
    pub fn initial_shards(&self) -> u32 {
        match self {
            Capacity::Provisioned { shards } => *shards,
            Capacity::OnDemand => ON_DEMAND_SHARDS,
        }
    }
}

/// How the records are written into the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Producer {
    /// The SDK's `PutRecord`: one call per record; a call over the shard's limits fails with
    /// `ProvisionedThroughputExceededException` and is not retried.
    #[default]
    PutRecord,
    /// The SDK's `PutRecords`: records sent in requests of up to `max_records` (500) and
    /// `max_bytes` (5 MiB, keys included); each entry succeeds or fails on its own (a partial
    /// failure), in request order.
    PutRecords {
        #[serde(default = "default_put_records_max")]
        max_records: u32,
        #[serde(default = "default_put_records_bytes")]
        max_bytes: u32,
    },
    /// The Kinesis Producer Library: user records for the same shard are aggregated into one
    /// Kinesis record (streaming-facts §2.1, defaults from its `default_config.properties`).
    Kpl {
        /// `AggregationMaxSize`: the largest aggregated record, in bytes.
        #[serde(default = "default_aggregation_max_size")]
        aggregation_max_size: u32,
        /// `RecordMaxBufferedTime`: how long a user record may wait to be sent.
        #[serde(default = "default_record_max_buffered_time")]
        record_max_buffered_time: Duration,
        /// `RecordTtl`: a record not written this long after it was put fails (expired).
        #[serde(default = "default_record_ttl")]
        record_ttl: Duration,
        /// `RateLimit`: the KPL sends each shard at most this percentage of its limits; what is
        /// over waits in the KPL.
        #[serde(default = "default_rate_limit")]
        rate_limit: u32,
        /// `FailIfThrottled`: a throttled record fails at once instead of being retried until
        /// its `RecordTtl`.
        #[serde(default)]
        fail_if_throttled: bool,
    },
}

/// The KPL's defaults (`default_config.properties`): RecordTtl 30 s, RateLimit 150 %.
fn default_record_ttl() -> Duration {
    Duration::from_secs(30)
}

pub const KPL_RATE_LIMIT: u32 = 150;

fn default_rate_limit() -> u32 {
    KPL_RATE_LIMIT
}

/// A PutRecords request: at most 500 records and 5 MiB (streaming-facts §1.1).
pub const PUT_RECORDS_MAX: u32 = 500;
pub const PUT_RECORDS_BYTES: u32 = 5 * 1024 * 1024;

fn default_put_records_max() -> u32 {
    PUT_RECORDS_MAX
}

fn default_put_records_bytes() -> u32 {
    PUT_RECORDS_BYTES
}

/// The columns of a PutRecords entry: its request (counted from 1) and its place in it.
pub const REQUEST: &str = "request";
pub const ENTRY_IN_REQUEST: &str = "entry";

/// The KPL's `AggregationMaxSize` default: 51,200 bytes.
pub const KPL_AGGREGATION_MAX_SIZE: u32 = 51_200;

fn default_aggregation_max_size() -> u32 {
    KPL_AGGREGATION_MAX_SIZE
}

fn default_record_max_buffered_time() -> Duration {
    Duration::from_millis(100)
}

/// The column of a KPL user record's place inside its aggregated Kinesis record.
pub const SUB_SEQUENCE_NUMBER: &str = "sub_sequence_number";

/// How the producer retries a write that failed (throttled) or whose answer it never got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retries {
    /// Attempts per record, the first included: 1 never retries (the SDK's standard mode makes 3).
    #[serde(default = "one_attempt")]
    pub max_attempts: u32,
    /// The wait before the second attempt; each further one waits twice as long.
    #[serde(default = "default_backoff")]
    pub backoff: Duration,
    /// The share of successful writes whose answer never reaches the producer (a timeout): it
    /// writes the record again, and Kinesis keeps both copies — at-least-once delivery.
    #[serde(default)]
    pub lost_responses: f64,
}

/// The most attempts a producer may make for one record.
pub const MAX_ATTEMPTS: u32 = 20;

fn one_attempt() -> u32 {
    1
}

fn default_backoff() -> Duration {
    Duration::from_millis(100)
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            max_attempts: one_attempt(),
            backoff: default_backoff(),
            lost_responses: 0.0,
        }
    }
}

/// A Kinesis data stream, simulated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KinesisStream {
    pub capacity: Capacity,
    /// SQL giving each record's partition key (text), e.g. `CAST(pickup_location_id AS VARCHAR)`.
    pub partition_key: String,
    /// SQL giving a decimal hash key that overrides the partition key's hash, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explicit_hash_key: Option<String>,
    /// How long records stay readable.
    #[serde(default = "default_retention")]
    pub retention: Duration,
    #[serde(default)]
    pub producer: Producer,
    #[serde(default)]
    pub retries: Retries,
    /// Splits, merges and shard-count changes at given times.
    #[serde(default)]
    pub resharding: Vec<Reshard>,
    /// The applications reading the stream, each with its own output port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<Consumer>,
}

fn default_retention() -> Duration {
    Duration::from_secs(24 * 3600)
}

/// The runnable form of a Kinesis stream.
#[derive(Debug, Clone)]
pub struct PlannedKinesisStream {
    /// The stream's name in Kinesis's messages: the node's id.
    pub stream_name: String,
    pub shards: u32,
    pub partition_key: PlannedExpr,
    pub explicit_hash_key: Option<PlannedExpr>,
    pub producer: Producer,
    pub retries: Retries,
    pub resharding: Vec<Reshard>,
    /// How long records stay readable, in ms.
    pub retention_ms: i64,
    /// Their ports follow `out`, `throttled` and `errors`, in this order.
    pub consumers: Vec<PlannedConsumer>,
    /// Kinesis plans the shards (scaling up for new peaks).
    pub on_demand: bool,
    /// Where the rows' event time is read: the arrival time follows it.
    pub time: RowTime,
    pub accepted: SchemaRef,
    pub throttled: SchemaRef,
    pub errors: SchemaRef,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Kinesis data stream",
    family: Family::Stream,
    id_stem: "stream",
    explanation: "A Kinesis data stream, simulated faithfully: each record goes to the shard whose hash-key range holds the MD5 of its partition key, and each shard takes at most 1,000 records and 1 MiB per second; writes over that are throttled (ProvisionedThroughputExceededException) and go to `throttled`. Accepted records get their shard id, a sequence number and an arrival time.\nExample: 2 shards, partition key `CAST(pickup_location_id AS VARCHAR)`.",
    keywords: "kinesis aws shard shards partition key hash md5 throughput throttle throttling putrecord producer data streams kds",
    default: || {
        NodeKind::Stream(StreamKind::Kinesis(KinesisStream {
            capacity: Capacity::Provisioned { shards: 2 },
            partition_key: "'key'".into(),
            explicit_hash_key: None,
            retention: default_retention(),
            producer: Producer::PutRecord,
            retries: Retries::default(),
            resharding: Vec::new(),
            consumers: Vec::new(),
        }))
    },
};

impl KindModel for KinesisStream {
    fn kind_id(&self) -> KindId {
        KindId::KinesisStream
    }

    fn ports(&self) -> Ports {
        // With consumers, the records as written may go unread.
        let out = if self.consumers.is_empty() {
            OutputPort::new(OUT)
        } else {
            OutputPort::optional(OUT)
        };
        let mut outputs = vec![
            out,
            OutputPort::optional(THROTTLED_PORT),
            OutputPort::optional(ERRORS),
        ];
        outputs.extend(self.consumers.iter().map(|c| OutputPort::optional(&c.name)));
        Ports {
            inputs: vec![IN.into()],
            outputs,
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if let Capacity::Provisioned { shards } = self.capacity
            && !(1..=MAX_SHARDS).contains(&shards)
        {
            report.error(
                "capacity",
                format!("a stream has 1 to {MAX_SHARDS} shards, not {shards}"),
            );
        }
        let hours = self.retention.as_millis() / 3_600_000;
        if let Producer::PutRecords {
            max_records,
            max_bytes,
        } = &self.producer
        {
            if !(1..=PUT_RECORDS_MAX).contains(max_records) {
                report.error(
                    "producer",
                    format!("a PutRecords request holds 1 to 500 records, not {max_records}"),
                );
            }
            if !(1..=PUT_RECORDS_BYTES).contains(max_bytes) {
                report.error(
                    "producer",
                    format!(
                        "a PutRecords request holds at most 5 MiB (5242880 bytes), not {max_bytes}"
                    ),
                );
            }
        }
        if let Producer::Kpl {
            aggregation_max_size,
            record_max_buffered_time,
            record_ttl,
            rate_limit,
            ..
        } = &self.producer
        {
            if record_ttl.as_millis() <= 0 {
                report.error("producer", "record_ttl must be longer than 0s");
            }
            if !(1..=1_000).contains(rate_limit) {
                report.error(
                    "producer",
                    format!(
                        "rate_limit is a percentage of a shard's limits from 1 to 1000, not {rate_limit}"
                    ),
                );
            }
            // The KPL's own bounds for AggregationMaxSize: 64 bytes to 1 MiB.
            if !(64..=1_048_576).contains(aggregation_max_size) {
                report.error(
                    "producer",
                    format!(
                        "the KPL's aggregation_max_size is 64 to 1048576 bytes, not {aggregation_max_size}"
                    ),
                );
            }
            if record_max_buffered_time.as_millis() < 0 {
                report.error("producer", "record_max_buffered_time cannot be negative");
            }
        }
        let retries = &self.retries;
        if !(1..=MAX_ATTEMPTS).contains(&retries.max_attempts) {
            report.error(
                "retries",
                format!(
                    "max_attempts is 1 (no retries) to {MAX_ATTEMPTS}, not {}",
                    retries.max_attempts
                ),
            );
        }
        if retries.backoff.as_millis() < 0 {
            report.error("retries", "the backoff cannot be negative");
        }
        if !(0.0..=1.0).contains(&retries.lost_responses) {
            report.error(
                "retries",
                format!(
                    "lost_responses is a share from 0 to 1, not {}",
                    retries.lost_responses
                ),
            );
        }
        check_consumers(&self.consumers, &fixed_ports(), report);
        if self.capacity == Capacity::OnDemand && !self.resharding.is_empty() {
            report.error(
                "resharding",
                "an on-demand stream plans its own shards; resharding is for provisioned streams",
            );
        }
        // The schedule is played through the shard map the run uses, so what passes here runs.
        let mut map = ShardMap::new(self.capacity.initial_shards().clamp(1, MAX_SHARDS));
        let mut last = None;
        for (i, change) in self.resharding.iter().enumerate() {
            if last.is_some_and(|t: i64| change.at().as_millis() < t) {
                report
                    .error(
                        "resharding",
                        format!(
                            "changes are in time order: {} comes before the one above",
                            change.at()
                        ),
                    )
                    .item = Some(i);
            }
            last = Some(change.at().as_millis());
            if let Err(why) = map.apply(change, MAX_SHARDS) {
                report.error("resharding", why).item = Some(i);
            }
        }
        if self.retention.as_millis() % 3_600_000 != 0
            || !(MIN_RETENTION_HOURS..=MAX_RETENTION_HOURS).contains(&hours)
        {
            report.error(
                "retention",
                format!(
                    "retention is whole hours from 24h to 8760h (365 days), not {}",
                    self.retention
                ),
            );
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let partition_key = plan_text(
            report,
            "partition_key",
            &self.partition_key,
            &input.schema,
            "a partition key is text: write e.g. `CAST(pickup_location_id AS VARCHAR)`",
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
        let partition_key = partition_key?;
        let time = match input.time.row_time(&input.schema) {
            Ok(time) => time,
            Err(_) => RowTime::Processing,
        };
        let mut clash = false;
        for added in [
            SHARD_ID,
            SEQUENCE_NUMBER,
            SUB_SEQUENCE_NUMBER,
            PARTITION_KEY,
            ARRIVAL,
            REQUEST,
            ENTRY_IN_REQUEST,
        ] {
            if input.schema.index_of(added).is_ok() {
                report.node_error(format!(
                    "the input already has a column `{added}`, which the stream adds to each record; rename it in a Map first"
                ));
                clash = true;
            }
        }
        if clash {
            return None;
        }
        let [accepted, throttled, errors] = output_schemas(&input.schema, &self.producer);
        let accepted = with_parents(accepted, &self.capacity, &self.resharding);
        let mut outputs = vec![
            PortOutput::new(accepted.clone(), input.time.clone()),
            PortOutput::new(throttled.clone(), input.time.clone()),
            PortOutput::new(errors.clone(), input.time.clone()),
        ];
        // A consumer reads the records as written.
        outputs.extend(
            self.consumers
                .iter()
                .map(|_| PortOutput::new(accepted.clone(), input.time.clone())),
        );
        let consumers: Vec<PlannedConsumer> =
            self.consumers.iter().filter_map(Consumer::plan).collect();
        if consumers.len() != self.consumers.len() {
            return None;
        }
        let planned = PlannedKinesisStream {
            stream_name: report.node().to_string(),
            shards: self.capacity.initial_shards(),
            partition_key,
            explicit_hash_key,
            producer: self.producer.clone(),
            retries: self.retries.clone(),
            resharding: self.resharding.clone(),
            retention_ms: self.retention.as_millis(),
            consumers,
            on_demand: self.capacity == Capacity::OnDemand,
            time,
            accepted,
            throttled,
            errors,
        };
        Some(Planned::new(
            PlannedKind::KinesisStream(Box::new(planned)),
            1,
            outputs,
        ))
    }

    fn outputs_despite_errors(&self, inputs: &[PortInput]) -> Option<Vec<PortOutput>> {
        let input = inputs.first()?;
        let schemas = output_schemas(&input.schema, &self.producer);
        let accepted = schemas[0].clone();
        let reads = self.consumers.iter().map(|_| accepted.clone());
        Some(
            schemas
                .into_iter()
                .chain(reads)
                .map(|schema| PortOutput::new(schema, input.time.clone()))
                .collect(),
        )
    }

    fn summary(&self) -> String {
        let shards = match self.capacity {
            Capacity::Provisioned { shards: 1 } => "1 shard".to_string(),
            Capacity::Provisioned { shards } => format!("{shards} shards"),
            Capacity::OnDemand => "on-demand".to_string(),
        };
        let producer = match self.producer {
            Producer::PutRecord => "PutRecord",
            Producer::PutRecords { .. } => "PutRecords",
            Producer::Kpl { .. } => "KPL",
        };
        let readers = match self.consumers.len() {
            0 => String::new(),
            1 => ", 1 consumer".to_string(),
            n => format!(", {n} consumers"),
        };
        format!(
            "{shards}, {producer}, key {}{readers}",
            short(&self.partition_key, 40)
        )
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "capacity",
                "Provisioned: you choose the shards (each takes 1,000 records and 1 MiB a second). On-demand: Kinesis plans them; a new stream starts with 4.",
                FieldValue::Choice(&mut self.capacity),
            ),
            Field::new(
                "partition key",
                "SQL giving each record's partition key (text, 1 to 256 characters). Records with the same key go to the same shard, in order.",
                FieldValue::Sql(&mut self.partition_key, SqlRole::Expression),
            ),
            Field::new(
                "explicit hash key",
                "Optional SQL giving a decimal hash key (0 to 2^128 - 1) that places the record instead of its partition key's MD5",
                FieldValue::OptionalSql(&mut self.explicit_hash_key, SqlRole::Expression),
            ),
            Field::new(
                "producer",
                "PutRecord: one call per record, each counting against the shard's 1,000 records a second. PutRecords: up to 500 records a call, each failing on its own. KPL: records for the same shard packed into one Kinesis record of up to 50 KiB, collected into PutRecords calls, retried until their RecordTtl.",
                FieldValue::Choice(&mut self.producer),
            ),
            Field::new(
                "max attempts",
                "Attempts per record with the SDK, the first included: 1 never retries; the AWS SDK's standard mode makes 3 (the KPL retries until its RecordTtl instead)",
                FieldValue::Count(&mut self.retries.max_attempts),
            ),
            Field::new(
                "backoff",
                "The wait before the second attempt; each further attempt waits twice as long",
                FieldValue::Duration(&mut self.retries.backoff),
            ),
            Field::new(
                "lost responses",
                "The share of successful writes whose answer never reaches the producer: it writes them again, and the stream keeps both copies (duplicates)",
                FieldValue::Number(&mut self.retries.lost_responses, 0.0, 1.0),
            ),
            Field::new(
                "resharding",
                "Split a shard at a hash key, merge two adjacent shards, or set the shard count, at given times",
                FieldValue::List(&mut self.resharding),
            ),
            Field::new(
                "retention",
                "How long records stay readable: 24h to 8760h (365 days)",
                FieldValue::Duration(&mut self.retention),
            ),
            Field::new(
                "consumers",
                "Applications reading the stream, each with its own port: polling (GetRecords, sharing each shard's 5 calls and 2 MiB a second) or enhanced fan-out (2 MiB a second each)",
                FieldValue::List(&mut self.consumers),
            ),
        ]
    }
}

impl Choice for Capacity {
    fn options(&self) -> Vec<&'static str> {
        vec!["Provisioned", "OnDemand"]
    }

    fn selected(&self) -> usize {
        match self {
            Capacity::Provisioned { .. } => 0,
            Capacity::OnDemand => 1,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match index {
            0 => Capacity::Provisioned { shards: 2 },
            _ => Capacity::OnDemand,
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            Capacity::Provisioned { shards } => vec![Field::new(
                "shards",
                "How many shards (1 to 20,000)",
                FieldValue::Count(shards),
            )],
            Capacity::OnDemand => Vec::new(),
        }
    }
}

impl Choice for Producer {
    fn options(&self) -> Vec<&'static str> {
        vec!["PutRecord", "PutRecords", "Kpl"]
    }

    fn selected(&self) -> usize {
        match self {
            Producer::PutRecord => 0,
            Producer::PutRecords { .. } => 1,
            Producer::Kpl { .. } => 2,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match index {
            0 => Producer::PutRecord,
            1 => Producer::PutRecords {
                max_records: PUT_RECORDS_MAX,
                max_bytes: PUT_RECORDS_BYTES,
            },
            _ => Producer::Kpl {
                aggregation_max_size: KPL_AGGREGATION_MAX_SIZE,
                record_max_buffered_time: default_record_max_buffered_time(),
                record_ttl: default_record_ttl(),
                rate_limit: KPL_RATE_LIMIT,
                fail_if_throttled: false,
            },
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            Producer::PutRecord => Vec::new(),
            Producer::PutRecords {
                max_records,
                max_bytes,
            } => vec![
                Field::new(
                    "max records",
                    "Records per PutRecords request (at most 500)",
                    FieldValue::Count(max_records),
                ),
                Field::new(
                    "max bytes",
                    "Bytes per request, partition keys included (at most 5 MiB = 5242880)",
                    FieldValue::Count(max_bytes),
                ),
            ],
            Producer::Kpl {
                aggregation_max_size,
                record_max_buffered_time,
                record_ttl,
                rate_limit,
                fail_if_throttled,
            } => vec![
                Field::new(
                    "aggregation max size",
                    "AggregationMaxSize: the largest aggregated record, in bytes (default 51,200)",
                    FieldValue::Count(aggregation_max_size),
                ),
                Field::new(
                    "record max buffered time",
                    "RecordMaxBufferedTime: how long a record may wait to be packed (default 100ms)",
                    FieldValue::Duration(record_max_buffered_time),
                ),
                Field::new(
                    "record ttl",
                    "RecordTtl: a record not written this long after it was put fails as expired (default 30s); until then throttled records are retried",
                    FieldValue::Duration(record_ttl),
                ),
                Field::new(
                    "rate limit",
                    "RateLimit: the KPL sends a shard at most this percentage of its limits (default 150); the rest waits in the KPL",
                    FieldValue::Count(rate_limit),
                ),
                Field::new(
                    "fail if throttled",
                    "FailIfThrottled: give up on a throttled record at once instead of retrying it",
                    FieldValue::Bool(fail_if_throttled),
                ),
            ],
        }
    }
}

/// The metadata key under which the records' schema says which shards came from which: read by
/// consumers that must finish a parent before its children (the KCL).
pub const PARENTS_METADATA: &str = "eddy.kinesis.parents";

/// `schema` with the shards' parents after the resharding schedule, when it has one:
/// `child=parent,parent;…` by shard id. (An on-demand stream plans its shards as it runs.)
fn with_parents(schema: SchemaRef, capacity: &Capacity, resharding: &[Reshard]) -> SchemaRef {
    if resharding.is_empty() || *capacity == Capacity::OnDemand {
        return schema;
    }
    let mut map = ShardMap::new(capacity.initial_shards().clamp(1, MAX_SHARDS));
    for change in resharding {
        let _ = map.apply(change, MAX_SHARDS);
    }
    let parents: Vec<String> = map
        .shards()
        .iter()
        .filter(|s| !s.parents.is_empty())
        .map(|s| {
            let names: Vec<String> = s
                .parents
                .iter()
                .map(|&p| hash_ranges::shard_id(p))
                .collect();
            format!("{}={}", hash_ranges::shard_id(s.number), names.join(","))
        })
        .collect();
    let mut metadata = schema.metadata().clone();
    metadata.insert(PARENTS_METADATA.to_string(), parents.join(";"));
    Arc::new(schema.as_ref().clone().with_metadata(metadata))
}

/// The parents of each shard a stream's records say it has (see [`PARENTS_METADATA`]).
pub fn parents_of(schema: &Schema) -> Vec<(String, Vec<String>)> {
    schema
        .metadata()
        .get(PARENTS_METADATA)
        .map(|text| {
            text.split(';')
                .filter_map(|entry| entry.split_once('='))
                .map(|(child, parents)| {
                    (
                        child.to_string(),
                        parents.split(',').map(str::to_string).collect(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Plans `text` and requires it to give text (or a whole number, read as its decimal digits).
pub(crate) fn plan_text(
    report: &mut Report,
    field: &str,
    text: &str,
    schema: &Schema,
    hint: &str,
) -> Option<PlannedExpr> {
    match plan_expr(text, schema) {
        Ok(planned) => match planned.data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Some(planned),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64 => Some(planned),
            ref other => {
                report.error(
                    field,
                    format!(
                        "`{text}` gives {}; {hint}",
                        crate::expr::sql_type_name(other)
                    ),
                );
                None
            }
        },
        Err(e) => {
            report.expr(field, None, text, e);
            None
        }
    }
}

/// The columns of `out` (the row and what the stream adds), `throttled` (the row, its key and
/// shard, and the error) and `errors` (the row and why it was refused).
fn output_schemas(input: &SchemaRef, producer: &Producer) -> [SchemaRef; 3] {
    let kpl = matches!(producer, Producer::Kpl { .. });
    // A PutRecords entry says which request it was in and where.
    let entries = || {
        if matches!(producer, Producer::PutRecords { .. }) {
            vec![
                ArrowField::new(REQUEST, DataType::Int64, false),
                ArrowField::new(ENTRY_IN_REQUEST, DataType::Int64, false),
            ]
        } else {
            Vec::new()
        }
    };
    let with = |extra: Vec<ArrowField>| -> SchemaRef {
        let mut fields: Vec<ArrowField> =
            input.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(extra);
        Arc::new(Schema::new(fields))
    };
    let text = |name: &str| ArrowField::new(name, DataType::Utf8, false);
    [
        with(
            [
                vec![text(SHARD_ID), text(SEQUENCE_NUMBER)],
                if kpl {
                    vec![ArrowField::new(SUB_SEQUENCE_NUMBER, DataType::Int64, false)]
                } else {
                    Vec::new()
                },
                vec![
                    text(PARTITION_KEY),
                    ArrowField::new(ARRIVAL, timestamp_type(), false),
                ],
                entries(),
            ]
            .concat(),
        ),
        with(
            [
                vec![
                    text(PARTITION_KEY),
                    text(SHARD_ID),
                    ArrowField::new(ARRIVAL, timestamp_type(), false),
                    text("error_code"),
                    text("error_message"),
                ],
                entries(),
            ]
            .concat(),
        ),
        with(vec![text("reason")]),
    ]
}
