//! KCL consumer: an application built on the Kinesis Client Library (streaming-facts §2.2),
//! simulated: workers share the stream's shards through a lease table (one lease per shard), each
//! processes the records of the shards it leases and checkpoints every so many records or seconds;
//! a worker that dies stops renewing its leases, which expire after `failoverTimeMillis` and are
//! taken by the other workers, who start again after the last checkpoint — the records between
//! it and the death are processed twice (at-least-once). A child shard waits for its parents.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::kinesis::{ARRIVAL, SEQUENCE_NUMBER, SHARD_ID, parents_of};
use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Field, FieldValue, ListField};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report,
};
use crate::model::node::{Family, IN, OUT};
use crate::model::time::TimeAttr;

pub const LEASES: &str = "leases";
/// Workers of one application here.
pub const MAX_WORKERS: u32 = 64;

/// A KCL application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KclConsumer {
    #[serde(default = "two")]
    pub workers: u32,
    /// Checkpoint after this many records of a shard (0: not by count)...
    #[serde(default = "default_every_records")]
    pub checkpoint_every_records: u32,
    /// ...or this long after the last checkpoint, whichever comes first (0s: not by time).
    #[serde(default = "default_every")]
    pub checkpoint_every: Duration,
    /// `failoverTimeMillis`: a lease not renewed this long is taken by another worker.
    #[serde(default = "default_failover")]
    pub failover_time: Duration,
    /// How often a worker asks each of its shards for records.
    #[serde(default = "default_poll")]
    pub poll_every: Duration,
    /// Workers that die, and when (after the first record arrived).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub worker_failures: Vec<WorkerFailure>,
}

/// A worker's death.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerFailure {
    /// 1 to the number of workers.
    pub worker: u32,
    pub at: Duration,
}

fn two() -> u32 {
    2
}

fn default_every_records() -> u32 {
    1_000
}

fn default_every() -> Duration {
    Duration::from_secs(10)
}

/// The KCL's default `failoverTimeMillis`: 10,000.
fn default_failover() -> Duration {
    Duration::from_secs(10)
}

/// The KCL's default wait between reads of a shard (`idleTimeBetweenReadsInMillis`): 1 s.
fn default_poll() -> Duration {
    Duration::from_secs(1)
}

/// The runnable form.
#[derive(Debug, Clone)]
pub struct PlannedKcl {
    pub workers: u32,
    pub checkpoint_every_records: u64,
    pub checkpoint_every_ms: i64,
    pub failover_ms: i64,
    pub poll_ms: i64,
    /// (worker number from 0, time after the first record).
    pub failures: Vec<(u32, i64)>,
    pub shard_column: usize,
    pub sequence_column: usize,
    pub arrival_column: usize,
    /// Each shard's parents, when the stream was resharded.
    pub parents: Vec<(String, Vec<String>)>,
    pub out: SchemaRef,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "KCL consumer",
    family: Family::Transform,
    id_stem: "kcl_app",
    explanation: "An application on the Kinesis Client Library, simulated: workers share the stream's shards through a lease table, process their shards' records and checkpoint every N records or T seconds. Kill a worker (in the file, or with the button while it runs): its leases expire after failoverTimeMillis (10 s) and the others take them, starting again after the last checkpoint, so the records in between come out twice (`attempt` 2). A child shard waits until its parents are finished.",
    keywords: "kcl kinesis client library consumer worker lease leases checkpoint failover dynamodb at least once duplicates shard reshard",
    default: || {
        NodeKind::Transform(TransformKind::Kcl(KclConsumer {
            workers: 2,
            checkpoint_every_records: default_every_records(),
            checkpoint_every: default_every(),
            failover_time: default_failover(),
            poll_every: default_poll(),
            worker_failures: Vec::new(),
        }))
    },
};

impl KindModel for KclConsumer {
    fn kind_id(&self) -> KindId {
        KindId::Kcl
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::new(OUT), OutputPort::optional(LEASES)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if !(1..=MAX_WORKERS).contains(&self.workers) {
            report.error(
                "workers",
                format!(
                    "an application here has 1 to {MAX_WORKERS} workers, not {}",
                    self.workers
                ),
            );
        }
        if self.checkpoint_every_records == 0 && self.checkpoint_every.as_millis() <= 0 {
            report.error(
                "checkpoint_every",
                "the workers never checkpoint: set a number of records or a time",
            );
        }
        if self.failover_time.as_millis() <= 0 {
            report.error("failover_time", "failoverTimeMillis must be longer than 0");
        }
        if self.poll_every.as_millis() <= 0 {
            report.error("poll_every", "a worker must wait a moment between reads");
        }
        for (i, failure) in self.worker_failures.iter().enumerate() {
            if !(1..=self.workers).contains(&failure.worker) {
                report
                    .error(
                        "worker_failures",
                        format!(
                            "worker {} does not exist; the workers are 1 to {}",
                            failure.worker, self.workers
                        ),
                    )
                    .item = Some(i);
            }
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let mut column = |name: &str| match input.schema.index_of(name) {
            Ok(i) => Some(i),
            Err(_) => {
                report.node_error(format!(
                    "a KCL application reads a Kinesis stream: its input has no `{name}`; connect it to a stream's `out` or to one of its consumers"
                ));
                None
            }
        };
        let (shard, sequence, arrival) =
            (column(SHARD_ID), column(SEQUENCE_NUMBER), column(ARRIVAL));
        let (shard_column, sequence_column, arrival_column) = (shard?, sequence?, arrival?);
        let mut fields: Vec<ArrowField> = input
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        for (name, data_type) in [("worker", DataType::Utf8), ("attempt", DataType::Int64)] {
            if fields.iter().any(|f| f.name() == name) {
                report.node_error(format!(
                    "the input already has `{name}`, which the KCL application adds; rename it in a Map first"
                ));
                return None;
            }
            fields.push(ArrowField::new(name, data_type, false));
        }
        let out = Arc::new(Schema::new(fields));
        let planned = PlannedKcl {
            workers: self.workers.max(1),
            checkpoint_every_records: u64::from(self.checkpoint_every_records),
            checkpoint_every_ms: self.checkpoint_every.as_millis(),
            failover_ms: self.failover_time.as_millis(),
            poll_ms: self.poll_every.as_millis().max(1),
            failures: self
                .worker_failures
                .iter()
                .map(|f| (f.worker.saturating_sub(1), f.at.as_millis()))
                .collect(),
            shard_column,
            sequence_column,
            arrival_column,
            parents: parents_of(&input.schema),
            out: Arc::clone(&out),
        };
        let none = TimeAttr::None {
            why: "lease changes are the application's, not events".into(),
        };
        Some(Planned::new(
            PlannedKind::Kcl(Box::new(planned)),
            1,
            vec![
                PortOutput::new(out, input.time.clone()),
                PortOutput::new(leases_schema(), none),
            ],
        ))
    }

    fn summary(&self) -> String {
        let deaths = match self.worker_failures.len() {
            0 => String::new(),
            1 => ", 1 worker dies".into(),
            n => format!(", {n} workers die"),
        };
        format!(
            "{} workers, checkpoint every {} records or {}{deaths}",
            self.workers, self.checkpoint_every_records, self.checkpoint_every
        )
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "workers",
                "Workers sharing the shards (1 to 64)",
                FieldValue::Count(&mut self.workers),
            ),
            Field::new(
                "checkpoint every (records)",
                "Checkpoint a shard after this many records (0: not by count)",
                FieldValue::Count(&mut self.checkpoint_every_records),
            ),
            Field::new(
                "checkpoint every",
                "...or this long after its last checkpoint (0s: not by time)",
                FieldValue::Duration(&mut self.checkpoint_every),
            ),
            Field::new(
                "failover time",
                "failoverTimeMillis: a lease not renewed this long is taken by another worker (KCL default 10s)",
                FieldValue::Duration(&mut self.failover_time),
            ),
            Field::new(
                "poll every",
                "The wait between reads of a shard (KCL default 1s)",
                FieldValue::Duration(&mut self.poll_every),
            ),
            Field::new(
                "worker failures",
                "Workers that die, and when after the first record",
                FieldValue::List(&mut self.worker_failures),
            ),
        ]
    }
}

/// One row per change of a lease: the lease table's row after it, and what happened.
pub fn leases_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        ArrowField::new("at", timestamp_type(), false),
        ArrowField::new("lease_key", DataType::Utf8, false),
        ArrowField::new("lease_owner", DataType::Utf8, true),
        ArrowField::new("checkpoint", DataType::Utf8, false),
        ArrowField::new("lease_counter", DataType::Int64, false),
        ArrowField::new("parent_shard_id", DataType::Utf8, true),
        ArrowField::new("event", DataType::Utf8, false),
    ]))
}

impl ListField for Vec<WorkerFailure> {
    fn item_name(&self) -> &'static str {
        "worker failure"
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn item(&mut self, index: usize) -> Vec<Field<'_>> {
        match self.get_mut(index) {
            Some(failure) => vec![
                Field::new(
                    "worker",
                    "Which worker (from 1)",
                    FieldValue::Count(&mut failure.worker),
                ),
                Field::new(
                    "at",
                    "When, after the first record",
                    FieldValue::Duration(&mut failure.at),
                ),
            ],
            None => Vec::new(),
        }
    }

    fn add(&mut self) {
        self.push(WorkerFailure {
            worker: 1,
            at: Duration::from_secs(60),
        });
    }

    fn remove(&mut self, index: usize) {
        if index < Vec::len(self) {
            Vec::remove(self, index);
        }
    }
}
