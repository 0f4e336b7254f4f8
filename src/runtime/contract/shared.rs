//! What sinks share with whoever owns the run: the rows a collecting sink keeps, published as
//! immutable snapshots (a reader never holds the sink up), and where console text goes.

use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;

/// Where console text goes: the terminal for `eddy run`, the log panel in the app.
pub type ConsoleWriter = Arc<dyn Fn(&str) + Send + Sync>;

/// Rows received by a collecting sink, newest last, capped so a long run stays in bounds.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    /// Rows let go to stay under the cap (oldest first).
    pub evicted_rows: usize,
    /// Grows with every published change, so a reader can cache what it derives from a version.
    pub version: u64,
    pub finished: bool,
}

/// The newest snapshot of a collecting sink. The sink replaces it; readers take the `Arc` and
/// look at it as long as they like, while the sink goes on.
#[derive(Clone, Default)]
pub struct CollectedRows {
    slot: Arc<Mutex<Arc<Collected>>>,
}

impl std::fmt::Debug for CollectedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CollectedRows")
    }
}

impl CollectedRows {
    /// The newest published snapshot (the lock is held only to clone an `Arc`).
    pub fn snapshot(&self) -> Arc<Collected> {
        match self.slot.lock() {
            Ok(slot) => Arc::clone(&slot),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Publishes `snapshot` unless a reader is taking one this instant; false when skipped.
    pub fn try_publish(&self, snapshot: Arc<Collected>) -> bool {
        match self.slot.try_lock() {
            Ok(mut slot) => {
                *slot = snapshot;
                true
            }
            Err(_) => false,
        }
    }

    /// Publishes `snapshot`, waiting the moment a reader needs to clone the current one.
    pub fn publish(&self, snapshot: Arc<Collected>) {
        match self.slot.lock() {
            Ok(mut slot) => *slot = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }
}
