//! Sliding windows by slices, as Flink SQL computes HOP windows: time is cut into slices of
//! `gcd(size, slide)`, a row updates the one slice of its key that holds it, and a window's result
//! merges its `size / gcd` slices when it fires. Firing, lateness and late firings follow the same
//! rules as the per-window operator (`time_windows`), which still serves sliding windows with early
//! results: a window fires once the watermark passes its end, a row that reaches a window already
//! fired (within the allowed lateness) fires it again at once, and a row too late for every window
//! holding it goes to `late`. A slice is freed once the last window holding it is past clean-up.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::accumulate::{Acc, Prepared};
use super::assign::window_start;
use super::emit::{FinishedRow, ResultRow, emit_late_firings, finish_now, results_batch};
use super::keyed_state::KeyTable;
use super::late::{LateRow, emit_late};
use super::saved::{AccReader, AccWriter};
use super::time_windows::TimeWindowConfig;
use super::timers::TimerQueue;
use super::tracing::Tracer;
use crate::runtime::contract::{
    InstanceMetrics, MIN_WATERMARK, OpResult, Operator, Output, RunError, SendFailure, Timestamp,
};
use crate::runtime::keys::InstanceOf;
use crate::runtime::row_times::row_times;
use crate::runtime::trace::{FiringKind, Outcome};

/// The saved state's version: 2, so a checkpoint of the per-window form (1) is refused by name.
const SAVED_VERSION: u8 = 2;

/// The shape of the windows: `[start, start + size)` every `slide` from `offset`, cut into
/// slices of `slice` (their greatest common divisor).
#[derive(Debug, Clone, Copy)]
pub struct SliceShape {
    pub size: i64,
    pub slide: i64,
    pub offset: i64,
    pub slice: i64,
}

impl SliceShape {
    pub fn new(size: i64, slide: i64, offset: i64) -> Self {
        Self {
            size,
            slide,
            offset,
            slice: gcd(size.max(1), slide.max(1)),
        }
    }

    /// The start of the slice holding `ts`.
    fn slice_of(&self, ts: Timestamp) -> Timestamp {
        window_start(ts, self.offset, self.slice)
    }

    /// The newest window holding the slice starting at `slice_start`.
    fn last_window(&self, slice_start: Timestamp) -> Timestamp {
        window_start(slice_start, self.offset, self.slide)
    }

    /// Every window start holding the slice at `slice_start`, newest first (as Flink lists a
    /// row's windows).
    fn windows_of(&self, slice_start: Timestamp) -> impl Iterator<Item = Timestamp> + use<> {
        let (size, slide) = (self.size, self.slide);
        let last = self.last_window(slice_start);
        std::iter::successors(Some(last), move |s| Some(s - slide))
            .take_while(move |s| *s > slice_start - size)
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// One instance of a sliding window node, by slices.
pub struct SlicedWindowOperator {
    config: TimeWindowConfig,
    shape: SliceShape,
    keys: KeyTable,
    /// Per key and slice start, the slice's accumulators.
    slices: FxHashMap<(u32, Timestamp), Vec<Acc>>,
    /// `(window end - 1, key, window start)` of every window with rows not yet fired.
    fire_timers: TimerQueue,
    /// `(clean-up time, key, slice start)`: when the last window holding the slice is past it.
    cleanup_timers: TimerQueue,
    watermark: Timestamp,
    metrics: Arc<InstanceMetrics>,
    tracer: Tracer,
}

impl SlicedWindowOperator {
    pub fn new(
        config: TimeWindowConfig,
        shape: SliceShape,
        keys: KeyTable,
        metrics: Arc<InstanceMetrics>,
    ) -> Self {
        Self {
            tracer: Tracer::new(config.trace.clone(), shape.size),
            config,
            shape,
            keys,
            slices: FxHashMap::default(),
            fire_timers: TimerQueue::default(),
            cleanup_timers: TimerQueue::default(),
            watermark: MIN_WATERMARK,
            metrics,
        }
    }

    fn lateness(&self) -> i64 {
        self.config.allowed_lateness_ms
    }

    /// Flink's `isWindowLate` for the window starting at `start`: past its clean-up time.
    fn is_window_late(&self, start: Timestamp) -> bool {
        (start + self.shape.size - 1).saturating_add(self.lateness()) <= self.watermark
    }

    /// The clean-up time of a slice: that of the newest window holding it.
    fn slice_cleanup(&self, slice_start: Timestamp) -> Timestamp {
        (self.shape.last_window(slice_start) + self.shape.size - 1).saturating_add(self.lateness())
    }

    /// A window's accumulators: its slices' merged in time order.
    fn merged(&self, key: u32, start: Timestamp) -> Option<Vec<Acc>> {
        let mut merged: Option<Vec<Acc>> = None;
        let mut at = start;
        while at < start + self.shape.size {
            if let Some(slice) = self.slices.get(&(key, at)) {
                match merged.as_mut() {
                    None => merged = Some(slice.clone()),
                    Some(into) => self.config.aggregates.merge(into, slice.clone()),
                }
            }
            at += self.shape.slice;
        }
        merged
    }

    /// Adds one row: its slice takes it; windows that already fired fire again with it.
    fn add(
        &mut self,
        key: u32,
        ts: Timestamp,
        prepared: &[Prepared],
        row: usize,
        late: &mut Vec<FinishedRow>,
    ) -> Result<Outcome, SendFailure> {
        let slice = self.shape.slice_of(ts);
        let newest = self.shape.last_window(slice);
        // Every window holding the row is past clean-up: the row is too late for all of them.
        if self.is_window_late(newest) {
            return Ok(Outcome::TooLate);
        }
        let aggregates = &self.config.aggregates;
        match self.slices.entry((key, slice)) {
            std::collections::hash_map::Entry::Occupied(found) => {
                aggregates.update(found.into_mut(), prepared, row, ts);
            }
            std::collections::hash_map::Entry::Vacant(free) => {
                let mut accs = aggregates.new_states();
                aggregates.update(&mut accs, prepared, row, ts);
                free.insert(accs);
                self.keys.retain(key);
                let cleanup = self.slice_cleanup(slice);
                self.cleanup_timers.insert(cleanup, key, slice);
                // The windows holding a new slice get their firing (a timer already set for a
                // window is the same timer).
                for start in self.shape.windows_of(slice) {
                    let max_ts = start + self.shape.size - 1;
                    if max_ts > self.watermark {
                        self.fire_timers.insert(max_ts, key, start);
                    }
                }
            }
        }
        // In time, unless a window that already fired took it: then it fired again (a late firing).
        let mut outcome = Outcome::InTime;
        for start in self.shape.windows_of(slice) {
            if self.is_window_late(start) {
                continue;
            }
            if start + self.shape.size - 1 <= self.watermark {
                if let Some(accs) = self.merged(key, start) {
                    late.push(finish_now(
                        key,
                        start,
                        start + self.shape.size,
                        &accs,
                        &self.config.aggregates,
                    )?);
                }
                outcome = Outcome::LateUpdate;
            }
        }
        Ok(outcome)
    }

    /// Final results of the windows whose end the watermark passed, in timer order.
    fn fire_due(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        let mut fired: Vec<(u32, Timestamp, Vec<Acc>)> = Vec::new();
        while let Some((_, key, start)) = self.fire_timers.pop_due(watermark) {
            if let Some(accs) = self.merged(key, start) {
                fired.push((key, start, accs));
            }
        }
        if fired.is_empty() {
            return Ok(());
        }
        let rows: Vec<ResultRow> = fired
            .iter()
            .map(|(key, start, accs)| ResultRow {
                key: *key,
                start: *start,
                end: start + self.shape.size,
                accs,
            })
            .collect();
        let batch = results_batch(
            &rows,
            &self.keys,
            &self.config.aggregates,
            &self.config.output_schema,
        )?;
        if self.tracer.is_on() {
            let windows: Vec<(u32, Timestamp, Timestamp)> =
                rows.iter().map(|r| (r.key, r.start, r.end)).collect();
            self.tracer
                .firings(&self.keys, &windows, FiringKind::OnWatermark, &batch);
        }
        out.emit(0, batch)
    }

    fn clean_up(&mut self, watermark: Timestamp) {
        while let Some((_, key, slice)) = self.cleanup_timers.pop_due(watermark) {
            if self.slices.remove(&(key, slice)).is_some() {
                self.keys.release(key);
            }
        }
    }

    fn publish_state_size(&self) {
        self.metrics
            .open_windows
            .store(self.fire_timers.len() as u64, Relaxed);
        self.metrics.keys.store(self.keys.len() as u64, Relaxed);
    }
}

impl Operator for SlicedWindowOperator {
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
            let outcome = self.add(key, ts, &prepared, row, &mut late_results)?;
            if outcome == Outcome::TooLate {
                let window_end = self.shape.last_window(self.shape.slice_of(ts)) + self.shape.size;
                late.push(LateRow {
                    row: row as u32,
                    ts,
                    window_end,
                });
            }
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

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        self.watermark = watermark;
        self.tracer.watermark(watermark);
        self.fire_due(watermark, out)?;
        self.clean_up(watermark);
        self.publish_state_size();
        Ok(())
    }

    /// Version 2: `u8(2) i64(watermark) u32(next key id) u64(slices)`, then per slice in (key,
    /// start) order `u32(key id) bytes(key) i64(slice start)` and its accumulators (see `saved`).
    /// Firing and clean-up timers are derived from the slices and the watermark when restoring.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = AccWriter::new(&self.config.aggregates);
        w.body.u8(SAVED_VERSION);
        w.body.i64(self.watermark);
        w.body.u32(self.keys.next_id());
        let mut order: Vec<&(u32, Timestamp)> = self.slices.keys().collect();
        order.sort_unstable();
        w.body.u64(order.len() as u64);
        for &&(key, start) in &order {
            let Some(accs) = self.slices.get(&(key, start)) else {
                continue;
            };
            w.body.u32(key);
            w.body.bytes(self.keys.bytes_of(key).unwrap_or_default());
            w.body.i64(start);
            w.accs(accs);
        }
        Ok(Some(w.finish().map_err(SendFailure::Failed)?))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        let mut watermark: Option<Timestamp> = None;
        let mut restored: Vec<(u32, Timestamp)> = Vec::new();
        for blob in saved {
            let mut r = AccReader::new(blob, &self.config.aggregates)?;
            match r.body.u8()? {
                SAVED_VERSION => {}
                1 => {
                    return Err(RunError::data(
                        "the saved sliding window state holds whole windows (an earlier Eddy); \
                         this Eddy keeps slices: start the run again without --resume",
                    ));
                }
                _ => {
                    return Err(RunError::data(
                        "the saved window state has an unknown version",
                    ));
                }
            }
            let saved_watermark = r.body.i64()?;
            watermark = Some(watermark.map_or(saved_watermark, |w| w.min(saved_watermark)));
            let next = r.body.u32()?;
            let count = r.body.count(20)?;
            for _ in 0..count {
                let saved_key = r.body.u32()?;
                let bytes = r.body.bytes()?;
                let start = r.body.i64()?;
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
                self.slices.insert((key, start), accs);
                restored.push((key, start));
            }
            r.body.end()?;
        }
        if let Some(w) = watermark {
            self.watermark = w;
        }
        for (key, slice) in restored {
            self.cleanup_timers
                .insert(self.slice_cleanup(slice), key, slice);
            for start in self.shape.windows_of(slice) {
                let max_ts = start + self.shape.size - 1;
                if max_ts > self.watermark {
                    self.fire_timers.insert(max_ts, key, start);
                }
            }
        }
        self.publish_state_size();
        Ok(())
    }
}
