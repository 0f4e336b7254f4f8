//! Route: each row goes to the first route whose condition holds, or to `unmatched`.

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;

use crate::expr::PlannedExpr;
use crate::model::kinds::route::PlannedRoute;
use crate::runtime::contract::evaluate::predicate_mask;
use crate::runtime::contract::{OpResult, Operator, Output, fail};

pub struct RouteOperator {
    /// One predicate per route, in order; the port after the last route is `unmatched`.
    predicates: Vec<PlannedExpr>,
}

pub fn build(planned: &PlannedRoute) -> Box<dyn Operator> {
    Box::new(RouteOperator {
        predicates: planned.predicates.clone(),
    })
}

impl Operator for RouteOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let mut taken = vec![false; batch.num_rows()];
        for (port, predicate) in self.predicates.iter().enumerate() {
            let mask = predicate_mask(predicate, &batch)?;
            let first_match: BooleanArray = (0..batch.num_rows())
                .map(|i| Some(!taken[i] && mask.value(i)))
                .collect();
            for (i, t) in taken.iter_mut().enumerate() {
                *t |= first_match.value(i);
            }
            if first_match.true_count() > 0 {
                let rows =
                    filter_record_batch(&batch, &first_match).map_err(|e| fail(e.to_string()))?;
                out.emit(port, rows)?;
            }
        }
        let rest: BooleanArray = taken.iter().map(|t| Some(!t)).collect();
        if rest.true_count() > 0 {
            let rows = filter_record_batch(&batch, &rest).map_err(|e| fail(e.to_string()))?;
            out.emit(self.predicates.len(), rows)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::plan_predicate;
    use arrow::array::{ArrayRef, Int64Array};
    use std::sync::Arc;

    #[test]
    fn a_row_takes_the_first_route_that_matches_and_the_rest_are_unmatched() {
        let batch = RecordBatch::try_from_iter([(
            "t",
            Arc::new(Int64Array::from(vec![35, 25, 5, 40])) as ArrayRef,
        )])
        .unwrap();
        let schema = batch.schema();
        let predicates = vec![
            plan_predicate("t > 30", &schema).unwrap(),
            plan_predicate("t > 20", &schema).unwrap(),
        ];
        let mut operator = build(&PlannedRoute { predicates });
        let (mut out, captured) = Output::capturing(3);
        operator.on_batch(0, batch, &mut out).unwrap();
        let values = |port: usize| -> Vec<i64> {
            captured
                .batches(port)
                .iter()
                .flat_map(|b| {
                    b.column(0)
                        .as_any()
                        .downcast_ref::<Int64Array>()
                        .unwrap()
                        .values()
                        .to_vec()
                })
                .collect()
        };
        assert_eq!(values(0), vec![35, 40]);
        assert_eq!(values(1), vec![25]);
        assert_eq!(values(2), vec![5]);
    }
}
