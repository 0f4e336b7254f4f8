//! What flows on an edge: data batches and control messages, in one ordered stream per edge.

use arrow::record_batch::RecordBatch;

/// Event time in milliseconds since the epoch.
pub type Timestamp = i64;

/// The watermark before any data: nothing is known yet.
pub const MIN_WATERMARK: Timestamp = i64::MIN;
/// The watermark at the end of a bounded input: every window can fire.
pub const MAX_WATERMARK: Timestamp = i64::MAX;

/// A checkpoint's number; barriers of one checkpoint carry the same id on every edge.
pub type BarrierId = u64;

/// One message on an edge. Data and control share the channel so their order is kept
/// (a watermark never overtakes the rows before it).
#[derive(Debug, Clone)]
pub enum Message {
    Batch(RecordBatch),
    /// No row with an event time at or before this will follow on this edge.
    Watermark(Timestamp),
    /// The run's clock (simulated arrival time, in ms) on this edge has reached this instant.
    /// Sent only when an operator of the run asked for ticks, so timers fire at the same place in
    /// the stream whether the run is paced or as fast as possible.
    Time(Timestamp),
    /// A checkpoint barrier (Chandy–Lamport): everything before it belongs to checkpoint `id`.
    Barrier(BarrierId),
    /// The sender has no data for a while; do not let it hold back the watermark.
    Idle,
    /// No more messages on this edge.
    End,
}
