//! The loop of a source: read chunks, pace them by the clock, emit rows and bad rows, and generate
//! watermarks from the data (bounded out-of-orderness), so a run is reproducible.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;

use super::clock::Clock;
use super::error::RunError;
use super::message::{MAX_WATERMARK, MIN_WATERMARK, Timestamp};
use super::metrics::InstanceMetrics;
use super::operator::fail;
use super::outputs::{Output, SendFailure};
use super::task::TaskEnd;

/// Rows read by a source in one go, with the rows that could not be read.
pub struct SourceChunk {
    pub rows: RecordBatch,
    /// Rows for the `errors` port: line, raw text, reason.
    pub errors: Option<RecordBatch>,
}

/// A reader of rows: a generator, a file, later a Kinesis shard.
pub trait Source: Send {
    /// The next chunk, or `None` at the end of a bounded input.
    fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError>;
}

/// How a source's rows tell time.
#[derive(Debug, Clone)]
pub enum SourceTime {
    Event {
        /// Index of the TIMESTAMP(3) column in the rows.
        column: usize,
        /// Watermark = newest event time - this - 1 ms (Flink's bounded out-of-orderness).
        max_out_of_orderness_ms: i64,
        /// Waiting longer than this for the next batch marks the source idle downstream.
        idle_timeout: Option<std::time::Duration>,
    },
    Processing,
}

/// Runs a source until it ends or the clock stops.
pub fn run_source(
    mut source: Box<dyn Source>,
    time: SourceTime,
    out: &mut Output,
    metrics: Arc<InstanceMetrics>,
    clock: &Clock,
) -> Result<TaskEnd, SendFailure> {
    let mut newest: Timestamp = MIN_WATERMARK;
    let mut emitted: Timestamp = MIN_WATERMARK;
    loop {
        if clock.is_stopped() {
            return end_early(out, &metrics, clock);
        }
        let started = Instant::now();
        let Some(chunk) = source.next_chunk().map_err(SendFailure::Failed)? else {
            // A bounded input is complete: every window may fire.
            out.watermark(MAX_WATERMARK)?;
            metrics.watermark.store(MAX_WATERMARK, Relaxed);
            out.end()?;
            return Ok(TaskEnd::Finished);
        };
        let chunk_newest = match &time {
            SourceTime::Event { column, .. } => max_timestamp(&chunk.rows, *column)?,
            SourceTime::Processing => Some(Clock::now_millis()),
        };
        InstanceMetrics::add(&metrics.busy_nanos, started.elapsed().as_nanos() as u64);
        let idle_after = match &time {
            SourceTime::Event { idle_timeout, .. } => *idle_timeout,
            SourceTime::Processing => None,
        };
        let mut idle_result = Ok(());
        let passed = clock.gate_or_idle(chunk_newest, idle_after, &mut || idle_result = out.idle());
        idle_result?;
        if !passed {
            return end_early(out, &metrics, clock);
        }
        let started = Instant::now();
        if let Some(errors) = chunk.errors {
            InstanceMetrics::add(&metrics.error_rows, errors.num_rows() as u64);
            out.emit_side(1, errors)?;
        }
        InstanceMetrics::add(&metrics.rows_in, chunk.rows.num_rows() as u64);
        out.emit(0, chunk.rows)?;
        if let Some(ts) = chunk_newest {
            newest = newest.max(ts);
            metrics.see_event_time(ts);
        }
        let watermark = match &time {
            SourceTime::Event {
                max_out_of_orderness_ms,
                ..
            } if newest != MIN_WATERMARK => newest.saturating_sub(*max_out_of_orderness_ms + 1),
            SourceTime::Processing => Clock::now_millis(),
            _ => MIN_WATERMARK,
        };
        if watermark > emitted {
            emitted = watermark;
            metrics.watermark.store(watermark, Relaxed);
            out.watermark(watermark)?;
        }
        InstanceMetrics::add(&metrics.busy_nanos, started.elapsed().as_nanos() as u64);
    }
}

/// Ends a source that was stopped: when draining, as a complete input so every window fires.
fn end_early(
    out: &mut Output,
    metrics: &InstanceMetrics,
    clock: &Clock,
) -> Result<TaskEnd, SendFailure> {
    if clock.is_draining() {
        metrics.watermark.store(MAX_WATERMARK, Relaxed);
        out.watermark(MAX_WATERMARK)?;
    }
    out.end()?;
    Ok(TaskEnd::Finished)
}

fn max_timestamp(batch: &RecordBatch, column: usize) -> Result<Option<Timestamp>, SendFailure> {
    let array = batch
        .column(column)
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .ok_or_else(|| fail("the event-time column is not a TIMESTAMP(3)"))?;
    if array.null_count() == array.len() {
        return Ok(None);
    }
    Ok(arrow::compute::max(array))
}
