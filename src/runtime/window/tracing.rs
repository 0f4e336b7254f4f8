//! What a window operator tells its event-time trace: each arriving event (time, key, outcome, and
//! where its row is), each firing (bounds, key, and where its result row is) — ids and Arrow data
//! only; the app formats them when it draws.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;

use super::keyed_state::KeyTable;
use crate::runtime::contract::Timestamp;
use crate::runtime::trace::{
    EventTrace, FiringKind, Outcome, Sampler, TracedEvent, TracedFiring, TracedKeys,
};

/// One operator instance's link to its node's trace.
pub struct Tracer {
    trace: Option<Arc<EventTrace>>,
    /// This instance's keys as the trace knows them.
    known: TracedKeys<u32>,
    sampler: Sampler,
}

impl Tracer {
    /// `span_ms`: how much event time one window band covers (its size, or a session's gap).
    pub fn new(trace: Option<Arc<EventTrace>>, span_ms: i64) -> Self {
        Self {
            trace,
            known: TracedKeys::default(),
            sampler: Sampler::new(span_ms),
        }
    }

    /// Whether the app asked for the trace (it costs nothing while off).
    pub fn is_on(&self) -> bool {
        self.trace.as_ref().is_some_and(|t| t.is_enabled())
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
            let id = d.add_batch(batch);
            for &&(ts, key, outcome, row) in &kept {
                let key = known.of(d, &key, || keys.columns(&[key]).unwrap_or_default());
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
            let id = d.add_results(results);
            for (row, &(key, start, end)) in fired.iter().enumerate() {
                let key = known.of(d, &key, || keys.columns(&[key]).unwrap_or_default());
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
        if let Some(trace) = &self.trace {
            trace.watermark(watermark);
        }
    }
}
