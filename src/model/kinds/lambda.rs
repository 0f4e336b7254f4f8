//! Lambda consumer: a Lambda function behind an event source mapping on a Kinesis stream
//! (streaming-facts §3). Records come in from a stream node (its `out` or a consumer's port);
//! batches form per shard (up to the batch size, after the batching window), the function is SQL
//! (columns for its output, a condition for which records it outputs, and a condition that makes
//! it fail), and failures block the shard as in AWS: retried whole, bisected, or checkpointed at
//! the reported item failure, until they succeed, exhaust their retries or the record's age, and
//! then go to the on-failure destination as batch metadata.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::kinesis::consumers::{PlannedStart, StartingPosition};
use super::kinesis::{ARRIVAL, PARTITION_KEY, SEQUENCE_NUMBER, SHARD_ID};
use super::map::{MapTransform, PlannedMap};
use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::expr::{AggregateSpec, PlannedExpr, plan_aggregate, plan_predicate};
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue, SqlRole};
use crate::model::infer::parse_timestamp_millis;
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report, short,
};
use crate::model::node::{Family, IN, OUT};
use crate::model::time::TimeAttr;

pub const ON_FAILURE: &str = "on_failure";
pub const INVOCATIONS: &str = "invocations";
pub const WINDOWS: &str = "windows";

/// `BatchSize`: 1 to 10,000 (default 100); `MaximumBatchingWindowInSeconds`: 0 to 300.
pub const MAX_BATCH_SIZE: u32 = 10_000;
pub const MAX_BATCHING_WINDOW_SECS: i64 = 300;
/// `ParallelizationFactor`: 1 to 10.
pub const MAX_PARALLELIZATION: u32 = 10;
/// `MaximumRetryAttempts`: -1 (until the record expires) to 10,000.
pub const MAX_RETRY_ATTEMPTS: i64 = 10_000;
/// `MaximumRecordAgeInSeconds`: 60 to 604,800 when set.
pub const RECORD_AGE_SECS: std::ops::RangeInclusive<i64> = 60..=604_800;
/// `TumblingWindowInSeconds`: up to 900.
pub const MAX_TUMBLING_SECS: i64 = 900;
/// Without a maximum record age a record waits as long as the stream keeps it: 24 hours by
/// default.
pub const STREAM_RETENTION_MS: i64 = 24 * 3_600_000;

/// The function and its event source mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaConsumer {
    #[serde(default = "default_batch_size")]
    pub batch_size: u32,
    #[serde(default = "no_wait")]
    pub batching_window: Duration,
    #[serde(default = "one")]
    pub parallelization_factor: u32,
    #[serde(default)]
    pub start: StartingPosition,
    /// The function's output per record: `expression AS name` items over the record's columns
    /// (none: the record itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handler: Vec<String>,
    /// Which records the function outputs (none: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_when: Option<String>,
    /// The function throws on the first record of a batch for which this holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fails_when: Option<String>,
    /// `MaximumRetryAttempts`: until the record expires (-1 in AWS), or a number.
    #[serde(default)]
    pub maximum_retry_attempts: RetryAttempts,
    /// None: until the stream's retention (24 h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_record_age: Option<Duration>,
    #[serde(default)]
    pub bisect_batch_on_function_error: bool,
    #[serde(default)]
    pub report_batch_item_failures: bool,
    /// How long one invocation runs.
    #[serde(default = "default_duration")]
    pub duration: Duration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tumbling_window: Option<TumblingWindow>,
}

/// Tumbling windows by arrival time: the function keeps state per shard across invocations and
/// returns it at each window's end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TumblingWindow {
    pub size: Duration,
    pub aggregates: Vec<String>,
}

fn default_batch_size() -> u32 {
    100
}

fn no_wait() -> Duration {
    Duration::from_millis(0)
}

fn one() -> u32 {
    1
}

/// How often a failing batch is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum RetryAttempts {
    /// Until its records expire (AWS's -1, the default).
    #[default]
    UntilExpired,
    /// At most this many retries (0 to 10,000).
    Attempts(u32),
}

fn default_duration() -> Duration {
    Duration::from_millis(100)
}

/// The runnable form.
#[derive(Debug, Clone)]
pub struct PlannedLambda {
    pub batch_size: usize,
    pub batching_window_ms: i64,
    pub parallelization: usize,
    pub start: PlannedStart,
    pub handler: PlannedMap,
    /// The handler's output, before `attempt` and `invocation`.
    pub handler_schema: SchemaRef,
    pub output_when: Option<PlannedExpr>,
    pub fails_when: Option<PlannedExpr>,
    /// None: infinite.
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_record_age_ms: i64,
    pub bisect: bool,
    pub report_item_failures: bool,
    pub duration_ms: i64,
    pub tumbling: Option<(i64, Vec<AggregateSpec>)>,
    /// Where the stream's columns are in the input.
    pub shard_column: usize,
    pub sequence_column: usize,
    pub key_column: usize,
    pub arrival_column: usize,
    pub out: SchemaRef,
    pub windows: SchemaRef,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Lambda consumer",
    family: Family::Transform,
    id_stem: "lambda",
    explanation: "A Lambda function reading a Kinesis stream through an event source mapping, simulated: batches of up to `batch_size` records from one shard, the function as SQL, and a failure condition. A failing batch blocks its shard (the iterator age climbs) and is retried until it succeeds, exhausts its retries or its records' age, then goes to `on_failure` as batch metadata; bisecting and reporting item failures narrow it down. Retries run the records before the failing one again: their output comes twice (duplicates, counted by `attempt`).",
    keywords: "lambda aws function event source mapping esm consumer kinesis batch retry bisect poison iterator age at least once duplicates on failure destination tumbling window",
    default: || {
        NodeKind::Transform(TransformKind::Lambda(LambdaConsumer {
            batch_size: default_batch_size(),
            batching_window: no_wait(),
            parallelization_factor: 1,
            start: StartingPosition::TrimHorizon,
            handler: Vec::new(),
            output_when: None,
            fails_when: None,
            maximum_retry_attempts: RetryAttempts::UntilExpired,
            maximum_record_age: None,
            bisect_batch_on_function_error: false,
            report_batch_item_failures: false,
            duration: default_duration(),
            tumbling_window: None,
        }))
    },
};

impl KindModel for LambdaConsumer {
    fn kind_id(&self) -> KindId {
        KindId::Lambda
    }

    fn ports(&self) -> Ports {
        let mut outputs = vec![
            OutputPort::new(OUT),
            OutputPort::optional(ON_FAILURE),
            OutputPort::optional(INVOCATIONS),
        ];
        if self.tumbling_window.is_some() {
            outputs.push(OutputPort::optional(WINDOWS));
        }
        Ports {
            inputs: vec![IN.into()],
            outputs,
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if !(1..=MAX_BATCH_SIZE).contains(&self.batch_size) {
            report.error(
                "batch_size",
                format!(
                    "the batch size is 1 to {MAX_BATCH_SIZE}, not {}",
                    self.batch_size
                ),
            );
        }
        if !(0..=MAX_BATCHING_WINDOW_SECS * 1000).contains(&self.batching_window.as_millis()) {
            report.error(
                "batching_window",
                format!(
                    "the batching window is 0s to 300s, not {}",
                    self.batching_window
                ),
            );
        }
        if !(1..=MAX_PARALLELIZATION).contains(&self.parallelization_factor) {
            report.error(
                "parallelization_factor",
                format!(
                    "the parallelization factor is 1 to {MAX_PARALLELIZATION}, not {}",
                    self.parallelization_factor
                ),
            );
        }
        if let RetryAttempts::Attempts(n) = self.maximum_retry_attempts
            && i64::from(n) > MAX_RETRY_ATTEMPTS
        {
            report.error(
                "maximum_retry_attempts",
                format!("maximum_retry_attempts is at most {MAX_RETRY_ATTEMPTS}, not {n}"),
            );
        }
        if let Some(age) = self.maximum_record_age
            && !RECORD_AGE_SECS.contains(&(age.as_millis() / 1000))
        {
            report.error(
                "maximum_record_age",
                format!("maximum_record_age is 60s to 604800s (7 days), not {age}"),
            );
        }
        if self.duration.as_millis() < 0 {
            report.error("duration", "an invocation cannot take less than no time");
        }
        if let StartingPosition::AtTimestamp(text) = &self.start
            && parse_timestamp_millis(text).is_none()
        {
            report.error(
                "start",
                format!("`{text}` is not a time; write e.g. 2024-01-15T08:10:00Z"),
            );
        }
        if let Some(window) = &self.tumbling_window {
            let ms = window.size.as_millis();
            if !(1..=MAX_TUMBLING_SECS * 1000).contains(&ms) {
                report.error(
                    "tumbling_window",
                    format!("a tumbling window is 1ms to 900s, not {}", window.size),
                );
            }
            if window.aggregates.is_empty() {
                report.error(
                    "tumbling_window",
                    "a tumbling window needs an aggregate, e.g. count(*) AS records",
                );
            }
        }
    }

    fn plan(
        &self,
        inputs: &[PortInput],
        ctx: &CheckContext,
        report: &mut Report,
    ) -> Option<Planned> {
        let input = inputs.first()?;
        let mut column = |name: &str| -> Option<usize> {
            match input.schema.index_of(name) {
                Ok(i) => Some(i),
                Err(_) => {
                    report.node_error(format!(
                        "a Lambda consumer reads a Kinesis stream: its input has no `{name}`; connect it to a stream's `out` or to one of its consumers"
                    ));
                    None
                }
            }
        };
        let (shard_column, sequence_column, key_column, arrival_column) = (
            column(SHARD_ID),
            column(SEQUENCE_NUMBER),
            column(PARTITION_KEY),
            column(ARRIVAL),
        );
        let (shard_column, sequence_column, key_column, arrival_column) = (
            shard_column?,
            sequence_column?,
            key_column?,
            arrival_column?,
        );
        if !matches!(
            input.schema.field(arrival_column).data_type(),
            DataType::Timestamp(..)
        ) {
            report.node_error(format!("`{ARRIVAL}` is not a timestamp"));
            return None;
        }
        let map = MapTransform {
            columns: self.handler.clone(),
            keep_input_columns: self.handler.is_empty(),
        };
        let planned = map.plan(inputs, ctx, report)?;
        let PlannedKind::Map(handler) = planned.kind else {
            return None;
        };
        let handler_schema = Arc::clone(&planned.outputs.first()?.schema);
        let predicate = |field: &str,
                         text: &Option<String>,
                         report: &mut Report|
         -> Result<Option<PlannedExpr>, ()> {
            let Some(text) = text else {
                return Ok(None);
            };
            plan_predicate(text, &input.schema).map(Some).map_err(|e| {
                report.expr(field, None, text, e);
            })
        };
        let output_when = predicate("output_when", &self.output_when, report);
        let fails_when = predicate("fails_when", &self.fails_when, report);
        let (Ok(output_when), Ok(fails_when)) = (output_when, fails_when) else {
            return None;
        };
        let mut tumbling = None;
        let mut window_fields = vec![
            ArrowField::new(SHARD_ID, DataType::Utf8, false),
            ArrowField::new("window_start", timestamp_type(), false),
            ArrowField::new("window_end", timestamp_type(), false),
        ];
        if let Some(window) = &self.tumbling_window {
            let mut specs = Vec::new();
            for (i, text) in window.aggregates.iter().enumerate() {
                match plan_aggregate(text, &input.schema) {
                    Ok(spec) => {
                        window_fields.push(ArrowField::new(
                            &spec.name,
                            spec.output_type.clone(),
                            true,
                        ));
                        specs.push(spec);
                    }
                    Err(e) => report.expr("tumbling_window", Some(i), text, e),
                }
            }
            if specs.len() != window.aggregates.len() {
                return None;
            }
            tumbling = Some((window.size.as_millis(), specs));
        }
        let mut out_fields: Vec<ArrowField> = handler_schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for (name, data_type) in [
            ("attempt", DataType::Int64),
            ("invocation", DataType::Int64),
        ] {
            if out_fields.iter().any(|f| f.name() == name) {
                report.error(
                    "handler",
                    format!(
                        "`{name}` is a column the Lambda adds to its output; name yours otherwise"
                    ),
                );
                return None;
            }
            out_fields.push(ArrowField::new(name, data_type, false));
        }
        let out = Arc::new(Schema::new(out_fields));
        let windows = Arc::new(Schema::new(window_fields));
        let time = match &input.time {
            TimeAttr::Event { column, .. } if out.index_of(column).is_err() => TimeAttr::None {
                why: format!(
                    "the Lambda `{}`'s output drops the event-time column `{column}`",
                    report.node()
                ),
            },
            other => other.clone(),
        };
        let none = |why: &str| TimeAttr::None {
            why: why.to_string(),
        };
        let planned = PlannedLambda {
            batch_size: self.batch_size as usize,
            batching_window_ms: self.batching_window.as_millis(),
            parallelization: self.parallelization_factor.max(1) as usize,
            start: match &self.start {
                StartingPosition::TrimHorizon => PlannedStart::TrimHorizon,
                StartingPosition::Latest => PlannedStart::Latest,
                StartingPosition::AtTimestamp(text) => {
                    PlannedStart::AtTimestamp(parse_timestamp_millis(text)?)
                }
            },
            handler,
            handler_schema,
            output_when,
            fails_when,
            maximum_retry_attempts: match self.maximum_retry_attempts {
                RetryAttempts::UntilExpired => None,
                RetryAttempts::Attempts(n) => Some(n),
            },
            maximum_record_age_ms: self
                .maximum_record_age
                .map_or(STREAM_RETENTION_MS, |d| d.as_millis()),
            bisect: self.bisect_batch_on_function_error,
            report_item_failures: self.report_batch_item_failures,
            duration_ms: self.duration.as_millis().max(0),
            tumbling,
            shard_column,
            sequence_column,
            key_column,
            arrival_column,
            out: Arc::clone(&out),
            windows: Arc::clone(&windows),
        };
        let mut outputs = vec![
            PortOutput::new(out, time),
            PortOutput::new(
                on_failure_schema(),
                none("a failed batch's metadata has no event time"),
            ),
            PortOutput::new(invocations_schema(), none("an invocation is not an event")),
        ];
        if self.tumbling_window.is_some() {
            outputs.push(PortOutput::new(windows, none("windows by arrival time")));
        }
        Some(Planned::new(
            PlannedKind::Lambda(Box::new(planned)),
            1,
            outputs,
        ))
    }

    fn summary(&self) -> String {
        let mut parts = vec![format!("batches of {}", self.batch_size)];
        if let Some(fails) = &self.fails_when {
            parts.push(format!("fails when {}", short(fails, 24)));
        }
        if self.bisect_batch_on_function_error {
            parts.push("bisect".into());
        }
        if let RetryAttempts::Attempts(n) = self.maximum_retry_attempts {
            parts.push(format!("{n} retries"));
        }
        parts.join(", ")
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "batch size",
                "BatchSize: records per invocation, from one shard (1 to 10,000)",
                FieldValue::Count(&mut self.batch_size),
            ),
            Field::new(
                "batching window",
                "MaximumBatchingWindowInSeconds: wait this long for a fuller batch (0s to 300s)",
                FieldValue::Duration(&mut self.batching_window),
            ),
            Field::new(
                "parallelization factor",
                "Concurrent batches per shard (1 to 10); records of one partition key stay in order",
                FieldValue::Count(&mut self.parallelization_factor),
            ),
            Field::new(
                "start",
                "StartingPosition: TrimHorizon, Latest or AtTimestamp",
                FieldValue::Choice(&mut self.start),
            ),
            Field::new(
                "handler",
                "The function's output per record: `expression AS name` (none: the record as it is)",
                FieldValue::SqlList(&mut self.handler, SqlRole::Projection),
            ),
            Field::new(
                "output when",
                "Which records the function outputs (empty: all)",
                FieldValue::OptionalSql(&mut self.output_when, SqlRole::Predicate),
            ),
            Field::new(
                "fails when",
                "The function throws on the first record of a batch for which this holds (a poison record)",
                FieldValue::OptionalSql(&mut self.fails_when, SqlRole::Predicate),
            ),
            Field::new(
                "maximum retry attempts",
                "MaximumRetryAttempts: until the records expire (AWS's -1), or a number",
                FieldValue::Choice(&mut self.maximum_retry_attempts),
            ),
            Field::new(
                "maximum record age",
                "MaximumRecordAgeInSeconds: give up on older records (60s to 7 days); empty: the stream's 24 h",
                FieldValue::OptionalDuration(&mut self.maximum_record_age),
            ),
            Field::new(
                "bisect batch on function error",
                "Split a failing batch in two and retry each half (splitting is not a retry)",
                FieldValue::Bool(&mut self.bisect_batch_on_function_error),
            ),
            Field::new(
                "report batch item failures",
                "The function names the record that failed: what came before it is checkpointed",
                FieldValue::Bool(&mut self.report_batch_item_failures),
            ),
            Field::new(
                "duration",
                "How long one invocation runs",
                FieldValue::Duration(&mut self.duration),
            ),
            Field::new(
                "tumbling window",
                "Windows by arrival time: state per shard across invocations, returned at each window's end",
                FieldValue::Choice(&mut self.tumbling_window),
            ),
        ]
    }
}

/// What AWS sends the on-failure destination for a Kinesis batch (`KinesisBatchInfo` and the
/// request context's condition).
pub fn on_failure_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ArrowField::new("shard_id", DataType::Utf8, false),
        ArrowField::new("start_sequence_number", DataType::Utf8, false),
        ArrowField::new("end_sequence_number", DataType::Utf8, false),
        ArrowField::new(
            "approximate_arrival_of_first_record",
            timestamp_type(),
            false,
        ),
        ArrowField::new(
            "approximate_arrival_of_last_record",
            timestamp_type(),
            false,
        ),
        ArrowField::new("batch_size", DataType::Int64, false),
        ArrowField::new("condition", DataType::Utf8, false),
        ArrowField::new("attempts", DataType::Int64, false),
    ]))
}

/// One row per invocation.
pub fn invocations_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ArrowField::new("invocation", DataType::Int64, false),
        ArrowField::new("shard_id", DataType::Utf8, false),
        ArrowField::new("first_sequence_number", DataType::Utf8, false),
        ArrowField::new("last_sequence_number", DataType::Utf8, false),
        ArrowField::new("records", DataType::Int64, false),
        ArrowField::new("attempt", DataType::Int64, false),
        ArrowField::new("outcome", DataType::Utf8, false),
        ArrowField::new("started_at", timestamp_type(), false),
        ArrowField::new("iterator_age_ms", DataType::Int64, false),
    ]))
}

impl Choice for RetryAttempts {
    fn options(&self) -> Vec<&'static str> {
        vec!["UntilExpired", "Attempts"]
    }

    fn selected(&self) -> usize {
        usize::from(matches!(self, RetryAttempts::Attempts(_)))
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = if index == 0 {
            RetryAttempts::UntilExpired
        } else {
            RetryAttempts::Attempts(2)
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            RetryAttempts::Attempts(n) => vec![Field::new(
                "retries",
                "Retries after the first attempt (0 to 10,000)",
                FieldValue::Count(n),
            )],
            RetryAttempts::UntilExpired => Vec::new(),
        }
    }
}

impl Choice for Option<TumblingWindow> {
    fn options(&self) -> Vec<&'static str> {
        vec!["None", "Tumbling"]
    }

    fn selected(&self) -> usize {
        usize::from(self.is_some())
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = (index == 1).then(|| TumblingWindow {
            size: Duration::from_secs(60),
            aggregates: vec!["count(*) AS records".into()],
        });
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            Some(window) => vec![
                Field::new(
                    "size",
                    "TumblingWindowInSeconds: up to 900s",
                    FieldValue::Duration(&mut window.size),
                ),
                Field::new(
                    "aggregates",
                    "What the function keeps per window, e.g. count(*) AS records",
                    FieldValue::SqlList(&mut window.aggregates, SqlRole::Aggregate),
                ),
            ],
            None => Vec::new(),
        }
    }
}
