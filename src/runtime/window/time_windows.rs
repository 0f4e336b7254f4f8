//! Tumbling, sliding and session windows over event or processing time, keyed, with Flink's
//! firing, lateness and cleanup rules (see WindowOperator in Flink), and early results.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, ArrayRef, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::accumulate::{Acc, Aggregates};
use super::assign::{TimeWindow, sliding, tumbling};
use super::keyed_state::KeyTable;
use super::late::{LateRow, emit_late};
use crate::runtime::clock::Clock;
use crate::runtime::message::{MIN_WATERMARK, Timestamp};
use crate::runtime::metrics::InstanceMetrics;
use crate::runtime::operator::{OpResult, Operator, fail};
use crate::runtime::outputs::Output;
use crate::runtime::trace::{EventTrace, FiringKind, Outcome, TracedEvent, TracedFiring};

/// Which windows a row belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Assigner {
    Tumbling { size: i64, offset: i64 },
    Sliding { size: i64, slide: i64, offset: i64 },
    Session { gap: i64 },
}

/// Where a row's time comes from.
#[derive(Debug, Clone, Copy)]
pub enum RowTime {
    /// A TIMESTAMP(3) column, plus a shift (-1 ms for `window_end` of an upstream window).
    Event { column: usize, shift_ms: i64 },
    /// The wall clock on arrival.
    Processing,
}

struct WindowState {
    end: Timestamp,
    accs: Vec<Acc>,
    fired: bool,
}

/// Settings of one window node.
pub struct TimeWindowConfig {
    pub assigner: Assigner,
    pub time: RowTime,
    pub allowed_lateness_ms: i64,
    pub early_every_ms: Option<i64>,
    pub aggregates: Aggregates,
    pub output_schema: SchemaRef,
    pub late_schema: SchemaRef,
    /// The event-time trace the app can switch on.
    pub trace: Option<Arc<EventTrace>>,
}

/// One instance of a tumbling, sliding or session window node.
pub struct TimeWindowOperator {
    config: TimeWindowConfig,
    keys: KeyTable,
    windows: FxHashMap<(u32, Timestamp), WindowState>,
    /// Per key, session start -> end (sessions of a key never overlap).
    sessions: FxHashMap<u32, BTreeMap<Timestamp, Timestamp>>,
    fire_timers: BTreeSet<(Timestamp, u32, Timestamp)>,
    cleanup_timers: BTreeSet<(Timestamp, u32, Timestamp)>,
    early_timers: BTreeSet<(Timestamp, u32, Timestamp)>,
    watermark: Timestamp,
    metrics: Arc<InstanceMetrics>,
    scratch: Vec<TimeWindow>,
    /// Key names for the trace, decoded once per key.
    trace_keys: FxHashMap<u32, String>,
}

impl TimeWindowOperator {
    pub fn new(config: TimeWindowConfig, keys: KeyTable, metrics: Arc<InstanceMetrics>) -> Self {
        Self {
            config,
            keys,
            windows: FxHashMap::default(),
            sessions: FxHashMap::default(),
            fire_timers: BTreeSet::new(),
            cleanup_timers: BTreeSet::new(),
            early_timers: BTreeSet::new(),
            watermark: MIN_WATERMARK,
            metrics,
            scratch: Vec::new(),
            trace_keys: FxHashMap::default(),
        }
    }

    fn lateness(&self) -> i64 {
        self.config.allowed_lateness_ms
    }

    /// Flink's `isWindowLate`: its cleanup time has passed.
    fn is_window_late(&self, w: TimeWindow) -> bool {
        w.max_timestamp().saturating_add(self.lateness()) <= self.watermark
    }

    fn register(&mut self, key: u32, w: TimeWindow) {
        self.fire_timers.insert((w.max_timestamp(), key, w.start));
        self.cleanup_timers.insert((
            w.max_timestamp().saturating_add(self.lateness()),
            key,
            w.start,
        ));
        if let Some(every) = self.config.early_every_ms {
            let first = w.start.saturating_add(every) - 1;
            if first < w.max_timestamp() {
                self.early_timers.insert((first, key, w.start));
            }
        }
    }

    fn ensure_window(&mut self, key: u32, w: TimeWindow) {
        if !self.windows.contains_key(&(key, w.start)) {
            let accs = self.config.aggregates.new_states();
            self.windows.insert(
                (key, w.start),
                WindowState {
                    end: w.end,
                    accs,
                    fired: false,
                },
            );
            self.register(key, w);
        }
    }

    /// Adds one row to its session, merging sessions it bridges. Returns the merged window, or
    /// `None` when that window is already past its cleanup time.
    fn add_to_session(
        &mut self,
        key: u32,
        ts: Timestamp,
        gap: i64,
        add: impl FnOnce(&Aggregates, &mut [Acc]),
    ) -> Option<TimeWindow> {
        let new = TimeWindow {
            start: ts,
            end: ts.saturating_add(gap),
        };
        let (lateness, watermark) = (self.lateness(), self.watermark);
        let index = self.sessions.entry(key).or_default();
        let mut merged = new;
        let overlaps = |&(_, &end): &(&Timestamp, &Timestamp)| end >= new.start;
        let mut nearest = index.range(..=new.end).rev();
        let first = nearest.next().filter(overlaps).map(|(&s, &e)| (s, e));
        let second = first.and_then(|_| nearest.next().filter(overlaps));
        // The common case: the row falls in (or extends) one session. Update it in place; its
        // timers stay where they are and are moved forward when they come due (see on_watermark).
        if let (Some((start, end)), None) = (first, second)
            && start <= new.start
        {
            let grown = TimeWindow {
                start,
                end: end.max(new.end),
            };
            if grown.max_timestamp().saturating_add(lateness) <= watermark {
                return None;
            }
            if let Some(state) = self.windows.get_mut(&(key, start)) {
                add(&self.config.aggregates, &mut state.accs);
                if state.end != grown.end {
                    state.end = grown.end;
                    // A longer session is a new window to Flink: it fires again at its new end.
                    state.fired = false;
                    index.insert(start, grown.end);
                }
                return Some(grown);
            }
        }
        let mut overlapping = Vec::new();
        for (&start, &end) in index.range(..=new.end).rev() {
            if end < new.start {
                break;
            }
            overlapping.push(start);
            merged.start = merged.start.min(start);
            merged.end = merged.end.max(end);
        }
        if merged.max_timestamp().saturating_add(lateness) <= watermark {
            return None;
        }
        let mut accs = self.config.aggregates.new_states();
        add(&self.config.aggregates, &mut accs);
        for start in overlapping {
            index.remove(&start);
            if let Some(old) = self.windows.remove(&(key, start)) {
                self.config.aggregates.merge(&mut accs, old.accs);
            }
        }
        index.insert(merged.start, merged.end);
        self.windows.insert(
            (key, merged.start),
            WindowState {
                end: merged.end,
                accs,
                fired: false,
            },
        );
        self.register(key, merged);
        Some(merged)
    }

    fn row_times(&self, batch: &RecordBatch) -> Result<Vec<Option<Timestamp>>, String> {
        match self.config.time {
            RowTime::Processing => Ok(vec![Some(Clock::now_millis()); batch.num_rows()]),
            RowTime::Event { column, shift_ms } => {
                let array = batch
                    .column(column)
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or("the time column is not a TIMESTAMP(3)")?;
                Ok((0..array.len())
                    .map(|i| array.is_valid(i).then(|| array.value(i) + shift_ms))
                    .collect())
            }
        }
    }

    /// Emits one result row per listed window.
    fn emit_results(
        &mut self,
        fired: &[(u32, Timestamp)],
        kind: FiringKind,
        out: &mut Output,
    ) -> OpResult {
        if fired.is_empty() {
            return Ok(());
        }
        if self.config.trace.as_ref().is_some_and(|t| t.is_enabled()) {
            self.trace_firings(fired, kind);
        }
        let mut key_ids = Vec::with_capacity(fired.len());
        let mut starts = Vec::with_capacity(fired.len());
        let mut ends = Vec::with_capacity(fired.len());
        let mut states: Vec<&[Acc]> = Vec::with_capacity(fired.len());
        for (key, start) in fired {
            let Some(state) = self.windows.get(&(*key, *start)) else {
                continue;
            };
            key_ids.push(*key);
            starts.push(*start);
            ends.push(state.end);
            states.push(&state.accs);
        }
        let mut columns: Vec<ArrayRef> =
            self.keys.columns(&key_ids).map_err(|e| fail(e.message))?;
        columns.push(Arc::new(TimestampMillisecondArray::from(starts)));
        columns.push(Arc::new(TimestampMillisecondArray::from(ends)));
        columns.extend(self.config.aggregates.finish(&states).map_err(fail)?);
        let batch = RecordBatch::try_new(Arc::clone(&self.config.output_schema), columns)
            .map_err(|e| fail(e.to_string()))?;
        out.emit(0, batch)
    }

    fn key_name(&mut self, key: u32) -> String {
        if let Some(name) = self.trace_keys.get(&key) {
            return name.clone();
        }
        let name = self
            .keys
            .columns(&[key])
            .ok()
            .map(|columns| {
                columns
                    .iter()
                    .map(|c| crate::connectors::values::cell_text(c.as_ref(), 0))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        self.trace_keys.insert(key, name.clone());
        name
    }

    fn trace_events(&mut self, traced: &[(Timestamp, u32, Outcome, u32)], batch: &RecordBatch) {
        let Some(trace) = self.config.trace.clone() else {
            return;
        };
        let now = trace.now_secs();
        let keys: Vec<String> = traced
            .iter()
            .map(|&(_, key, _, _)| self.key_name(key))
            .collect();
        let batch = batch.clone();
        trace.record(|d| {
            let id = d.next_batch;
            d.next_batch += 1;
            d.batches.push_back((id, batch));
            d.events.extend(
                traced
                    .iter()
                    .zip(keys)
                    .map(|(&(ts, _, outcome, row), key)| TracedEvent {
                        wall_secs: now,
                        event_time: ts,
                        key,
                        outcome,
                        batch: id,
                        row,
                    }),
            );
        });
    }

    fn trace_firings(&mut self, fired: &[(u32, Timestamp)], kind: FiringKind) {
        let Some(trace) = self.config.trace.clone() else {
            return;
        };
        let now = trace.now_secs();
        let names: Vec<String> = self
            .config
            .output_schema
            .fields()
            .iter()
            .rev()
            .take(self.config.aggregates.list.len())
            .rev()
            .map(|f| f.name().clone())
            .collect();
        let found: Vec<(u32, Timestamp, Timestamp, String)> = fired
            .iter()
            .filter_map(|&(key, start)| {
                let state = self.windows.get(&(key, start))?;
                let columns = self
                    .config
                    .aggregates
                    .finish(&[state.accs.as_slice()])
                    .ok()?;
                let values = names
                    .iter()
                    .zip(&columns)
                    .map(|(n, c)| {
                        format!(
                            "{n}={}",
                            crate::connectors::values::cell_text(c.as_ref(), 0)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                Some((key, start, state.end, values))
            })
            .collect();
        let firings: Vec<TracedFiring> = found
            .into_iter()
            .map(|(key, start, end, values)| TracedFiring {
                wall_secs: now,
                start,
                end,
                key: self.key_name(key),
                kind,
                values,
            })
            .collect();
        trace.record(|d| d.firings.extend(firings));
    }

    fn publish_state_size(&self) {
        self.metrics
            .open_windows
            .store(self.windows.len() as u64, Relaxed);
        self.metrics.keys.store(self.keys.len() as u64, Relaxed);
    }
}

impl Operator for TimeWindowOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let prepared = self.config.aggregates.prepare(&batch).map_err(fail)?;
        let key_rows = self
            .keys
            .encoder
            .encode(&batch)
            .map_err(|e| fail(e.message))?;
        let times = self.row_times(&batch).map_err(fail)?;
        let mut late: Vec<LateRow> = Vec::new();
        let mut refire: BTreeSet<(u32, Timestamp)> = BTreeSet::new();
        let lateness = self.lateness();
        let tracing = self.config.trace.as_ref().is_some_and(|t| t.is_enabled());
        let mut traced: Vec<(Timestamp, u32, Outcome, u32)> = Vec::new();
        for (row, ts) in times.iter().enumerate() {
            let Some(ts) = *ts else {
                InstanceMetrics::add(&self.metrics.dropped_rows, 1);
                continue;
            };
            self.metrics.see_event_time(ts);
            let key = self.keys.id(key_rows.as_ref(), row);
            let (refires_before, late_before) = (refire.len(), late.len());
            let mut updated_fired = false;
            match self.config.assigner {
                Assigner::Session { gap } => {
                    let aggregates_row = |aggs: &Aggregates, accs: &mut [Acc]| {
                        aggs.update(accs, &prepared, row, ts);
                    };
                    match self.add_to_session(key, ts, gap, aggregates_row) {
                        Some(w) if w.max_timestamp() <= self.watermark => {
                            refire.insert((key, w.start));
                            updated_fired = true;
                        }
                        Some(_) => {}
                        None if ts.saturating_add(lateness) <= self.watermark => {
                            late.push(LateRow {
                                row: row as u32,
                                ts,
                                window_end: ts.saturating_add(gap),
                            })
                        }
                        None => InstanceMetrics::add(&self.metrics.dropped_rows, 1),
                    }
                }
                assigner => {
                    let mut windows = std::mem::take(&mut self.scratch);
                    match assigner {
                        Assigner::Tumbling { size, offset } => {
                            windows.clear();
                            windows.push(tumbling(ts, size, offset));
                        }
                        Assigner::Sliding {
                            size,
                            slide,
                            offset,
                        } => sliding(ts, size, slide, offset, &mut windows),
                        Assigner::Session { .. } => {}
                    }
                    let mut skipped = true;
                    for &w in &windows {
                        if self.is_window_late(w) {
                            continue;
                        }
                        skipped = false;
                        self.ensure_window(key, w);
                        if let Some(state) = self.windows.get_mut(&(key, w.start)) {
                            self.config
                                .aggregates
                                .update(&mut state.accs, &prepared, row, ts);
                        }
                        // A window that already fired fires again with the late row (a late firing).
                        if w.max_timestamp() <= self.watermark {
                            refire.insert((key, w.start));
                            updated_fired = true;
                        }
                    }
                    if skipped {
                        if ts.saturating_add(lateness) <= self.watermark {
                            let window_end = windows.iter().map(|w| w.end).max().unwrap_or(ts);
                            late.push(LateRow {
                                row: row as u32,
                                ts,
                                window_end,
                            });
                        } else {
                            InstanceMetrics::add(&self.metrics.dropped_rows, 1);
                        }
                    }
                    self.scratch = windows;
                }
            }
            if tracing {
                let outcome = if late.len() > late_before {
                    Outcome::TooLate
                } else if updated_fired || refire.len() > refires_before {
                    Outcome::LateUpdate
                } else {
                    Outcome::InTime
                };
                traced.push((ts, key, outcome, row as u32));
            }
        }
        if tracing {
            self.trace_events(&traced, &batch);
        }
        emit_late(
            &batch,
            &late,
            self.watermark,
            lateness,
            &self.config.late_schema,
            &self.metrics,
            out,
        )?;
        if !refire.is_empty() {
            InstanceMetrics::add(&self.metrics.late_firings, refire.len() as u64);
            let list: Vec<(u32, Timestamp)> = refire.into_iter().collect();
            for key in &list {
                if let Some(state) = self.windows.get_mut(key) {
                    state.fired = true;
                }
            }
            self.emit_results(&list, FiringKind::Late, out)?;
        }
        self.publish_state_size();
        Ok(())
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        self.watermark = watermark;
        if let Some(trace) = self.config.trace.as_ref().filter(|t| t.is_enabled())
            && watermark < i64::MAX
        {
            let now = trace.now_secs();
            trace.record(|d| d.watermarks.push_back((now, watermark)));
        }
        // Early (partial) results for windows still open.
        let mut early = Vec::new();
        while let Some(&(t, key, start)) = self.early_timers.first() {
            if t > watermark {
                break;
            }
            self.early_timers.pop_first();
            let Some(state) = self.windows.get(&(key, start)) else {
                continue;
            };
            let max_ts = state.end - 1;
            if state.fired || max_ts <= watermark {
                continue;
            }
            early.push((key, start));
            if let Some(every) = self.config.early_every_ms {
                let next = t.saturating_add(every);
                if next < max_ts {
                    self.early_timers.insert((next, key, start));
                }
            }
        }
        self.emit_results(&early, FiringKind::Early, out)?;
        // Final results: the watermark passed the window's last instant.
        let mut fired = Vec::new();
        while let Some(&(t, key, start)) = self.fire_timers.first() {
            if t > watermark {
                break;
            }
            self.fire_timers.pop_first();
            let Some(state) = self.windows.get_mut(&(key, start)) else {
                continue;
            };
            if state.end - 1 > t {
                // The session grew since this timer was set: wait for its new end.
                self.fire_timers.insert((state.end - 1, key, start));
            } else if !state.fired {
                state.fired = true;
                fired.push((key, start));
            }
        }
        self.emit_results(&fired, FiringKind::OnWatermark, out)?;
        // State is freed once no late row can change the window any more.
        while let Some(&(t, key, start)) = self.cleanup_timers.first() {
            if t > watermark {
                break;
            }
            self.cleanup_timers.pop_first();
            let Some(end) = self.windows.get(&(key, start)).map(|s| s.end) else {
                continue;
            };
            let cleanup_at = (end - 1).saturating_add(self.lateness());
            if cleanup_at > t {
                self.cleanup_timers.insert((cleanup_at, key, start));
            } else {
                self.windows.remove(&(key, start));
                if let Some(index) = self.sessions.get_mut(&key) {
                    index.remove(&start);
                    if index.is_empty() {
                        self.sessions.remove(&key);
                    }
                }
            }
        }
        self.publish_state_size();
        Ok(())
    }
}
