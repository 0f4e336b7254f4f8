//! Route: each row goes to the first route whose condition holds, or to `unmatched`.

use arrow::array::BooleanArray;
use arrow::compute::filter_record_batch;
use arrow::record_batch::RecordBatch;

use super::filter::predicate_mask;
use crate::expr::PlannedExpr;
use crate::runtime::operator::{OpResult, Operator, fail};
use crate::runtime::outputs::Output;

pub struct RouteOperator {
    /// One predicate per route, in order; the port after the last route is `unmatched`.
    pub predicates: Vec<PlannedExpr>,
}

impl Operator for RouteOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let mut taken = vec![false; batch.num_rows()];
        for (port, predicate) in self.predicates.iter().enumerate() {
            let mask = predicate_mask(predicate, &batch).map_err(fail)?;
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
