//! What a window operator tells its event-time trace: each arriving event (time, key, outcome, and
//! where its row is), each firing (bounds, key, and where its result row is) — ids and Arrow data
//! only; the app formats them when it draws.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use rustc_hash::{FxHashMap, FxHashSet};

use super::keyed_state::KeyTable;
use crate::runtime::contract::Timestamp;
use crate::runtime::trace::{
    EventTrace, FiringKind, Outcome, TraceData, TraceKey, TracedEvent, TracedFiring,
};

/// One operator instance's link to its node's trace.
pub struct Tracer {
    trace: Option<Arc<EventTrace>>,
    /// This instance's keys as the trace knows them.
    known: FxHashMap<u32, TraceKey>,
    sampler: Sampler,
}

/// In-time events kept per window span: enough to see a window fill, few enough to read, and the
/// trace's ring then spans many windows at any speed. Late events are always kept.
pub const IN_TIME_PER_SPAN: i64 = 50;
/// Keys get this many places in each slot of event time, so one busy key does not hide the rest.
const KEY_SLOTS: u32 = 2;
/// The sampler forgets the slots it has seen past this many (and starts over), to stay bounded.
const MAX_SLOTS: usize = 100_000;

/// Thins in-time events to at most [`KEY_SLOTS`] per slot of `span / IN_TIME_PER_SPAN` of event
/// time: uniform over event time, whatever the rate.
struct Sampler {
    slot_ms: i64,
    seen: FxHashSet<(i64, u32)>,
}

impl Sampler {
    fn keep(&mut self, ts: Timestamp, key: u32, outcome: Outcome) -> bool {
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

impl Tracer {
    /// `span_ms`: how much event time one window band covers (its size, or a session's gap).
    pub fn new(trace: Option<Arc<EventTrace>>, span_ms: i64) -> Self {
        Self {
            trace,
            known: FxHashMap::default(),
            sampler: Sampler {
                slot_ms: span_ms / IN_TIME_PER_SPAN,
                seen: FxHashSet::default(),
            },
        }
    }

    /// Whether the app asked for the trace (it costs nothing while off).
    pub fn is_on(&self) -> bool {
        self.trace.as_ref().is_some_and(|t| t.is_enabled())
    }

    /// The trace key of `key`, registering its columns with the trace the first time.
    fn trace_key(
        keys: &KeyTable,
        known: &mut FxHashMap<u32, TraceKey>,
        data: &mut TraceData,
        key: u32,
    ) -> TraceKey {
        if let Some(&known) = known.get(&key) {
            return known;
        }
        let columns = keys.columns(&[key]).unwrap_or_default();
        let traced = data.add_key(columns);
        known.insert(key, traced);
        traced
    }

    /// Records the events of one input batch: (event time, key, outcome, row).
    pub fn events(
        &mut self,
        keys: &KeyTable,
        traced: &[(Timestamp, u32, Outcome, u32)],
        batch: &RecordBatch,
    ) {
        let Some(trace) = self.trace.clone() else {
            return;
        };
        let sampler = &mut self.sampler;
        let kept: Vec<&(Timestamp, u32, Outcome, u32)> = traced
            .iter()
            .filter(|(ts, key, outcome, _)| sampler.keep(*ts, *key, *outcome))
            .collect();
        if kept.is_empty() {
            return;
        }
        let now = trace.now_secs();
        let known = &mut self.known;
        trace.record(|d| {
            let id = d.next_batch;
            d.next_batch += 1;
            d.batches.push_back((id, batch.clone()));
            for &&(ts, key, outcome, row) in &kept {
                let key = Self::trace_key(keys, known, d, key);
                d.events.push_back(TracedEvent {
                    wall_secs: now,
                    event_time: ts,
                    key,
                    outcome,
                    batch: id,
                    row,
                });
            }
        });
    }

    /// Records the firings of one result batch: (key, start, end) per result row.
    pub fn firings(
        &mut self,
        keys: &KeyTable,
        fired: &[(u32, Timestamp, Timestamp)],
        kind: FiringKind,
        results: &RecordBatch,
    ) {
        let Some(trace) = self.trace.clone() else {
            return;
        };
        let now = trace.now_secs();
        let known = &mut self.known;
        trace.record(|d| {
            let id = d.next_result;
            d.next_result += 1;
            d.results.push_back((id, results.clone()));
            for (row, &(key, start, end)) in fired.iter().enumerate() {
                let key = Self::trace_key(keys, known, d, key);
                d.firings.push_back(TracedFiring {
                    wall_secs: now,
                    start,
                    end,
                    key,
                    kind,
                    result: id,
                    row: row as u32,
                });
            }
        });
    }

    /// Records where the watermark got to.
    pub fn watermark(&self, watermark: Timestamp) {
        if let Some(trace) = self.trace.as_ref().filter(|t| t.is_enabled())
            && watermark < i64::MAX
        {
            let now = trace.now_secs();
            trace.record(|d| d.watermarks.push_back((now, watermark)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_time_events_are_thinned_evenly_over_event_time_and_late_ones_all_kept() {
        // A minute-long window, 10,000 in-time events of one key spread over it.
        let mut sampler = Sampler {
            slot_ms: 60_000 / IN_TIME_PER_SPAN,
            seen: FxHashSet::default(),
        };
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
