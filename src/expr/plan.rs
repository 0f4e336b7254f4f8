//! Planning one SQL expression against a schema, and evaluating it on Arrow batches.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema};
use arrow::record_batch::RecordBatch;
use datafusion_common::tree_node::TreeNode;
use datafusion_common::{DFSchema, DataFusionError, SchemaError};
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_expr::simplify::SimplifyContext;
use datafusion_expr::{Expr, ExprSchemable};
use datafusion_optimizer::analyzer::type_coercion::TypeCoercionRewriter;
use datafusion_optimizer::simplify_expressions::ExprSimplifier;
use datafusion_physical_expr::{PhysicalExpr, create_physical_expr};
use datafusion_sql::planner::{ParserOptions, PlannerContext, SqlToRel};
use datafusion_sql::sqlparser::ast::{
    Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Spanned,
};
use datafusion_sql::sqlparser::dialect::GenericDialect;
use datafusion_sql::sqlparser::parser::{Parser, ParserError};
use datafusion_sql::sqlparser::tokenizer::{Location, Token};

use super::context::FunctionCatalog;
use super::error::{ExprError, TextPosition};

/// An expression planned against an input schema, ready to evaluate on batches of that schema.
#[derive(Debug, Clone)]
pub struct PlannedExpr {
    /// The text the user wrote.
    pub text: String,
    /// The logical form after type coercion (used by export and display).
    pub logical: Expr,
    /// The vectorised form the engine evaluates.
    pub physical: Arc<dyn PhysicalExpr>,
    pub data_type: DataType,
    pub nullable: bool,
}

impl PlannedExpr {
    /// Evaluates the expression on every row of `batch`, giving one value per row.
    pub fn evaluate(&self, batch: &RecordBatch) -> Result<ArrayRef, DataFusionError> {
        self.physical.evaluate(batch)?.into_array(batch.num_rows())
    }
}

/// Plans `text` as a scalar expression over `schema`.
pub fn plan_expr(text: &str, schema: &Schema) -> Result<PlannedExpr, ExprError> {
    let ast = parse_expr(text)?;
    plan_ast(text, &ast, schema)
}

/// Plans `text` as a condition: it must be true or false for every row.
pub fn plan_predicate(text: &str, schema: &Schema) -> Result<PlannedExpr, ExprError> {
    let planned = plan_expr(text, schema)?;
    match planned.data_type {
        DataType::Boolean | DataType::Null => Ok(planned),
        ref other => Err(ExprError::new(
            format!(
                "a condition must be true or false, but this expression gives {}",
                super::projection::sql_type_name(other)
            ),
            Some(TextPosition { line: 1, column: 1 }),
        )),
    }
}

/// Parses one whole expression; anything left after it is an error. Long AND/OR chains come
/// back balanced (see `balance.rs`), so nothing after this recurses deeply.
pub(crate) fn parse_expr(text: &str) -> Result<SqlExpr, ExprError> {
    let mut parser = new_parser(text)?;
    let mut ast = parser
        .parse_expr()
        .map_err(|e| at_end_if_unplaced(parser_error(e), text))?;
    expect_end(&mut parser)?;
    keep_shallow(&mut ast)?;
    Ok(ast)
}

/// Rebalances long AND/OR chains and refuses other chains too long to plan safely.
pub(crate) fn keep_shallow(ast: &mut SqlExpr) -> Result<(), ExprError> {
    super::balance::balance(ast).map_err(|length| {
        ExprError::new(
            format!(
                "the expression chains {length} operators one after another; at most {} can be planned (AND and OR chains of any length can)",
                super::balance::MAX_CHAIN
            ),
            None,
        )
    })
}

pub(crate) fn new_parser(text: &str) -> Result<Parser<'static>, ExprError> {
    if text.trim().is_empty() {
        return Err(ExprError::new("the expression is empty", None));
    }
    static DIALECT: GenericDialect = GenericDialect {};
    Parser::new(&DIALECT)
        .try_with_sql(text)
        .map_err(parser_error)
}

pub(crate) fn expect_end(parser: &mut Parser<'_>) -> Result<(), ExprError> {
    let next = parser.peek_token();
    if next.token == Token::EOF {
        return Ok(());
    }
    Err(ExprError::new(
        format!(
            "unexpected `{}` after the end of the expression",
            next.token
        ),
        position(next.span.start),
    ))
}

/// Plans a parsed expression; on failure, finds the smallest sub-expression that fails to say where.
pub(crate) fn plan_ast(
    text: &str,
    ast: &SqlExpr,
    schema: &Schema,
) -> Result<PlannedExpr, ExprError> {
    let df_schema = DFSchema::try_from(schema.clone())
        .map_err(|e| ExprError::new(datafusion_message(&e, schema), None))?;
    match plan_logical(ast, &df_schema) {
        Ok((logical, data_type, nullable)) => {
            let physical = create_physical_expr(
                &logical,
                &df_schema,
                &ExecutionProps::new(),
                &PhysicalPlanningContext::default(),
            )
            .map_err(|e| ExprError::new(datafusion_message(&e, schema), None))?;
            Ok(PlannedExpr {
                text: text.to_string(),
                logical,
                physical,
                data_type,
                nullable,
            })
        }
        Err(error) => {
            let culprit = innermost_failing(ast, &df_schema);
            Err(ExprError::new(
                datafusion_message(&error, schema),
                position(culprit.span().start),
            ))
        }
    }
}

fn plan_logical(
    ast: &SqlExpr,
    df_schema: &DFSchema,
) -> Result<(Expr, DataType, bool), DataFusionError> {
    let options = ParserOptions {
        // Column names match exactly as written: `VendorID` stays `VendorID`.
        enable_ident_normalization: false,
        ..ParserOptions::default()
    };
    let planner = SqlToRel::new_with_options(FunctionCatalog::shared(), options);
    let expr = planner.sql_to_expr(ast.clone(), df_schema, &mut PlannerContext::new())?;
    let expr = expr
        .rewrite(&mut TypeCoercionRewriter::new(df_schema))?
        .data;
    // Folding constants now turns a literal that cannot be cast (`latency_ms > 'x'`) into a
    // planning error here, rather than an error on the first row of a run.
    let context = SimplifyContext::builder()
        .with_schema(Arc::new(df_schema.clone()))
        .build();
    let expr = ExprSimplifier::new(context).simplify(expr)?;
    let (_, field) = expr.to_field(df_schema)?;
    Ok((expr, field.data_type().clone(), field.is_nullable()))
}

/// The deepest sub-expression that still fails to plan: that is where the mistake is.
fn innermost_failing<'a>(ast: &'a SqlExpr, df_schema: &DFSchema) -> &'a SqlExpr {
    for child in children(ast) {
        if plan_logical(child, df_schema).is_err() {
            return innermost_failing(child, df_schema);
        }
    }
    ast
}

fn children(ast: &SqlExpr) -> Vec<&SqlExpr> {
    match ast {
        SqlExpr::BinaryOp { left, right, .. } => vec![left, right],
        SqlExpr::UnaryOp { expr, .. }
        | SqlExpr::Nested(expr)
        | SqlExpr::Cast { expr, .. }
        | SqlExpr::IsNull(expr)
        | SqlExpr::IsNotNull(expr)
        | SqlExpr::IsTrue(expr)
        | SqlExpr::IsFalse(expr)
        | SqlExpr::IsNotTrue(expr)
        | SqlExpr::IsNotFalse(expr) => vec![expr],
        SqlExpr::Between {
            expr, low, high, ..
        } => vec![expr, low, high],
        SqlExpr::InList { expr, list, .. } => {
            let mut all = vec![expr.as_ref()];
            all.extend(list.iter());
            all
        }
        SqlExpr::Like { expr, pattern, .. } | SqlExpr::ILike { expr, pattern, .. } => {
            vec![expr, pattern]
        }
        SqlExpr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let mut all: Vec<&SqlExpr> = operand.iter().map(|b| b.as_ref()).collect();
            for when in conditions {
                all.push(&when.condition);
                all.push(&when.result);
            }
            all.extend(else_result.iter().map(|b| b.as_ref()));
            all
        }
        SqlExpr::Function(function) => match &function.args {
            FunctionArguments::List(list) => list
                .args
                .iter()
                .filter_map(|arg| match arg {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e))
                    | FunctionArg::Named {
                        arg: FunctionArgExpr::Expr(e),
                        ..
                    } => Some(e),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub(crate) fn position(location: Location) -> Option<TextPosition> {
    (location.line > 0).then_some(TextPosition {
        line: location.line as usize,
        column: location.column as usize,
    })
}

/// sqlparser gives no place for errors at the end of the text; the end is the place.
pub(crate) fn at_end_if_unplaced(mut error: ExprError, text: &str) -> ExprError {
    if error.position.is_none() {
        let line = text.lines().count().max(1);
        let column = text.lines().last().map_or(0, |l| l.chars().count()) + 1;
        error.position = Some(TextPosition { line, column });
    }
    error
}

/// Turns sqlparser's "... at Line: 1, Column: 8" into a message and a position.
pub(crate) fn parser_error(error: ParserError) -> ExprError {
    let text = match error {
        ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
        ParserError::RecursionLimitExceeded => "the expression is nested too deeply".to_string(),
    };
    match text.rfind(" at Line: ") {
        Some(at) => {
            let (message, place) = text.split_at(at);
            let numbers: Vec<usize> = place
                .split(|c: char| !c.is_ascii_digit())
                .filter_map(|s| s.parse().ok())
                .collect();
            let position = match numbers.as_slice() {
                [line, column, ..] => Some(TextPosition {
                    line: *line,
                    column: *column,
                }),
                _ => None,
            };
            ExprError::new(tidy_parser_message(message), position)
        }
        None => ExprError::new(tidy_parser_message(&text), None),
    }
}

fn tidy_parser_message(message: &str) -> String {
    message
        .trim()
        .replace("Expected: ", "expected ")
        .replace(", found: ", ", found ")
        .replace("EOF", "the end of the expression")
}

/// A readable message for a DataFusion error: unknown columns list the columns that exist.
pub(crate) fn datafusion_message(error: &DataFusionError, schema: &Schema) -> String {
    match error.find_root() {
        DataFusionError::SchemaError(schema_error, _) => match schema_error.as_ref() {
            SchemaError::FieldNotFound { field, .. } => {
                let names = schema.fields().iter().map(|f| f.name().as_str());
                format!(
                    "unknown column `{}`{}; the input has: {}",
                    field.name,
                    super::suggest::did_you_mean_text(&field.name, names),
                    column_list(schema)
                )
            }
            other => other.to_string(),
        },
        root => strip_prefixes(&root.to_string()),
    }
}

fn column_list(schema: &Schema) -> String {
    if schema.fields().is_empty() {
        return "no columns".to_string();
    }
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn strip_prefixes(message: &str) -> String {
    let mut text = message.trim();
    for prefix in [
        "Error during planning: ",
        "This feature is not implemented: ",
        "Execution error: ",
        "Internal error: ",
        "Schema error: ",
        "Arrow error: ",
        "Cast error: ",
    ] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest;
        }
    }
    text.replace('\n', " ").trim().to_string()
}
