//! Tumbling, sliding and session windows over event or processing time, keyed, with Flink's
//! firing, lateness and cleanup rules (see WindowOperator in Flink), and early results.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::accumulate::{Acc, Aggregates, Prepared};
use super::assign::{Assigner, TimeWindow, assign};
use super::emit::{ResultRow, results_batch};
use super::keyed_state::KeyTable;
use super::late::{LateRow, emit_late};
use super::sessions::Sessions;
use super::timers::TimerQueue;
use super::tracing::Tracer;
use crate::model::time::RowTime;
use crate::runtime::clock::Clock;
use crate::runtime::contract::{
    InstanceMetrics, MIN_WATERMARK, OpResult, Operator, Output, RunError, Timestamp,
};
use crate::runtime::trace::{EventTrace, FiringKind, Outcome};

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

/// What became of one row.
enum Fate {
    /// Added to windows that have not fired.
    InTime,
    /// Added to a window that already fired: it fires again (a late firing).
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
            tracer: Tracer::new(config.trace.clone()),
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
        if let Some(every) = self.config.early_every_ms {
            let first = w.start.saturating_add(every) - 1;
            if first < w.max_timestamp() {
                self.early_timers.insert(first, key, w.start);
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

    /// Adds a row to the fixed (tumbling or sliding) windows that hold it.
    fn add_to_fixed_windows(
        &mut self,
        key: u32,
        ts: Timestamp,
        mut update: impl FnMut(&Aggregates, &mut [Acc]),
        refire: &mut BTreeSet<(u32, Timestamp)>,
    ) -> Fate {
        let mut windows = std::mem::take(&mut self.scratch);
        assign(self.config.assigner, ts, &mut windows);
        let mut fate = None;
        for &w in &windows {
            if self.is_window_late(w) {
                continue;
            }
            self.ensure_window(key, w);
            if let Some(state) = self.windows.get_mut(&(key, w.start)) {
                update(&self.config.aggregates, &mut state.accs);
            }
            // A window that already fired fires again with the late row (a late firing).
            if w.max_timestamp() <= self.watermark {
                refire.insert((key, w.start));
                fate = Some(Fate::UpdatedFired);
            } else {
                fate.get_or_insert(Fate::InTime);
            }
        }
        let window_end = windows.iter().map(|w| w.end).max().unwrap_or(ts);
        self.scratch = windows;
        match fate {
            Some(fate) => fate,
            None if self.is_row_late(ts) => Fate::TooLate { window_end },
            None => Fate::Dropped,
        }
    }

    /// Adds a row to its session, merging the sessions it bridges (Flink's merging windows).
    fn add_to_session(
        &mut self,
        key: u32,
        ts: Timestamp,
        gap: i64,
        mut update: impl FnMut(&Aggregates, &mut [Acc]),
        refire: &mut BTreeSet<(u32, Timestamp)>,
    ) -> Fate {
        let new = TimeWindow {
            start: ts,
            end: ts.saturating_add(gap),
        };
        let placed = self.sessions.place(key, new);
        let merged = placed.merged;
        if self.is_window_late(merged) {
            return if self.is_row_late(ts) {
                Fate::TooLate {
                    window_end: new.end,
                }
            } else {
                Fate::Dropped
            };
        }
        let fate = if merged.max_timestamp() <= self.watermark {
            refire.insert((key, merged.start));
            Fate::UpdatedFired
        } else {
            Fate::InTime
        };
        // The common case: the row falls in (or extends) one session. Update it in place; its
        // timers stay where they are and are moved forward when they come due (see on_watermark).
        if let [start] = *placed.absorbed.starts()
            && start <= new.start
            && let Some(state) = self.windows.get_mut(&(key, start))
        {
            update(&self.config.aggregates, &mut state.accs);
            if state.end != merged.end {
                state.end = merged.end;
                // A longer session is a new window to Flink: it fires again at its new end.
                state.fired = false;
                self.sessions.set(key, merged);
            }
            return fate;
        }
        let mut accs = self.config.aggregates.new_states();
        update(&self.config.aggregates, &mut accs);
        for &start in placed.absorbed.starts() {
            self.sessions.remove(key, start);
            if let Some(old) = self.windows.remove(&(key, start)) {
                self.config.aggregates.merge(&mut accs, old.accs);
            }
        }
        self.sessions.set(key, merged);
        self.windows.insert(
            (key, merged.start),
            WindowState {
                end: merged.end,
                accs,
                fired: false,
            },
        );
        self.register(key, merged);
        fate
    }

    fn row_times(&self, batch: &RecordBatch) -> Result<Vec<Option<Timestamp>>, RunError> {
        match self.config.time {
            RowTime::Processing => Ok(vec![Some(Clock::now_millis()); batch.num_rows()]),
            RowTime::Event { column, shift_ms } => {
                let array = batch
                    .column(column)
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(|| RunError::internal("the time column is not a TIMESTAMP(3)"))?;
                Ok((0..array.len())
                    .map(|i| array.is_valid(i).then(|| array.value(i) + shift_ms))
                    .collect())
            }
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

    /// Early (partial) results for windows still open whose early timer came due.
    fn fire_early(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        let mut early = Vec::new();
        while let Some((t, key, start)) = self.early_timers.pop_due(watermark) {
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
                    self.early_timers.insert(next, key, start);
                }
            }
        }
        self.emit_results(&early, FiringKind::Early, out)
    }

    /// Final results: the watermark passed the window's last instant.
    fn fire_on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        let mut fired = Vec::new();
        while let Some((t, key, start)) = self.fire_timers.pop_due(watermark) {
            let Some(state) = self.windows.get_mut(&(key, start)) else {
                continue;
            };
            if state.end - 1 > t {
                // The session grew since this timer was set: wait for its new end.
                self.fire_timers.insert(state.end - 1, key, start);
            } else if !state.fired {
                state.fired = true;
                fired.push((key, start));
            }
        }
        self.emit_results(&fired, FiringKind::OnWatermark, out)
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
            }
        }
    }
}

impl Operator for TimeWindowOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let prepared: Vec<Prepared> = self.config.aggregates.prepare(&batch)?;
        let key_rows = self.keys.encoder.encode(&batch)?;
        let times = self.row_times(&batch)?;
        let mut late: Vec<LateRow> = Vec::new();
        let mut refire: BTreeSet<(u32, Timestamp)> = BTreeSet::new();
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
                Assigner::Session { gap } => self.add_to_session(key, ts, gap, update, &mut refire),
                _ => self.add_to_fixed_windows(key, ts, update, &mut refire),
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
        self.tracer.watermark(watermark);
        self.fire_early(watermark, out)?;
        self.fire_on_watermark(watermark, out)?;
        self.clean_up(watermark);
        self.publish_state_size();
        Ok(())
    }
}
