//! The Kinesis sink: each row as a compact JSON record, its partition key (and explicit hash key)
//! from SQL, sent with `PutRecords` in requests of at most 500 records and 5 MiB. Entries that
//! fail (throttled, or an internal failure) are sent again after a backoff that doubles; a record
//! that still fails after the attempts stops the run with Kinesis's error. A row whose key or
//! size Kinesis would refuse is counted as an error and not sent. Kinesis has no transactions, so
//! with checkpoints the sink is at-least-once, as Flink's is: after a restore, what it sent after
//! the checkpoint is sent again.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

use super::Connection;
use crate::model::kinds::kinesis::sink::PlannedKinesisSink;
use crate::model::kinds::kinesis::{PUT_RECORDS_BYTES, PUT_RECORDS_MAX};
use crate::runtime::contract::evaluate::evaluate;
use crate::runtime::contract::{
    Checkpointing, InstanceMetrics, OpResult, Operator, Output, RunError, SendFailure,
};
use crate::values::json_rows::JsonRows;

/// The largest record Kinesis takes by default: data and partition key, 1 MiB.
const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The longest partition key, in characters.
const MAX_KEY_CHARS: usize = 256;

pub struct KinesisSink {
    connection: Connection,
    planned: PlannedKinesisSink,
    metrics: Arc<InstanceMetrics>,
}

/// A record ready to send.
struct Entry {
    data: Vec<u8>,
    key: String,
    hash_key: Option<String>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.data.len() + self.key.len()
    }
}

pub fn build(
    planned: &PlannedKinesisSink,
    metrics: &Arc<InstanceMetrics>,
    node: &str,
    checkpointing: Option<&Checkpointing>,
) -> Result<Box<dyn Operator>, RunError> {
    if let Some(checkpointing) = checkpointing.filter(|c| c.restoring) {
        checkpointing.note(format!(
            "`{node}`: records sent to the Kinesis stream `{}` after the checkpoint are sent \
             again (Kinesis has no transactions: this sink is at-least-once, as Flink's is)",
            planned.stream
        ));
    }
    let connection = Connection::open(
        &planned.stream,
        &planned.region,
        planned.endpoint.as_deref(),
    )?;
    Ok(Box::new(KinesisSink {
        connection,
        planned: planned.clone(),
        metrics: Arc::clone(metrics),
    }))
}

impl Operator for KinesisSink {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        let keys = text(evaluate(&self.planned.partition_key, &batch)?)?;
        let hash_keys = match &self.planned.explicit_hash_key {
            Some(expr) => Some(text(evaluate(expr, &batch)?)?),
            None => None,
        };
        let mut entries = Vec::with_capacity(batch.num_rows());
        let json = JsonRows::new(&batch);
        let mut refused = 0u64;
        for row in 0..batch.num_rows() {
            let key = keys.is_valid(row).then(|| keys.value(row));
            let Some(key) = key.filter(|k| (1..=MAX_KEY_CHARS).contains(&k.chars().count())) else {
                refused += 1;
                continue;
            };
            let entry = Entry {
                data: {
                    let mut data = Vec::new();
                    json.write(row, &mut data);
                    data
                },
                key: key.to_string(),
                hash_key: hash_keys
                    .as_ref()
                    .filter(|h| h.is_valid(row))
                    .map(|h| h.value(row).to_string()),
            };
            if entry.bytes() > MAX_RECORD_BYTES {
                refused += 1;
                continue;
            }
            entries.push(entry);
        }
        InstanceMetrics::add(&self.metrics.error_rows, refused);
        // Requests of at most 500 records and 5 MiB, keys included.
        let mut request: Vec<Entry> = Vec::new();
        let mut bytes = 0;
        for entry in entries {
            if !request.is_empty()
                && (request.len() >= PUT_RECORDS_MAX as usize
                    || bytes + entry.bytes() > PUT_RECORDS_BYTES as usize)
            {
                self.put(std::mem::take(&mut request))?;
                bytes = 0;
            }
            bytes += entry.bytes();
            request.push(entry);
        }
        if !request.is_empty() {
            self.put(request)?;
        }
        Ok(())
    }
}

impl KinesisSink {
    /// Sends one request; what failed goes again after the backoff, until the attempts run out.
    fn put(&self, mut pending: Vec<Entry>) -> Result<(), SendFailure> {
        let mut wait = self.planned.backoff_ms.max(0) as u64;
        for attempt in 1..=self.planned.max_attempts.max(1) {
            let records: Vec<PutRecordsRequestEntry> = pending
                .iter()
                .map(|e| {
                    PutRecordsRequestEntry::builder()
                        .data(Blob::new(e.data.clone()))
                        .partition_key(&e.key)
                        .set_explicit_hash_key(e.hash_key.clone())
                        .build()
                        .map_err(|e| RunError::internal(format!("a PutRecords entry: {e}")))
                })
                .collect::<Result<_, _>>()?;
            let call = self
                .connection
                .client()
                .put_records()
                .stream_name(&self.planned.stream)
                .set_records(Some(records))
                .send();
            let last = attempt >= self.planned.max_attempts;
            let answer = match self.connection.call(call) {
                Ok(answer) => answer,
                Err(error) => {
                    let error = self.connection.explain("writing to", &error);
                    if last || !error.is_retriable() {
                        return Err(SendFailure::Failed(error));
                    }
                    std::thread::sleep(StdDuration::from_millis(wait));
                    wait = wait.saturating_mul(2);
                    continue;
                }
            };
            // Each entry succeeded or failed on its own, in request order.
            let mut failed = Vec::new();
            let mut first_error = None;
            for (entry, result) in pending.into_iter().zip(answer.records()) {
                if let Some(code) = result.error_code() {
                    first_error.get_or_insert_with(|| {
                        format!("{code}: {}", result.error_message().unwrap_or_default())
                    });
                    failed.push(entry);
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            if last {
                return Err(SendFailure::Failed(RunError::transient(format!(
                    "Kinesis refused {} records of stream `{}` after {attempt} attempts: {}",
                    failed.len(),
                    self.planned.stream,
                    first_error.unwrap_or_default()
                ))));
            }
            pending = failed;
            std::thread::sleep(StdDuration::from_millis(wait));
            wait = wait.saturating_mul(2);
        }
        Ok(())
    }
}

fn text(array: ArrayRef) -> Result<StringArray, SendFailure> {
    let text = cast(&array, &DataType::Utf8)
        .map_err(|e| SendFailure::Failed(RunError::internal(e.to_string())))?;
    text.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| SendFailure::Failed(RunError::internal("a partition key is not text")))
}
