//! Interval join: a left row at `l` meets each right row with its key at `r` where
//! `l − before ≤ r ≤ l + after`. Both sides wait in state: a left row until the watermark passes
//! `l + after` (no right row that could meet it can come any more), a right row until it passes
//! `r + before`. A row behind the watermark when it arrives is late and dropped (counted), as in
//! Flink's interval join. Results carry the left row's time, so the watermark going out is held
//! back by `after` (as Flink SQL's interval join holds it back): a right row may still meet a left
//! row that far behind the watermark.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::join_state::{HeldRow, JoinSide, RowSource};
use crate::model::kinds::join::interval::PlannedIntervalJoin;
use crate::model::time::RowTime;
use crate::runtime::contract::{
    InstanceMetrics, InstanceOf, MAX_WATERMARK, MIN_WATERMARK, OpResult, Operator, Output,
    RunError, SendFailure, StateReader, StateWriter, Timestamp, fail,
};
use crate::runtime::keys::KeyEncoder;
use crate::runtime::row_times::row_times;

const LEFT: usize = 0;
const RIGHT: usize = 1;

pub struct IntervalJoinOperator {
    before_ms: i64,
    after_ms: i64,
    left_join: bool,
    times: [RowTime; 2],
    keys: [KeyEncoder; 2],
    sides: [JoinSide; 2],
    right_columns: Vec<usize>,
    output: SchemaRef,
    watermark: Timestamp,
    metrics: Arc<InstanceMetrics>,
}

pub fn build(
    planned: &PlannedIntervalJoin,
    left: &SchemaRef,
    right: &SchemaRef,
    metrics: &Arc<InstanceMetrics>,
) -> Result<Box<dyn Operator>, RunError> {
    Ok(Box::new(IntervalJoinOperator {
        before_ms: planned.before_ms,
        after_ms: planned.after_ms,
        left_join: !planned.join.is_inner(),
        times: [planned.left_time, planned.right_time],
        keys: [
            KeyEncoder::new(left, &planned.left_key)?,
            KeyEncoder::new(right, &planned.right_key)?,
        ],
        sides: [
            JoinSide::new(Arc::clone(left), planned.after_ms),
            JoinSide::new(Arc::clone(right), planned.before_ms),
        ],
        right_columns: planned.right_columns.clone(),
        output: Arc::clone(&planned.output),
        watermark: MIN_WATERMARK,
        metrics: Arc::clone(metrics),
    }))
}

impl IntervalJoinOperator {
    /// The output rows made of left rows `left` and right rows `right` (NULLs where `None`).
    fn joined(&self, left: &[RowSource], right: &[RowSource]) -> Result<RecordBatch, RunError> {
        let mut columns = Vec::with_capacity(self.output.fields().len());
        for c in 0..self.sides[LEFT].schema_width() {
            columns.push(self.sides[LEFT].gather(c, left)?);
        }
        for &c in &self.right_columns {
            columns.push(self.sides[RIGHT].gather(c, right)?);
        }
        RecordBatch::try_new(Arc::clone(&self.output), columns)
            .map_err(|e| RunError::internal(e.to_string()))
    }

    fn publish(&self) {
        let m = &self.metrics;
        m.held_rows[LEFT].store(self.sides[LEFT].held, Relaxed);
        m.held_rows[RIGHT].store(self.sides[RIGHT].held, Relaxed);
        m.waiting_rows.store(
            self.sides[LEFT].waiting + self.sides[RIGHT].waiting,
            Relaxed,
        );
        m.keys.store(
            (self.sides[LEFT].by_key.len() + self.sides[RIGHT].by_key.len()) as u64,
            Relaxed,
        );
    }

    /// The watermark results may go out under: `after` behind the input's, and 1 ms more, since a
    /// row exactly at the input's watermark is still on time here.
    fn output_watermark(&self) -> Timestamp {
        if self.watermark == MAX_WATERMARK {
            MAX_WATERMARK
        } else {
            self.watermark
                .saturating_sub(self.after_ms)
                .saturating_sub(1)
        }
    }
}

impl Operator for IntervalJoinOperator {
    fn on_batch(&mut self, port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let side = if port == LEFT { LEFT } else { RIGHT };
        let times = row_times(self.times[side], &batch)?;
        let Some(keys) = self.keys[side].encode(&batch)? else {
            return Err(fail("an interval join has no key columns"));
        };
        let null_keys: Vec<bool> = (0..batch.num_rows())
            .map(|row| self.keys[side].has_null(&batch, row))
            .collect();
        let id = self.sides[side].add_batch(batch);
        let (mut left_rows, mut right_rows) = (Vec::new(), Vec::new());
        let (mut late, mut unmatched) = (0u64, 0u64);
        for (row, ts) in times.iter().enumerate() {
            let Some(ts) = *ts else {
                // A row without a time cannot be placed in any span.
                unmatched += 1;
                continue;
            };
            self.metrics.see_event_time(ts);
            if ts < self.watermark {
                late += 1;
                continue;
            }
            let this = (id, row as u32);
            if null_keys[row] {
                // A NULL key equals nothing, as in SQL; a left join still emits the left row.
                if side == LEFT && self.left_join {
                    left_rows.push(Some(this));
                    right_rows.push(None);
                } else {
                    unmatched += 1;
                }
                continue;
            }
            let key = keys.row(row);
            let key = key.as_ref();
            let mut matched = false;
            let (before, after) = (self.before_ms, self.after_ms);
            // Whether a left row at `l` and a right row at `r` lie close enough.
            let meets = |l: Timestamp, r: Timestamp| {
                l.saturating_sub(before) <= r && r <= l.saturating_add(after)
            };
            let [left_side, right_side] = &mut self.sides;
            let (mine, theirs) = if side == LEFT {
                (left_side, right_side)
            } else {
                (right_side, left_side)
            };
            if let Some(partners) = theirs.by_key.get_mut(key) {
                let mut newly = 0u64;
                for p in partners.iter_mut() {
                    let close = if side == LEFT {
                        meets(ts, p.ts)
                    } else {
                        meets(p.ts, ts)
                    };
                    if !close {
                        continue;
                    }
                    matched = true;
                    newly += u64::from(!p.matched);
                    p.matched = true;
                    let partner = Some((p.batch, p.row));
                    if side == LEFT {
                        left_rows.push(Some(this));
                        right_rows.push(partner);
                    } else {
                        left_rows.push(partner);
                        right_rows.push(Some(this));
                    }
                }
                theirs.waiting = theirs.waiting.saturating_sub(newly);
            }
            mine.hold(
                key,
                HeldRow {
                    ts,
                    batch: id,
                    row: row as u32,
                    matched,
                },
            );
        }
        InstanceMetrics::add(&self.metrics.late_rows, late);
        InstanceMetrics::add(&self.metrics.unmatched_rows, unmatched);
        let emitted = if left_rows.is_empty() {
            Ok(())
        } else {
            let joined = self.joined(&left_rows, &right_rows)?;
            out.emit(0, joined)
        };
        self.sides[side].drop_if_unused(id);
        self.publish();
        emitted
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        self.watermark = watermark;
        let (left_alone, left_count) = self.sides[LEFT].expire(watermark, self.left_join);
        let (_, right_count) = self.sides[RIGHT].expire(watermark, false);
        // An inner join's rows that met nobody are gone; a left join's left ones come out now.
        let lost = right_count + if self.left_join { 0 } else { left_count };
        InstanceMetrics::add(&self.metrics.unmatched_rows, lost);
        if !left_alone.is_empty() {
            let nulls = vec![None; left_alone.len()];
            let joined = self.joined(&left_alone, &nulls)?;
            out.emit(0, joined)?;
        }
        self.sides[LEFT].release();
        self.sides[RIGHT].release();
        self.publish();
        out.watermark_on(0, self.output_watermark())
    }

    fn sends_own_watermark(&self, port: usize) -> bool {
        port == 0
    }

    /// Version 1: `u8(1) i64(watermark)`, then per side (left, right) its held rows as one Arrow
    /// batch and, per row, whether it met a partner. Times and keys are read again from the rows.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        w.i64(self.watermark);
        for side in &self.sides {
            let (batch, matched) = side.snapshot().map_err(SendFailure::Failed)?;
            w.batches(&[batch]).map_err(SendFailure::Failed)?;
            w.u64(matched.len() as u64);
            for m in matched {
                w.bool(m);
            }
        }
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        for blob in saved {
            let mut r = StateReader::new(blob);
            if r.u8()? != 1 {
                return Err(RunError::data(
                    "the saved interval join state has an unknown version",
                ));
            }
            let watermark = r.i64()?;
            self.watermark = self.watermark.max(watermark);
            for side in [LEFT, RIGHT] {
                let batches = r.batches()?;
                let n = r.count(1)?;
                let mut matched = Vec::with_capacity(n);
                for _ in 0..n {
                    matched.push(r.bool()?);
                }
                let mut seen = 0usize;
                for batch in batches {
                    let times = row_times(self.times[side], &batch)?;
                    let keys = self.keys[side]
                        .encode(&batch)?
                        .ok_or_else(|| RunError::internal("an interval join has no keys"))?;
                    let id = self.sides[side].add_batch(batch);
                    for (row, ts) in times.iter().enumerate() {
                        let was_matched = matched.get(seen).copied().ok_or_else(|| {
                            RunError::data("the saved interval join state is cut short")
                        })?;
                        seen += 1;
                        let (Some(ts), key) = (*ts, keys.row(row)) else {
                            continue;
                        };
                        if !me.owns(key.as_ref()) {
                            continue;
                        }
                        self.sides[side].hold(
                            key.as_ref(),
                            HeldRow {
                                ts,
                                batch: id,
                                row: row as u32,
                                matched: was_matched,
                            },
                        );
                    }
                    self.sides[side].drop_if_unused(id);
                }
            }
            r.end()?;
        }
        self.publish();
        Ok(())
    }
}

#[cfg(test)]
#[path = "interval_join_tests.rs"]
mod tests;
