//! Aggregates in window nodes: `count(*)`, `sum(total_amount) AS revenue`, `count(DISTINCT user_id)`.

use std::fmt;

use arrow::datatypes::{DataType, Schema};
use datafusion_sql::sqlparser::ast::{
    DuplicateTreatment, Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Spanned,
};

use super::error::{ExprError, TextPosition};
use super::plan::{PlannedExpr, plan_ast, position};
use super::projection::{split_alias, sql_type_name};

/// The aggregate functions a window can compute incrementally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFunction {
    Count,
    Sum,
    Avg,
    Min,
    Max,
    CountDistinct,
    First,
    Last,
}

impl AggregateFunction {
    pub const ALL: [AggregateFunction; 8] = [
        Self::Count,
        Self::Sum,
        Self::Avg,
        Self::Min,
        Self::Max,
        Self::CountDistinct,
        Self::First,
        Self::Last,
    ];

    pub fn sql_name(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Sum => "sum",
            Self::Avg => "avg",
            Self::Min => "min",
            Self::Max => "max",
            Self::CountDistinct => "count_distinct",
            Self::First => "first",
            Self::Last => "last",
        }
    }

    fn from_sql_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "first_value" => Some(Self::First),
            "last_value" => Some(Self::Last),
            _ => Self::ALL.into_iter().find(|f| f.sql_name() == lower),
        }
    }
}

impl fmt::Display for AggregateFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.sql_name())
    }
}

/// One planned aggregate: which function, over which expression, and its output column.
#[derive(Debug, Clone)]
pub struct AggregateSpec {
    pub text: String,
    pub function: AggregateFunction,
    /// `None` for `count(*)`.
    pub argument: Option<PlannedExpr>,
    pub name: String,
    pub output_type: DataType,
}

/// Plans one aggregate item against the window's input schema.
pub fn plan_aggregate(text: &str, schema: &Schema) -> Result<AggregateSpec, ExprError> {
    let (ast, alias) = split_alias(text)?;
    let start = position(ast.span().start);
    let SqlExpr::Function(call) = &ast else {
        return Err(ExprError::new(
            format!(
                "an aggregate is a call such as `sum(column) AS name`; known aggregates: {}",
                known_aggregates()
            ),
            start,
        ));
    };
    let called = call.name.to_string();
    let Some(mut function) = AggregateFunction::from_sql_name(&called) else {
        return Err(ExprError::new(
            format!(
                "`{called}` is not an aggregate; known aggregates: {}",
                known_aggregates()
            ),
            start,
        ));
    };
    let FunctionArguments::List(list) = &call.args else {
        return Err(ExprError::new(
            format!("`{called}` needs one argument in parentheses"),
            start,
        ));
    };
    if list.duplicate_treatment == Some(DuplicateTreatment::Distinct) {
        if function != AggregateFunction::Count {
            return Err(ExprError::new(
                "DISTINCT is only supported as `count(DISTINCT column)`",
                start,
            ));
        }
        function = AggregateFunction::CountDistinct;
    }
    let argument_ast = match list.args.as_slice() {
        [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
            if function == AggregateFunction::Count =>
        {
            None
        }
        [FunctionArg::Unnamed(FunctionArgExpr::Expr(expr))] => Some(expr),
        [] if function == AggregateFunction::Count => None,
        _ => {
            return Err(ExprError::new(
                format!("`{called}` takes exactly one argument"),
                start,
            ));
        }
    };
    let argument = match argument_ast {
        Some(arg) => Some(plan_ast(&arg.to_string(), arg, schema)?),
        None => None,
    };
    let output_type =
        output_type(function, argument.as_ref()).map_err(|m| ExprError::new(m, start))?;
    let name = match alias {
        Some(name) => name,
        None => default_name(function, argument_ast).ok_or_else(|| {
            ExprError::new(
                "give this aggregate a name: write `... AS name`",
                Some(TextPosition { line: 1, column: 1 }),
            )
        })?,
    };
    Ok(AggregateSpec {
        text: text.to_string(),
        function,
        argument,
        name,
        output_type,
    })
}

fn known_aggregates() -> String {
    "count(*), count(x), count(DISTINCT x), sum(x), avg(x), min(x), max(x), first(x), last(x)"
        .to_string()
}

fn default_name(function: AggregateFunction, argument: Option<&SqlExpr>) -> Option<String> {
    match argument {
        None => Some(function.sql_name().to_string()),
        Some(SqlExpr::Identifier(ident)) => {
            Some(format!("{}_{}", function.sql_name(), ident.value))
        }
        Some(_) => None,
    }
}

fn output_type(
    function: AggregateFunction,
    argument: Option<&PlannedExpr>,
) -> Result<DataType, String> {
    use AggregateFunction::*;
    let Some(argument) = argument else {
        return Ok(DataType::Int64);
    };
    let input = &argument.data_type;
    match function {
        Count | CountDistinct => Ok(DataType::Int64),
        Sum if input.is_integer() => Ok(DataType::Int64),
        Sum if input.is_floating() => Ok(DataType::Float64),
        Avg if input.is_numeric() => Ok(DataType::Float64),
        Sum | Avg => Err(format!(
            "{function} needs numbers, but `{}` is {}",
            argument.text,
            sql_type_name(input)
        )),
        Min | Max if is_orderable(input) => Ok(input.clone()),
        Min | Max => Err(format!(
            "{function} needs values that can be ordered, but `{}` is {}",
            argument.text,
            sql_type_name(input)
        )),
        First | Last => Ok(input.clone()),
    }
}

fn is_orderable(data_type: &DataType) -> bool {
    data_type.is_numeric()
        || matches!(
            data_type,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Boolean
                | DataType::Timestamp(..)
                | DataType::Date32
                | DataType::Date64
        )
}
