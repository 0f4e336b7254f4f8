//! Count windows: every `size` rows of a key form a window. Like Flink's countWindow, a partial
//! window at the end of the input does not fire. `window_start`/`window_end` span the rows' event
//! times (`end` is the newest event time + 1 ms, keeping `[start, end)`).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::accumulate::{Acc, Aggregates};
use super::emit::{ResultRow, results_batch};
use super::keyed_state::KeyTable;
use super::saved::{AccReader, AccWriter};
use crate::model::time::RowTime;
use crate::runtime::clock::Clock;
use crate::runtime::contract::{
    InstanceMetrics, OpResult, Operator, Output, RunError, SendFailure,
};
use crate::runtime::keys::InstanceOf;

struct Pending {
    rows: u64,
    first: i64,
    last: i64,
    accs: Vec<Acc>,
}

pub struct CountWindowOperator {
    size: u64,
    time: RowTime,
    aggregates: Aggregates,
    output_schema: SchemaRef,
    keys: KeyTable,
    metrics: Arc<InstanceMetrics>,
    pending: FxHashMap<u32, Pending>,
}

impl CountWindowOperator {
    pub fn new(
        size: u64,
        time: RowTime,
        aggregates: Aggregates,
        output_schema: SchemaRef,
        keys: KeyTable,
        metrics: Arc<InstanceMetrics>,
    ) -> Self {
        Self {
            size,
            time,
            aggregates,
            output_schema,
            keys,
            metrics,
            pending: FxHashMap::default(),
        }
    }
}

impl Operator for CountWindowOperator {
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        self.save().map(Some).map_err(SendFailure::Failed)
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        for blob in saved {
            self.restore(blob, me)?;
        }
        self.publish_state_size();
        Ok(())
    }

    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let prepared = self.aggregates.prepare(&batch)?;
        let key_rows = self.keys.encoder.encode(&batch)?;
        let event_times = match self.time {
            RowTime::Event { column, shift_ms } => Some((
                batch
                    .column(column)
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(|| RunError::internal("the time column is not a TIMESTAMP(3)"))?
                    .clone(),
                shift_ms,
            )),
            RowTime::Processing => None,
        };
        let now = Clock::now_millis();
        let mut done: Vec<(u32, Pending)> = Vec::new();
        for row in 0..batch.num_rows() {
            let ts = match &event_times {
                Some((a, shift)) if a.is_valid(row) => a.value(row) + shift,
                Some(_) => {
                    InstanceMetrics::add(&self.metrics.dropped_rows, 1);
                    continue;
                }
                None => now,
            };
            let key = self.keys.id(key_rows.as_ref(), row);
            let aggregates = &self.aggregates;
            if !self.pending.contains_key(&key) {
                self.keys.retain(key);
            }
            let pending = self.pending.entry(key).or_insert_with(|| Pending {
                rows: 0,
                first: ts,
                last: ts,
                accs: aggregates.new_states(),
            });
            pending.rows += 1;
            pending.first = pending.first.min(ts);
            pending.last = pending.last.max(ts);
            aggregates.update(&mut pending.accs, &prepared, row, ts);
            if pending.rows >= self.size
                && let Some(full) = self.pending.remove(&key)
            {
                done.push((key, full));
            }
        }
        self.keys.sweep();
        if done.is_empty() {
            self.publish_state_size();
            return Ok(());
        }
        let rows: Vec<ResultRow> = done
            .iter()
            .map(|(key, p)| ResultRow {
                key: *key,
                start: p.first,
                end: p.last + 1,
                accs: &p.accs,
            })
            .collect();
        let result = results_batch(&rows, &self.keys, &self.aggregates, &self.output_schema)?;
        // A key is held while its window fills; a key whose window fired is freed until it
        // comes again.
        for (key, _) in &done {
            self.keys.release(*key);
        }
        self.publish_state_size();
        out.emit(0, result)
    }
}

impl CountWindowOperator {
    /// Version 1: `u8(1) u32(next key id) u64(windows)`, then per filling window in key order
    /// `u32(key id) bytes(key) u64(rows) i64(first) i64(last)` and its accumulators.
    fn save(&self) -> Result<Vec<u8>, RunError> {
        let mut w = AccWriter::new(&self.aggregates);
        w.body.u8(1);
        w.body.u32(self.keys.next_id());
        let mut order: Vec<&u32> = self.pending.keys().collect();
        order.sort_unstable();
        w.body.u64(order.len() as u64);
        for key in order {
            let Some(p) = self.pending.get(key) else {
                continue;
            };
            w.body.u32(*key);
            w.body.bytes(self.keys.bytes_of(*key).unwrap_or_default());
            w.body.u64(p.rows);
            w.body.i64(p.first);
            w.body.i64(p.last);
            w.accs(&p.accs);
        }
        w.finish()
    }

    fn restore(&mut self, blob: &[u8], me: InstanceOf) -> Result<(), RunError> {
        let mut r = AccReader::new(blob, &self.aggregates)?;
        if r.body.u8()? != 1 {
            return Err(RunError::data(
                "the saved count window state has an unknown version",
            ));
        }
        let next = r.body.u32()?;
        let count = r.body.count(30)?;
        let global = self.keys.encoder.is_global();
        for _ in 0..count {
            let saved_key = r.body.u32()?;
            let bytes = r.body.bytes()?;
            let rows = r.body.u64()?;
            let first = r.body.i64()?;
            let last = r.body.i64()?;
            let accs = r.accs(&self.aggregates)?;
            if !global && !me.owns(bytes) {
                continue;
            }
            let key = if global {
                0
            } else {
                let key = self.keys.restore(saved_key, bytes, next);
                self.keys.retain(key);
                key
            };
            self.pending.insert(
                key,
                Pending {
                    rows,
                    first,
                    last,
                    accs,
                },
            );
        }
        r.body.end()
    }

    fn publish_state_size(&self) {
        self.metrics
            .open_windows
            .store(self.pending.len() as u64, Relaxed);
        self.metrics.keys.store(self.keys.len() as u64, Relaxed);
    }
}
