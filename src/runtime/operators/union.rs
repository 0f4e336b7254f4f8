//! Union: passes rows from every input to one output, with the schema of the output port.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::runtime::operator::{OpResult, Operator, fail};
use crate::runtime::outputs::Output;

pub struct UnionOperator {
    /// Inputs may differ in nullability only; rows are re-labelled with the output schema.
    pub output_schema: SchemaRef,
}

impl Operator for UnionOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let rows = RecordBatch::try_new(Arc::clone(&self.output_schema), batch.columns().to_vec())
            .map_err(|e| fail(e.to_string()))?;
        out.emit(0, rows)
    }
}
