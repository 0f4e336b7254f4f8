//! Map: computes new columns with planned expressions, keeping the input columns or not.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::expr::ProjectionItem;
use crate::runtime::operator::{OpResult, Operator, fail};
use crate::runtime::outputs::Output;

/// Where each output column comes from.
pub enum ColumnSource {
    Input(usize),
    Computed(usize),
}

pub struct MapOperator {
    pub items: Vec<ProjectionItem>,
    pub columns: Vec<ColumnSource>,
    pub output_schema: SchemaRef,
}

impl MapOperator {
    /// Lays out the output columns as the model's schema inference did.
    pub fn new(
        items: Vec<ProjectionItem>,
        keep_input: bool,
        input: &SchemaRef,
        output: SchemaRef,
    ) -> Self {
        let columns = output
            .fields()
            .iter()
            .map(
                |field| match items.iter().position(|item| item.name == *field.name()) {
                    Some(i) => ColumnSource::Computed(i),
                    None if keep_input => {
                        ColumnSource::Input(input.index_of(field.name()).unwrap_or(0))
                    }
                    None => ColumnSource::Computed(0),
                },
            )
            .collect();
        Self {
            items,
            columns,
            output_schema: output,
        }
    }
}

impl Operator for MapOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let mut computed: Vec<ArrayRef> = Vec::with_capacity(self.items.len());
        for item in &self.items {
            let array = item
                .expr
                .evaluate(&batch)
                .map_err(|e| fail(format!("evaluating `{}`: {e}", item.expr.text)))?;
            computed.push(array);
        }
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|c| match c {
                ColumnSource::Input(i) => Arc::clone(batch.column(*i)),
                ColumnSource::Computed(i) => Arc::clone(&computed[*i]),
            })
            .collect();
        let result = RecordBatch::try_new(Arc::clone(&self.output_schema), arrays)
            .map_err(|e| fail(e.to_string()))?;
        out.emit(0, result)
    }
}
