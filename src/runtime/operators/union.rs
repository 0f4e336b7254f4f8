//! Union: passes rows from every input to one output, with the schema of the output port.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::runtime::contract::{OpResult, Operator, Output, fail};

pub struct UnionOperator {
    /// Inputs may differ in nullability only; rows are re-labelled with the output schema.
    output_schema: SchemaRef,
}

pub fn build(output_schema: SchemaRef) -> Box<dyn Operator> {
    Box::new(UnionOperator { output_schema })
}

impl Operator for UnionOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let rows = RecordBatch::try_new(Arc::clone(&self.output_schema), batch.columns().to_vec())
            .map_err(|e| fail(e.to_string()))?;
        out.emit(0, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::datatypes::{DataType, Field, Schema};

    #[test]
    fn rows_from_every_input_leave_with_the_output_schema() {
        let output = Arc::new(Schema::new(vec![Field::new("v", DataType::Int64, true)]));
        let mut operator = build(Arc::clone(&output));
        let (mut out, captured) = Output::capturing(1);
        for (port, values) in [(0, vec![1, 2]), (1, vec![3])] {
            let batch =
                RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(values)) as ArrayRef)])
                    .unwrap();
            operator.on_batch(port, batch, &mut out).unwrap();
        }
        let batches = captured.batches(0);
        assert_eq!(batches.len(), 2);
        assert!(batches.iter().all(|b| b.schema() == output));
    }
}
