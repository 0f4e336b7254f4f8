//! Transform node configurations: Filter, Map, Union and Route.

use serde::{Deserialize, Serialize};

/// Keeps the rows for which a SQL condition is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterTransform {
    /// e.g. `trip_distance > 0 AND passenger_count >= 1`
    pub predicate: String,
}

/// Computes new columns with SQL expressions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapTransform {
    /// Items like `round(total_amount / trip_distance, 2) AS price_per_mile`.
    pub columns: Vec<String>,
    /// Keep the input columns too (a computed column of the same name replaces one in place).
    #[serde(default)]
    pub keep_input_columns: bool,
}

/// Merges several streams with the same columns into one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionTransform {
    /// How many input ports (`in1`, `in2`, ...), at least 2.
    pub inputs: u32,
}

/// One named output of a Route node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteOutput {
    /// The output port's name.
    pub name: String,
    pub predicate: String,
}

/// Sends each row to the first output whose condition holds, or to `unmatched`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTransform {
    pub routes: Vec<RouteOutput>,
}

/// Every kind of transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransformKind {
    Filter(FilterTransform),
    Map(MapTransform),
    Union(UnionTransform),
    Route(RouteTransform),
}

/// The name of the Route output that takes rows no condition matched.
pub const UNMATCHED_PORT: &str = "unmatched";
