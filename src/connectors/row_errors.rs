//! Rows a source could not read, collected for its `errors` port: line number, raw text, reason.

use std::sync::Arc;

use arrow::array::{Int64Array, StringArray};
use arrow::record_batch::RecordBatch;

use crate::model::schema::errors_schema;

/// Bad rows of one chunk.
#[derive(Default)]
pub struct RowErrors {
    lines: Vec<i64>,
    raw: Vec<String>,
    reasons: Vec<String>,
}

impl RowErrors {
    pub fn push(&mut self, line: u64, raw: String, reason: String) {
        self.lines.push(line as i64);
        self.raw.push(raw);
        self.reasons.push(reason);
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Whether enough bad rows piled up that the chunk should be sent now (a file of garbage
    /// must not grow one chunk without bound).
    pub fn is_large(&self) -> bool {
        self.lines.len() >= 4096
    }

    /// The batch for the `errors` port, or `None` when every row was fine.
    pub fn take_batch(&mut self) -> Option<RecordBatch> {
        if self.is_empty() {
            return None;
        }
        let lines = Int64Array::from(std::mem::take(&mut self.lines));
        let raw = StringArray::from(std::mem::take(&mut self.raw));
        let reasons = StringArray::from(std::mem::take(&mut self.reasons));
        RecordBatch::try_new(
            errors_schema(),
            vec![Arc::new(lines), Arc::new(raw), Arc::new(reasons)],
        )
        .ok()
    }
}
