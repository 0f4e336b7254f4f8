//! Keeping expression trees shallow, so planning and evaluating them never runs out of stack. The
//! parser builds `a OR b OR c ...` as a left-leaning chain as deep as it is long (a generated
//! allow-list of 100,000 terms is 100,000 deep). AND and OR are associative in SQL's three-valued
//! logic, so such a chain is rebuilt as a balanced tree of the same operands in the same order
//! (about 17 deep for 100,000); any other chain longer than [`MAX_CHAIN`] is refused with its length.

use std::ops::ControlFlow;

use datafusion_sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, Value, VisitMut, VisitorMut,
};

/// The longest chain of operators that cannot be rebalanced (`+`, `||`, casts) an expression may
/// hold. Each link costs a few stack frames in planning and evaluation.
pub const MAX_CHAIN: usize = 256;

/// AND/OR chains at least this long are rebalanced (shorter ones cost nothing to keep).
const BALANCE_FROM: usize = 64;

/// Rebalances every long AND/OR chain in `expr`; refuses another chain longer than [`MAX_CHAIN`],
/// saying how long it is.
pub fn balance(expr: &mut SqlExpr) -> Result<(), usize> {
    match expr.visit(&mut Balancer) {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(length) => Err(length),
    }
}

struct Balancer;

impl VisitorMut for Balancer {
    type Break = usize;

    /// Called on a node before its children, so a long chain is rebuilt before the visit could
    /// descend it (and overflow doing so).
    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<usize> {
        if let SqlExpr::BinaryOp {
            op: op @ (BinaryOperator::And | BinaryOperator::Or),
            ..
        } = expr
        {
            let op = op.clone();
            if same_op_chain(expr, &op) >= BALANCE_FROM {
                let chain = std::mem::replace(expr, SqlExpr::Value(Value::Null.into()));
                *expr = balanced(flatten(chain, &op), &op);
            }
        }
        let length = chain_length(expr);
        if length > MAX_CHAIN {
            return ControlFlow::Break(length);
        }
        ControlFlow::Continue(())
    }
}

/// How many `op` nodes follow each other down the left of `expr`.
fn same_op_chain(expr: &SqlExpr, op: &BinaryOperator) -> usize {
    let mut length = 0;
    let mut current = expr;
    while let SqlExpr::BinaryOp { left, op: o, .. } = current
        && o == op
    {
        length += 1;
        current = left;
    }
    length
}

/// How many operators follow each other down the left of `expr`, whatever they are: the depth the
/// parser's loop (not its recursion, which it limits) can build.
fn chain_length(expr: &SqlExpr) -> usize {
    let mut length = 0;
    let mut current = expr;
    loop {
        current = match current {
            SqlExpr::BinaryOp { left, .. } => left,
            SqlExpr::Cast { expr, .. }
            | SqlExpr::IsNull(expr)
            | SqlExpr::IsNotNull(expr)
            | SqlExpr::IsTrue(expr)
            | SqlExpr::IsFalse(expr)
            | SqlExpr::IsNotTrue(expr)
            | SqlExpr::IsNotFalse(expr)
            | SqlExpr::IsUnknown(expr)
            | SqlExpr::IsNotUnknown(expr)
            | SqlExpr::Collate { expr, .. }
            | SqlExpr::AtTimeZone {
                timestamp: expr, ..
            } => expr,
            _ => return length,
        };
        length += 1;
    }
}

/// The operands of a left-leaning chain of `op`, in order, taken apart one node at a time (so not
/// even dropping the chain recurses).
fn flatten(chain: SqlExpr, op: &BinaryOperator) -> Vec<SqlExpr> {
    let mut operands = Vec::new();
    let mut current = chain;
    loop {
        match current {
            SqlExpr::BinaryOp { left, op: o, right } if &o == op => {
                operands.push(*right);
                current = *left;
            }
            other => {
                operands.push(other);
                break;
            }
        }
    }
    operands.reverse();
    operands
}

/// `op` over `operands`, pairwise, so the tree is as shallow as it can be.
fn balanced(mut operands: Vec<SqlExpr>, op: &BinaryOperator) -> SqlExpr {
    while operands.len() > 1 {
        let mut paired = Vec::with_capacity(operands.len().div_ceil(2));
        let mut items = operands.into_iter();
        while let Some(left) = items.next() {
            paired.push(match items.next() {
                Some(right) => SqlExpr::BinaryOp {
                    left: Box::new(left),
                    op: op.clone(),
                    right: Box::new(right),
                },
                None => left,
            });
        }
        operands = paired;
    }
    operands
        .pop()
        .unwrap_or_else(|| SqlExpr::Value(Value::Null.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parser's tree, before any balancing.
    fn raw_ast(text: &str) -> SqlExpr {
        let mut parser = super::super::plan::new_parser(text).unwrap();
        parser.parse_expr().unwrap()
    }

    fn depth(expr: &SqlExpr) -> usize {
        match expr {
            SqlExpr::BinaryOp { left, right, .. } => 1 + depth(left).max(depth(right)),
            _ => 0,
        }
    }

    #[test]
    fn a_long_or_chain_becomes_a_balanced_tree_of_the_same_terms_in_order() {
        let text: Vec<String> = (0..1000).map(|i| format!("k = {i}")).collect();
        let mut ast = raw_ast(&text.join(" OR "));
        assert_eq!(depth(&ast), 1000, "the parser leans the chain to the left");
        balance(&mut ast).unwrap();
        assert!(depth(&ast) <= 11, "depth {}", depth(&ast));
        let printed = ast.to_string();
        let positions: Vec<usize> = (0..1000)
            .map(|i| {
                printed
                    .find(&format!("k = {i} "))
                    .or(printed.rfind(&format!("k = {i}")))
                    .unwrap()
            })
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "the terms keep their order"
        );
    }

    #[test]
    fn a_long_chain_of_another_operator_is_refused_with_its_length() {
        let mut ast = raw_ast(&vec!["1"; 1000].join(" + "));
        assert_eq!(balance(&mut ast), Err(999));
        let mut ast = raw_ast(&vec!["1"; 200].join(" + "));
        assert_eq!(balance(&mut ast), Ok(()));
    }
}
