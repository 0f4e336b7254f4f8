//! Firehose delivery stream to S3 (streaming-facts §4): records fed directly (Direct PUT) or from a
//! Kinesis stream are buffered until the size or the interval hint is reached, in simulated
//! arrival time, optionally passed through a data transformation (SQL standing in for the Lambda:
//! a Map plus `Ok` / `Dropped` / `ProcessingFailed` by condition, with its own buffer), and written
//! as objects named as Firehose names them into a bucket: a local folder, or a real S3 bucket.

pub mod prefix;

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::kinesis::connection::{check_endpoint, check_region};
use super::kinesis::{ARRIVAL, plan_text};
use super::map::{MapTransform, PlannedMap};
use super::{KindId, NodeKind, PlannedKind, StreamKind};
use crate::expr::{PlannedExpr, plan_predicate};
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue, ListField, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report, short,
};
use crate::model::node::{ERRORS, Family, IN, is_valid_id};
use crate::model::time::{RowTime, TimeAttr};
use prefix::Prefix;

/// The port of the objects delivered: one row per object.
pub const OBJECTS: &str = "objects";

/// Buffering hints (§4.1): 1 to 128 MiB, 0 to 900 s.
pub const MAX_SIZE_MIB: u32 = 128;
pub const MAX_INTERVAL_SECS: i64 = 900;
/// With record format conversion the size hint is at least 64 MiB (default 128).
pub const MIN_CONVERSION_SIZE_MIB: u32 = 64;
/// The transformation's own buffer: 0.2 to 3 MB (default 1 MB), 0 to 900 s (default 60 s).
pub const TRANSFORM_KIB: std::ops::RangeInclusive<u32> = 200..=3_072;
/// The largest record Firehose takes: 1,000 KiB (§4.6).
pub const MAX_RECORD_BYTES: usize = 1_000 * 1024;
/// Active partitions with dynamic partitioning: 500 by default, 5,000 at most (§4.1).
pub const DEFAULT_ACTIVE_PARTITIONS: u32 = 500;
pub const MAX_ACTIVE_PARTITIONS: u32 = 5_000;

/// A Firehose delivery stream writing to S3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirehoseDelivery {
    #[serde(default)]
    pub buffering: Buffering,
    /// A data transformation in front of the delivery, as a Lambda would do it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transformation: Option<Transformation>,
    pub destination: Destination,
    #[serde(default)]
    pub format: RecordFormat,
    #[serde(default)]
    pub compression: Compression,
    /// The key prefix; with no `!{timestamp:...}` in it Firehose adds `YYYY/MM/dd/HH/`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// Where failed records go; required when `prefix` has expressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_prefix: Option<String>,
    /// Dynamic partitioning: keys from SQL, used in the prefix as `!{partitionKeyFromQuery:name}`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_keys: Vec<PartitionKey>,
    #[serde(default = "default_active_partitions")]
    pub max_active_partitions: u32,
}

/// When a buffer is delivered: whichever comes first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Buffering {
    #[serde(default = "default_size_mib")]
    pub size_mib: u32,
    #[serde(default = "default_interval")]
    pub interval: Duration,
}

fn default_size_mib() -> u32 {
    5
}

fn default_interval() -> Duration {
    Duration::from_secs(300)
}

fn default_active_partitions() -> u32 {
    DEFAULT_ACTIVE_PARTITIONS
}

impl Default for Buffering {
    fn default() -> Self {
        Self {
            size_mib: default_size_mib(),
            interval: default_interval(),
        }
    }
}

/// The data transformation: the Lambda's output record as a Map, and its result per record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transformation {
    /// Columns computed from each record (`expression AS name`).
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default = "yes")]
    pub keep_input_columns: bool,
    /// Records for which this holds come back `Dropped`: delivered nowhere, counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_when: Option<String>,
    /// Records for which this holds come back `ProcessingFailed`: written under the error prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_when: Option<String>,
    /// The buffer in front of the function: 200 to 3,072 KiB (default 1 MiB)...
    #[serde(default = "default_transform_kib")]
    pub buffer_kib: u32,
    /// ...and 0 to 900 s (default 60 s).
    #[serde(default = "default_transform_interval")]
    pub buffer_interval: Duration,
}

fn yes() -> bool {
    true
}

fn default_transform_kib() -> u32 {
    1_024
}

fn default_transform_interval() -> Duration {
    Duration::from_secs(60)
}

/// Where the objects go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    /// A folder (inside the pipeline's folder) plays the bucket: each key is a path under it.
    Folder {
        path: String,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        allow_outside: bool,
    },
    /// A real S3 bucket, or an S3-compatible server at `endpoint` (s3rver, moto); credentials
    /// come from the standard AWS chain.
    S3 {
        bucket: String,
        region: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        endpoint: Option<String>,
    },
}

/// How records are written into an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RecordFormat {
    /// One JSON object per line (what Firehose delivers from JSON records).
    #[default]
    JsonLines,
    /// CSV lines with a header line per object.
    Csv,
    /// Record format conversion to Apache Parquet (Snappy inside), as with a Glue schema.
    Parquet,
}

crate::plain_choice!(RecordFormat {
    JsonLines,
    Csv,
    Parquet
});

/// `CompressionFormat`: `Gzip` objects end in `.gz`, `Snappy` ones (Snappy's framing format, as
/// Firehose writes it) in `.snappy`. Parquet compresses inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Compression {
    #[default]
    Uncompressed,
    Gzip,
    Snappy,
}

crate::plain_choice!(Compression {
    Uncompressed,
    Gzip,
    Snappy
});

/// A dynamic partitioning key: its name in the prefix and the SQL giving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionKey {
    pub name: String,
    pub sql: String,
}

/// The runnable form.
#[derive(Debug, Clone)]
pub struct PlannedFirehose {
    /// The delivery stream's name in object names: the node's id.
    pub name: String,
    pub size_bytes: u64,
    pub interval_ms: i64,
    pub transformation: Option<PlannedTransformation>,
    pub destination: PlannedDestination,
    pub format: RecordFormat,
    pub compression: Compression,
    pub prefix: Prefix,
    pub error_prefix: Prefix,
    pub partition_keys: Vec<(String, PlannedExpr)>,
    pub max_active_partitions: u32,
    /// How a record's arrival time is found: its `approximate_arrival_timestamp` (from a Kinesis
    /// stream), else the newest event time seen (Direct PUT).
    pub arrival_column: Option<usize>,
    pub time: RowTime,
    /// The records as delivered (after the transformation).
    pub delivered: SchemaRef,
}

#[derive(Debug, Clone)]
pub struct PlannedTransformation {
    pub map: PlannedMap,
    pub dropped_when: Option<PlannedExpr>,
    pub failed_when: Option<PlannedExpr>,
    pub size_bytes: u64,
    pub interval_ms: i64,
}

#[derive(Debug, Clone)]
pub enum PlannedDestination {
    Folder(PathBuf),
    S3 {
        bucket: String,
        region: String,
        endpoint: Option<String>,
    },
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Firehose to S3",
    family: Family::Stream,
    id_stem: "firehose",
    explanation: "An Amazon Data Firehose delivery stream to S3, simulated: records are buffered until the size hint (1-128 MiB) or the interval (0-900 s) is reached, optionally transformed (SQL as the Lambda, each record Ok, Dropped or ProcessingFailed), and written as objects named as Firehose names them (`prefix/YYYY/MM/dd/HH/stream-1-YYYY-MM-dd-HH-mm-ss-…`) into a folder playing the bucket, or a real S3 bucket; as JSON lines, CSV or Parquet, optionally GZIP or Snappy. Each object delivered leaves by `objects`.",
    keywords: "firehose kinesis data firehose delivery s3 bucket buffer buffering lambda transformation parquet gzip snappy compression prefix partition dynamic partitioning object",
    default: || {
        NodeKind::Stream(StreamKind::Firehose(FirehoseDelivery {
            buffering: Buffering::default(),
            transformation: None,
            destination: Destination::Folder {
                path: "bucket".into(),
                allow_outside: false,
            },
            format: RecordFormat::JsonLines,
            compression: Compression::Uncompressed,
            prefix: String::new(),
            error_prefix: None,
            partition_keys: Vec::new(),
            max_active_partitions: DEFAULT_ACTIVE_PARTITIONS,
        }))
    },
};

impl KindModel for FirehoseDelivery {
    fn kind_id(&self) -> KindId {
        KindId::Firehose
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::optional(OBJECTS), OutputPort::optional(ERRORS)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        let b = &self.buffering;
        if !(1..=MAX_SIZE_MIB).contains(&b.size_mib) {
            report.error(
                "buffering",
                format!(
                    "the size hint is 1 to {MAX_SIZE_MIB} MiB, not {}",
                    b.size_mib
                ),
            );
        }
        if !(0..=MAX_INTERVAL_SECS * 1000).contains(&b.interval.as_millis()) {
            report.error(
                "buffering",
                format!(
                    "the interval hint is 0s to {MAX_INTERVAL_SECS}s, not {}",
                    b.interval
                ),
            );
        }
        if self.format == RecordFormat::Parquet {
            if b.size_mib < MIN_CONVERSION_SIZE_MIB {
                report.error(
                    "buffering",
                    format!(
                        "with record format conversion the size hint is {MIN_CONVERSION_SIZE_MIB} to {MAX_SIZE_MIB} MiB (Firehose's default then is 128), not {}",
                        b.size_mib
                    ),
                );
            }
            if self.compression != Compression::Uncompressed {
                report.error(
                    "compression",
                    "with record format conversion the compression is Uncompressed: Parquet compresses inside (Snappy)",
                );
            }
        }
        if let Some(t) = &self.transformation {
            if !TRANSFORM_KIB.contains(&t.buffer_kib) {
                report.error(
                    "transformation",
                    format!(
                        "the transformation's buffer is 200 to 3072 KiB (0.2 to 3 MB), not {}",
                        t.buffer_kib
                    ),
                );
            }
            if !(0..=MAX_INTERVAL_SECS * 1000).contains(&t.buffer_interval.as_millis()) {
                report.error(
                    "transformation",
                    format!(
                        "the transformation's interval is 0s to 900s, not {}",
                        t.buffer_interval
                    ),
                );
            }
        }
        if let Destination::S3 {
            bucket,
            region,
            endpoint,
        } = &self.destination
        {
            check_bucket(bucket, report);
            check_region(region, report);
            if let Some(endpoint) = endpoint {
                check_endpoint(endpoint, report);
            }
        }
        if !(1..=MAX_ACTIVE_PARTITIONS).contains(&self.max_active_partitions) {
            report.error(
                "max_active_partitions",
                format!(
                    "active partitions are 1 to {MAX_ACTIVE_PARTITIONS}, not {}",
                    self.max_active_partitions
                ),
            );
        }
        self.check_prefixes(report);
    }

    fn plan(
        &self,
        inputs: &[PortInput],
        ctx: &CheckContext,
        report: &mut Report,
    ) -> Option<Planned> {
        let input = inputs.first()?;
        let (prefix, error_prefix) = self.prefixes(report)?;
        let mut delivered = Arc::clone(&input.schema);
        let transformation = match &self.transformation {
            Some(t) => {
                let map = MapTransform {
                    columns: t.columns.clone(),
                    keep_input_columns: t.keep_input_columns,
                };
                let planned = map.plan(inputs, ctx, report)?;
                let PlannedKind::Map(planned_map) = planned.kind else {
                    return None;
                };
                let outputs = planned.outputs.first()?;
                delivered = Arc::clone(&outputs.schema);
                let dropped_when = plan_condition(report, "dropped_when", &t.dropped_when, input);
                let failed_when = plan_condition(report, "failed_when", &t.failed_when, input);
                if dropped_when.is_err() || failed_when.is_err() {
                    return None;
                }
                Some(PlannedTransformation {
                    map: planned_map,
                    dropped_when: dropped_when.ok().flatten(),
                    failed_when: failed_when.ok().flatten(),
                    size_bytes: u64::from(t.buffer_kib) * 1024,
                    interval_ms: t.buffer_interval.as_millis(),
                })
            }
            None => None,
        };
        let mut partition_keys = Vec::new();
        for key in &self.partition_keys {
            partition_keys.push((
                key.name.clone(),
                plan_text(
                    report,
                    "partition_keys",
                    &key.sql,
                    &delivered,
                    "a partition key is text: write e.g. `CAST(pickup_location_id AS VARCHAR)`",
                )?,
            ));
        }
        let destination = match &self.destination {
            Destination::Folder { path, .. } => PlannedDestination::Folder(ctx.base_dir.join(path)),
            Destination::S3 {
                bucket,
                region,
                endpoint,
            } => PlannedDestination::S3 {
                bucket: bucket.clone(),
                region: region.clone(),
                endpoint: endpoint.clone(),
            },
        };
        let time = input
            .time
            .row_time(&input.schema)
            .unwrap_or(RowTime::Processing);
        let planned =
            PlannedFirehose {
                name: report.node().to_string(),
                size_bytes: u64::from(self.buffering.size_mib) * 1024 * 1024,
                interval_ms: self.buffering.interval.as_millis(),
                transformation,
                destination,
                format: self.format,
                compression: self.compression,
                prefix,
                error_prefix,
                partition_keys,
                max_active_partitions: self.max_active_partitions,
                arrival_column: input.schema.index_of(ARRIVAL).ok().filter(|&i| {
                    matches!(input.schema.field(i).data_type(), DataType::Timestamp(..))
                }),
                time,
                delivered,
            };
        let errors_time = TimeAttr::None {
            why: format!(
                "records `{}` refused have no time of their own",
                report.node()
            ),
        };
        let objects_time = TimeAttr::None {
            why: "an object's rows are about the object, not an event".into(),
        };
        Some(Planned::new(
            PlannedKind::Firehose(Box::new(planned)),
            1,
            vec![
                PortOutput::new(objects_schema(), objects_time),
                PortOutput::new(errors_schema(&input.schema), errors_time),
            ],
        ))
    }

    fn summary(&self) -> String {
        let b = &self.buffering;
        let to = match &self.destination {
            Destination::Folder { path, .. } => format!("folder {}", short(path, 24)),
            Destination::S3 { bucket, .. } => format!("s3://{}", short(bucket, 24)),
        };
        let format = match (self.format, self.compression) {
            (RecordFormat::JsonLines, Compression::Uncompressed) => "JSON",
            (RecordFormat::JsonLines, Compression::Gzip) => "JSON.gz",
            (RecordFormat::Csv, Compression::Uncompressed) => "CSV",
            (RecordFormat::Csv, Compression::Gzip) => "CSV.gz",
            (RecordFormat::JsonLines, Compression::Snappy) => "JSON.snappy",
            (RecordFormat::Csv, Compression::Snappy) => "CSV.snappy",
            (RecordFormat::Parquet, _) => "Parquet",
        };
        let lambda = if self.transformation.is_some() {
            ", transformed"
        } else {
            ""
        };
        format!(
            "{} MiB / {}{lambda}, {format} to {to}",
            b.size_mib, b.interval
        )
    }

    fn files(&self) -> Vec<FileUse> {
        match &self.destination {
            Destination::Folder {
                path,
                allow_outside,
            } => vec![FileUse::WritesInto {
                folder: path.clone(),
                allow_outside: *allow_outside,
            }],
            Destination::S3 { .. } => Vec::new(),
        }
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "size hint (MiB)",
                "Deliver once the buffer holds this much (1 to 128 MiB; 64 or more with Parquet)",
                FieldValue::Count(&mut self.buffering.size_mib),
            ),
            Field::new(
                "interval hint",
                "...or once its oldest record has waited this long (0s to 900s), whichever comes first",
                FieldValue::Duration(&mut self.buffering.interval),
            ),
            Field::new(
                "transformation",
                "A Lambda-like transformation in front: SQL columns, and conditions for Dropped and ProcessingFailed",
                FieldValue::Choice(&mut self.transformation),
            ),
            Field::new(
                "destination",
                "A folder that plays the bucket, or a real S3 bucket",
                FieldValue::Choice(&mut self.destination),
            ),
            Field::new(
                "format",
                "JSON lines, CSV, or Parquet (record format conversion)",
                FieldValue::Choice(&mut self.format),
            ),
            Field::new(
                "compression",
                "GZIP objects end in .gz, Snappy ones (framing format) in .snappy",
                FieldValue::Choice(&mut self.compression),
            ),
            Field::new(
                "prefix",
                "The key prefix; !{timestamp:yyyy}, !{firehose:random-string}, !{partitionKeyFromQuery:name}. Without a timestamp Firehose adds YYYY/MM/dd/HH/",
                FieldValue::Text(&mut self.prefix),
            ),
            Field::new(
                "error prefix",
                "Where failed records go; needs !{firehose:error-output-type} when the prefix has expressions",
                FieldValue::OptionalText(&mut self.error_prefix),
            ),
            Field::new(
                "partition keys",
                "Dynamic partitioning: a name and SQL per key; each distinct prefix buffers on its own",
                FieldValue::List(&mut self.partition_keys),
            ),
            Field::new(
                "max active partitions",
                "Partitions buffering at once (500 by default): records for more go to the error prefix",
                FieldValue::Count(&mut self.max_active_partitions),
            ),
        ]
    }
}

impl FirehoseDelivery {
    /// The prefix and the error prefix as Firehose resolves them (§4.2): a prefix without a
    /// timestamp gets `YYYY/MM/dd/HH/` added; an error prefix without expressions (or none) is
    /// followed by the error output type and the UTC path.
    fn prefixes(&self, report: &mut Report) -> Option<(Prefix, Prefix)> {
        let mut prefix = match Prefix::parse(&self.prefix) {
            Ok(p) => p,
            Err(why) => {
                report.error("prefix", why);
                return None;
            }
        };
        let utc_path = || {
            Prefix::parse("!{timestamp:yyyy/MM/dd/HH/}")
                .unwrap_or_default()
                .parts
        };
        if !prefix.has_timestamp() {
            prefix.parts.extend(utc_path());
        }
        let written = self
            .error_prefix
            .clone()
            .unwrap_or_else(|| self.prefix.clone());
        let mut error_prefix = match Prefix::parse(&written) {
            Ok(p) => p,
            Err(why) => {
                report.error("error_prefix", why);
                return None;
            }
        };
        if !error_prefix.has_expressions() {
            error_prefix.parts.push(prefix::Part::ErrorOutputType);
            error_prefix.parts.push(prefix::Part::Text("/".into()));
            error_prefix.parts.extend(utc_path());
        }
        Some((prefix, error_prefix))
    }

    fn check_prefixes(&self, report: &mut Report) {
        let prefix = match Prefix::parse(&self.prefix) {
            Ok(p) => p,
            Err(why) => {
                report.error("prefix", why);
                return;
            }
        };
        if prefix.has_error_output_type() {
            report.error(
                "prefix",
                "!{firehose:error-output-type} belongs in the error prefix only",
            );
        }
        let error_prefix = match self.error_prefix.as_deref().map(Prefix::parse) {
            Some(Ok(p)) => Some(p),
            Some(Err(why)) => {
                report.error("error_prefix", why);
                return;
            }
            None => None,
        };
        if prefix.has_expressions() {
            match &error_prefix {
                None => {
                    report.error(
                        "error_prefix",
                        "a prefix with expressions needs an error prefix (Firehose's rule), e.g. errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/",
                    );
                }
                Some(e) if !e.has_error_output_type() => {
                    report.error(
                        "error_prefix",
                        "the error prefix of a prefix with expressions holds !{firehose:error-output-type}",
                    );
                }
                Some(_) => {}
            }
        }
        if error_prefix
            .as_ref()
            .is_some_and(|e| !e.partition_keys().is_empty())
        {
            report.error(
                "error_prefix",
                "the error prefix cannot use partition keys: failed records may have none",
            );
        }
        // Without partition keys a prefix always has the same length: too long is refused now.
        if prefix.partition_keys().is_empty()
            && let Err(why) = prefix.evaluate(&prefix::Values {
                oldest_arrival_ms: 0,
                random_string: "xxxxxxxxxxx",
                error_output_type: None,
                partition_keys: &[],
            })
        {
            report.error("prefix", why);
        }
        let named: Vec<&str> = self
            .partition_keys
            .iter()
            .map(|k| k.name.as_str())
            .collect();
        for used in prefix.partition_keys() {
            if !named.contains(&used) {
                report.error(
                    "prefix",
                    format!("!{{partitionKeyFromQuery:{used}}} names no partition key; add one named `{used}`"),
                );
            }
        }
        for (i, key) in self.partition_keys.iter().enumerate() {
            if !is_valid_id(&key.name) {
                report
                    .error(
                        "partition_keys",
                        format!(
                            "a partition key's name is letters, digits and `_`, not `{}`",
                            key.name
                        ),
                    )
                    .item = Some(i);
            } else if !prefix.partition_keys().contains(&key.name.as_str()) {
                report
                    .error(
                        "partition_keys",
                        format!(
                            "the partition key `{}` is not in the prefix: add !{{partitionKeyFromQuery:{}}}",
                            key.name, key.name
                        ),
                    )
                    .item = Some(i);
            }
        }
    }
}

/// Plans the condition `text` (if any) over the incoming records; `Err` when it does not plan
/// (the reason is in `report`).
fn plan_condition(
    report: &mut Report,
    field: &str,
    text: &Option<String>,
    input: &PortInput,
) -> Result<Option<PlannedExpr>, ()> {
    let Some(text) = text else {
        return Ok(None);
    };
    match plan_predicate(text, &input.schema) {
        Ok(planned) => Ok(Some(planned)),
        Err(e) => {
            report.expr(field, None, text, e);
            Err(())
        }
    }
}

/// A bucket name: 3 to 63 lower-case letters, digits, `.` and `-`.
fn check_bucket(bucket: &str, report: &mut Report) {
    let fits = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric());
    if !fits {
        report.error(
            "destination",
            format!("`{bucket}` is not an S3 bucket name (3 to 63 lower-case letters, digits, `.` and `-`)"),
        );
    }
}

/// One row per object delivered.
pub fn objects_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ArrowField::new("key", DataType::Utf8, false),
        ArrowField::new("kind", DataType::Utf8, false),
        ArrowField::new("records", DataType::Int64, false),
        ArrowField::new("bytes", DataType::Int64, false),
        ArrowField::new("oldest_arrival", timestamp_type(), false),
        ArrowField::new("delivered_at", timestamp_type(), false),
        ArrowField::new("latency_ms", DataType::Int64, false),
    ]))
}

/// A refused record: the row and why.
fn errors_schema(input: &Schema) -> SchemaRef {
    let mut fields: Vec<ArrowField> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields.push(ArrowField::new("reason", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

impl Choice for Option<Transformation> {
    fn options(&self) -> Vec<&'static str> {
        vec!["None", "Transformation"]
    }

    fn selected(&self) -> usize {
        usize::from(self.is_some())
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = (index == 1).then(|| Transformation {
            columns: Vec::new(),
            keep_input_columns: true,
            dropped_when: None,
            failed_when: None,
            buffer_kib: default_transform_kib(),
            buffer_interval: default_transform_interval(),
        });
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        let Some(t) = self else {
            return Vec::new();
        };
        vec![
            Field::new(
                "columns",
                "The function's output record: `expression AS name` items",
                FieldValue::SqlList(&mut t.columns, SqlRole::Projection),
            ),
            Field::new(
                "keep input columns",
                "Also pass on every input column",
                FieldValue::Bool(&mut t.keep_input_columns),
            ),
            Field::new(
                "dropped when",
                "Records for which this holds come back Dropped",
                FieldValue::OptionalSql(&mut t.dropped_when, SqlRole::Predicate),
            ),
            Field::new(
                "failed when",
                "Records for which this holds come back ProcessingFailed and go under the error prefix",
                FieldValue::OptionalSql(&mut t.failed_when, SqlRole::Predicate),
            ),
            Field::new(
                "buffer (KiB)",
                "The function's own buffer: 200 to 3072 KiB (default 1024)",
                FieldValue::Count(&mut t.buffer_kib),
            ),
            Field::new(
                "buffer interval",
                "...or this long (0s to 900s, default 60s)",
                FieldValue::Duration(&mut t.buffer_interval),
            ),
        ]
    }
}

impl Choice for Destination {
    fn options(&self) -> Vec<&'static str> {
        vec!["Folder", "S3"]
    }

    fn selected(&self) -> usize {
        usize::from(matches!(self, Destination::S3 { .. }))
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = if index == 0 {
            Destination::Folder {
                path: "bucket".into(),
                allow_outside: false,
            }
        } else {
            Destination::S3 {
                bucket: "my-bucket".into(),
                region: "us-east-1".into(),
                endpoint: None,
            }
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            Destination::Folder {
                path,
                allow_outside,
            } => vec![
                Field::new(
                    "folder",
                    "Relative to the pipeline file; object keys are paths under it",
                    FieldValue::Path(path),
                ),
                Field::new(
                    "allow outside",
                    "Allow a folder outside the pipeline's folder",
                    FieldValue::Bool(allow_outside),
                ),
            ],
            Destination::S3 {
                bucket,
                region,
                endpoint,
            } => vec![
                Field::new("bucket", "The bucket's name", FieldValue::Text(bucket)),
                Field::new("region", "e.g. us-east-1", FieldValue::Text(region)),
                Field::new(
                    "endpoint",
                    "An S3-compatible server's address (s3rver, moto); empty: AWS",
                    FieldValue::OptionalText(endpoint),
                ),
            ],
        }
    }
}

impl ListField for Vec<PartitionKey> {
    fn item_name(&self) -> &'static str {
        "partition key"
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn item(&mut self, index: usize) -> Vec<Field<'_>> {
        match self.get_mut(index) {
            Some(key) => vec![
                Field::new(
                    "name",
                    "Its name in the prefix: !{partitionKeyFromQuery:name}",
                    FieldValue::Text(&mut key.name),
                ),
                Field::new(
                    "sql",
                    "SQL giving the key's text for each record",
                    FieldValue::Sql(&mut key.sql, SqlRole::Expression),
                ),
            ],
            None => Vec::new(),
        }
    }

    fn add(&mut self) {
        self.push(PartitionKey {
            name: format!("key_{}", Vec::len(self) + 1),
            sql: "'all'".into(),
        });
    }

    fn remove(&mut self, index: usize) {
        if index < Vec::len(self) {
            Vec::remove(self, index);
        }
    }
}
