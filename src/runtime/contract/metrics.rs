//! Live counters each operator instance bumps: atomics, never locks, so reading them never slows
//! the pipeline. The engine's sampler turns them into snapshots.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use super::message::{MIN_WATERMARK, Timestamp};

/// Counters of one running instance of a node.
#[derive(Debug)]
pub struct InstanceMetrics {
    pub rows_in: AtomicU64,
    pub rows_out: AtomicU64,
    pub bytes_in: AtomicU64,
    pub batches_in: AtomicU64,
    /// Rows that arrived after their window closed and went to the `late` port.
    pub late_rows: AtomicU64,
    /// Rows thrown away because the port they belong on (`late`, `duplicates`) is not connected.
    pub dropped_rows: AtomicU64,
    /// Writes refused for going over a stream's shard limits.
    pub throttled_rows: AtomicU64,
    /// Rows that could not be read (sources) and went to `errors` or were counted.
    pub error_rows: AtomicU64,
    /// Results emitted again because a late row updated a fired window.
    pub late_firings: AtomicU64,
    pub watermark: AtomicI64,
    /// The newest event time seen, to show how far the watermark lags behind it.
    pub max_event_time: AtomicI64,
    pub open_windows: AtomicU64,
    pub keys: AtomicU64,
    /// A join: rows held in state per input (left, right); a lookup join: the table's rows first.
    pub held_rows: [AtomicU64; 2],
    /// A join: held rows that have not met a partner yet.
    pub waiting_rows: AtomicU64,
    /// A join: rows that met nobody and were dropped (an inner join), or a lookup that missed.
    pub unmatched_rows: AtomicU64,
    /// A lookup join: times its table was read again after its file changed, and reads that
    /// failed (the table before was kept).
    pub reloads: AtomicU64,
    pub failed_reloads: AtomicU64,
    pub busy_nanos: AtomicU64,
    /// Queue fill of each input, in per mille of its capacity.
    pub input_fill_permille: Vec<AtomicU64>,
}

impl InstanceMetrics {
    pub fn new(inputs: usize) -> Self {
        Self {
            rows_in: AtomicU64::new(0),
            rows_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            batches_in: AtomicU64::new(0),
            late_rows: AtomicU64::new(0),
            dropped_rows: AtomicU64::new(0),
            throttled_rows: AtomicU64::new(0),
            error_rows: AtomicU64::new(0),
            late_firings: AtomicU64::new(0),
            watermark: AtomicI64::new(MIN_WATERMARK),
            max_event_time: AtomicI64::new(MIN_WATERMARK),
            open_windows: AtomicU64::new(0),
            keys: AtomicU64::new(0),
            held_rows: [AtomicU64::new(0), AtomicU64::new(0)],
            waiting_rows: AtomicU64::new(0),
            unmatched_rows: AtomicU64::new(0),
            reloads: AtomicU64::new(0),
            failed_reloads: AtomicU64::new(0),
            busy_nanos: AtomicU64::new(0),
            input_fill_permille: (0..inputs).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    pub fn see_event_time(&self, ts: Timestamp) {
        self.max_event_time.fetch_max(ts, Relaxed);
    }
}
