//! Count windows: every `size` rows of a key form a window. Like Flink's countWindow, a partial
//! window at the end of the input does not fire. `window_start`/`window_end` span the rows' event
//! times (`end` is the newest event time + 1 ms, keeping `[start, end)`).

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, ArrayRef, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::accumulate::{Acc, Aggregates};
use super::keyed_state::KeyTable;
use super::time_windows::RowTime;
use crate::runtime::clock::Clock;
use crate::runtime::metrics::InstanceMetrics;
use crate::runtime::operator::{OpResult, Operator, fail};
use crate::runtime::outputs::Output;

struct Pending {
    rows: u64,
    first: i64,
    last: i64,
    accs: Vec<Acc>,
}

pub struct CountWindowOperator {
    pub size: u64,
    pub time: RowTime,
    pub aggregates: Aggregates,
    pub output_schema: SchemaRef,
    pub keys: KeyTable,
    pub metrics: Arc<InstanceMetrics>,
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
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let prepared = self.aggregates.prepare(&batch).map_err(fail)?;
        let key_rows = self
            .keys
            .encoder
            .encode(&batch)
            .map_err(|e| fail(e.message))?;
        let event_times = match self.time {
            RowTime::Event { column, shift_ms } => Some((
                batch
                    .column(column)
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(|| fail("the time column is not a TIMESTAMP(3)"))?
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
        self.metrics
            .open_windows
            .store(self.pending.len() as u64, Relaxed);
        self.metrics.keys.store(self.keys.len() as u64, Relaxed);
        if done.is_empty() {
            return Ok(());
        }
        let ids: Vec<u32> = done.iter().map(|(k, _)| *k).collect();
        let mut columns: Vec<ArrayRef> = self.keys.columns(&ids).map_err(|e| fail(e.message))?;
        columns.push(Arc::new(TimestampMillisecondArray::from_iter_values(
            done.iter().map(|(_, p)| p.first),
        )));
        columns.push(Arc::new(TimestampMillisecondArray::from_iter_values(
            done.iter().map(|(_, p)| p.last + 1),
        )));
        let states: Vec<&[Acc]> = done.iter().map(|(_, p)| p.accs.as_slice()).collect();
        columns.extend(self.aggregates.finish(&states).map_err(fail)?);
        let result = RecordBatch::try_new(Arc::clone(&self.output_schema), columns)
            .map_err(|e| fail(e.to_string()))?;
        out.emit(0, result)
    }
}
