//! Deduplicate: a row is dropped (sent to `duplicates`) when a row with its key was kept less than
//! `within` away from it in event time. Each key keeps the times of its kept rows; a time is let go
//! once the watermark has passed it by `within`, when no row on time can be its copy any more (a
//! copy that arrives later than that is late, and passes as new).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use crate::model::kinds::deduplicate::PlannedDeduplicate;
use crate::model::time::RowTime;
use crate::runtime::contract::{
    InstanceMetrics, OpResult, Operator, Output, RunError, SendFailure, Timestamp, fail,
};
use crate::runtime::contract::{StateReader, StateWriter};
use crate::runtime::keys::{InstanceOf, KeyEncoder};
use crate::runtime::row_times::row_times;

/// The port index of `duplicates`.
const DUPLICATES_PORT: usize = 1;

pub struct DeduplicateOperator {
    keys: KeyEncoder,
    within_ms: i64,
    time: RowTime,
    /// Per key: the event times of the rows kept.
    kept: FxHashMap<Box<[u8]>, Vec<Timestamp>>,
    /// When to look at a key again: the watermark at which one of its kept times expires.
    expiries: BTreeMap<Timestamp, Vec<Box<[u8]>>>,
    metrics: Arc<InstanceMetrics>,
}

pub fn build(
    planned: &PlannedDeduplicate,
    input: &arrow::datatypes::SchemaRef,
    metrics: &Arc<InstanceMetrics>,
) -> Result<Box<dyn Operator>, RunError> {
    Ok(Box::new(DeduplicateOperator {
        keys: KeyEncoder::new(input, &planned.key_by)?,
        within_ms: planned.within_ms,
        time: planned.time,
        kept: FxHashMap::default(),
        expiries: BTreeMap::new(),
        metrics: Arc::clone(metrics),
    }))
}

impl DeduplicateOperator {
    /// Whether the row with `key` at `ts` is a copy; if not, it is kept and remembered.
    fn is_copy(&mut self, key: &[u8], ts: Timestamp) -> bool {
        let within = self.within_ms;
        if let Some(times) = self.kept.get_mut(key) {
            if times.iter().any(|&t| ts.abs_diff(t) < within as u64) {
                return true;
            }
            times.push(ts);
        } else {
            self.kept.insert(key.into(), vec![ts]);
        }
        self.expiries
            .entry(ts.saturating_add(within - 1))
            .or_default()
            .push(key.into());
        false
    }
}

impl Operator for DeduplicateOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let times = row_times(self.time, &batch)?;
        let Some(keys) = self.keys.encode(&batch)? else {
            return Err(fail("a Deduplicate has no key columns"));
        };
        let mut copies = 0usize;
        let keep: BooleanArray = times
            .iter()
            .enumerate()
            .map(|(row, ts)| {
                // A row without a time cannot be judged: it is passed on.
                let copy = ts.is_some_and(|ts| self.is_copy(keys.row(row).as_ref(), ts));
                copies += usize::from(copy);
                Some(!copy)
            })
            .collect();
        self.metrics.keys.store(self.kept.len() as u64, Relaxed);
        if copies == 0 {
            return out.emit(0, batch);
        }
        let kept = filter_record_batch(&batch, &keep).map_err(|e| fail(e.to_string()))?;
        out.emit(0, kept)?;
        if out.is_connected(DUPLICATES_PORT) {
            let copies_mask = arrow::compute::not(&keep).map_err(|e| fail(e.to_string()))?;
            let duplicates =
                filter_record_batch(&batch, &copies_mask).map_err(|e| fail(e.to_string()))?;
            out.emit_side(DUPLICATES_PORT, duplicates)?;
        } else {
            InstanceMetrics::add(&self.metrics.dropped_rows, copies as u64);
        }
        Ok(())
    }

    fn on_watermark(&mut self, watermark: Timestamp, _out: &mut Output) -> OpResult {
        let within = self.within_ms;
        while let Some(entry) = self.expiries.first_entry() {
            if *entry.key() > watermark {
                break;
            }
            for key in entry.remove() {
                let Some(times) = self.kept.get_mut(&key) else {
                    continue;
                };
                times.retain(|&t| t.saturating_add(within - 1) > watermark);
                if times.is_empty() {
                    self.kept.remove(&key);
                }
            }
        }
        self.metrics.keys.store(self.kept.len() as u64, Relaxed);
        Ok(())
    }

    /// Version 1: `u8(1) u64(keys)`, then per key in byte order `bytes(key) u64(times) i64...`;
    /// the expiry index is derived from the times when restoring.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        let mut keys: Vec<&Box<[u8]>> = self.kept.keys().collect();
        keys.sort_unstable();
        w.u64(keys.len() as u64);
        for key in keys {
            w.bytes(key);
            let times = self.kept.get(key).map(Vec::as_slice).unwrap_or_default();
            w.u64(times.len() as u64);
            for &t in times {
                w.i64(t);
            }
        }
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        for blob in saved {
            let mut r = StateReader::new(blob);
            if r.u8()? != 1 {
                return Err(RunError::data(
                    "the saved Deduplicate state has an unknown version",
                ));
            }
            let keys = r.count(9)?;
            for _ in 0..keys {
                let key = r.bytes()?;
                let n = r.count(8)?;
                let mut times = Vec::with_capacity(n);
                for _ in 0..n {
                    times.push(r.i64()?);
                }
                if !me.owns(key) {
                    continue;
                }
                for &t in &times {
                    self.expiries
                        .entry(t.saturating_add(self.within_ms - 1))
                        .or_default()
                        .push(key.into());
                }
                self.kept.insert(key.into(), times);
            }
            r.end()?;
        }
        self.metrics.keys.store(self.kept.len() as u64, Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::contract::Captured;
    use arrow::array::{Array, ArrayRef, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::SchemaRef;

    const SECOND: i64 = 1_000;

    fn batch(rows: &[(&str, i64)]) -> RecordBatch {
        let keys: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
        let times: Vec<i64> = rows.iter().map(|(_, t)| *t).collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(StringArray::from(keys)) as ArrayRef),
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(times)) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn operator(schema: &SchemaRef) -> (Box<dyn Operator>, Arc<InstanceMetrics>) {
        let metrics = Arc::new(InstanceMetrics::new(1));
        let planned = PlannedDeduplicate {
            key_by: vec!["id".into()],
            within_ms: 60 * SECOND,
            time: RowTime::Event {
                column: 1,
                shift_ms: 0,
            },
        };
        (build(&planned, schema, &metrics).unwrap(), metrics)
    }

    fn rows(captured: &Captured, port: usize) -> Vec<String> {
        captured
            .batches(port)
            .iter()
            .flat_map(|b| {
                (0..b.num_rows())
                    .map(|r| {
                        let id = crate::values::cell_text(b.column(0).as_ref(), r);
                        let ts = b
                            .column(1)
                            .as_any()
                            .downcast_ref::<TimestampMillisecondArray>()
                            .unwrap()
                            .value(r);
                        format!("{id}@{}", ts / SECOND)
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_copy_within_the_span_is_dropped_and_one_past_it_is_kept() {
        let first = batch(&[("a", SECOND), ("a", SECOND), ("b", 2 * SECOND)]);
        let (mut op, _) = operator(&first.schema());
        let (mut out, captured) = Output::capturing(2);
        op.on_batch(0, first, &mut out).unwrap();
        // 59 s after the kept row is a copy; 60 s after it is a new occurrence; and a row out of
        // order, 30 s before the kept one, is a copy too.
        let second = batch(&[("a", 60 * SECOND), ("a", 61 * SECOND), ("b", -28 * SECOND)]);
        op.on_batch(0, second, &mut out).unwrap();
        assert_eq!(rows(&captured, 0), vec!["a@1", "b@2", "a@61"]);
        assert_eq!(rows(&captured, 1), vec!["a@1", "a@60", "b@-28"]);
    }

    #[test]
    fn the_watermark_frees_a_key_once_no_copy_on_time_can_come() {
        let first = batch(&[("a", SECOND), ("b", 50 * SECOND)]);
        let (mut op, metrics) = operator(&first.schema());
        let (mut out, captured) = Output::capturing(2);
        op.on_batch(0, first, &mut out).unwrap();
        assert_eq!(metrics.keys.load(Relaxed), 2);
        // `a`'s copies could come until 1 s + 60 s - 1 ms; a watermark just before keeps it.
        op.on_watermark(61 * SECOND - 2, &mut out).unwrap();
        assert_eq!(metrics.keys.load(Relaxed), 2);
        op.on_watermark(61 * SECOND - 1, &mut out).unwrap();
        assert_eq!(metrics.keys.load(Relaxed), 1);
        // A copy of `a` that late is no longer recognised: it passes as new.
        op.on_batch(0, batch(&[("a", SECOND), ("b", 50 * SECOND)]), &mut out)
            .unwrap();
        assert_eq!(rows(&captured, 0), vec!["a@1", "b@50", "a@1"]);
        assert_eq!(rows(&captured, 1), vec!["b@50"]);
    }

    #[test]
    fn unconnected_duplicates_are_counted() {
        let first = batch(&[("a", SECOND), ("a", SECOND), ("a", 2 * SECOND)]);
        let (mut op, metrics) = operator(&first.schema());
        let (mut out, captured) = Output::capturing(1);
        op.on_batch(0, first, &mut out).unwrap();
        assert_eq!(rows(&captured, 0), vec!["a@1"]);
        assert_eq!(metrics.dropped_rows.load(Relaxed), 2);
    }
}
