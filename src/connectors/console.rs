//! The console sink: rows printed as tables or JSON lines, up to a limit.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use arrow::util::pretty::pretty_format_batches;

use crate::model::kinds::console::{ConsoleFormat, ConsoleSink as ConsoleConfig};
use crate::runtime::contract::{ConsoleWriter, OpResult, Operator, Output, fail};
use crate::values::cell_json;

pub struct ConsoleSink {
    node: String,
    format: ConsoleFormat,
    max_rows: Option<u64>,
    printed: u64,
    writer: ConsoleWriter,
}

/// The console sink of node `node`.
pub fn build(node: &str, config: &ConsoleConfig, writer: &ConsoleWriter) -> Box<dyn Operator> {
    Box::new(ConsoleSink {
        node: node.to_string(),
        format: config.format,
        max_rows: config.max_rows,
        printed: 0,
        writer: Arc::clone(writer),
    })
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
        let text = match self.format {
            ConsoleFormat::Table => {
                let table = pretty_format_batches(&[batch]).map_err(|e| fail(e.to_string()))?;
                format!("[{}]\n{table}", self.node)
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
                lines.join("\n")
            }
        };
        (self.writer)(&text);
        if self.max_rows == Some(self.printed) {
            (self.writer)(&format!(
                "[{}] (reached max_rows; further rows are not printed)",
                self.node
            ));
        }
        Ok(())
    }
}
