//! Filter: keeps the rows for which the planned predicate is true (null counts as false).

use arrow::array::{Array, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::compute::kernels::boolean::is_not_null;
use arrow::record_batch::RecordBatch;

use crate::expr::PlannedExpr;
use crate::runtime::operator::{OpResult, Operator, fail};
use crate::runtime::outputs::Output;

pub struct FilterOperator {
    pub predicate: PlannedExpr,
}

/// Evaluates a predicate to a mask where null means "no".
pub fn predicate_mask(
    predicate: &PlannedExpr,
    batch: &RecordBatch,
) -> Result<BooleanArray, String> {
    let result = predicate
        .evaluate(batch)
        .map_err(|e| format!("evaluating `{}`: {e}", predicate.text))?;
    let mask = result
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| format!("`{}` did not give true or false", predicate.text))?;
    if mask.null_count() == 0 {
        return Ok(mask.clone());
    }
    let present = is_not_null(mask).map_err(|e| e.to_string())?;
    arrow::compute::and(mask, &present).map_err(|e| e.to_string())
}

impl Operator for FilterOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let mask = predicate_mask(&self.predicate, &batch).map_err(fail)?;
        let kept = if mask.true_count() == batch.num_rows() {
            batch
        } else {
            filter_record_batch(&batch, &mask).map_err(|e| fail(e.to_string()))?
        };
        out.emit(0, kept)
    }
}
