//! The operators of transform nodes, one file each (build, operator, tests), how operators
//! evaluate expressions, and the sink a preview puts in place of those that write.

pub mod deduplicate;
pub mod discard;
pub mod filter;
pub mod firehose;
pub mod interval_join;
pub mod join_state;
pub mod json_size;
pub mod kcl;
pub mod kinesis_kpl;
pub mod kinesis_limits;
pub mod kinesis_on_demand;
pub mod kinesis_reads;
pub mod kinesis_stream;
pub mod lambda;
pub mod lambda_lanes;
pub mod lookup_join;
pub mod map;
pub mod pattern;
pub mod route;
pub mod union;
pub mod window_join;
