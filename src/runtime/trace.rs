//! The event-time trace of a window node: which events arrived when, how they were judged (in time,
//! late but allowed, too late), how the watermark moved, and when windows fired. Off until the app
//! asks for it; when on, operators record ids, times and Arrow data into small rings the UI reads —
//! nothing is formatted while the pipeline runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;

use super::contract::Timestamp;

/// How the window judged an arriving event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Added to windows that had not fired yet.
    InTime,
    /// Added to a window that had already fired, within the allowed lateness: it fires again.
    LateUpdate,
    /// Too late for any window: sent to `late` (or dropped when `late` is not connected).
    TooLate,
}

/// A key of the trace: an index into [`TraceData::keys`].
pub type TraceKey = u32;

/// The trace key of every key past the first [`KEYS`] (a stream of ever-new keys).
pub const OTHER_KEYS: TraceKey = TraceKey::MAX;

/// One arriving event.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedEvent {
    /// Wall seconds since the run started, when the event reached the window.
    pub wall_secs: f64,
    pub event_time: Timestamp,
    pub key: TraceKey,
    pub outcome: Outcome,
    /// Which recent input batch holds the event's row, and where.
    pub batch: u64,
    pub row: u32,
}

/// Why a window emitted a result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FiringKind {
    Early,
    OnWatermark,
    Late,
}

/// One window result.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedFiring {
    pub wall_secs: f64,
    pub start: Timestamp,
    pub end: Timestamp,
    pub key: TraceKey,
    pub kind: FiringKind,
    /// Which recent result batch holds the result row, and where.
    pub result: u64,
    pub row: u32,
}

/// What the trace holds.
#[derive(Debug, Default, Clone)]
pub struct TraceData {
    pub events: VecDeque<TracedEvent>,
    /// (wall seconds, watermark)
    pub watermarks: VecDeque<(f64, Timestamp)>,
    pub firings: VecDeque<TracedFiring>,
    pub allowed_lateness_ms: i64,
    /// The most recent input batches, so the app can show an event's whole row.
    pub batches: VecDeque<(u64, RecordBatch)>,
    pub next_batch: u64,
    /// The most recent result batches, so the app can show a firing's values.
    pub results: VecDeque<(u64, RecordBatch)>,
    pub next_result: u64,
    /// Each traced key's columns (one row each), by trace key; shared, so a copy is cheap.
    pub keys: Vec<Arc<[ArrayRef]>>,
    /// How many columns at the end of a result are aggregates.
    pub aggregate_columns: usize,
}

impl TraceData {
    /// Remembers a key's columns and gives its trace key (the shared one past [`KEYS`]).
    pub fn add_key(&mut self, columns: Vec<ArrayRef>) -> TraceKey {
        if self.keys.len() >= KEYS {
            return OTHER_KEYS;
        }
        self.keys.push(Arc::from(columns));
        (self.keys.len() - 1) as TraceKey
    }

    /// The input row of an event, while its batch is still kept.
    pub fn event_row(&self, event: &TracedEvent) -> Option<(&RecordBatch, usize)> {
        let (_, batch) = self.batches.iter().find(|(id, _)| *id == event.batch)?;
        let row = event.row as usize;
        (row < batch.num_rows()).then_some((batch, row))
    }

    /// The result row of a firing, while its batch is still kept.
    pub fn firing_row(&self, firing: &TracedFiring) -> Option<(&RecordBatch, usize)> {
        let (_, batch) = self.results.iter().find(|(id, _)| *id == firing.result)?;
        let row = firing.row as usize;
        (row < batch.num_rows()).then_some((batch, row))
    }
}

const EVENTS: usize = 4000;
const WATERMARKS: usize = 2000;
const FIRINGS: usize = 2000;
const BATCH_ROWS: usize = 20_000;
/// Distinct keys the trace tells apart; later keys share one entry.
pub const KEYS: usize = 10_000;

/// Shared by every instance of one window node and the app.
#[derive(Debug)]
pub struct EventTrace {
    enabled: AtomicBool,
    started: Instant,
    data: Mutex<TraceData>,
}

impl EventTrace {
    pub fn new(allowed_lateness_ms: i64, aggregate_columns: usize) -> Self {
        Self {
            enabled: AtomicBool::new(false),
            started: Instant::now(),
            data: Mutex::new(TraceData {
                allowed_lateness_ms,
                aggregate_columns,
                ..TraceData::default()
            }),
        }
    }

    pub fn enable(&self) {
        self.enabled.store(true, Ordering::Release);
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn now_secs(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Records under the lock; skips (never waits) when the reader holds it.
    pub fn record(&self, write: impl FnOnce(&mut TraceData)) {
        if let Ok(mut guard) = self.data.try_lock() {
            let data = &mut *guard;
            write(data);
            while data.events.len() > EVENTS {
                data.events.pop_front();
            }
            while data.watermarks.len() > WATERMARKS {
                data.watermarks.pop_front();
            }
            while data.firings.len() > FIRINGS {
                data.firings.pop_front();
            }
            // Keep enough recent rows to cover the traced events and firings, never more.
            for ring in [&mut data.batches, &mut data.results] {
                let mut rows: usize = ring.iter().map(|(_, b)| b.num_rows()).sum();
                while rows > BATCH_ROWS && ring.len() > 1 {
                    if let Some((_, b)) = ring.pop_front() {
                        rows -= b.num_rows();
                    }
                }
            }
        }
    }

    /// A copy of what was recorded.
    pub fn snapshot(&self) -> TraceData {
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }
}
