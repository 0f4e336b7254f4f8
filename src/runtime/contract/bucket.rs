//! Where a Firehose delivery stream's objects go: a bucket that takes whole objects by key. A
//! connector implements it (a local folder, a real S3 bucket) and writes the rows in the
//! destination's format; the operator decides what goes into which object and when.

use arrow::record_batch::RecordBatch;

use super::error::RunError;

/// A bucket of objects.
pub trait ObjectBucket: Send {
    /// Writes `rows` as the object `key` in the delivery's format (and compression), whole or
    /// not at all; returns its size in bytes.
    fn put_rows(&mut self, key: &str, rows: &[RecordBatch]) -> Result<u64, RunError>;

    /// Writes `bytes` as the object `key` (error documents are JSON lines whatever the format).
    fn put_bytes(&mut self, key: &str, bytes: Vec<u8>) -> Result<u64, RunError>;

    /// What data objects' keys end with (`.gz` when compressed).
    fn extension(&self) -> &str;
}
