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
    /// A Kinesis stream: every shard seen, with the sequence number of the last record read from
    /// it (Flink's Kinesis source keeps the same), and the records read so far.
    Shards {
        records: u64,
        shards: Vec<ShardPosition>,
    },
}

/// Where a Kinesis source stands in one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPosition {
    pub id: String,
    /// Its parents still to be read to their end first.
    pub parents: Vec<String>,
    /// The last record read from it; reading goes on just after it.
    pub after: Option<String>,
    /// When it was opened with nothing read from it yet (epoch ms): a restore reads from that
    /// time rather than from the newest record, so what came meanwhile is not skipped.
    pub opened_at: Option<i64>,
    /// Read to its end: its children may be read.
    pub finished: bool,
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
