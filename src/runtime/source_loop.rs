//! The loop of a source: read chunks, pace them by the clock, emit rows and bad rows, and generate
//! watermarks from the data (bounded out-of-orderness), so a run is reproducible. When an operator
//! asked for ticks, the loop also sends the run's clock: a chunk arrives at its newest event time.
//! With checkpoints, the loop injects barriers after a chunk and can start from saved state.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;

use super::checkpoint::Coordinator;
use super::checkpoint::coordinator::Ack;
use super::clock::Clock;
use super::contract::{
    InstanceMetrics, MAX_WATERMARK, MIN_WATERMARK, Output, RunError, SendFailure, ShardPosition,
    Source, SourcePosition, StateReader, StateWriter, Timestamp, fail,
};
use super::task::TaskEnd;

/// How a source's rows tell time.
#[derive(Debug, Clone)]
pub enum SourceTime {
    Event {
        /// Index of the TIMESTAMP(3) column in the rows.
        column: usize,
        /// Watermark = newest event time - this - 1 ms (Flink's bounded out-of-orderness).
        max_out_of_orderness_ms: i64,
        /// Waiting longer than this for the next batch marks the source idle downstream.
        idle_timeout: Option<std::time::Duration>,
    },
    Processing,
}

/// How a source loop runs besides its source and time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SourceLoop {
    /// Each chunk is followed by the run's clock (its arrival time), so downstream timers fire
    /// at the same place in every run.
    pub send_time: bool,
    /// The source ends, as if complete, after the chunk that brings its rows to this many: a
    /// sample (the preview) or `eddy run --limit`, the same in every run.
    pub row_limit: Option<u64>,
}

/// How a source takes part in checkpoints.
pub struct SourceCheckpoints {
    pub coordinator: Arc<Coordinator>,
    /// The task's index among the run's tasks.
    pub task: usize,
    /// The state to start from (a restored run).
    pub restored: Option<Vec<u8>>,
}

/// Where a source loop stands: its source's position and what it has sent.
#[derive(Clone, Copy)]
struct Progress {
    newest: Timestamp,
    emitted: Timestamp,
    rows_sent: u64,
    finished: bool,
}

/// Version 1: `u8(1)`, the position (`u8(0) u64(byte offset) u64(line)` for a file,
/// `u8(1) u64(chunks)` for a generator, `u8(2) u64(records) u64(shards)` then per shard
/// `str(id) u64(parents) str(parent)... bool str(after)? opt_i64(opened at) bool(finished)` for a
/// Kinesis stream), `i64(newest event time) i64(watermark sent)
/// u64(rows sent) bool(finished)`.
fn save(position: &SourcePosition, p: &Progress) -> Vec<u8> {
    let mut w = StateWriter::new();
    w.u8(1);
    match position {
        SourcePosition::File { byte_offset, line } => {
            w.u8(0);
            w.u64(*byte_offset);
            w.u64(*line);
        }
        SourcePosition::Chunks { delivered } => {
            w.u8(1);
            w.u64(*delivered);
        }
        SourcePosition::Shards { records, shards } => {
            w.u8(2);
            w.u64(*records);
            w.u64(shards.len() as u64);
            for shard in shards {
                w.str(&shard.id);
                w.u64(shard.parents.len() as u64);
                for parent in &shard.parents {
                    w.str(parent);
                }
                w.bool(shard.after.is_some());
                if let Some(after) = &shard.after {
                    w.str(after);
                }
                w.opt_i64(shard.opened_at);
                w.bool(shard.finished);
            }
        }
    }
    w.i64(p.newest);
    w.i64(p.emitted);
    w.u64(p.rows_sent);
    w.bool(p.finished);
    w.finish()
}

fn restore(blob: &[u8]) -> Result<(SourcePosition, Progress), RunError> {
    let mut r = StateReader::new(blob);
    if r.u8()? != 1 {
        return Err(RunError::data(
            "the saved source state has an unknown version",
        ));
    }
    let position = match r.u8()? {
        0 => SourcePosition::File {
            byte_offset: r.u64()?,
            line: r.u64()?,
        },
        1 => SourcePosition::Chunks {
            delivered: r.u64()?,
        },
        2 => {
            let records = r.u64()?;
            let n = r.count(19)?;
            let mut shards = Vec::with_capacity(n);
            for _ in 0..n {
                let id = r.str()?.to_string();
                let parents = (0..r.count(8)?)
                    .map(|_| r.str().map(str::to_string))
                    .collect::<Result<_, _>>()?;
                let after = if r.bool()? {
                    Some(r.str()?.to_string())
                } else {
                    None
                };
                shards.push(ShardPosition {
                    id,
                    parents,
                    after,
                    opened_at: r.opt_i64()?,
                    finished: r.bool()?,
                });
            }
            SourcePosition::Shards { records, shards }
        }
        other => {
            return Err(RunError::data(format!(
                "the saved source position has an unknown kind {other}"
            )));
        }
    };
    let progress = Progress {
        newest: r.i64()?,
        emitted: r.i64()?,
        rows_sent: r.u64()?,
        finished: r.bool()?,
    };
    r.end()?;
    Ok((position, progress))
}

/// How many rows a source had sent when it saved `blob` (what a restore replays from).
pub fn saved_rows_sent(blob: &[u8]) -> Option<u64> {
    restore(blob).ok().map(|(_, p)| p.rows_sent)
}

/// Runs a source until it ends, reaches its row limit or the clock stops.
pub fn run_source(
    source: Box<dyn Source>,
    time: SourceTime,
    options: SourceLoop,
    out: &mut Output,
    metrics: Arc<InstanceMetrics>,
    clock: &Clock,
) -> Result<TaskEnd, SendFailure> {
    run_source_checkpointed(source, time, options, out, metrics, clock, None)
}

/// Runs a source, injecting checkpoint barriers after its chunks and starting from saved state.
pub fn run_source_checkpointed(
    mut source: Box<dyn Source>,
    time: SourceTime,
    options: SourceLoop,
    out: &mut Output,
    metrics: Arc<InstanceMetrics>,
    clock: &Clock,
    checkpoints: Option<SourceCheckpoints>,
) -> Result<TaskEnd, SendFailure> {
    let send_time = options.send_time;
    let mut p = Progress {
        newest: MIN_WATERMARK,
        emitted: MIN_WATERMARK,
        rows_sent: 0,
        finished: false,
    };
    let mut injected = checkpoints
        .as_ref()
        .map_or(0, |c| c.coordinator.requested());
    if let Some(blob) = checkpoints.as_ref().and_then(|c| c.restored.as_ref()) {
        let (position, progress) = restore(blob).map_err(SendFailure::Failed)?;
        source.seek(&position).map_err(SendFailure::Failed)?;
        p = progress;
        if p.emitted != MIN_WATERMARK {
            metrics.watermark.store(p.emitted, Relaxed);
            out.watermark(p.emitted)?;
        }
        if p.finished {
            return finish(out, &metrics, source.as_ref(), &p, &checkpoints);
        }
    }
    loop {
        if options.row_limit.is_some_and(|limit| p.rows_sent >= limit) {
            return finish(out, &metrics, source.as_ref(), &p, &checkpoints);
        }
        if clock.is_stopped() {
            return end_early(out, &metrics, clock);
        }
        let started = Instant::now();
        let Some(chunk) = source.next_chunk().map_err(SendFailure::Failed)? else {
            // A bounded input is complete: every window may fire.
            return finish(out, &metrics, source.as_ref(), &p, &checkpoints);
        };
        let (mut newest, mut emitted, mut rows_sent) = (p.newest, p.emitted, p.rows_sent);
        let chunk_newest = match &time {
            SourceTime::Event { column, .. } => max_timestamp(&chunk.rows, *column)?,
            SourceTime::Processing => Some(Clock::now_millis()),
        };
        InstanceMetrics::add(&metrics.busy_nanos, started.elapsed().as_nanos() as u64);
        let idle_after = match &time {
            SourceTime::Event { idle_timeout, .. } => *idle_timeout,
            SourceTime::Processing => None,
        };
        let mut idle_result = Ok(());
        let passed = clock.gate_or_idle(chunk_newest, idle_after, &mut || idle_result = out.idle());
        idle_result?;
        if !passed {
            return end_early(out, &metrics, clock);
        }
        let started = Instant::now();
        if let Some(errors) = chunk.errors {
            InstanceMetrics::add(&metrics.error_rows, errors.num_rows() as u64);
            out.emit_side(1, errors)?;
        }
        InstanceMetrics::add(&metrics.rows_in, chunk.rows.num_rows() as u64);
        rows_sent += chunk.rows.num_rows() as u64;
        out.emit(0, chunk.rows)?;
        if let Some(ts) = chunk_newest {
            newest = newest.max(ts);
            metrics.see_event_time(ts);
        }
        if send_time && newest != MIN_WATERMARK {
            out.time(newest)?;
        }
        let watermark = match &time {
            SourceTime::Event {
                max_out_of_orderness_ms,
                ..
            } if newest != MIN_WATERMARK => newest.saturating_sub(*max_out_of_orderness_ms + 1),
            SourceTime::Processing => Clock::now_millis(),
            _ => MIN_WATERMARK,
        };
        if watermark > emitted {
            emitted = watermark;
            metrics.watermark.store(watermark, Relaxed);
            out.watermark(watermark)?;
        }
        (p.newest, p.emitted, p.rows_sent) = (newest, emitted, rows_sent);
        // Barriers go after the chunk (and its watermark): the saved position is after it too.
        if let Some(c) = &checkpoints {
            let requested = c.coordinator.requested();
            while injected < requested {
                injected += 1;
                let state = Some(save(&source.position(), &p));
                let ack = Ack {
                    state,
                    alignment: Duration::ZERO,
                };
                c.coordinator.acknowledge(injected, c.task, ack);
                out.barrier(injected)?;
            }
        }
        InstanceMetrics::add(&metrics.busy_nanos, started.elapsed().as_nanos() as u64);
    }
}

/// A source that is complete (or reached its row limit): every window may fire.
fn finish(
    out: &mut Output,
    metrics: &InstanceMetrics,
    source: &dyn Source,
    p: &Progress,
    checkpoints: &Option<SourceCheckpoints>,
) -> Result<TaskEnd, SendFailure> {
    if let Some(c) = checkpoints {
        let done = Progress {
            finished: true,
            ..*p
        };
        c.coordinator
            .task_finished(c.task, Some(save(&source.position(), &done)));
    }
    out.watermark(MAX_WATERMARK)?;
    metrics.watermark.store(MAX_WATERMARK, Relaxed);
    out.end()?;
    Ok(TaskEnd::Finished)
}

/// Ends a source that was stopped: when draining, as a complete input so every window fires.
fn end_early(
    out: &mut Output,
    metrics: &InstanceMetrics,
    clock: &Clock,
) -> Result<TaskEnd, SendFailure> {
    if clock.is_draining() {
        metrics.watermark.store(MAX_WATERMARK, Relaxed);
        out.watermark(MAX_WATERMARK)?;
    }
    out.end()?;
    Ok(TaskEnd::Finished)
}

fn max_timestamp(batch: &RecordBatch, column: usize) -> Result<Option<Timestamp>, SendFailure> {
    let array = batch
        .column(column)
        .as_any()
        .downcast_ref::<TimestampMillisecondArray>()
        .ok_or_else(|| fail("the event-time column is not a TIMESTAMP(3)"))?;
    if array.null_count() == array.len() {
        return Ok(None);
    }
    Ok(arrow::compute::max(array))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::clock::Speed;
    use crate::runtime::contract::{
        EdgeSink, OpResult, Operator, RunError, SourceChunk, SourcePosition,
    };
    use crate::runtime::edges::{EdgeSender, Spread};
    use crate::runtime::tap::Tap;
    use crate::runtime::task::{Input, run_operator};
    use std::sync::Mutex;

    /// Rows at the given event times, one chunk each.
    struct Times {
        times: Vec<i64>,
        next: usize,
    }

    impl Source for Times {
        fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError> {
            let Some(&ts) = self.times.get(self.next) else {
                return Ok(None);
            };
            self.next += 1;
            let rows = RecordBatch::try_from_iter([(
                "ts",
                Arc::new(TimestampMillisecondArray::from(vec![ts])) as arrow::array::ArrayRef,
            )])
            .map_err(|e| RunError::internal(e.to_string()))?;
            Ok(Some(SourceChunk { rows, errors: None }))
        }
        fn position(&self) -> SourcePosition {
            SourcePosition::Chunks {
                delivered: self.next as u64,
            }
        }
        fn seek(&mut self, _: &SourcePosition) -> Result<(), RunError> {
            Ok(())
        }
    }

    /// Logs each row's time and each tick, in the order the operator sees them.
    struct Ticks(Arc<Mutex<Vec<String>>>);

    impl Operator for Ticks {
        fn on_batch(&mut self, _: usize, batch: RecordBatch, _: &mut Output) -> OpResult {
            let ts = batch
                .column(0)
                .as_any()
                .downcast_ref::<TimestampMillisecondArray>()
                .map_or(-1, |a| a.value(0));
            self.0.lock().unwrap().push(format!("row {ts}"));
            Ok(())
        }
        fn tick_interval_ms(&self) -> Option<i64> {
            Some(1_000)
        }
        fn on_tick(&mut self, now: i64, _: &mut Output) -> OpResult {
            self.0.lock().unwrap().push(format!("tick {now}"));
            Ok(())
        }
    }

    fn run(speed: Speed) -> Vec<String> {
        let clock = Arc::new(Clock::new(speed));
        let (tx, rx) = crossbeam_channel::bounded(4);
        let edge: Box<dyn EdgeSink> = Box::new(EdgeSender {
            senders: vec![tx],
            spread: Spread::Forward,
            tap: Arc::new(Tap::new()),
        });
        let metrics = Arc::new(InstanceMetrics::new(0));
        let mut out = Output::new(vec![vec![edge], Vec::new()], Arc::clone(&metrics));
        let source = Box::new(Times {
            times: (0..20).map(|i| 10_000 + i * 150).collect(),
            next: 0,
        });
        let time = SourceTime::Event {
            column: 0,
            max_out_of_orderness_ms: 0,
            idle_timeout: None,
        };
        let reader = {
            let clock = Arc::clone(&clock);
            let metrics = Arc::clone(&metrics);
            std::thread::spawn(move || {
                let options = SourceLoop {
                    send_time: true,
                    row_limit: None,
                };
                run_source(source, time, options, &mut out, metrics, &clock).is_ok()
            })
        };
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sink, _) = Output::capturing(1);
        let ticks = Box::new(Ticks(Arc::clone(&log)));
        let inputs = vec![Input {
            rx,
            port: 0,
            injected: false,
        }];
        assert!(run_operator(ticks, inputs, sink, Arc::new(InstanceMetrics::new(1))).is_ok());
        assert!(reader.join().unwrap());
        log.lock().unwrap().clone()
    }

    #[test]
    fn ticks_fall_between_the_same_rows_paced_or_as_fast_as_possible() {
        let fast = run(Speed::Max);
        let paced = run(Speed::Factor(20.0));
        assert_eq!(fast, paced);
        // The clock starts at the first row (10 s) and ticks as it passes 11 s and 12 s.
        let tick = |t: &str| fast.iter().position(|l| l == t).unwrap();
        assert!(tick("tick 11000") > fast.iter().position(|l| l == "row 11050").unwrap());
        assert!(tick("tick 11000") < fast.iter().position(|l| l == "row 11200").unwrap());
        assert!(fast.contains(&"tick 12000".to_string()));
        assert_eq!(fast.iter().filter(|l| l.starts_with("tick")).count(), 2);
    }
}
