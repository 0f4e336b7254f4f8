//! An Eddy SQL expression re-printed for Flink SQL from its parsed form: identifiers quoted with
//! backticks (Flink's quoting, so `value` or `count` as column names stay names), functions renamed
//! to Flink's where the two differ (`%` becomes `MOD`), and anything without a known Flink
//! equivalent refused with the reason, never pasted through as text.

use std::ops::ControlFlow;

use arrow::datatypes::Schema;
use datafusion_sql::sqlparser::ast::{
    BinaryOperator, Expr as SqlExpr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList,
    FunctionArguments, Ident, ObjectName, ObjectNamePart, UnaryOperator, Value, visit_expressions,
    visit_expressions_mut,
};

use super::plan::{parse_expr, plan_ast};
use super::projection::split_alias;

/// Functions Eddy evaluates and the Flink SQL functions that compute the same.
const FUNCTIONS: &[(&str, &str)] = &[
    ("abs", "ABS"),
    ("round", "ROUND"),
    ("floor", "FLOOR"),
    ("ceil", "CEIL"),
    ("sqrt", "SQRT"),
    ("power", "POWER"),
    ("pow", "POWER"),
    ("ln", "LN"),
    ("log10", "LOG10"),
    ("exp", "EXP"),
    ("upper", "UPPER"),
    ("lower", "LOWER"),
    ("ltrim", "LTRIM"),
    ("rtrim", "RTRIM"),
    ("length", "CHAR_LENGTH"),
    ("char_length", "CHAR_LENGTH"),
    ("character_length", "CHAR_LENGTH"),
    ("concat", "CONCAT"),
    ("coalesce", "COALESCE"),
    ("nullif", "NULLIF"),
    ("substr", "SUBSTR"),
    ("replace", "REPLACE"),
    ("greatest", "GREATEST"),
    ("least", "LEAST"),
    ("md5", "MD5"),
    ("lpad", "LPAD"),
    ("rpad", "RPAD"),
    // Aggregates, for window nodes.
    ("count", "COUNT"),
    ("sum", "SUM"),
    ("avg", "AVG"),
    ("min", "MIN"),
    ("max", "MAX"),
    ("first_value", "FIRST_VALUE"),
    ("last_value", "LAST_VALUE"),
    ("first", "FIRST_VALUE"),
    ("last", "LAST_VALUE"),
];

/// `text` (an expression over `schema`) as Flink SQL, or why it cannot be.
pub fn flink_expr(text: &str, schema: &Schema) -> Result<String, String> {
    let mut ast = parse_expr(text).map_err(|e| e.message)?;
    rewrite(&mut ast, schema)?;
    Ok(ast.to_string())
}

/// A pattern's condition (or `expression AS name` measure, when `item`) as MATCH_RECOGNIZE
/// writes it: `LAST`, `FIRST` and the match functions kept as they are, an average of an integer
/// column of `schema` taken over DOUBLE, as Eddy computes it (Flink's AVG of a BIGINT is a
/// BIGINT), and `COUNT(A.*)`, which Flink does not take, as the count of A's `time_column` (never
/// NULL in a matched row).
pub fn flink_pattern_expr(
    text: &str,
    schema: &Schema,
    item: bool,
    time_column: &str,
) -> Result<(String, Option<String>), String> {
    let (mut ast, alias) = if item {
        split_alias(text).map_err(|e| e.message)?
    } else {
        (parse_expr(text).map_err(|e| e.message)?, None)
    };
    let _ = visit_expressions_mut(&mut ast, |expr| {
        if let SqlExpr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("count")
            && let FunctionArguments::List(list) = &mut f.args
            && let [FunctionArg::Unnamed(arg)] = list.args.as_mut_slice()
        {
            let time = Ident::with_quote('`', time_column);
            match arg {
                FunctionArgExpr::QualifiedWildcard(var) => {
                    let var = Ident::with_quote('`', var.to_string());
                    *arg = FunctionArgExpr::Expr(SqlExpr::CompoundIdentifier(vec![var, time]));
                }
                FunctionArgExpr::Wildcard => {
                    *arg = FunctionArgExpr::Expr(SqlExpr::Identifier(time));
                }
                FunctionArgExpr::Expr(_) | FunctionArgExpr::WildcardWithOptions(_) => {}
            }
        }
        if let SqlExpr::Function(f) = expr
            && f.name.to_string().eq_ignore_ascii_case("avg")
            && let FunctionArguments::List(list) = &mut f.args
            && let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_mut_slice()
        {
            let column = match arg {
                SqlExpr::Identifier(i) => Some(i.value.clone()),
                SqlExpr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.clone()),
                _ => None,
            };
            let integer = column
                .and_then(|c| {
                    schema
                        .field_with_name(&c)
                        .ok()
                        .map(|f| f.data_type().is_integer())
                })
                .unwrap_or(false);
            if integer {
                let inner = std::mem::replace(arg, SqlExpr::Value(Value::Boolean(false).into()));
                *arg = parse_expr(&format!("CAST({inner} AS DOUBLE)")).unwrap_or(inner);
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let flow = visit_expressions_mut(&mut ast, |expr| {
        if let SqlExpr::Function(f) = expr {
            let name = f.name.to_string().to_ascii_uppercase();
            if matches!(
                name.as_str(),
                "LAST" | "FIRST" | "MATCH_NUMBER" | "MATCH_ROWTIME"
            ) {
                f.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]);
                return ControlFlow::Continue(());
            }
        }
        match translate(expr, false) {
            Ok(()) => ControlFlow::Continue(()),
            Err(why) => ControlFlow::Break(why),
        }
    });
    if let ControlFlow::Break(why) = flow {
        return Err(why);
    }
    Ok((ast.to_string(), alias))
}

/// `text` (`expression AS name`, or a bare column, over `schema`) as Flink SQL and its name.
pub fn flink_item(text: &str, schema: &Schema) -> Result<(String, Option<String>), String> {
    let (mut ast, alias) = split_alias(text).map_err(|e| e.message)?;
    rewrite(&mut ast, schema)?;
    Ok((ast.to_string(), alias))
}

/// A name quoted for Flink SQL: in backticks, a backtick inside doubled.
pub fn quote_name(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn rewrite(ast: &mut SqlExpr, schema: &Schema) -> Result<(), String> {
    // Flink's MOD takes integers only: whether each `%` (in the order the rewrite meets them) has
    // two integer operands, from the operands planned against the schema.
    let mut integer_modulos = Vec::new();
    let _ = visit_expressions(ast, |expr| {
        if let SqlExpr::BinaryOp {
            left,
            op: BinaryOperator::Modulo,
            right,
        } = expr
        {
            let integer = |side: &SqlExpr| {
                plan_ast(&side.to_string(), side, schema).is_ok_and(|p| p.data_type.is_integer())
            };
            integer_modulos.push(integer(left) && integer(right));
        }
        ControlFlow::<()>::Continue(())
    });
    let mut modulos = integer_modulos.into_iter();
    let flow = visit_expressions_mut(ast, |expr| {
        let integers = match expr {
            SqlExpr::BinaryOp {
                op: BinaryOperator::Modulo,
                ..
            } => modulos.next().unwrap_or(false),
            _ => false,
        };
        match translate(expr, integers) {
            Ok(()) => ControlFlow::Continue(()),
            Err(why) => ControlFlow::Break(why),
        }
    });
    match flow {
        ControlFlow::Break(why) => Err(why),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// One node of the tree, its children already translated; `integers`: a `%` of two integers.
fn translate(expr: &mut SqlExpr, integers: bool) -> Result<(), String> {
    match expr {
        SqlExpr::Identifier(ident) => quote(ident),
        SqlExpr::CompoundIdentifier(idents) => idents.iter_mut().for_each(quote),
        SqlExpr::Function(function) => rename(function)?,
        SqlExpr::BinaryOp { left, op, right } => match op {
            BinaryOperator::Modulo => {
                let placeholder = || SqlExpr::Value(Value::Boolean(false).into());
                let (a, b) = (
                    std::mem::replace(left.as_mut(), placeholder()),
                    std::mem::replace(right.as_mut(), placeholder()),
                );
                *expr = if integers {
                    call("MOD", vec![a, b])
                } else {
                    // Eddy's `%` of numbers with fractions truncates, as C's fmod does.
                    let text = format!("(({a}) - TRUNCATE(({a}) / ({b}), 0) * ({b}))");
                    parse_expr(&text).map_err(|e| e.message)?
                };
            }
            BinaryOperator::Plus
            | BinaryOperator::Minus
            | BinaryOperator::Multiply
            | BinaryOperator::Divide
            | BinaryOperator::Gt
            | BinaryOperator::Lt
            | BinaryOperator::GtEq
            | BinaryOperator::LtEq
            | BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::And
            | BinaryOperator::Or
            | BinaryOperator::StringConcat => {}
            other => return Err(format!("the operator `{other}` has no Flink SQL form here")),
        },
        SqlExpr::UnaryOp { op, .. } => match op {
            UnaryOperator::Not | UnaryOperator::Minus | UnaryOperator::Plus => {}
            other => return Err(format!("the operator `{other}` has no Flink SQL form here")),
        },
        SqlExpr::Value(_)
        | SqlExpr::Nested(_)
        | SqlExpr::Cast { .. }
        | SqlExpr::Case { .. }
        | SqlExpr::InList { .. }
        | SqlExpr::Between { .. }
        | SqlExpr::Like { .. }
        | SqlExpr::IsNull(_)
        | SqlExpr::IsNotNull(_)
        | SqlExpr::IsTrue(_)
        | SqlExpr::IsFalse(_)
        | SqlExpr::IsNotTrue(_)
        | SqlExpr::IsNotFalse(_)
        | SqlExpr::IsDistinctFrom(..)
        | SqlExpr::IsNotDistinctFrom(..)
        | SqlExpr::Extract { .. }
        | SqlExpr::Substring { .. }
        | SqlExpr::Trim { .. }
        | SqlExpr::TypedString { .. } => {}
        other => {
            return Err(format!(
                "`{other}` has no Flink SQL translation in this exporter"
            ));
        }
    }
    Ok(())
}

fn quote(ident: &mut Ident) {
    ident.quote_style = Some('`');
}

fn rename(function: &mut Function) -> Result<(), String> {
    let name = function.name.to_string().to_ascii_lowercase();
    let Some((_, flink)) = FUNCTIONS.iter().find(|(eddy, _)| *eddy == name) else {
        return Err(format!(
            "the function `{name}` has no known Flink SQL equivalent"
        ));
    };
    if function.over.is_some() || function.filter.is_some() {
        return Err(format!("`{name}` with OVER or FILTER is not exported"));
    }
    function.name = ObjectName(vec![ObjectNamePart::Identifier(Ident::new(*flink))]);
    Ok(())
}

fn call(name: &str, args: Vec<SqlExpr>) -> SqlExpr {
    SqlExpr::Function(Function {
        name: ObjectName(vec![ObjectNamePart::Identifier(Ident::new(name))]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|a| FunctionArg::Unnamed(FunctionArgExpr::Expr(a)))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};

    fn schema() -> Schema {
        let columns = [
            ("total_amount", DataType::Float64),
            ("trip_distance", DataType::Float64),
            ("value", DataType::Float64),
            ("key", DataType::Utf8),
            ("trip_id", DataType::Int64),
            ("fare_amount", DataType::Float64),
            ("pickup_location_id", DataType::Int64),
            ("name", DataType::Utf8),
            ("city", DataType::Utf8),
            ("ts", DataType::Int64),
        ];
        Schema::new(
            columns
                .iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        )
    }

    fn flink(text: &str) -> Result<String, String> {
        flink_expr(text, &schema())
    }

    #[test]
    fn names_are_quoted_and_functions_renamed() {
        assert_eq!(
            flink("round(total_amount / trip_distance, 2)").unwrap(),
            "ROUND(`total_amount` / `trip_distance`, 2)"
        );
        assert_eq!(
            flink("value > 10 AND key LIKE 'sensor-0%'").unwrap(),
            "`value` > 10 AND `key` LIKE 'sensor-0%'"
        );
        assert_eq!(
            flink("CASE WHEN trip_id % 997 = 0 THEN -1.0 ELSE fare_amount END").unwrap(),
            "CASE WHEN MOD(`trip_id`, 997) = 0 THEN -1.0 ELSE `fare_amount` END"
        );
        assert_eq!(
            flink("CAST(pickup_location_id AS VARCHAR) || 'x'").unwrap(),
            "CAST(`pickup_location_id` AS VARCHAR) || 'x'"
        );
        assert_eq!(flink("length(name)").unwrap(), "CHAR_LENGTH(`name`)");
        // Flink's MOD takes integers; a fraction's remainder is written out.
        assert_eq!(
            flink("value % 2 > 1").unwrap(),
            "((`value`) - TRUNCATE((`value`) / (2), 0) * (2)) > 1"
        );
    }

    #[test]
    fn literals_keep_their_quotes_and_names_their_backticks() {
        assert_eq!(flink("city = 'O''Hare'").unwrap(), "`city` = 'O''Hare'");
        assert_eq!(quote_name("odd`name"), "`odd``name`");
    }

    #[test]
    fn what_has_no_flink_form_is_refused_with_the_reason() {
        let why = flink("date_trunc('hour', ts)").unwrap_err();
        assert!(why.contains("date_trunc"), "{why}");
        assert!(flink("a # b").is_err());
    }

    #[test]
    fn aggregate_items_keep_their_names() {
        assert_eq!(
            flink_item("count(*) AS trips", &schema()).unwrap(),
            ("COUNT(*)".to_string(), Some("trips".to_string()))
        );
        assert_eq!(
            flink_item("max(value) AS hi", &schema()).unwrap(),
            ("MAX(`value`)".to_string(), Some("hi".to_string()))
        );
    }
}
