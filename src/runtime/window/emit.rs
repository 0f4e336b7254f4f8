//! A window node's results as an Arrow batch: the key columns, `window_start`, `window_end` and one
//! column per aggregate, in the order of the output schema. Time and count windows share it.

use std::sync::Arc;

use arrow::array::{ArrayRef, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::accumulate::{Acc, Aggregates};
use super::keyed_state::KeyTable;
use super::tracing::Tracer;
use crate::runtime::contract::{InstanceMetrics, OpResult, Output, RunError, Timestamp};
use crate::runtime::trace::FiringKind;

/// One result row: the key, the window's bounds, and its aggregates' states.
pub struct ResultRow<'a> {
    pub key: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    pub accs: &'a [Acc],
}

/// The batch of `rows`, in the order given.
pub fn results_batch(
    rows: &[ResultRow<'_>],
    keys: &KeyTable,
    aggregates: &Aggregates,
    schema: &SchemaRef,
) -> Result<RecordBatch, RunError> {
    let ids: Vec<u32> = rows.iter().map(|r| r.key).collect();
    let mut columns: Vec<ArrayRef> = keys.columns(&ids)?;
    columns.push(Arc::new(TimestampMillisecondArray::from_iter_values(
        rows.iter().map(|r| r.start),
    )));
    columns.push(Arc::new(TimestampMillisecondArray::from_iter_values(
        rows.iter().map(|r| r.end),
    )));
    let states: Vec<&[Acc]> = rows.iter().map(|r| r.accs).collect();
    columns.extend(aggregates.finish(&states).map_err(RunError::internal)?);
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| RunError::internal(e.to_string()))
}

/// A result finished when it happened (a late firing per late row, as Flink fires per element),
/// kept until the batch's results go out together.
pub struct FinishedRow {
    pub key: u32,
    pub start: Timestamp,
    pub end: Timestamp,
    /// One single-row array per aggregate.
    pub values: Vec<ArrayRef>,
}

/// Finishes one window's aggregates now, as its result row.
pub fn finish_now(
    key: u32,
    start: Timestamp,
    end: Timestamp,
    accs: &[Acc],
    aggregates: &Aggregates,
) -> Result<FinishedRow, RunError> {
    let values = aggregates.finish(&[accs]).map_err(RunError::internal)?;
    Ok(FinishedRow {
        key,
        start,
        end,
        values,
    })
}

/// The batch of rows finished earlier, in the order given.
pub fn finished_batch(
    rows: &[FinishedRow],
    keys: &KeyTable,
    schema: &SchemaRef,
) -> Result<RecordBatch, RunError> {
    let ids: Vec<u32> = rows.iter().map(|r| r.key).collect();
    let mut columns: Vec<ArrayRef> = keys.columns(&ids)?;
    columns.push(Arc::new(TimestampMillisecondArray::from_iter_values(
        rows.iter().map(|r| r.start),
    )));
    columns.push(Arc::new(TimestampMillisecondArray::from_iter_values(
        rows.iter().map(|r| r.end),
    )));
    let aggregates = rows.first().map_or(0, |r| r.values.len());
    for c in 0..aggregates {
        let parts: Vec<&dyn arrow::array::Array> =
            rows.iter().map(|r| r.values[c].as_ref()).collect();
        columns
            .push(arrow::compute::concat(&parts).map_err(|e| RunError::internal(e.to_string()))?);
    }
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| RunError::internal(e.to_string()))
}

/// Sends the late firings a batch of rows caused, in the order they happened, counts them and
/// shows them in the event-time trace.
pub fn emit_late_firings(
    rows: &[FinishedRow],
    keys: &KeyTable,
    schema: &SchemaRef,
    metrics: &InstanceMetrics,
    tracer: &mut Tracer,
    out: &mut Output,
) -> OpResult {
    if rows.is_empty() {
        return Ok(());
    }
    InstanceMetrics::add(&metrics.late_firings, rows.len() as u64);
    let batch = finished_batch(rows, keys, schema)?;
    if tracer.is_on() {
        let fired: Vec<(u32, Timestamp, Timestamp)> =
            rows.iter().map(|r| (r.key, r.start, r.end)).collect();
        tracer.firings(keys, &fired, FiringKind::Late, &batch);
    }
    out.emit(0, batch)
}
