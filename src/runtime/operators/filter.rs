//! Filter: keeps the rows for which the planned predicate is true (null counts as false).

use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;

use crate::expr::PlannedExpr;
use crate::model::kinds::filter::PlannedFilter;
use crate::runtime::contract::evaluate::predicate_mask;
use crate::runtime::contract::{OpResult, Operator, Output, fail};

pub struct FilterOperator {
    predicate: PlannedExpr,
}

pub fn build(planned: &PlannedFilter) -> Box<dyn Operator> {
    Box::new(FilterOperator {
        predicate: planned.predicate.clone(),
    })
}

impl Operator for FilterOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let mask = predicate_mask(&self.predicate, &batch)?;
        let kept = if mask.true_count() == batch.num_rows() {
            batch
        } else {
            filter_record_batch(&batch, &mask).map_err(|e| fail(e.to_string()))?
        };
        out.emit(0, kept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::plan_predicate;
    use arrow::array::{ArrayRef, Float64Array};
    use std::sync::Arc;

    #[test]
    fn keeps_rows_where_the_condition_holds_and_null_is_no() {
        let batch = RecordBatch::try_from_iter([(
            "v",
            Arc::new(Float64Array::from(vec![
                Some(12.0),
                Some(3.0),
                None,
                Some(10.5),
            ])) as ArrayRef,
        )])
        .unwrap();
        let predicate = plan_predicate("v > 10", &batch.schema()).unwrap();
        let mut operator = build(&PlannedFilter { predicate });
        let (mut out, captured) = Output::capturing(1);
        operator.on_batch(0, batch, &mut out).unwrap();
        let kept = &captured.batches(0)[0];
        let values = kept
            .column(0)
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap();
        assert_eq!(values.values().to_vec(), vec![12.0, 10.5]);
    }
}
