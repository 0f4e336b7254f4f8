//! A pattern's state in a checkpoint. Version 1: `u8(1)`, the bookkeeping as JSON (watermark,
//! counters, each key's runs and pending matches as indices into the rows), then three Arrow
//! batches: the rows still waiting for the watermark, the rows taken into runs (only the columns
//! navigations read have values), and each key's partition values. A restore keeps the keys that
//! are now its instance's.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, new_empty_array, new_null_array};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion_common::ScalarValue;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::java_heap::JavaHeap;
use super::navigate::MatchedRow;
use super::nfa::{Link, Run};
use super::{Partition, PatternOperator, arrow_err};
use crate::runtime::contract::{InstanceOf, RunError, StateReader, StateWriter};
use crate::runtime::row_times::row_times;

#[derive(Serialize, Deserialize)]
struct SavedRun {
    id: u64,
    start_seq: u64,
    start_ts: i64,
    step: usize,
    count: u32,
    /// (index into the saved rows, step).
    rows: Vec<(usize, usize)>,
}

#[derive(Serialize, Deserialize)]
struct SavedPartition {
    key: Vec<u8>,
    matches: u64,
    runs: Vec<SavedRun>,
    pending: Vec<SavedRun>,
}

#[derive(Serialize, Deserialize)]
struct Bookkeeping {
    watermark: i64,
    next_order: u64,
    next_run: u64,
    /// Time and match order of each saved row.
    rows: Vec<(i64, u64)>,
    partitions: Vec<SavedPartition>,
}

impl PatternOperator {
    pub(super) fn save(&self) -> Result<Vec<u8>, RunError> {
        let mut rows: Vec<Arc<MatchedRow>> = Vec::new();
        let mut index_of: FxHashMap<u64, usize> = FxHashMap::default();
        let mut save_run = |run: &Run| SavedRun {
            id: run.id,
            start_seq: run.start_seq,
            start_ts: run.start_ts,
            step: run.step,
            count: run.count,
            rows: run
                .mapped()
                .iter()
                .map(|(row, step)| {
                    let i = *index_of.entry(row.seq).or_insert_with(|| {
                        rows.push(Arc::clone(row));
                        rows.len() - 1
                    });
                    (i, *step)
                })
                .collect(),
        };
        let mut sorted: Vec<(&[u8], &super::Partition)> = self.partitions.iter().collect();
        sorted.sort_unstable_by_key(|(key, _)| *key);
        let mut partitions = Vec::with_capacity(sorted.len());
        let mut key_values: Vec<&[ScalarValue]> = Vec::with_capacity(sorted.len());
        for (key, p) in sorted {
            key_values.push(&p.key);
            partitions.push(SavedPartition {
                key: key.to_vec(),
                matches: p.matches,
                runs: p.runs.iter().map(&mut save_run).collect(),
                pending: p.pending.iter().map(&mut save_run).collect(),
            });
        }
        let book = Bookkeeping {
            watermark: self.watermark,
            next_order: self.next_order,
            next_run: self.next_run,
            rows: rows.iter().map(|r| (r.ts, r.seq)).collect(),
            partitions,
        };
        let mut w = StateWriter::new();
        w.u8(1);
        w.json(&book)?;
        w.batches(&[self.waiting_rows()?])?;
        w.batches(&[self.rows_batch(&rows)?])?;
        w.batches(&[self.keys_batch(&key_values)?])?;
        Ok(w.finish())
    }

    /// The rows waiting for the watermark, in order.
    fn waiting_rows(&self) -> Result<RecordBatch, RunError> {
        let mut columns = Vec::new();
        let order: Vec<(u32, u32)> = self.waiting.values().copied().collect();
        for (c, field) in self.input.fields().iter().enumerate() {
            let values = order
                .iter()
                .map(|(b, r)| {
                    let (batch, ..) = self
                        .batches
                        .get(b)
                        .ok_or_else(|| RunError::internal("a waiting row's batch is gone"))?;
                    ScalarValue::try_from_array(batch.column(c), *r as usize).map_err(arrow_err)
                })
                .collect::<Result<Vec<_>, _>>()?;
            columns.push(array_of(values, field)?);
        }
        RecordBatch::try_new(Arc::clone(&self.input), columns).map_err(arrow_err)
    }

    /// The rows taken into runs: the columns navigations read, NULL elsewhere.
    fn rows_batch(&self, rows: &[Arc<MatchedRow>]) -> Result<RecordBatch, RunError> {
        let schema = nullable(&self.input);
        let mut columns = Vec::new();
        for (c, field) in schema.fields().iter().enumerate() {
            if self.kept_columns.get(c).copied().unwrap_or(false) {
                let values = rows
                    .iter()
                    .map(|r| r.values.get(c).cloned().unwrap_or(ScalarValue::Null))
                    .collect();
                columns.push(array_of(values, field)?);
            } else {
                columns.push(new_null_array(field.data_type(), rows.len()));
            }
        }
        RecordBatch::try_new(schema, columns).map_err(arrow_err)
    }

    fn keys_batch(&self, keys: &[&[ScalarValue]]) -> Result<RecordBatch, RunError> {
        let fields: Vec<Field> = self
            .keys
            .columns()
            .iter()
            .map(|&c| self.input.field(c).clone().with_nullable(true))
            .collect();
        let mut columns = Vec::new();
        for (k, field) in fields.iter().enumerate() {
            let values = keys
                .iter()
                .map(|v| v.get(k).cloned().unwrap_or(ScalarValue::Null))
                .collect();
            columns.push(array_of(values, field)?);
        }
        RecordBatch::try_new_with_options(
            Arc::new(Schema::new(fields)),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(keys.len())),
        )
        .map_err(arrow_err)
    }

    pub(super) fn restore(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        for blob in saved {
            let mut r = StateReader::new(blob);
            if r.u8()? != 1 {
                return Err(RunError::data(
                    "the saved Pattern state has an unknown version",
                ));
            }
            let book: Bookkeeping = r.json()?;
            let waiting = r.batches()?;
            let rows = r.batches()?;
            let keys = r.batches()?;
            r.end()?;
            self.watermark = self.watermark.max(book.watermark);
            self.next_order = self.next_order.max(book.next_order);
            self.next_run = self.next_run.max(book.next_run);
            for batch in waiting {
                self.wait_again(batch, me)?;
            }
            let rows = rows.first();
            let matched: Vec<Arc<MatchedRow>> = book
                .rows
                .iter()
                .enumerate()
                .map(|(i, &(ts, seq))| {
                    let values = (0..self.input.fields().len())
                        .map(|c| match rows {
                            Some(b) if self.kept_columns.get(c).copied().unwrap_or(false) => {
                                ScalarValue::try_from_array(b.column(c), i).map_err(arrow_err)
                            }
                            _ => Ok(ScalarValue::Null),
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    // When it first arrived is not saved: the trace starts over with the run.
                    Ok(Arc::new(MatchedRow {
                        ts,
                        seq,
                        values,
                        arrived: f64::NAN,
                    }))
                })
                .collect::<Result<_, RunError>>()?;
            let run_of = |s: &SavedRun| -> Result<Run, RunError> {
                let mut tail: Option<Arc<Link>> = None;
                for &(i, step) in &s.rows {
                    let row = matched
                        .get(i)
                        .ok_or_else(|| RunError::data("the saved Pattern state is damaged"))?;
                    tail = Some(Arc::new(Link {
                        row: Arc::clone(row),
                        step,
                        prev: tail,
                    }));
                }
                let tail = tail.ok_or_else(|| RunError::data("a saved run has no rows"))?;
                if s.step >= self.steps.len() {
                    return Err(RunError::data(
                        "the saved Pattern state names a step the pattern has not",
                    ));
                }
                Ok(Run {
                    id: s.id,
                    start_seq: s.start_seq,
                    start_ts: s.start_ts,
                    step: s.step,
                    count: s.count,
                    tail,
                })
            };
            let key_batch = keys.first();
            for (i, p) in book.partitions.iter().enumerate() {
                if !me.owns(&p.key) {
                    continue;
                }
                let key = match key_batch {
                    Some(b) => b
                        .columns()
                        .iter()
                        .map(|c| ScalarValue::try_from_array(c, i).map_err(arrow_err))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => Vec::new(),
                };
                let partition = Partition {
                    key,
                    runs: p.runs.iter().map(run_of).collect::<Result<_, _>>()?,
                    pending: {
                        let mut heap = JavaHeap::new(super::start_of);
                        for saved in &p.pending {
                            heap.offer(run_of(saved)?);
                        }
                        heap
                    },
                    matches: p.matches,
                    last_ts: self.watermark,
                };
                self.partitions
                    .insert(p.key.clone().into_boxed_slice(), partition);
            }
        }
        self.publish();
        Ok(())
    }

    /// Puts saved waiting rows back in the queue, those of this instance's keys.
    fn wait_again(&mut self, batch: RecordBatch, me: InstanceOf) -> Result<(), RunError> {
        let times = row_times(self.time, &batch)?;
        let keys = self.keys.encode(&batch)?;
        let id = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let mut live = 0;
        let mut ordered: BTreeMap<(i64, u64), (u32, u32)> = BTreeMap::new();
        for (row, ts) in times.iter().enumerate() {
            let owned = keys.as_ref().is_none_or(|k| me.owns(k.row(row).as_ref()));
            if let (Some(ts), true) = (ts, owned) {
                ordered.insert((*ts, self.next_seq), (id, row as u32));
                self.next_seq += 1;
                live += 1;
            }
        }
        self.waiting.extend(ordered);
        if live > 0 {
            self.batches.insert(id, (batch, live, f64::NAN));
        }
        Ok(())
    }
}

/// `values` as an array of `field`'s type (empty or all NULL included).
fn array_of(values: Vec<ScalarValue>, field: &Field) -> Result<ArrayRef, RunError> {
    if values.is_empty() {
        return Ok(new_empty_array(field.data_type()));
    }
    let array = ScalarValue::iter_to_array(values).map_err(arrow_err)?;
    if array.data_type() == field.data_type() {
        Ok(array)
    } else {
        arrow::compute::cast(&array, field.data_type()).map_err(arrow_err)
    }
}

fn nullable(schema: &Schema) -> Arc<Schema> {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect::<Vec<_>>(),
    ))
}
