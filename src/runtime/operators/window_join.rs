//! Window join: each row is placed in its windows (Flink's assigners: one tumbling window, or
//! size/slide sliding ones) under its key; when the watermark passes a window's last instant, every
//! left row of a key meets every right row of that key in the window, and a left join emits the
//! left rows that met nobody. A row whose windows have all closed when it arrives is late, counted
//! and dropped, as Flink drops it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{ArrayRef, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::join_state::{JoinSide, RowSource};
use crate::model::kinds::join::window::PlannedWindowJoin;
use crate::model::time::RowTime;
use crate::runtime::contract::{
    InstanceMetrics, InstanceOf, MIN_WATERMARK, OpResult, Operator, Output, RunError, SendFailure,
    StateReader, StateWriter, Timestamp, fail,
};
use crate::runtime::keys::KeyEncoder;
use crate::runtime::row_times::row_times;
use crate::runtime::window::assign::{Assigner, TimeWindow, assign};

const LEFT: usize = 0;
const RIGHT: usize = 1;

/// The rows of one key in one window, per side.
#[derive(Default)]
struct Cell {
    rows: [Vec<(u32, u32)>; 2],
}

pub struct WindowJoinOperator {
    assigner: Assigner,
    left_join: bool,
    times: [RowTime; 2],
    keys: [KeyEncoder; 2],
    sides: [JoinSide; 2],
    right_columns: Vec<usize>,
    output: SchemaRef,
    /// By window end, then key: the rows waiting for the window to close. A left row with a
    /// NULL key waits under its own empty key, meeting nobody.
    cells: BTreeMap<(Timestamp, Box<[u8]>), Cell>,
    size_ms: i64,
    watermark: Timestamp,
    metrics: Arc<InstanceMetrics>,
    windows: Vec<TimeWindow>,
}

pub fn build(
    planned: &PlannedWindowJoin,
    left: &SchemaRef,
    right: &SchemaRef,
    metrics: &Arc<InstanceMetrics>,
) -> Result<Box<dyn Operator>, RunError> {
    let assigner = if planned.slide_ms == planned.size_ms {
        Assigner::Tumbling {
            size: planned.size_ms,
            offset: planned.offset_ms,
        }
    } else {
        Assigner::Sliding {
            size: planned.size_ms,
            slide: planned.slide_ms,
            offset: planned.offset_ms,
        }
    };
    Ok(Box::new(WindowJoinOperator {
        assigner,
        left_join: !planned.join.is_inner(),
        times: [planned.left_time, planned.right_time],
        keys: [
            KeyEncoder::new(left, &planned.left_key)?,
            KeyEncoder::new(right, &planned.right_key)?,
        ],
        sides: [
            JoinSide::new(Arc::clone(left), 0),
            JoinSide::new(Arc::clone(right), 0),
        ],
        right_columns: planned.right_columns.clone(),
        output: Arc::clone(&planned.output),
        cells: BTreeMap::new(),
        size_ms: planned.size_ms,
        watermark: MIN_WATERMARK,
        metrics: Arc::clone(metrics),
        windows: Vec::new(),
    }))
}

impl WindowJoinOperator {
    fn publish(&self) {
        let m = &self.metrics;
        // Counted as rows are pinned and let go: no walk over the open windows per batch.
        let (left, right) = (self.sides[LEFT].held, self.sides[RIGHT].held);
        m.held_rows[LEFT].store(left, Relaxed);
        m.held_rows[RIGHT].store(right, Relaxed);
        // Every held row waits for its window to close.
        m.waiting_rows.store(left + right, Relaxed);
        m.open_windows.store(self.cells.len() as u64, Relaxed);
    }

    /// Holds the rows of `batch` (arriving on `side`) in their windows.
    fn hold(&mut self, side: usize, batch: RecordBatch) -> Result<(), RunError> {
        let times = row_times(self.times[side], &batch)?;
        let keys = self.keys[side]
            .encode(&batch)?
            .ok_or_else(|| RunError::internal("a window join has no key columns"))?;
        let null_keys: Vec<bool> = (0..batch.num_rows())
            .map(|row| self.keys[side].has_null(&batch, row))
            .collect();
        let id = self.sides[side].add_batch(batch);
        let (mut late, mut alone) = (0u64, 0u64);
        for (row, ts) in times.iter().enumerate() {
            let Some(ts) = *ts else {
                alone += 1;
                continue;
            };
            self.metrics.see_event_time(ts);
            let null_key = null_keys[row];
            if null_key && !(side == LEFT && self.left_join) {
                // A NULL key meets nobody; only a left join keeps the left row.
                alone += 1;
                continue;
            }
            let key: Box<[u8]> = if null_key {
                Box::new([])
            } else {
                keys.row(row).as_ref().into()
            };
            assign(self.assigner, ts, &mut self.windows);
            let mut placed = false;
            for w in &self.windows {
                if w.max_timestamp() <= self.watermark {
                    continue;
                }
                placed = true;
                self.sides[side].pin(id);
                self.cells.entry((w.end, key.clone())).or_default().rows[side]
                    .push((id, row as u32));
            }
            late += u64::from(!placed);
        }
        self.sides[side].release();
        InstanceMetrics::add(&self.metrics.late_rows, late);
        InstanceMetrics::add(&self.metrics.unmatched_rows, alone);
        Ok(())
    }

    /// The output rows of windows `[end - size, end)` with their left and right rows.
    fn joined(
        &self,
        windows: &[Timestamp],
        left: &[RowSource],
        right: &[RowSource],
    ) -> Result<RecordBatch, RunError> {
        let starts: Vec<i64> = windows.iter().map(|e| e - self.size_ms).collect();
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(starts)),
            Arc::new(TimestampMillisecondArray::from(windows.to_vec())),
        ];
        for c in 0..self.sides[LEFT].schema_width() {
            columns.push(self.sides[LEFT].gather(c, left)?);
        }
        for &c in &self.right_columns {
            columns.push(self.sides[RIGHT].gather(c, right)?);
        }
        RecordBatch::try_new(Arc::clone(&self.output), columns)
            .map_err(|e| RunError::internal(e.to_string()))
    }
}

impl Operator for WindowJoinOperator {
    fn on_batch(&mut self, port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        let side = if port == LEFT { LEFT } else { RIGHT };
        self.hold(side, batch)?;
        self.publish();
        Ok(())
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        self.watermark = watermark;
        let (mut ends, mut left, mut right) = (Vec::new(), Vec::new(), Vec::new());
        let mut closed = Vec::new();
        let mut unmatched = 0u64;
        while let Some(entry) = self.cells.first_entry() {
            if entry.key().0.saturating_sub(1) > watermark {
                break;
            }
            let ((end, _), cell) = entry.remove_entry();
            let [lefts, rights] = &cell.rows;
            for &l in lefts {
                if rights.is_empty() {
                    if self.left_join {
                        ends.push(end);
                        left.push(Some(l));
                        right.push(None);
                    }
                    continue;
                }
                for &r in rights {
                    ends.push(end);
                    left.push(Some(l));
                    right.push(Some(r));
                }
            }
            if rights.is_empty() && !self.left_join {
                unmatched += lefts.len() as u64;
            }
            if lefts.is_empty() {
                unmatched += rights.len() as u64;
            }
            closed.push(cell);
        }
        InstanceMetrics::add(&self.metrics.unmatched_rows, unmatched);
        if !ends.is_empty() {
            let joined = self.joined(&ends, &left, &right)?;
            out.emit(0, joined)?;
        }
        for cell in closed {
            for side in [LEFT, RIGHT] {
                for &(batch, _) in &cell.rows[side] {
                    self.sides[side].unpin(batch);
                }
            }
        }
        self.sides[LEFT].release();
        self.sides[RIGHT].release();
        self.publish();
        Ok(())
    }

    /// Version 1: `u8(1) i64(watermark)`, then per side its held rows as one Arrow batch and,
    /// per row, the window end it waits in; keys are read again from the rows.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        w.i64(self.watermark);
        for side in [LEFT, RIGHT] {
            let mut sources = Vec::new();
            let mut ends = Vec::new();
            for ((end, _), cell) in &self.cells {
                for &row in &cell.rows[side] {
                    sources.push(Some(row));
                    ends.push(*end);
                }
            }
            let columns = (0..self.sides[side].schema_width())
                .map(|c| self.sides[side].gather(c, &sources))
                .collect::<Result<Vec<_>, _>>()
                .map_err(SendFailure::Failed)?;
            let batch = RecordBatch::try_new(self.sides[side].schema(), columns)
                .map_err(|e| fail(e.to_string()))?;
            w.batches(&[batch]).map_err(SendFailure::Failed)?;
            w.u64(ends.len() as u64);
            for end in ends {
                w.i64(end);
            }
        }
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        for blob in saved {
            let mut r = StateReader::new(blob);
            if r.u8()? != 1 {
                return Err(RunError::data(
                    "the saved window join state has an unknown version",
                ));
            }
            self.watermark = self.watermark.max(r.i64()?);
            for side in [LEFT, RIGHT] {
                let batches = r.batches()?;
                let n = r.count(8)?;
                let mut ends = Vec::with_capacity(n);
                for _ in 0..n {
                    ends.push(r.i64()?);
                }
                let mut at = 0usize;
                for batch in batches {
                    let keys = self.keys[side]
                        .encode(&batch)?
                        .ok_or_else(|| RunError::internal("a window join has no keys"))?;
                    let null_key: Vec<bool> = (0..batch.num_rows())
                        .map(|row| self.keys[side].has_null(&batch, row))
                        .collect();
                    let id = self.sides[side].add_batch(batch);
                    for (row, &null) in null_key.iter().enumerate() {
                        let end = *ends
                            .get(at)
                            .ok_or_else(|| RunError::data("the saved window join is cut short"))?;
                        at += 1;
                        let key: Box<[u8]> = if null {
                            Box::new([])
                        } else {
                            keys.row(row).as_ref().into()
                        };
                        if !me.owns(&key) {
                            continue;
                        }
                        self.sides[side].pin(id);
                        self.cells.entry((end, key)).or_default().rows[side].push((id, row as u32));
                    }
                    self.sides[side].release();
                }
            }
            r.end()?;
        }
        self.publish();
        Ok(())
    }
}

#[cfg(test)]
#[path = "window_join_tests.rs"]
mod tests;
