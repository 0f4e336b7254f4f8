//! The in-memory sink: keeps result rows for the app's Chart and Table views and for tests.

use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;

use crate::runtime::operator::{OpResult, Operator};
use crate::runtime::outputs::Output;

/// Rows received by a collecting sink, newest last, capped so a long run stays in bounds.
#[derive(Debug, Default)]
pub struct Collected {
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    /// Rows let go to stay under the cap (oldest first).
    pub evicted_rows: usize,
    /// Increases with every batch, so a reader can tell something changed.
    pub version: u64,
    pub finished: bool,
}

/// Shared between the sink and its readers.
pub type CollectedRows = Arc<Mutex<Collected>>;

pub struct CollectorSink {
    pub rows: CollectedRows,
    pub max_rows: usize,
}

impl Operator for CollectorSink {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        let Ok(mut collected) = self.rows.lock() else {
            return Ok(());
        };
        collected.rows += batch.num_rows();
        collected.batches.push(batch);
        collected.version += 1;
        while collected.rows > self.max_rows && collected.batches.len() > 1 {
            let first = collected.batches.remove(0);
            collected.rows -= first.num_rows();
            collected.evicted_rows += first.num_rows();
        }
        Ok(())
    }

    fn on_end(&mut self, _out: &mut Output) -> OpResult {
        if let Ok(mut collected) = self.rows.lock() {
            collected.finished = true;
            collected.version += 1;
        }
        Ok(())
    }
}

/// What a Table sink shows now: its newest rows, or its leaderboard.
pub fn table_view(
    collected: &Collected,
    view: &crate::model::sink::TableView,
) -> Result<Option<RecordBatch>, String> {
    use crate::model::sink::TableView;
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
                    .map(|&c| super::values::cell_text(all.column(c).as_ref(), row))
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
