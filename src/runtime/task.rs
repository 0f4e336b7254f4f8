//! The loop of one operator instance: receive from its inputs in order, track each input's
//! watermark and clock, align checkpoint barriers, call the operator's hooks, and forward the
//! combined watermark, clock and barriers downstream.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Select};

use super::checkpoint::Coordinator;
use super::checkpoint::coordinator::Ack;
use super::contract::{
    BarrierId, InstanceMetrics, MIN_WATERMARK, Message, OpResult, Operator, Output, RunError,
    SendFailure, StateReader, StateWriter, Timestamp,
};

/// One channel feeding this instance, and the input port it belongs to.
pub struct Input {
    pub rx: Receiver<Message>,
    pub port: usize,
    /// Rows a user pushes in by hand (the app's Inject): never holds back the watermark, the
    /// clock, a barrier or the end, and may close at any time.
    pub injected: bool,
}

#[derive(Clone, Copy)]
struct InputState {
    watermark: Timestamp,
    /// The run's clock on this channel; `MIN_WATERMARK` until the first `Time`.
    time: Timestamp,
    idle: bool,
    ended: bool,
    /// The barrier this channel delivered; it is not read again until every channel has.
    barrier: Option<BarrierId>,
    injected: bool,
}

impl InputState {
    fn active(&self) -> bool {
        !self.ended && !self.idle && !self.injected
    }

    /// Whether the task may finish (and barriers align) without waiting for this channel.
    fn done(&self) -> bool {
        self.ended || self.injected
    }
}

/// How a task ended.
pub enum TaskEnd {
    /// All inputs ended and the operator finished.
    Finished,
    /// An upstream vanished without ending (the run is stopping or failed elsewhere).
    Aborted,
}

/// What the loop has passed downstream so far.
struct Progress {
    watermark: Timestamp,
    time: Timestamp,
    /// The newest multiple of the tick interval `on_tick` was called for.
    tick: Option<Timestamp>,
    all_idle: bool,
}

/// How a task takes part in checkpoints.
pub struct TaskCheckpoints {
    pub coordinator: Arc<Coordinator>,
    /// The task's index among the run's tasks.
    pub task: usize,
    /// Aligned barriers (exactly-once) or not (at-least-once).
    pub aligned: bool,
    /// Where the loop stood at the restored checkpoint.
    pub restored: Option<SavedProgress>,
}

/// What the loop itself passed downstream, saved with the operator's state: a restored task
/// neither repeats a watermark nor misses or repeats a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SavedProgress {
    pub watermark: Timestamp,
    pub time: Timestamp,
    pub tick: Option<Timestamp>,
}

/// Version 1 of a task's saved state: `u8(1) i64(watermark) i64(time) opt_i64(tick)
/// bool(has operator state) [bytes(operator state)]`.
fn wrap_state(progress: &Progress, state: Option<Vec<u8>>) -> Vec<u8> {
    let mut w = StateWriter::new();
    w.u8(1);
    w.i64(progress.watermark);
    w.i64(progress.time);
    w.opt_i64(progress.tick);
    w.bool(state.is_some());
    if let Some(state) = state {
        w.bytes(&state);
    }
    w.finish()
}

/// Splits a task's saved state into the loop's progress and the operator's own state.
pub fn unwrap_state(blob: &[u8]) -> Result<(SavedProgress, Option<&[u8]>), RunError> {
    let mut r = StateReader::new(blob);
    if r.u8()? != 1 {
        return Err(RunError::data(
            "the saved task state has an unknown version",
        ));
    }
    let progress = SavedProgress {
        watermark: r.i64()?,
        time: r.i64()?,
        tick: r.opt_i64()?,
    };
    let state = if r.bool()? { Some(r.bytes()?) } else { None };
    r.end()?;
    Ok((progress, state))
}

/// Runs `operator` until all inputs end.
pub fn run_operator(
    operator: Box<dyn Operator>,
    inputs: Vec<Input>,
    out: Output,
    metrics: Arc<InstanceMetrics>,
) -> Result<TaskEnd, SendFailure> {
    run_operator_checkpointed(operator, inputs, out, metrics, None)
}

/// Runs `operator` until all inputs end, acknowledging checkpoint barriers with its state.
pub fn run_operator_checkpointed(
    mut operator: Box<dyn Operator>,
    inputs: Vec<Input>,
    mut out: Output,
    metrics: Arc<InstanceMetrics>,
    checkpoints: Option<TaskCheckpoints>,
) -> Result<TaskEnd, SendFailure> {
    let blocking = checkpoints.as_ref().is_none_or(|c| c.aligned);
    let mut first_barrier_at: Option<Instant> = None;
    let mut state: Vec<InputState> = inputs
        .iter()
        .map(|input| InputState {
            watermark: MIN_WATERMARK,
            time: MIN_WATERMARK,
            idle: false,
            ended: false,
            barrier: None,
            injected: input.injected,
        })
        .collect();
    let saved = checkpoints.as_ref().and_then(|c| c.restored);
    let mut progress = Progress {
        watermark: saved.map_or(MIN_WATERMARK, |s| s.watermark),
        time: saved.map_or(MIN_WATERMARK, |s| s.time),
        tick: saved.and_then(|s| s.tick),
        all_idle: false,
    };
    let tick_every = operator.tick_interval_ms().filter(|&ms| ms > 0);
    out.set_own_watermark(|port| operator.sends_own_watermark(port));
    loop {
        let Some((index, message)) = receive(&inputs, &state, blocking) else {
            operator.on_abort();
            return Ok(TaskEnd::Aborted);
        };
        let input = &inputs[index];
        if let Some(capacity) = input.rx.capacity().filter(|&c| c > 0) {
            let fill = (input.rx.len() * 1000 / capacity) as u64;
            if let Some(slot) = metrics.input_fill_permille.get(index) {
                slot.store(fill, Relaxed);
            }
        }
        let started = Instant::now();
        let result: OpResult = match message {
            Message::Batch(batch) => {
                state[index].idle = false;
                InstanceMetrics::add(&metrics.rows_in, batch.num_rows() as u64);
                InstanceMetrics::add(&metrics.batches_in, 1);
                InstanceMetrics::add(&metrics.bytes_in, batch.get_array_memory_size() as u64);
                operator.on_batch(input.port, batch, &mut out)
            }
            Message::Watermark(w) => {
                state[index].idle = false;
                state[index].watermark = state[index].watermark.max(w);
                Ok(())
            }
            Message::Time(t) => {
                state[index].time = state[index].time.max(t);
                Ok(())
            }
            Message::Barrier(id) => {
                state[index].barrier = Some(id);
                first_barrier_at.get_or_insert_with(Instant::now);
                Ok(())
            }
            Message::Idle => {
                state[index].idle = true;
                Ok(())
            }
            Message::End => {
                state[index].ended = true;
                Ok(())
            }
        };
        result?;
        if let Some(id) = align_barriers(&mut state, operator.as_mut(), &mut out)? {
            let alignment = first_barrier_at
                .take()
                .map_or(Duration::ZERO, |t| t.elapsed());
            // The state goes to the coordinator before the barrier goes on, so every snapshot
            // downstream comes after this one (Chandy–Lamport).
            if let Some(c) = &checkpoints {
                let state = Some(wrap_state(&progress, operator.save_state()?));
                c.coordinator
                    .acknowledge(id, c.task, Ack { state, alignment });
            }
            out.barrier(id)?;
        }
        advance_watermark(&state, &mut progress, operator.as_mut(), &mut out, &metrics)?;
        advance_clock(
            &state,
            &mut progress,
            tick_every,
            operator.as_mut(),
            &mut out,
        )?;
        let now_idle = state.iter().all(|s| !s.active()) && !state.iter().all(InputState::done);
        if now_idle && !progress.all_idle {
            out.idle()?;
        }
        progress.all_idle = now_idle;
        InstanceMetrics::add(&metrics.busy_nanos, started.elapsed().as_nanos() as u64);
        if state.iter().all(InputState::done) {
            operator.on_end(&mut out)?;
            if let Some(c) = &checkpoints {
                let saved = wrap_state(&progress, operator.save_state()?);
                c.coordinator.task_finished(c.task, Some(saved));
            }
            out.end()?;
            return Ok(TaskEnd::Finished);
        }
    }
}

/// Once every channel that has not ended delivered the same barrier, the operator snapshots, the
/// barrier goes downstream, and the channels are read again (Flink's aligned checkpoints); the
/// barrier's id when that happened.
fn align_barriers(
    state: &mut [InputState],
    operator: &mut dyn Operator,
    out: &mut Output,
) -> Result<Option<BarrierId>, SendFailure> {
    let Some(id) = state.iter().find_map(|s| s.barrier) else {
        return Ok(None);
    };
    let aligned = state.iter().all(|s| s.done() || s.barrier == Some(id));
    if !aligned {
        return Ok(None);
    }
    operator.on_barrier(id, out)?;
    for s in state.iter_mut() {
        s.barrier = None;
    }
    Ok(Some(id))
}

/// The combined watermark is the minimum over inputs that are neither idle nor ended.
fn advance_watermark(
    state: &[InputState],
    progress: &mut Progress,
    operator: &mut dyn Operator,
    out: &mut Output,
    metrics: &InstanceMetrics,
) -> OpResult {
    if state.iter().all(InputState::done) {
        return Ok(());
    }
    let combined = state
        .iter()
        .filter(|s| s.active())
        .map(|s| s.watermark)
        .min();
    if let Some(w) = combined
        && w > progress.watermark
    {
        progress.watermark = w;
        metrics.watermark.store(w, Relaxed);
        operator.on_watermark(w, out)?;
        out.watermark(w)?;
    }
    Ok(())
}

/// The combined clock is the minimum over active inputs that carry one; crossing a multiple of
/// the tick interval calls `on_tick` once, with the newest multiple crossed.
fn advance_clock(
    state: &[InputState],
    progress: &mut Progress,
    tick_every: Option<i64>,
    operator: &mut dyn Operator,
    out: &mut Output,
) -> OpResult {
    let combined = state
        .iter()
        .filter(|s| s.active() && s.time != MIN_WATERMARK)
        .map(|s| s.time)
        .min();
    let Some(now) = combined.filter(|&t| t > progress.time) else {
        return Ok(());
    };
    progress.time = now;
    if let Some(every) = tick_every {
        let boundary = now - now.rem_euclid(every);
        match progress.tick {
            // The first reading sets where ticks count from.
            None => progress.tick = Some(boundary),
            Some(last) if boundary > last => {
                progress.tick = Some(boundary);
                operator.on_tick(boundary, out)?;
            }
            Some(_) => {}
        }
    }
    out.time(now)
}

/// Waits for the next message on a channel that has not ended and, when barriers align
/// (`blocking`), has not delivered a barrier the others have not yet; `None` if a channel vanished
/// (an injecting channel that closes just ends).
fn receive(inputs: &[Input], state: &[InputState], blocking: bool) -> Option<(usize, Message)> {
    let open: Vec<usize> = (0..inputs.len())
        .filter(|&i| !state[i].ended && (state[i].barrier.is_none() || !blocking))
        .collect();
    let closed = |index: usize| inputs[index].injected.then_some((index, Message::End));
    if let [only] = open.as_slice() {
        return match inputs[*only].rx.recv() {
            Ok(message) => Some((*only, message)),
            Err(_) => closed(*only),
        };
    }
    if open.is_empty() {
        return None;
    }
    let mut select = Select::new();
    for &i in &open {
        select.recv(&inputs[i].rx);
    }
    let operation = select.select();
    let index = open[operation.index()];
    match operation.recv(&inputs[index].rx) {
        Ok(message) => Some((index, message)),
        Err(_) => closed(index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::contract::Captured;
    use arrow::array::Int64Array;
    use arrow::record_batch::RecordBatch;
    use crossbeam_channel::{Sender, unbounded};
    use std::sync::Mutex;

    /// Records every hook call as text, to check the order the loop calls them in.
    struct Recorder {
        log: Arc<Mutex<Vec<String>>>,
        tick_every: Option<i64>,
    }

    impl Operator for Recorder {
        fn on_batch(&mut self, port: usize, batch: RecordBatch, _: &mut Output) -> OpResult {
            let first = batch
                .column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .map_or(-1, |a| a.value(0));
            let fields = batch.schema().fields().len();
            self.log.lock().unwrap().push(format!(
                "batch {first} on port {port} with {fields} columns"
            ));
            Ok(())
        }
        fn on_watermark(&mut self, watermark: Timestamp, _: &mut Output) -> OpResult {
            self.log
                .lock()
                .unwrap()
                .push(format!("watermark {watermark}"));
            Ok(())
        }
        fn tick_interval_ms(&self) -> Option<i64> {
            self.tick_every
        }
        fn on_tick(&mut self, now: Timestamp, _: &mut Output) -> OpResult {
            self.log.lock().unwrap().push(format!("tick {now}"));
            Ok(())
        }
        fn on_barrier(&mut self, barrier: BarrierId, _: &mut Output) -> OpResult {
            self.log.lock().unwrap().push(format!("barrier {barrier}"));
            Ok(())
        }
    }

    fn rows(first: i64, columns: usize) -> Message {
        let columns: Vec<(String, arrow::array::ArrayRef)> = (0..columns)
            .map(|c| {
                (
                    format!("c{c}"),
                    Arc::new(Int64Array::from(vec![first])) as _,
                )
            })
            .collect();
        Message::Batch(RecordBatch::try_from_iter(columns).unwrap())
    }

    fn run(
        channels: Vec<(usize, Vec<Message>)>,
        tick_every: Option<i64>,
    ) -> (Vec<String>, Captured) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut inputs = Vec::new();
        let mut keep: Vec<Sender<Message>> = Vec::new();
        for (port, messages) in channels {
            let (tx, rx) = unbounded();
            for m in messages {
                tx.send(m).unwrap();
            }
            keep.push(tx);
            inputs.push(Input {
                rx,
                port,
                injected: false,
            });
        }
        let (out, captured) = Output::capturing(1);
        let operator = Box::new(Recorder {
            log: Arc::clone(&log),
            tick_every,
        });
        let metrics = Arc::new(InstanceMetrics::new(inputs.len()));
        assert!(matches!(
            run_operator(operator, inputs, out, metrics),
            Ok(TaskEnd::Finished)
        ));
        drop(keep);
        let log = log.lock().unwrap().clone();
        (log, captured)
    }

    fn position(log: &[String], entry: &str) -> usize {
        log.iter()
            .position(|l| l == entry)
            .unwrap_or_else(|| panic!("{entry} missing from {log:?}"))
    }

    #[test]
    fn an_injecting_channel_holds_back_neither_the_watermark_nor_the_end() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = unbounded();
        let (inject, injected) = unbounded();
        tx.send(rows(1, 1)).unwrap();
        tx.send(Message::Watermark(100)).unwrap();
        inject.send(rows(5, 1)).unwrap();
        let operator = Box::new(Recorder {
            log: Arc::clone(&log),
            tick_every: None,
        });
        let inputs = vec![
            Input {
                rx,
                port: 0,
                injected: false,
            },
            Input {
                rx: injected,
                port: 0,
                injected: true,
            },
        ];
        let task = std::thread::spawn(move || {
            let (out, _) = Output::capturing(1);
            run_operator(operator, inputs, out, Arc::new(InstanceMetrics::new(1)))
        });
        let seen = |entry: &str| log.lock().unwrap().iter().any(|l| l == entry);
        let started = Instant::now();
        while !(seen("watermark 100") && seen("batch 5 on port 0 with 1 columns")) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "{:?}",
                log.lock().unwrap()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // The app going away closes its channel; the task goes on, and ends with its input.
        drop(inject);
        tx.send(rows(2, 1)).unwrap();
        tx.send(Message::End).unwrap();
        assert!(matches!(task.join().unwrap(), Ok(TaskEnd::Finished)));
        assert!(seen("batch 2 on port 0 with 1 columns"));
    }

    #[test]
    fn a_barrier_waits_for_every_input_before_anything_after_it_is_processed() {
        let (log, captured) = run(
            vec![
                (
                    0,
                    vec![rows(1, 1), Message::Barrier(7), rows(2, 1), Message::End],
                ),
                (
                    1,
                    vec![rows(3, 2), Message::Barrier(7), rows(4, 2), Message::End],
                ),
            ],
            None,
        );
        let barrier = position(&log, "barrier 7");
        assert!(position(&log, "batch 1 on port 0 with 1 columns") < barrier);
        assert!(position(&log, "batch 3 on port 1 with 2 columns") < barrier);
        assert!(position(&log, "batch 2 on port 0 with 1 columns") > barrier);
        assert!(position(&log, "batch 4 on port 1 with 2 columns") > barrier);
        let forwarded = captured
            .messages()
            .iter()
            .filter(|(_, m)| matches!(m, Message::Barrier(7)))
            .count();
        assert_eq!(forwarded, 1, "the barrier goes downstream once");
    }

    #[test]
    fn the_watermark_is_the_minimum_of_the_inputs_each_with_its_own_schema() {
        // The inputs end only after both watermarks were taken in, so neither input's end can
        // let the other's watermark through on its own.
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx0, rx0) = unbounded();
        let (tx1, rx1) = unbounded();
        for (tx, m) in [
            (&tx0, rows(1, 1)),
            (&tx0, Message::Watermark(100)),
            (&tx1, rows(2, 3)),
            (&tx1, Message::Watermark(40)),
        ] {
            tx.send(m).unwrap();
        }
        let operator = Box::new(Recorder {
            log: Arc::clone(&log),
            tick_every: None,
        });
        let inputs = vec![
            Input {
                rx: rx0,
                port: 0,
                injected: false,
            },
            Input {
                rx: rx1,
                port: 1,
                injected: false,
            },
        ];
        let task = std::thread::spawn(move || {
            let (out, _) = Output::capturing(1);
            run_operator(operator, inputs, out, Arc::new(InstanceMetrics::new(2))).is_ok()
        });
        let started = Instant::now();
        while log.lock().unwrap().len() < 3 && started.elapsed().as_secs() < 10 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        tx0.send(Message::End).unwrap();
        tx1.send(Message::End).unwrap();
        assert!(task.join().unwrap());
        let log = log.lock().unwrap().clone();
        assert!(log.contains(&"batch 1 on port 0 with 1 columns".to_string()));
        assert!(log.contains(&"batch 2 on port 1 with 3 columns".to_string()));
        let watermarks: Vec<&String> = log.iter().filter(|l| l.starts_with("watermark")).collect();
        assert_eq!(watermarks, vec!["watermark 40"]);
    }

    #[test]
    fn ticks_come_once_per_interval_crossed_and_in_stream_order() {
        let (log, captured) = run(
            vec![(
                0,
                vec![
                    Message::Time(1_000),
                    rows(1, 1),
                    Message::Time(1_500),
                    rows(2, 1),
                    Message::Time(2_100),
                    rows(3, 1),
                    Message::Time(7_300),
                    Message::End,
                ],
            )],
            Some(1_000),
        );
        assert_eq!(
            log,
            vec![
                "batch 1 on port 0 with 1 columns",
                "batch 2 on port 0 with 1 columns",
                "tick 2000",
                "batch 3 on port 0 with 1 columns",
                "tick 7000",
            ]
        );
        let times: Vec<i64> = captured
            .messages()
            .iter()
            .filter_map(|(_, m)| match m {
                Message::Time(t) => Some(*t),
                _ => None,
            })
            .collect();
        assert_eq!(times, vec![1_000, 1_500, 2_100, 7_300]);
    }
}
