//! The event-time trace of a window or pattern node: which events arrived when, how they were
//! judged (in time, late but allowed, too late), how the watermark moved, when windows fired and
//! which rows each match took. Off until the app asks for it; when on, operators record ids, times
//! and Arrow data into small rings the UI reads — nothing is formatted while the pipeline runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use std::borrow::Borrow;
use std::hash::Hash;

use rustc_hash::{FxHashMap, FxHashSet};

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

/// A row a match took.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedMatchRow {
    pub event_time: Timestamp,
    /// Wall seconds since the run started, when the row reached the pattern (NaN when unknown:
    /// the row came back from a checkpoint).
    pub arrived_secs: f64,
    /// The pattern step the row was mapped to.
    pub step: u16,
}

/// One match of a pattern node, or one partial match that timed out.
#[derive(Debug, Clone, PartialEq)]
pub struct TracedMatch {
    /// When the match was emitted (the watermark passed its last row) or timed out.
    pub wall_secs: f64,
    pub key: TraceKey,
    /// Its rows, first to last (the first [`MATCH_ROWS`] of a longer match).
    pub rows: Vec<TracedMatchRow>,
    /// How many rows it took in all.
    pub rows_taken: usize,
    pub timed_out: bool,
    /// Which recent result batch holds its output row (measures, or the timeout row), and where.
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
    /// A pattern node's matches and timed-out partial matches.
    pub matches: VecDeque<TracedMatch>,
    /// A pattern node's step names, in pattern order (empty for a window node).
    pub steps: Vec<String>,
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
        self.result_row(firing.result, firing.row)
    }

    /// The output row of a match, while its batch is still kept.
    pub fn match_row(&self, found: &TracedMatch) -> Option<(&RecordBatch, usize)> {
        self.result_row(found.result, found.row)
    }

    fn result_row(&self, result: u64, row: u32) -> Option<(&RecordBatch, usize)> {
        let (_, batch) = self.results.iter().find(|(id, _)| *id == result)?;
        let row = row as usize;
        (row < batch.num_rows()).then_some((batch, row))
    }

    /// Keeps a result batch and gives its id.
    pub fn add_results(&mut self, results: &RecordBatch) -> u64 {
        let id = self.next_result;
        self.next_result += 1;
        self.results.push_back((id, results.clone()));
        id
    }

    /// Keeps an input batch and gives its id.
    pub fn add_batch(&mut self, batch: &RecordBatch) -> u64 {
        let id = self.next_batch;
        self.next_batch += 1;
        self.batches.push_back((id, batch.clone()));
        id
    }
}

/// An operator's keys as its trace knows them: a key's columns go to the trace the first time
/// the key is seen.
pub struct TracedKeys<K>(FxHashMap<K, TraceKey>);

impl<K> Default for TracedKeys<K> {
    fn default() -> Self {
        Self(FxHashMap::default())
    }
}

impl<K: Hash + Eq> TracedKeys<K> {
    /// The trace key of `key`, registering `columns()` with `data` the first time.
    pub fn of<Q>(
        &mut self,
        data: &mut TraceData,
        key: &Q,
        columns: impl FnOnce() -> Vec<ArrayRef>,
    ) -> TraceKey
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(&known) = self.0.get(key) {
            return known;
        }
        let traced = data.add_key(columns());
        self.0.insert(key.to_owned(), traced);
        traced
    }
}

/// In-time events kept per window span (or pattern `within`): enough to see a window fill, few
/// enough to read, and the trace's ring then spans many windows at any speed. Late events are
/// always kept.
pub const IN_TIME_PER_SPAN: i64 = 50;
/// Keys get this many places in each slot of event time, so one busy key does not hide the rest.
const KEY_SLOTS: u32 = 2;
/// The sampler forgets the slots it has seen past this many (and starts over), to stay bounded.
const MAX_SLOTS: usize = 100_000;

/// Thins in-time events to at most [`KEY_SLOTS`] per slot of `span / IN_TIME_PER_SPAN` of event
/// time: uniform over event time, whatever the rate.
#[derive(Debug)]
pub struct Sampler {
    slot_ms: i64,
    seen: FxHashSet<(i64, u32)>,
}

impl Sampler {
    /// `span_ms`: how much event time one window band (or one match) covers.
    pub fn new(span_ms: i64) -> Self {
        Self {
            slot_ms: span_ms / IN_TIME_PER_SPAN,
            seen: FxHashSet::default(),
        }
    }

    /// Whether to trace an event of `key` (any number standing for it) at `ts`.
    pub fn keep(&mut self, ts: Timestamp, key: u32, outcome: Outcome) -> bool {
        if outcome != Outcome::InTime || self.slot_ms <= 0 {
            return true;
        }
        if self.seen.len() >= MAX_SLOTS {
            self.seen.clear();
        }
        self.seen
            .insert((ts.div_euclid(self.slot_ms), key % KEY_SLOTS))
    }
}

const EVENTS: usize = 4000;
const WATERMARKS: usize = 2000;
const FIRINGS: usize = 2000;
const MATCHES: usize = 1000;
/// Rows kept of one traced match: a long looping step is drawn by its first rows.
pub const MATCH_ROWS: usize = 200;
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
        Self::of(TraceData {
            allowed_lateness_ms,
            aggregate_columns,
            ..TraceData::default()
        })
    }

    /// The trace of a pattern node with these steps and measures.
    pub fn of_pattern(steps: Vec<String>, measures: usize) -> Self {
        Self::of(TraceData {
            aggregate_columns: measures,
            steps,
            ..TraceData::default()
        })
    }

    fn of(data: TraceData) -> Self {
        Self {
            enabled: AtomicBool::new(false),
            started: Instant::now(),
            data: Mutex::new(data),
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
            while data.matches.len() > MATCHES {
                data.matches.pop_front();
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

    /// Records where the watermark got to, while the trace is on.
    pub fn watermark(&self, watermark: Timestamp) {
        if self.is_enabled() && watermark < i64::MAX {
            let now = self.now_secs();
            self.record(|d| d.watermarks.push_back((now, watermark)));
        }
    }

    /// A copy of what was recorded.
    pub fn snapshot(&self) -> TraceData {
        self.data.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_time_events_are_thinned_evenly_over_event_time_and_late_ones_all_kept() {
        // A minute-long window, 10,000 in-time events of one key spread over it.
        let mut sampler = Sampler::new(60_000);
        let kept: Vec<i64> = (0..10_000)
            .map(|i| i * 6)
            .filter(|&ts| sampler.keep(ts, 7, Outcome::InTime))
            .collect();
        assert_eq!(kept.len() as i64, IN_TIME_PER_SPAN);
        // One per slot: spread over the whole minute, not bunched at its start.
        assert!(kept.windows(2).all(|w| w[1] - w[0] == 1_200), "{kept:?}");
        // A second key has its own place in each slot.
        assert!(sampler.keep(0, 8, Outcome::InTime));
        // Late events are the interesting ones: every one is kept.
        for _ in 0..100 {
            assert!(sampler.keep(0, 7, Outcome::LateUpdate));
            assert!(sampler.keep(0, 7, Outcome::TooLate));
        }
    }
}
