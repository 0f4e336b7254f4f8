//! SQL expressions: parse, plan against an Arrow schema with SQL type coercion, evaluate on batches.
//!
//! Built from DataFusion's parts (sqlparser, `SqlToRel`, the type-coercion rewriter and the physical
//! expression planner), never the whole query engine. The model uses this module to type Filter,
//! Map, Route and window nodes; the engine uses the same planned expressions to evaluate them.

mod aggregate;
mod balance;
mod context;
mod error;
mod flink;
pub mod navigation;
mod plan;
mod projection;
mod suggest;

pub use aggregate::{AggregateFunction, AggregateSpec, plan_aggregate};
pub use error::{ExprError, TextPosition};
pub use flink::{flink_expr, flink_item, flink_pattern_expr, quote_name};
pub use plan::{PlannedExpr, plan_expr, plan_predicate};
pub use projection::{ProjectionItem, split_alias, sql_type_name};
pub use suggest::{did_you_mean, did_you_mean_text};
