//! What a pattern operator tells its event-time trace: each arriving row (its time, its key, in
//! time or too late), the watermark, and each match or timed-out partial match with the rows it
//! took (their times, when they arrived, their steps) — so the app can draw a match as a line
//! through its rows. Ids, times and Arrow data only; the app formats them when it draws.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;
use rustc_hash::FxHasher;

use super::Finished;
use crate::runtime::contract::Timestamp;
use crate::runtime::trace::{
    EventTrace, MATCH_ROWS, Outcome, Sampler, TracedEvent, TracedKeys, TracedMatch, TracedMatchRow,
};

/// One pattern instance's link to its node's trace.
pub struct PatternTracer {
    trace: Option<Arc<EventTrace>>,
    /// This instance's keys as the trace knows them.
    known: TracedKeys<Vec<ScalarValue>>,
    sampler: Sampler,
}

impl PatternTracer {
    /// `span_ms`: how much event time a match may cover (`within`), to thin in-time rows by.
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

    /// Wall seconds since the run started while tracing; NaN (never drawn) otherwise.
    pub fn now_secs(&self) -> f64 {
        match &self.trace {
            Some(t) if t.is_enabled() => t.now_secs(),
            _ => f64::NAN,
        }
    }

    /// A key's columns, for the trace.
    fn columns(key: &[ScalarValue]) -> Vec<ArrayRef> {
        key.iter()
            .map(ScalarValue::to_array)
            .collect::<Result<_, _>>()
            .unwrap_or_default()
    }

    /// Records the rows of one input batch: each row's time (rows without one are not drawn)
    /// and whether it came too late (at or behind the watermark: dropped).
    pub fn events(
        &mut self,
        batch: &RecordBatch,
        key_columns: &[usize],
        times: &[Option<Timestamp>],
        watermark: Timestamp,
    ) {
        let Some(trace) = self.trace.clone().filter(|t| t.is_enabled()) else {
            return;
        };
        let mut kept: Vec<(Timestamp, Vec<ScalarValue>, Outcome, u32)> = Vec::new();
        for (row, ts) in times.iter().enumerate() {
            let Some(ts) = *ts else {
                continue;
            };
            let key: Vec<ScalarValue> = key_columns
                .iter()
                .map(|&c| ScalarValue::try_from_array(batch.column(c), row))
                .collect::<Result<_, _>>()
                .unwrap_or_default();
            let outcome = if ts > watermark {
                Outcome::InTime
            } else {
                Outcome::TooLate
            };
            let mut hasher = FxHasher::default();
            key.hash(&mut hasher);
            if self.sampler.keep(ts, hasher.finish() as u32, outcome) {
                kept.push((ts, key, outcome, row as u32));
            }
        }
        if kept.is_empty() {
            return;
        }
        let now = trace.now_secs();
        let known = &mut self.known;
        trace.record(|d| {
            let id = d.add_batch(batch);
            for (ts, key, outcome, row) in &kept {
                let key = known.of(d, key.as_slice(), || Self::columns(key));
                d.events.push_back(TracedEvent {
                    wall_secs: now,
                    event_time: *ts,
                    key,
                    outcome: *outcome,
                    batch: id,
                    row: *row,
                });
            }
        });
    }

    /// Records matches (or timed-out partial matches) and the output batch holding their rows,
    /// one output row per match, in order.
    pub(super) fn matches(&mut self, finished: &[Finished], timed_out: bool, rows: &RecordBatch) {
        let Some(trace) = self.trace.clone().filter(|t| t.is_enabled()) else {
            return;
        };
        let now = trace.now_secs();
        let known = &mut self.known;
        trace.record(|d| {
            let id = d.add_results(rows);
            for (row, f) in finished.iter().enumerate() {
                let mapped = f.run.mapped();
                let key = known.of(d, f.key.as_slice(), || Self::columns(&f.key));
                d.matches.push_back(TracedMatch {
                    wall_secs: now,
                    key,
                    rows: mapped
                        .iter()
                        .take(MATCH_ROWS)
                        .map(|(taken, step)| TracedMatchRow {
                            event_time: taken.ts,
                            arrived_secs: taken.arrived,
                            step: u16::try_from(*step).unwrap_or(u16::MAX),
                        })
                        .collect(),
                    rows_taken: mapped.len(),
                    timed_out,
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
