//! The console sink: rows printed as tables or JSON lines, up to a limit. A table holds what arrived
//! between two watermarks, so one firing of a window (from every instance) prints as one table.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;

use crate::model::kinds::console::{ConsoleFormat, ConsoleSink as ConsoleConfig};
use crate::runtime::contract::{ConsoleWriter, OpResult, Operator, Output, Timestamp, fail};
use crate::values::cell_json;

pub struct ConsoleSink {
    node: String,
    format: ConsoleFormat,
    max_rows: Option<u64>,
    printed: u64,
    writer: ConsoleWriter,
    /// Rows waiting for the watermark to move on, to print as one table.
    pending: Vec<RecordBatch>,
    pending_rows: usize,
}

/// A table is printed once this many rows wait, watermark or not.
const MAX_TABLE_ROWS: usize = 1_000;

/// The console sink of node `node`.
pub fn build(node: &str, config: &ConsoleConfig, writer: &ConsoleWriter) -> Box<dyn Operator> {
    Box::new(ConsoleSink {
        node: node.to_string(),
        format: config.format,
        max_rows: config.max_rows,
        printed: 0,
        writer: Arc::clone(writer),
        pending: Vec::new(),
        pending_rows: 0,
    })
}

impl ConsoleSink {
    /// Prints the waiting rows as one table.
    fn flush_table(&mut self) -> OpResult {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batches = std::mem::take(&mut self.pending);
        self.pending_rows = 0;
        let table = pretty_format_batches(&batches).map_err(|e| fail(e.to_string()))?;
        (self.writer)(&format!("[{}]\n{table}", self.node));
        self.say_if_full();
        Ok(())
    }

    fn say_if_full(&self) {
        if self.max_rows == Some(self.printed) {
            (self.writer)(&format!(
                "[{}] (reached max_rows; further rows are not printed)",
                self.node
            ));
        }
    }
}

impl Operator for ConsoleSink {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        let remaining = self
            .max_rows
            .map_or(u64::MAX, |m| m.saturating_sub(self.printed));
        if remaining == 0 {
            return Ok(());
        }
        let batch = if (batch.num_rows() as u64) > remaining {
            batch.slice(0, remaining as usize)
        } else {
            batch
        };
        self.printed += batch.num_rows() as u64;
        match self.format {
            ConsoleFormat::Table => {
                self.pending_rows += batch.num_rows();
                self.pending.push(batch);
                if self.pending_rows >= MAX_TABLE_ROWS || self.max_rows == Some(self.printed) {
                    self.flush_table()?;
                }
            }
            ConsoleFormat::JsonLines => {
                let mut lines = Vec::with_capacity(batch.num_rows());
                for row in 0..batch.num_rows() {
                    let mut object = serde_json::Map::new();
                    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
                        object.insert(field.name().clone(), cell_json(column.as_ref(), row));
                    }
                    lines.push(format!(
                        "[{}] {}",
                        self.node,
                        serde_json::Value::Object(object)
                    ));
                }
                (self.writer)(&lines.join("\n"));
                self.say_if_full();
            }
        }
        Ok(())
    }

    fn on_watermark(&mut self, _watermark: Timestamp, _out: &mut Output) -> OpResult {
        self.flush_table()
    }

    fn on_end(&mut self, _out: &mut Output) -> OpResult {
        self.flush_table()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn rows(values: &[i64]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(values.to_vec()))]).unwrap()
    }

    #[test]
    fn what_arrives_between_two_watermarks_prints_as_one_table() {
        let printed: Arc<Mutex<Vec<String>>> = Arc::default();
        let into = Arc::clone(&printed);
        let writer: ConsoleWriter = Arc::new(move |text: &str| {
            into.lock().unwrap().push(text.to_string());
        });
        let config = ConsoleConfig {
            format: ConsoleFormat::Table,
            max_rows: None,
        };
        let mut sink = build("results", &config, &writer);
        let (mut out, _) = Output::capturing(0);
        // One firing's results, from two window instances.
        sink.on_batch(0, rows(&[1, 2]), &mut out).unwrap();
        sink.on_batch(0, rows(&[3]), &mut out).unwrap();
        assert!(printed.lock().unwrap().is_empty());
        sink.on_watermark(10, &mut out).unwrap();
        sink.on_batch(0, rows(&[4]), &mut out).unwrap();
        sink.on_end(&mut out).unwrap();
        let printed = printed.lock().unwrap();
        assert_eq!(printed.len(), 2, "{printed:?}");
        for n in ["1", "2", "3"] {
            assert!(printed[0].contains(&format!("| {n} |")), "{}", printed[0]);
        }
        assert!(printed[1].contains("| 4 |"));
        assert_eq!(printed[0].matches("| n |").count(), 1, "one header");
    }
}
