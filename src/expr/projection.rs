//! `expr AS name` items, as written in Map nodes and aggregate lists, and SQL type names.

use arrow::datatypes::{DataType, Schema, TimeUnit};
use datafusion_sql::sqlparser::ast::{Expr as SqlExpr, SelectItem, Spanned};

use super::error::{ExprError, TextPosition};
use super::plan::{
    PlannedExpr, at_end_if_unplaced, expect_end, keep_shallow, new_parser, parser_error, plan_ast,
    position,
};

/// One `expr AS name` item, planned.
#[derive(Debug, Clone)]
pub struct ProjectionItem {
    pub name: String,
    pub expr: PlannedExpr,
}

impl ProjectionItem {
    /// Plans `text` (`round(a / b, 2) AS ratio`, or a bare column name) against `schema`.
    pub fn plan(text: &str, schema: &Schema) -> Result<Self, ExprError> {
        let (ast, name) = split_alias(text)?;
        let expr = plan_ast(text, &ast, schema)?;
        let name = match name {
            Some(name) => name,
            None => default_name(&ast).ok_or_else(|| {
                ExprError::new(
                    "give this expression a name: write `... AS name`",
                    position(ast.span().start),
                )
            })?,
        };
        Ok(Self { name, expr })
    }
}

/// Parses `expr [AS name]`, returning the expression and the name if one was given.
pub fn split_alias(text: &str) -> Result<(SqlExpr, Option<String>), ExprError> {
    let mut parser = new_parser(text)?;
    let item = parser
        .parse_select_item()
        .map_err(|e| at_end_if_unplaced(parser_error(e), text))?;
    expect_end(&mut parser)?;
    let (mut expr, name) = match item {
        SelectItem::UnnamedExpr(expr) => (expr, None),
        SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value)),
        SelectItem::ExprWithAliases { expr, aliases } => {
            let first = aliases.first().map(|a| a.value.clone());
            (expr, first)
        }
        SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..) => {
            return Err(ExprError::new(
                "`*` is not an expression here; name the columns, or keep the input columns",
                Some(TextPosition { line: 1, column: 1 }),
            ));
        }
    };
    keep_shallow(&mut expr)?;
    Ok((expr, name))
}

/// A bare column keeps its own name.
fn default_name(ast: &SqlExpr) -> Option<String> {
    match ast {
        SqlExpr::Identifier(ident) => Some(ident.value.clone()),
        SqlExpr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
        _ => None,
    }
}

/// The SQL name of an Arrow type, as Flink SQL would write it.
pub fn sql_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 => "INT UNSIGNED".into(),
        DataType::UInt64 => "BIGINT UNSIGNED".into(),
        DataType::Float16 | DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Timestamp(unit, _) => {
            let digits = match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 3,
                TimeUnit::Microsecond => 6,
                TimeUnit::Nanosecond => 9,
            };
            format!("TIMESTAMP({digits})")
        }
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => format!("DECIMAL({p}, {s})"),
        other => other.to_string(),
    }
}
