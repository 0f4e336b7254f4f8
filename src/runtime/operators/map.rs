//! Map: computes new columns with planned expressions, laid out as the plan says.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::expr::ProjectionItem;
use crate::model::kinds::map::{ColumnSource, PlannedMap};
use crate::runtime::contract::evaluate::evaluate;
use crate::runtime::contract::{OpResult, Operator, Output, SendFailure, fail};

pub struct MapOperator {
    items: Vec<ProjectionItem>,
    columns: Vec<ColumnSource>,
    output_schema: SchemaRef,
}

pub fn build(planned: &PlannedMap, output_schema: SchemaRef) -> Box<dyn Operator> {
    Box::new(MapOperator {
        items: planned.items.clone(),
        columns: planned.columns.clone(),
        output_schema,
    })
}

impl Operator for MapOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let result = map_batch(&self.items, &self.columns, &self.output_schema, &batch)?;
        out.emit(0, result)
    }
}

/// The rows of `batch` mapped as a planned Map says (a Firehose transformation maps the same way).
pub fn map_batch(
    items: &[ProjectionItem],
    columns: &[ColumnSource],
    output_schema: &SchemaRef,
    batch: &RecordBatch,
) -> Result<RecordBatch, SendFailure> {
    let mut computed: Vec<ArrayRef> = Vec::with_capacity(items.len());
    for item in items {
        computed.push(evaluate(&item.expr, batch)?);
    }
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(columns.len());
    for column in columns {
        let array = match column {
            ColumnSource::Input(i) => batch.columns().get(*i),
            ColumnSource::Computed(i) => computed.get(*i),
        };
        arrays.push(Arc::clone(
            array.ok_or_else(|| fail("a Map column is missing"))?,
        ));
    }
    RecordBatch::try_new(Arc::clone(output_schema), arrays).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::{CheckContext, KindModel, PortInput, Report};
    use crate::model::kinds::PlannedKind;
    use crate::model::kinds::map::MapTransform;
    use crate::model::time::TimeAttr;
    use arrow::array::{Float64Array, Int64Array};

    #[test]
    fn computes_columns_and_replaces_an_input_column_in_place() {
        let batch = RecordBatch::try_from_iter([
            ("a", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
            (
                "b",
                Arc::new(Float64Array::from(vec![0.5, 4.0])) as ArrayRef,
            ),
        ])
        .unwrap();
        let config = MapTransform {
            columns: vec!["b * 2 AS b".into(), "a + 1 AS c".into()],
            keep_input_columns: true,
        };
        let input = PortInput {
            schema: batch.schema(),
            time: TimeAttr::Processing,
        };
        let ctx = CheckContext {
            base_dir: std::path::Path::new("."),
        };
        let mut report = Report::new("m");
        let planned = config.plan(&[input], &ctx, &mut report).unwrap();
        let PlannedKind::Map(map) = &planned.kind else {
            panic!("not a map")
        };
        let schema = planned.outputs[0].schema.clone();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        let mut operator = build(map, schema);
        let (mut out, captured) = Output::capturing(1);
        operator.on_batch(0, batch, &mut out).unwrap();
        let result = &captured.batches(0)[0];
        let b = result
            .column(1)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(b.values().to_vec(), vec![1.0, 8.0]);
        let c = result
            .column(2)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap();
        assert_eq!(c.values().to_vec(), vec![2, 3]);
    }
}
