//! The event-time trace of a window node: which events arrived when, how they were judged (in time,
//! late but allowed, too late), how the watermark moved, and when windows fired. Off until the app
//! asks for it; when on, the operator records into small rings the UI reads.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::message::Timestamp;

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

/// One arriving event.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedEvent {
    /// Wall seconds since the run started, when the event reached the window.
    pub wall_secs: f64,
    pub event_time: Timestamp,
    pub key: String,
    pub outcome: Outcome,
    /// Which recent batch holds the event's row, and where.
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
    pub key: String,
    pub kind: FiringKind,
    /// The result's aggregates, as `name=value` text.
    pub values: String,
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
    pub batches: VecDeque<(u64, arrow::record_batch::RecordBatch)>,
    pub next_batch: u64,
}

impl TraceData {
    /// The row of an event as `column=value` pairs, while its batch is still kept.
    pub fn row_text(&self, event: &TracedEvent) -> Option<String> {
        let (_, batch) = self.batches.iter().find(|(id, _)| *id == event.batch)?;
        let row = event.row as usize;
        (row < batch.num_rows()).then(|| {
            batch
                .schema()
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| {
                    format!(
                        "{}={}",
                        f.name(),
                        crate::connectors::values::cell_text(c.as_ref(), row)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
    }
}

const EVENTS: usize = 4000;
const WATERMARKS: usize = 2000;
const FIRINGS: usize = 2000;
const BATCH_ROWS: usize = 20_000;

/// Shared by every instance of one window node and the app.
#[derive(Debug)]
pub struct EventTrace {
    enabled: AtomicBool,
    started: Instant,
    data: Mutex<TraceData>,
}

impl EventTrace {
    pub fn new(allowed_lateness_ms: i64) -> Self {
        Self {
            enabled: AtomicBool::new(false),
            started: Instant::now(),
            data: Mutex::new(TraceData {
                allowed_lateness_ms,
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
        if let Ok(mut data) = self.data.try_lock() {
            write(&mut data);
            while data.events.len() > EVENTS {
                data.events.pop_front();
            }
            while data.watermarks.len() > WATERMARKS {
                data.watermarks.pop_front();
            }
            while data.firings.len() > FIRINGS {
                data.firings.pop_front();
            }
            // Keep enough recent rows to cover the traced events, but never more than that.
            let mut rows: usize = data.batches.iter().map(|(_, b)| b.num_rows()).sum();
            while rows > BATCH_ROWS && data.batches.len() > 1 {
                if let Some((_, b)) = data.batches.pop_front() {
                    rows -= b.num_rows();
                }
            }
        }
    }

    /// A copy of what was recorded.
    pub fn snapshot(&self) -> TraceData {
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }
}
