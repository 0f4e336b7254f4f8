//! Expressions of a pattern (MATCH_RECOGNIZE's DEFINE and MEASURES): references to the rows mapped
//! to steps — `A.price`, `LAST(B.price, 1)`, `FIRST(A.ts)`, `SUM(B.amount)`, `COUNT(B.*)`,
//! `MATCH_NUMBER()`, `MATCH_ROWTIME()` — are taken out of the expression as navigations, each
//! replaced by a column of its own (`__nav_0`, …) that the operator fills from the partial match.
//! What remains is planned as any expression, so every function a Filter knows works here too.

use std::ops::ControlFlow;

use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion_sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, Spanned, Value,
    VisitMut, VisitorMut,
};

use super::error::ExprError;
use super::plan::{PlannedExpr, parse_expr, plan_ast, position};
use super::projection::split_alias;
use super::suggest::did_you_mean_text;

/// What a navigation reads from the rows of a (partial) match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NavFunction {
    /// The value `n` rows back from the last row of the set (0: the last).
    Last(u64),
    /// The value `n` rows on from the first row of the set (0: the first).
    First(u64),
    Sum,
    Avg,
    Min,
    Max,
    /// Rows of the set (`COUNT(A.*)`), or rows whose column is not NULL (`COUNT(A.col)`).
    Count,
    /// The match's number within its partition, from 1.
    MatchNumber,
    /// The event time of the match's last row.
    MatchRowtime,
}

/// One reference to the rows of a match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Navigation {
    pub function: NavFunction,
    /// The step whose rows are read (its index); `None` for every row of the match.
    pub step: Option<usize>,
    /// The input column read; `None` for `COUNT(*)` and the match functions.
    pub column: Option<usize>,
    pub data_type: DataType,
}

/// Where a pattern expression is written.
#[derive(Debug, Clone, Copy)]
pub struct PatternScope<'a> {
    pub input: &'a Schema,
    /// The steps' variable names, in pattern order.
    pub steps: &'a [String],
    /// In DEFINE: the step being defined (its rows include the row being tried, and plain columns
    /// are that row's). `None` in MEASURES (plain columns are the match's last row's).
    pub defining: Option<usize>,
}

/// A pattern expression planned over the input's columns (DEFINE only) followed by one column per
/// navigation.
#[derive(Debug, Clone)]
pub struct PatternExpr {
    pub planned: PlannedExpr,
    pub navigations: Vec<Navigation>,
}

/// The name of the column holding navigation `i`.
pub fn navigation_column(i: usize) -> String {
    format!("__nav_{i}")
}

/// Plans a DEFINE condition.
pub fn plan_pattern_condition(text: &str, scope: PatternScope) -> Result<PatternExpr, ExprError> {
    let ast = parse_expr(text)?;
    let expr = plan_rewritten(text, ast, scope)?;
    match expr.planned.data_type {
        DataType::Boolean | DataType::Null => Ok(expr),
        ref other => Err(ExprError::new(
            format!(
                "a step's condition must be true or false, but this gives {}",
                super::projection::sql_type_name(other)
            ),
            None,
        )),
    }
}

/// Plans a MEASURES item `expression AS name`; the name is required.
pub fn plan_pattern_measure(
    text: &str,
    scope: PatternScope,
) -> Result<(String, PatternExpr), ExprError> {
    let (ast, alias) = split_alias(text)?;
    let start = position(ast.span().start);
    let Some(name) = alias else {
        return Err(ExprError::new(
            "give the measure a name: `LAST(B.amount) AS final_amount`",
            start,
        ));
    };
    Ok((name, plan_rewritten(text, ast, scope)?))
}

fn plan_rewritten(
    text: &str,
    mut ast: SqlExpr,
    scope: PatternScope,
) -> Result<PatternExpr, ExprError> {
    let mut rewriter = Rewriter {
        scope,
        navigations: Vec::new(),
    };
    if let ControlFlow::Break(error) = ast.visit(&mut rewriter) {
        return Err(error);
    }
    let mut fields: Vec<Field> = match scope.defining {
        Some(_) => scope
            .input
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect(),
        None => Vec::new(),
    };
    for (i, n) in rewriter.navigations.iter().enumerate() {
        fields.push(Field::new(navigation_column(i), n.data_type.clone(), true));
    }
    let planned = plan_ast(text, &ast, &Schema::new(fields))?;
    Ok(PatternExpr {
        planned,
        navigations: rewriter.navigations,
    })
}

struct Rewriter<'a> {
    scope: PatternScope<'a>,
    navigations: Vec<Navigation>,
}

impl Rewriter<'_> {
    /// The column `name` of the input, or an error naming those there are.
    fn column(&self, name: &str, at: &SqlExpr) -> Result<usize, ExprError> {
        self.scope.input.index_of(name).map_err(|_| {
            let hint = did_you_mean_text(
                name,
                self.scope.input.fields().iter().map(|f| f.name().as_str()),
            );
            ExprError::new(
                format!("the column `{name}` does not exist{hint}"),
                position(at.span().start),
            )
        })
    }

    /// The step named `name`.
    fn step(&self, name: &str, at: &SqlExpr) -> Result<usize, ExprError> {
        self.scope
            .steps
            .iter()
            .position(|s| s.eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                ExprError::new(
                    format!(
                        "`{name}` is not a step of the pattern; its steps are {}",
                        self.scope.steps.join(", ")
                    ),
                    position(at.span().start),
                )
            })
    }

    /// `col`, `A.col` or `A.*` as (step, column); `star` allows `*` forms.
    fn reference(&self, expr: &SqlExpr) -> Result<(Option<usize>, Option<usize>), ExprError> {
        match expr {
            SqlExpr::Identifier(ident) => Ok((None, Some(self.column(&ident.value, expr)?))),
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => Ok((
                Some(self.step(&parts[0].value, expr)?),
                Some(self.column(&parts[1].value, expr)?),
            )),
            _ => Err(ExprError::new(
                "write a column here, plain (`price`) or of a step (`A.price`)",
                position(expr.span().start),
            )),
        }
    }

    /// Replaces `expr` by the column of a navigation (shared when written twice).
    fn navigate(
        &mut self,
        expr: &mut SqlExpr,
        function: NavFunction,
        step: Option<usize>,
        column: Option<usize>,
    ) {
        let input_type = column.map(|c| self.scope.input.field(c).data_type().clone());
        let data_type = match (&function, input_type) {
            (NavFunction::Count | NavFunction::MatchNumber, _) => DataType::Int64,
            (NavFunction::MatchRowtime, _) => DataType::Timestamp(TimeUnit::Millisecond, None),
            (NavFunction::Avg, _) => DataType::Float64,
            (NavFunction::Sum, Some(t)) if t.is_integer() => DataType::Int64,
            (NavFunction::Sum, _) => DataType::Float64,
            (_, Some(t)) => t,
            (_, None) => DataType::Null,
        };
        let navigation = Navigation {
            function,
            step,
            column,
            data_type,
        };
        let index = match self.navigations.iter().position(|n| *n == navigation) {
            Some(i) => i,
            None => {
                self.navigations.push(navigation);
                self.navigations.len() - 1
            }
        };
        *expr = SqlExpr::Identifier(Ident::new(navigation_column(index)));
    }

    fn rewrite(&mut self, expr: &mut SqlExpr) -> Result<(), ExprError> {
        match expr {
            SqlExpr::Identifier(ident) if self.scope.defining.is_none() => {
                // In MEASURES a plain column is the match's last row's.
                let name = ident.value.clone();
                let column = self.column(&name, expr)?;
                self.navigate(expr, NavFunction::Last(0), None, Some(column));
            }
            SqlExpr::CompoundIdentifier(parts) if parts.len() == 2 => {
                let (var, name) = (parts[0].value.clone(), parts[1].value.clone());
                let step = self.step(&var, expr)?;
                let column = self.column(&name, expr)?;
                if Some(step) == self.scope.defining {
                    // The step being defined: its last row is the row being tried.
                    *expr = SqlExpr::Identifier(Ident::new(name));
                } else {
                    self.navigate(expr, NavFunction::Last(0), Some(step), Some(column));
                }
            }
            SqlExpr::Function(call) => {
                let name = call.name.to_string().to_uppercase();
                let args: Vec<FunctionArgExpr> = match &call.args {
                    FunctionArguments::List(list) => list
                        .args
                        .iter()
                        .filter_map(|a| match a {
                            FunctionArg::Unnamed(e) => Some(e.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let at = position(expr.span().start);
                match name.as_str() {
                    "LAST" | "FIRST" => {
                        let (target, offset) = match args.as_slice() {
                            [FunctionArgExpr::Expr(target)] => (target.clone(), 0),
                            [FunctionArgExpr::Expr(target), FunctionArgExpr::Expr(n)] => {
                                (target.clone(), offset(n)?)
                            }
                            _ => {
                                return Err(ExprError::new(
                                    format!(
                                        "{name} takes a column and an optional offset: `{name}(A.price, 1)`"
                                    ),
                                    at,
                                ));
                            }
                        };
                        let (step, column) = self.reference(&target)?;
                        let function = if name == "LAST" {
                            NavFunction::Last(offset)
                        } else {
                            NavFunction::First(offset)
                        };
                        self.navigate(expr, function, step, column);
                    }
                    "SUM" | "AVG" | "MIN" | "MAX" | "COUNT" => {
                        let function = match name.as_str() {
                            "SUM" => NavFunction::Sum,
                            "AVG" => NavFunction::Avg,
                            "MIN" => NavFunction::Min,
                            "MAX" => NavFunction::Max,
                            _ => NavFunction::Count,
                        };
                        let (step, column) = match args.as_slice() {
                            [FunctionArgExpr::Wildcard] if function == NavFunction::Count => {
                                (None, None)
                            }
                            [FunctionArgExpr::QualifiedWildcard(var)]
                                if function == NavFunction::Count =>
                            {
                                let var = var.to_string();
                                (Some(self.step(&var, expr)?), None)
                            }
                            [FunctionArgExpr::Expr(target)] => self.reference(target)?,
                            _ => {
                                return Err(ExprError::new(
                                    format!("{name} takes one column here: `{name}(B.amount)`"),
                                    at,
                                ));
                            }
                        };
                        self.navigate(expr, function, step, column);
                    }
                    "MATCH_NUMBER" | "MATCH_ROWTIME" => {
                        if self.scope.defining.is_some() {
                            return Err(ExprError::new(
                                format!("{name}() belongs in a measure, not in a step's condition"),
                                at,
                            ));
                        }
                        let function = if name == "MATCH_NUMBER" {
                            NavFunction::MatchNumber
                        } else {
                            NavFunction::MatchRowtime
                        };
                        self.navigate(expr, function, None, None);
                    }
                    _ => {}
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// A literal offset of LAST/FIRST.
fn offset(expr: &SqlExpr) -> Result<u64, ExprError> {
    if let SqlExpr::Value(v) = expr
        && let Value::Number(n, _) = &v.value
        && let Ok(n) = n.parse::<u64>()
        && n <= 10_000
    {
        return Ok(n);
    }
    Err(ExprError::new(
        "the offset must be a whole number from 0 to 10000",
        position(expr.span().start),
    ))
}

impl VisitorMut for Rewriter<'_> {
    type Break = ExprError;

    /// Before the children: a navigation call is replaced whole, so its argument (`A.price`) is
    /// never rewritten on its own.
    fn pre_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<ExprError> {
        match self.rewrite(expr) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, BooleanArray, Int64Array};
    use arrow::record_batch::RecordBatch;

    use super::*;

    fn input() -> Schema {
        Schema::new(vec![
            Field::new("price", DataType::Int64, true),
            Field::new(
                "rowtime",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                true,
            ),
        ])
    }

    fn steps() -> Vec<String> {
        vec!["START_ROW".into(), "PRICE_DOWN".into(), "PRICE_UP".into()]
    }

    #[test]
    fn a_condition_reads_the_row_tried_and_the_rows_of_other_steps_through_navigations() {
        let (input, steps) = (input(), steps());
        let scope = PatternScope {
            input: &input,
            steps: &steps,
            defining: Some(1),
        };
        let expr = plan_pattern_condition(
            "(LAST(PRICE_DOWN.price, 1) IS NULL AND PRICE_DOWN.price < START_ROW.price) OR PRICE_DOWN.price < LAST(PRICE_DOWN.price, 1)",
            scope,
        )
        .unwrap();
        assert_eq!(
            expr.navigations
                .iter()
                .map(|n| (n.function.clone(), n.step, n.column))
                .collect::<Vec<_>>(),
            [
                (NavFunction::Last(1), Some(1), Some(0)),
                (NavFunction::Last(0), Some(0), Some(0)),
            ]
        );
        // price 9, LAST(PRICE_DOWN.price, 1) NULL, START_ROW.price 10: true.
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("price", DataType::Int64, true),
                Field::new(
                    "rowtime",
                    DataType::Timestamp(TimeUnit::Millisecond, None),
                    true,
                ),
                Field::new("__nav_0", DataType::Int64, true),
                Field::new("__nav_1", DataType::Int64, true),
            ])),
            vec![
                Arc::new(Int64Array::from(vec![9, 11])) as ArrayRef,
                Arc::new(arrow::array::TimestampMillisecondArray::from(vec![0, 0])),
                Arc::new(Int64Array::from(vec![None, Some(10)])),
                Arc::new(Int64Array::from(vec![10, 20])),
            ],
        )
        .unwrap();
        let result = expr.planned.evaluate(&batch).unwrap();
        let result = result.as_any().downcast_ref::<BooleanArray>().unwrap();
        assert_eq!(result, &BooleanArray::from(vec![true, false]));
    }

    #[test]
    fn measures_read_the_match_and_need_a_name() {
        let (input, steps) = (input(), steps());
        let scope = PatternScope {
            input: &input,
            steps: &steps,
            defining: None,
        };
        let (name, expr) =
            plan_pattern_measure("FIRST(START_ROW.rowtime) AS started", scope).unwrap();
        assert_eq!(name, "started");
        assert_eq!(expr.navigations[0].function, NavFunction::First(0));
        let (_, count) = plan_pattern_measure("COUNT(PRICE_DOWN.*) AS downs", scope).unwrap();
        assert_eq!(count.navigations[0].function, NavFunction::Count);
        assert!(plan_pattern_measure("LAST(PRICE_UP.price)", scope).is_err());
        let unknown = plan_pattern_measure("LAST(B.price) AS x", scope).unwrap_err();
        assert!(
            unknown.message.contains("not a step"),
            "{}",
            unknown.message
        );
        let define = PatternScope {
            defining: Some(0),
            ..scope
        };
        assert!(plan_pattern_condition("MATCH_NUMBER() > 1", define).is_err());
    }
}
