//! Tumbling, sliding and session windows over event or processing time, keyed, with Flink's
//! firing, lateness and cleanup rules (Flink's `WindowOperator` with `EventTimeTrigger`: a window
//! fires when the watermark passes its end, and again for every late row within the allowed
//! lateness), and early results as Flink's `ContinuousEventTimeTrigger` gives them.

use std::collections::hash_map::Entry;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::accumulate::{Acc, Aggregates, Prepared};
use super::assign::{Assigner, TimeWindow, assign};
use super::emit::{FinishedRow, ResultRow, emit_late_firings, finish_now, results_batch};
use super::keyed_state::KeyTable;
use super::late::{LateRow, emit_late};
use super::saved::{AccReader, AccWriter};
use super::sessions::Sessions;
use super::timers::TimerQueue;
use super::tracing::Tracer;
use crate::model::time::RowTime;
use crate::runtime::contract::{
    InstanceMetrics, MIN_WATERMARK, OpResult, Operator, Output, RunError, SendFailure, Timestamp,
};
use crate::runtime::keys::InstanceOf;
use crate::runtime::row_times::row_times;
use crate::runtime::trace::{EventTrace, FiringKind, Outcome};

struct WindowState {
    end: Timestamp,
    accs: Vec<Acc>,
    fired: bool,
    /// When the next early result is due (Flink's continuous trigger's fire timestamp).
    early_at: Option<Timestamp>,
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

/// What became of one row.
enum Fate {
    /// Added to windows that have not fired.
    InTime,
    /// Added to a window that already fired: it fired again at once (a late firing).
    UpdatedFired,
    /// Too late for any window: for the `late` port.
    TooLate { window_end: Timestamp },
    /// Its session merged into one already past clean-up: counted as dropped.
    Dropped,
}

/// One instance of a tumbling, sliding or session window node.
pub struct TimeWindowOperator {
    config: TimeWindowConfig,
    keys: KeyTable,
    windows: FxHashMap<(u32, Timestamp), WindowState>,
    sessions: Sessions,
    fire_timers: TimerQueue,
    cleanup_timers: TimerQueue,
    early_timers: TimerQueue,
    watermark: Timestamp,
    metrics: Arc<InstanceMetrics>,
    scratch: Vec<TimeWindow>,
    tracer: Tracer,
}

impl TimeWindowOperator {
    pub fn new(config: TimeWindowConfig, keys: KeyTable, metrics: Arc<InstanceMetrics>) -> Self {
        Self {
            tracer: Tracer::new(
                config.trace.clone(),
                match config.assigner {
                    Assigner::Tumbling { size, .. } | Assigner::Sliding { size, .. } => size,
                    Assigner::Session { gap } => gap,
                },
            ),
            config,
            keys,
            windows: FxHashMap::default(),
            sessions: Sessions::default(),
            fire_timers: TimerQueue::default(),
            cleanup_timers: TimerQueue::default(),
            early_timers: TimerQueue::default(),
            watermark: MIN_WATERMARK,
            metrics,
            scratch: Vec::new(),
        }
    }

    fn lateness(&self) -> i64 {
        self.config.allowed_lateness_ms
    }

    /// Flink's `isWindowLate`: its cleanup time has passed.
    fn is_window_late(&self, w: TimeWindow) -> bool {
        w.max_timestamp().saturating_add(self.lateness()) <= self.watermark
    }

    /// Flink's `isElementLate`: too late for any window it could belong to.
    fn is_row_late(&self, ts: Timestamp) -> bool {
        ts.saturating_add(self.lateness()) <= self.watermark
    }

    fn register(&mut self, key: u32, w: TimeWindow) {
        self.fire_timers.insert(w.max_timestamp(), key, w.start);
        let cleanup_at = w.max_timestamp().saturating_add(self.lateness());
        self.cleanup_timers.insert(cleanup_at, key, w.start);
    }

    /// The first early result of a window comes at the row's time rounded down to the interval,
    /// plus the interval (Flink's `ContinuousEventTimeTrigger`), never at or past its end.
    fn schedule_early(&mut self, key: u32, start: Timestamp, ts: Timestamp) {
        let Some(every) = self.config.early_every_ms else {
            return;
        };
        let Some(state) = self.windows.get_mut(&(key, start)) else {
            return;
        };
        if state.early_at.is_some() || state.fired {
            return;
        }
        let next = (ts - ts % every).saturating_add(every).min(state.end - 1);
        if next < state.end - 1 {
            state.early_at = Some(next);
            self.early_timers.insert(next, key, start);
        }
    }

    /// A window updated by a row after it fired fires again at once, with that row in it.
    fn fire_late(&mut self, key: u32, start: Timestamp, late: &mut Vec<FinishedRow>) -> OpResult {
        if let Some(state) = self.windows.get_mut(&(key, start)) {
            state.fired = true;
            let row = finish_now(key, start, state.end, &state.accs, &self.config.aggregates)?;
            late.push(row);
        }
        Ok(())
    }

    /// Adds a row to the fixed (tumbling or sliding) windows that hold it: one map lookup per
    /// window, whether the window is new or not.
    fn add_to_fixed_windows(
        &mut self,
        key: u32,
        ts: Timestamp,
        mut update: impl FnMut(&Aggregates, &mut [Acc]),
        late: &mut Vec<FinishedRow>,
    ) -> Result<Fate, SendFailure> {
        let mut windows = std::mem::take(&mut self.scratch);
        assign(self.config.assigner, ts, &mut windows);
        let mut fate = None;
        for &w in &windows {
            if self.is_window_late(w) {
                continue;
            }
            let state = match self.windows.entry((key, w.start)) {
                Entry::Occupied(found) => found.into_mut(),
                Entry::Vacant(slot) => {
                    self.keys.retain(key);
                    self.fire_timers.insert(w.max_timestamp(), key, w.start);
                    let cleanup_at = w
                        .max_timestamp()
                        .saturating_add(self.config.allowed_lateness_ms);
                    self.cleanup_timers.insert(cleanup_at, key, w.start);
                    slot.insert(WindowState {
                        end: w.end,
                        accs: self.config.aggregates.new_states(),
                        fired: false,
                        early_at: None,
                    })
                }
            };
            update(&self.config.aggregates, &mut state.accs);
            // A window that already fired fires again with the late row (a late firing).
            if w.max_timestamp() <= self.watermark {
                self.fire_late(key, w.start, late)?;
                fate = Some(Fate::UpdatedFired);
            } else {
                if self.config.early_every_ms.is_some() {
                    self.schedule_early(key, w.start, ts);
                }
                fate.get_or_insert(Fate::InTime);
            }
        }
        let window_end = windows.iter().map(|w| w.end).max().unwrap_or(ts);
        self.scratch = windows;
        Ok(match fate {
            Some(fate) => fate,
            None if self.is_row_late(ts) => Fate::TooLate { window_end },
            None => Fate::Dropped,
        })
    }

    /// Adds a row to its session, merging the sessions it bridges (Flink's merging windows).
    fn add_to_session(
        &mut self,
        key: u32,
        ts: Timestamp,
        gap: i64,
        mut update: impl FnMut(&Aggregates, &mut [Acc]),
        late: &mut Vec<FinishedRow>,
    ) -> Result<Fate, SendFailure> {
        let new = TimeWindow {
            start: ts,
            end: ts.saturating_add(gap),
        };
        let placed = self.sessions.place(key, new);
        let merged = placed.merged;
        if self.is_window_late(merged) {
            return Ok(if self.is_row_late(ts) {
                Fate::TooLate {
                    window_end: new.end,
                }
            } else {
                Fate::Dropped
            });
        }
        let on_time = merged.max_timestamp() > self.watermark;
        // The common case: the row falls in (or extends) one session. Update it in place; its
        // timers stay where they are and are moved forward when they come due (see on_watermark).
        if let [start] = *placed.absorbed.starts()
            && start <= new.start
            && let Some(state) = self.windows.get_mut(&(key, start))
        {
            update(&self.config.aggregates, &mut state.accs);
            if state.end != merged.end {
                let had_fired = state.fired;
                state.end = merged.end;
                // A longer session is a new window to Flink: it fires again at its new end. Its
                // timer there is new when the old one already fired (Flink's `onMerge`).
                state.fired = false;
                self.sessions.set(key, merged);
                if had_fired && on_time {
                    self.fire_timers.insert(merged.max_timestamp(), key, start);
                }
            }
            return self.session_fate(key, start, ts, on_time, late);
        }
        let mut accs = self.config.aggregates.new_states();
        update(&self.config.aggregates, &mut accs);
        // The merged window holds the key before the sessions it absorbs let go of it.
        self.keys.retain(key);
        for &start in placed.absorbed.starts() {
            self.sessions.remove(key, start);
            if let Some(old) = self.windows.remove(&(key, start)) {
                self.config.aggregates.merge(&mut accs, old.accs);
                self.keys.release(key);
            }
        }
        self.sessions.set(key, merged);
        self.windows.insert(
            (key, merged.start),
            WindowState {
                end: merged.end,
                accs,
                fired: false,
                early_at: None,
            },
        );
        self.register(key, merged);
        self.session_fate(key, merged.start, ts, on_time, late)
    }

    /// A session that already ended fires again at once with the row; one still open may owe an
    /// early result.
    fn session_fate(
        &mut self,
        key: u32,
        start: Timestamp,
        ts: Timestamp,
        on_time: bool,
        late: &mut Vec<FinishedRow>,
    ) -> Result<Fate, SendFailure> {
        if on_time {
            if self.config.early_every_ms.is_some() {
                self.schedule_early(key, start, ts);
            }
            Ok(Fate::InTime)
        } else {
            self.fire_late(key, start, late)?;
            Ok(Fate::UpdatedFired)
        }
    }

    /// Emits one result row per listed window (those still held).
    fn emit_results(
        &mut self,
        windows: &[(u32, Timestamp)],
        kind: FiringKind,
        out: &mut Output,
    ) -> OpResult {
        let rows: Vec<ResultRow> = windows
            .iter()
            .filter_map(|&(key, start)| {
                let state = self.windows.get(&(key, start))?;
                Some(ResultRow {
                    key,
                    start,
                    end: state.end,
                    accs: &state.accs,
                })
            })
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let batch = results_batch(
            &rows,
            &self.keys,
            &self.config.aggregates,
            &self.config.output_schema,
        )?;
        if self.tracer.is_on() {
            let fired: Vec<(u32, Timestamp, Timestamp)> =
                rows.iter().map(|r| (r.key, r.start, r.end)).collect();
            self.tracer.firings(&self.keys, &fired, kind, &batch);
        }
        out.emit(0, batch)
    }

    fn publish_state_size(&self) {
        self.metrics
            .open_windows
            .store(self.windows.len() as u64, Relaxed);
        self.metrics.keys.store(self.keys.len() as u64, Relaxed);
    }

    /// Early and final results whose timers came due, in time order (an early result of a window
    /// comes before its final one; each early result schedules the next, up to the window's end).
    fn fire_due(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        let mut due: Vec<(u32, Timestamp, FiringKind)> = Vec::new();
        loop {
            let early = self.early_timers.peek().filter(|t| t.0 <= watermark);
            let fire = self.fire_timers.peek().filter(|t| t.0 <= watermark);
            let take_early = match (early, fire) {
                (Some(e), Some(f)) => e.0 <= f.0,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => break,
            };
            if take_early {
                if let Some((t, key, start)) = self.early_timers.pop_due(watermark)
                    && self.fire_early(t, key, start)
                {
                    due.push((key, start, FiringKind::Early));
                }
            } else if let Some((t, key, start)) = self.fire_timers.pop_due(watermark)
                && self.fire_final(t, key, start)
            {
                due.push((key, start, FiringKind::OnWatermark));
            }
        }
        // One batch per run of results of one kind, so the trace knows each result's kind.
        let mut rest = due.as_slice();
        while let Some(&(_, _, kind)) = rest.first() {
            let run = rest.iter().take_while(|(_, _, k)| *k == kind).count();
            let windows: Vec<(u32, Timestamp)> =
                rest[..run].iter().map(|&(k, s, _)| (k, s)).collect();
            self.emit_results(&windows, kind, out)?;
            rest = &rest[run..];
        }
        Ok(())
    }

    /// Whether the early timer at `t` gives a result (Flink: the window's fire timestamp, before
    /// its end); it schedules the next one.
    fn fire_early(&mut self, t: Timestamp, key: u32, start: Timestamp) -> bool {
        let Some(every) = self.config.early_every_ms else {
            return false;
        };
        let Some(state) = self.windows.get_mut(&(key, start)) else {
            return false;
        };
        if state.fired || state.early_at != Some(t) {
            return false;
        }
        let max_ts = state.end - 1;
        let next = t.saturating_add(every).min(max_ts);
        state.early_at = (next < max_ts).then_some(next);
        if next < max_ts {
            self.early_timers.insert(next, key, start);
        }
        true
    }

    /// Whether the fire timer at `t` gives the window's final result: the watermark passed its
    /// last instant. A session that grew since the timer was set waits for its new end.
    fn fire_final(&mut self, t: Timestamp, key: u32, start: Timestamp) -> bool {
        let Some(state) = self.windows.get_mut(&(key, start)) else {
            return false;
        };
        if state.end - 1 > t {
            self.fire_timers.insert(state.end - 1, key, start);
            false
        } else if !state.fired {
            state.fired = true;
            state.early_at = None;
            true
        } else {
            false
        }
    }

    /// State is freed once no late row can change the window any more.
    fn clean_up(&mut self, watermark: Timestamp) {
        while let Some((t, key, start)) = self.cleanup_timers.pop_due(watermark) {
            let Some(end) = self.windows.get(&(key, start)).map(|s| s.end) else {
                continue;
            };
            let cleanup_at = (end - 1).saturating_add(self.lateness());
            if cleanup_at > t {
                self.cleanup_timers.insert(cleanup_at, key, start);
            } else {
                self.windows.remove(&(key, start));
                self.sessions.remove(key, start);
                self.keys.release(key);
            }
        }
    }
}

impl Operator for TimeWindowOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let prepared: Vec<Prepared> = self.config.aggregates.prepare(&batch)?;
        let key_rows = self.keys.encoder.encode(&batch)?;
        let times = row_times(self.config.time, &batch)?;
        let mut late: Vec<LateRow> = Vec::new();
        let mut late_results: Vec<FinishedRow> = Vec::new();
        let tracing = self.tracer.is_on();
        let mut traced: Vec<(Timestamp, u32, Outcome, u32)> = Vec::new();
        for (row, ts) in times.iter().enumerate() {
            let Some(ts) = *ts else {
                InstanceMetrics::add(&self.metrics.dropped_rows, 1);
                continue;
            };
            self.metrics.see_event_time(ts);
            let key = self.keys.id(key_rows.as_ref(), row);
            let update =
                |aggs: &Aggregates, accs: &mut [Acc]| aggs.update(accs, &prepared, row, ts);
            let fate = match self.config.assigner {
                Assigner::Session { gap } => {
                    self.add_to_session(key, ts, gap, update, &mut late_results)?
                }
                _ => self.add_to_fixed_windows(key, ts, update, &mut late_results)?,
            };
            let outcome = match fate {
                Fate::InTime => Outcome::InTime,
                Fate::UpdatedFired => Outcome::LateUpdate,
                Fate::TooLate { window_end } => {
                    late.push(LateRow {
                        row: row as u32,
                        ts,
                        window_end,
                    });
                    Outcome::TooLate
                }
                Fate::Dropped => {
                    InstanceMetrics::add(&self.metrics.dropped_rows, 1);
                    Outcome::TooLate
                }
            };
            if tracing {
                traced.push((ts, key, outcome, row as u32));
            }
        }
        if tracing {
            self.tracer.events(&self.keys, &traced, &batch);
        }
        emit_late(
            &batch,
            &late,
            self.watermark,
            self.lateness(),
            &self.config.late_schema,
            &self.metrics,
            out,
        )?;
        emit_late_firings(
            &late_results,
            &self.keys,
            &self.config.output_schema,
            &self.metrics,
            &mut self.tracer,
            out,
        )?;
        self.keys.sweep();
        self.publish_state_size();
        Ok(())
    }

    /// Version 1: `u8(1) i64(watermark) u32(next key id) u64(windows)`, then per window in
    /// (key, start) order `u32(key id) bytes(key) i64(start) i64(end) bool(fired)
    /// opt_i64(early_at)` and its accumulators (see `saved`). Timers and the session index are
    /// derived from the windows when restoring.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = AccWriter::new(&self.config.aggregates);
        w.body.u8(1);
        w.body.i64(self.watermark);
        w.body.u32(self.keys.next_id());
        let mut order: Vec<&(u32, Timestamp)> = self.windows.keys().collect();
        order.sort_unstable();
        w.body.u64(order.len() as u64);
        for &&(key, start) in &order {
            let Some(state) = self.windows.get(&(key, start)) else {
                continue;
            };
            w.body.u32(key);
            w.body.bytes(self.keys.bytes_of(key).unwrap_or_default());
            w.body.i64(start);
            w.body.i64(state.end);
            w.body.bool(state.fired);
            w.body.opt_i64(state.early_at);
            w.accs(&state.accs);
        }
        Ok(Some(w.finish().map_err(SendFailure::Failed)?))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        let mut watermark: Option<Timestamp> = None;
        for blob in saved {
            let mut r = AccReader::new(blob, &self.config.aggregates)?;
            if r.body.u8()? != 1 {
                return Err(RunError::data(
                    "the saved window state has an unknown version",
                ));
            }
            let saved_watermark = r.body.i64()?;
            watermark = Some(watermark.map_or(saved_watermark, |w| w.min(saved_watermark)));
            let next = r.body.u32()?;
            let count = r.body.count(30)?;
            for _ in 0..count {
                let saved_key = r.body.u32()?;
                let bytes = r.body.bytes()?;
                let start = r.body.i64()?;
                let end = r.body.i64()?;
                let fired = r.body.bool()?;
                let early_at = r.body.opt_i64()?;
                let accs = r.accs(&self.config.aggregates)?;
                let global = self.keys.encoder.is_global();
                if !global && !me.owns(bytes) {
                    continue;
                }
                let key = if global {
                    0
                } else {
                    self.keys.restore(saved_key, bytes, next)
                };
                if !global {
                    self.keys.retain(key);
                }
                let window = TimeWindow { start, end };
                if !fired {
                    self.fire_timers.insert(window.max_timestamp(), key, start);
                }
                let cleanup_at = window.max_timestamp().saturating_add(self.lateness());
                self.cleanup_timers.insert(cleanup_at, key, start);
                if let Some(at) = early_at {
                    self.early_timers.insert(at, key, start);
                }
                if matches!(self.config.assigner, Assigner::Session { .. }) {
                    self.sessions.set(key, window);
                }
                self.windows.insert(
                    (key, start),
                    WindowState {
                        end,
                        accs,
                        fired,
                        early_at,
                    },
                );
            }
            r.body.end()?;
        }
        if let Some(w) = watermark {
            self.watermark = w;
        }
        self.publish_state_size();
        Ok(())
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        self.watermark = watermark;
        self.tracer.watermark(watermark);
        self.fire_due(watermark, out)?;
        self.clean_up(watermark);
        self.publish_state_size();
        Ok(())
    }
}
