//! Sources and sinks that touch the outside world: generators, files, the console, a real Kinesis
//! stream, and the in-memory collector behind the app's charts and tables (and the tests). Each file holds a
//! kind's runtime side: its `build`, its reader or sink, and its tests. Connectors depend on the
//! runtime's contract only.

pub mod aws;
pub mod collector;
pub mod columns;
pub mod console;
pub mod csv_source;
pub mod file_sink;
pub mod firehose_bucket;
pub mod generator;
pub mod json_source;
pub mod kinesis;
pub mod reference_table;
pub mod row_errors;
