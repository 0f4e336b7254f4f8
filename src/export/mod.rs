//! Pipelines for other engines: Flink SQL (`flink_sql`), run by a PyFlink program (`pyflink`),
//! with a report of what does not translate (`report`), node by node. Reads the checked plan and
//! prints expressions from their parsed form (`crate::expr::flink_expr`); knows no engine.

mod firehose;
pub mod flink_progress;
pub mod flink_sql;
mod flink_time;
mod flink_types;
mod joins;
pub mod kinesis;
mod patterns;
pub mod pyflink;
pub mod report;
mod sinks;
mod sources;
mod streams;
mod windows;
