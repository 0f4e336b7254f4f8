//! What a Lambda consumer shows the app while it runs: per lane (shard) the records waiting, how
//! far behind the oldest is (the iterator age), and how long its head has been failing; and the
//! invocations, errors, duplicates and batches given up so far.

use std::sync::Mutex;

/// One lane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaneLine {
    pub shard: String,
    pub waiting: u64,
    pub behind_ms: i64,
    /// How long its head batch has been failing, if it is.
    pub failing_for_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct LambdaView {
    pub lanes: Vec<LaneLine>,
    pub invocations: u64,
    pub errors: u64,
    /// Records whose output came more than once (retried batches).
    pub duplicates: u64,
    pub output: u64,
    pub given_up_batches: u64,
    pub given_up_records: u64,
    /// Records before the starting position.
    pub skipped: u64,
}

impl LambdaView {
    /// The most any lane is behind.
    pub fn iterator_age_ms(&self) -> i64 {
        self.lanes.iter().map(|l| l.behind_ms).max().unwrap_or(0)
    }
}

/// Shared between the operator and the app.
#[derive(Debug, Default)]
pub struct LambdaStats {
    view: Mutex<LambdaView>,
}

impl LambdaStats {
    pub fn view(&self) -> LambdaView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn publish(&self, view: LambdaView) {
        if let Ok(mut shown) = self.view.lock() {
            *shown = view;
        }
    }
}
