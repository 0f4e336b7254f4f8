//! The in-memory sink behind the app's Chart and Table views (and the tests): it keeps result rows
//! and publishes them as immutable snapshots, so a reader drawing a chart never holds it up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use crate::model::kinds::table::TableView;
use crate::runtime::contract::{
    Collected, CollectedRows, InstanceOf, OpResult, Operator, Output, RunError, SendFailure,
};

/// A new snapshot is published at most this often while rows arrive (and always at the end): often
/// enough for charts at 30 frames per second, rare enough that copying the list of batches is cheap.
const PUBLISH_EVERY: Duration = Duration::from_millis(25);

pub struct CollectorSink {
    rows: CollectedRows,
    max_rows: usize,
    working: Collected,
    published_at: Option<Instant>,
}

/// A collecting sink keeping at most `max_rows` rows, and the handle its readers use.
pub fn build(max_rows: usize) -> (Box<dyn Operator>, CollectedRows) {
    let (sink, rows) = CollectorSink::new(max_rows);
    (Box::new(sink), rows)
}

/// Wraps `inner` so a copy of every row it receives is kept in memory too.
pub fn tee(inner: Box<dyn Operator>) -> (Box<dyn Operator>, CollectedRows) {
    let (copy, rows) = CollectorSink::new(usize::MAX);
    (Box::new(TeeSink { inner, copy }), rows)
}

impl CollectorSink {
    fn new(max_rows: usize) -> (Self, CollectedRows) {
        let rows = CollectedRows::default();
        let sink = Self {
            rows: rows.clone(),
            max_rows,
            working: Collected::default(),
            published_at: None,
        };
        (sink, rows)
    }

    fn publish(&mut self, finished: bool) {
        let due = self
            .published_at
            .is_none_or(|at| at.elapsed() >= PUBLISH_EVERY);
        if !(due || finished) {
            return;
        }
        let snapshot = Arc::new(self.working.clone());
        if finished {
            self.rows.publish(snapshot);
        } else if self.rows.try_publish(snapshot) {
            self.published_at = Some(Instant::now());
        }
    }
}

impl Operator for CollectorSink {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        let collected = &mut self.working;
        collected.rows += batch.num_rows();
        collected.batches.push(batch);
        collected.version += 1;
        let mut evicted = 0;
        while collected.rows > self.max_rows && evicted + 1 < collected.batches.len() {
            collected.rows -= collected.batches[evicted].num_rows();
            collected.evicted_rows += collected.batches[evicted].num_rows();
            evicted += 1;
        }
        collected.batches.drain(..evicted);
        self.publish(false);
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Output) -> OpResult {
        self.working.finished = true;
        self.working.version += 1;
        self.publish(true);
        Ok(())
    }

    fn on_abort(&mut self) {
        self.publish(true);
    }
}

/// Keeps a copy of a sink's rows in memory as well.
struct TeeSink {
    inner: Box<dyn Operator>,
    copy: CollectorSink,
}

impl Operator for TeeSink {
    fn on_batch(&mut self, port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        self.copy.on_batch(port, batch.clone(), out)?;
        self.inner.on_batch(port, batch, out)
    }

    fn on_end(&mut self, out: &mut Output) -> OpResult {
        self.copy.on_end(out)?;
        self.inner.on_end(out)
    }

    fn on_abort(&mut self) {
        self.copy.on_abort();
        self.inner.on_abort();
    }

    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        self.inner.save_state()
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        self.inner.restore_state(saved, me)
    }
}

/// What a Table sink shows now: its newest rows, or its leaderboard.
pub fn table_view(collected: &Collected, view: &TableView) -> Result<Option<RecordBatch>, String> {
    use arrow::compute::{SortOptions, concat_batches, sort_to_indices, take_record_batch};
    let Some(first) = collected.batches.first() else {
        return Ok(None);
    };
    let all = concat_batches(&first.schema(), &collected.batches).map_err(|e| e.to_string())?;
    match view {
        TableView::Latest(n) => {
            let n = (*n as usize).min(all.num_rows());
            Ok(Some(all.slice(all.num_rows() - n, n)))
        }
        TableView::Top(top) => {
            // One row per key: the newest result replaces older ones (a window re-firing, say).
            let keys: Vec<usize> = top
                .unique_by
                .iter()
                .filter_map(|c| all.schema().index_of(c).ok())
                .collect();
            let mut newest: std::collections::HashMap<Vec<String>, usize> =
                std::collections::HashMap::new();
            for row in 0..all.num_rows() {
                let key: Vec<String> = keys
                    .iter()
                    .map(|&c| crate::values::cell_text(all.column(c).as_ref(), row))
                    .collect();
                newest.insert(
                    if keys.is_empty() {
                        vec![row.to_string()]
                    } else {
                        key
                    },
                    row,
                );
            }
            let mut rows: Vec<u32> = newest.into_values().map(|r| r as u32).collect();
            rows.sort_unstable();
            let unique = take_record_batch(&all, &arrow::array::UInt32Array::from(rows))
                .map_err(|e| e.to_string())?;
            let column = unique
                .schema()
                .index_of(&top.order_by)
                .map_err(|_| format!("no column `{}`", top.order_by))?;
            let order = sort_to_indices(
                unique.column(column),
                Some(SortOptions {
                    descending: top.descending,
                    nulls_first: false,
                }),
                Some(top.n as usize),
            )
            .map_err(|e| e.to_string())?;
            Ok(Some(
                take_record_batch(&unique, &order).map_err(|e| e.to_string())?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};

    fn batch(values: Vec<i64>) -> RecordBatch {
        RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(values)) as ArrayRef)]).unwrap()
    }

    #[test]
    fn readers_keep_their_snapshot_while_the_sink_goes_on() {
        let (mut sink, rows) = build(3);
        let (mut out, _) = Output::capturing(0);
        sink.on_batch(0, batch(vec![1, 2]), &mut out).unwrap();
        let early = rows.snapshot();
        assert_eq!(early.rows, 2);
        sink.on_batch(0, batch(vec![3, 4]), &mut out).unwrap();
        sink.on_end(&mut out).unwrap();
        // The snapshot taken earlier is unchanged; the final one dropped the oldest batch.
        assert_eq!(early.rows, 2);
        let last = rows.snapshot();
        assert!(last.finished);
        assert_eq!((last.rows, last.evicted_rows), (2, 2));
        assert!(last.version > early.version);
    }
}
