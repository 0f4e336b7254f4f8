//! Evaluating planned expressions inside operators: a failure is a data error that names the row
//! it came from, found by evaluating the rows one by one (only once something failed).

use arrow::array::{Array, ArrayRef, BooleanArray};
use arrow::compute::kernels::boolean::is_not_null;
use arrow::record_batch::RecordBatch;

use crate::expr::PlannedExpr;
use crate::runtime::contract::RunError;

/// How many rows are tried one by one to find the one that fails (the search only runs after a
/// failure; a bigger batch names no row rather than take long).
const ROWS_SEARCHED: usize = 100_000;

/// Evaluates `expr` on every row of `batch`.
pub fn evaluate(expr: &PlannedExpr, batch: &RecordBatch) -> Result<ArrayRef, RunError> {
    expr.evaluate(batch).map_err(|e| {
        let error = RunError::data(format!("evaluating `{}`: {e}", expr.text));
        match failing_row(expr, batch) {
            Some(row) => error.at_row(crate::values::row_text(batch, row)),
            None => error,
        }
    })
}

/// The first row that fails on its own.
fn failing_row(expr: &PlannedExpr, batch: &RecordBatch) -> Option<usize> {
    (0..batch.num_rows().min(ROWS_SEARCHED))
        .find(|&row| expr.evaluate(&batch.slice(row, 1)).is_err())
}

/// Evaluates a predicate to a mask where null means "no".
pub fn predicate_mask(
    predicate: &PlannedExpr,
    batch: &RecordBatch,
) -> Result<BooleanArray, RunError> {
    let result = evaluate(predicate, batch)?;
    let mask = result
        .as_any()
        .downcast_ref::<BooleanArray>()
        .ok_or_else(|| {
            RunError::internal(format!("`{}` did not give true or false", predicate.text))
        })?;
    if mask.null_count() == 0 {
        return Ok(mask.clone());
    }
    let present = is_not_null(mask).map_err(|e| RunError::internal(e.to_string()))?;
    arrow::compute::and(mask, &present).map_err(|e| RunError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::plan_expr;
    use arrow::array::Int64Array;
    use std::sync::Arc;

    #[test]
    fn a_failing_expression_names_the_row_that_fails() {
        let batch = RecordBatch::try_from_iter([
            ("a", Arc::new(Int64Array::from(vec![4, 6, 1])) as ArrayRef),
            ("b", Arc::new(Int64Array::from(vec![2, 0, 1])) as ArrayRef),
        ])
        .unwrap();
        let expr = plan_expr("a / b", &batch.schema()).unwrap();
        let error = evaluate(&expr, &batch).unwrap_err();
        assert_eq!(error.kind, crate::runtime::contract::ErrorKind::Data);
        assert_eq!(error.row.as_deref(), Some("a=6, b=0"));
        let fine = evaluate(&expr, &batch.slice(0, 1)).unwrap();
        assert_eq!(fine.len(), 1);
    }
}
