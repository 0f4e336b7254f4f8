//! The source contract: a reader of rows (a generator, a file, later a Kinesis shard) that hands
//! out chunks and can say where it stands, and go back there.

use arrow::record_batch::RecordBatch;

use super::error::RunError;

/// Rows read by a source in one go, with the rows that could not be read.
pub struct SourceChunk {
    pub rows: RecordBatch,
    /// Rows for the `errors` port: line, raw text, reason.
    pub errors: Option<RecordBatch>,
}

/// Where a source stands between two chunks: enough to start again from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourcePosition {
    /// A file: the byte offset where the next unread row starts and that row's line (1-based).
    File { byte_offset: u64, line: u64 },
    /// A deterministic generator: how many chunks it has handed out (it replays to there).
    Chunks { delivered: u64 },
}

/// A reader of rows.
pub trait Source: Send {
    /// The next chunk, or `None` at the end of a bounded input.
    fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError>;

    /// Where the next chunk will start.
    fn position(&self) -> SourcePosition;

    /// Goes to `position`, taken from [`Source::position`] of a source over the same input;
    /// the chunks that follow are those that followed it then.
    fn seek(&mut self, position: &SourcePosition) -> Result<(), RunError>;
}
