//! Rows too late for any window: sent to the `late` port with the reason, or counted as dropped.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, TimestampMillisecondArray, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::runtime::contract::{InstanceMetrics, OpResult, Output, Timestamp, fail};
use crate::values::show_time;

/// The port index of `late` on window nodes.
pub const LATE_PORT: usize = 1;

/// One late row: which row, its event time, and the window it missed.
pub struct LateRow {
    pub row: u32,
    pub ts: Timestamp,
    pub window_end: Timestamp,
}

/// Sends `late` rows of `batch` to the late port (or counts them dropped when it is unconnected).
pub fn emit_late(
    batch: &RecordBatch,
    late: &[LateRow],
    watermark: Timestamp,
    allowed_lateness_ms: i64,
    late_schema: &SchemaRef,
    metrics: &InstanceMetrics,
    out: &mut Output,
) -> OpResult {
    if late.is_empty() {
        return Ok(());
    }
    InstanceMetrics::add(&metrics.late_rows, late.len() as u64);
    if !out.is_connected(LATE_PORT) {
        InstanceMetrics::add(&metrics.dropped_rows, late.len() as u64);
        return Ok(());
    }
    let indices = UInt32Array::from(late.iter().map(|l| l.row).collect::<Vec<_>>());
    let rows = take_record_batch(batch, &indices).map_err(|e| fail(e.to_string()))?;
    let reasons = StringArray::from_iter_values(late.iter().map(|l| {
        format!(
            "event time {} + allowed lateness {} ms <= watermark {}: its window (ending {}) was already final",
            show_time(l.ts),
            allowed_lateness_ms,
            show_time(watermark),
            show_time(l.window_end)
        )
    }));
    let watermarks = TimestampMillisecondArray::from(vec![watermark; late.len()]);
    let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
    columns.push(Arc::new(reasons));
    columns.push(Arc::new(watermarks));
    let late_batch =
        RecordBatch::try_new(Arc::clone(late_schema), columns).map_err(|e| fail(e.to_string()))?;
    out.emit_side(LATE_PORT, late_batch)
}
