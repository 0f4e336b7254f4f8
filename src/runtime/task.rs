//! The loop of one operator instance: receive from its inputs in order, track each input's
//! watermark, call the operator's hooks, forward the combined watermark.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crossbeam_channel::{Receiver, Select};

use super::message::{MIN_WATERMARK, Message, Timestamp};
use super::metrics::InstanceMetrics;
use super::operator::{OpResult, Operator};
use super::outputs::{Output, SendFailure};

/// One channel feeding this instance, and the input port it belongs to.
pub struct Input {
    pub rx: Receiver<Message>,
    pub port: usize,
}

#[derive(Clone, Copy)]
struct InputState {
    watermark: Timestamp,
    idle: bool,
    ended: bool,
}

/// How a task ended.
pub enum TaskEnd {
    /// All inputs ended and the operator finished.
    Finished,
    /// An upstream vanished without ending (the run is stopping or failed elsewhere).
    Aborted,
}

/// Runs `operator` until all inputs end.
pub fn run_operator(
    mut operator: Box<dyn Operator>,
    inputs: Vec<Input>,
    mut out: Output,
    metrics: Arc<InstanceMetrics>,
) -> Result<TaskEnd, SendFailure> {
    let mut state = vec![
        InputState {
            watermark: MIN_WATERMARK,
            idle: false,
            ended: false,
        };
        inputs.len()
    ];
    let mut emitted = MIN_WATERMARK;
    let mut all_idle = false;
    loop {
        let Some((index, message)) = receive(&inputs, &state) else {
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
        // The combined watermark is the minimum over inputs that are neither idle nor ended.
        let active: Vec<&InputState> = state.iter().filter(|s| !s.ended && !s.idle).collect();
        let combined = if state.iter().all(|s| s.ended) {
            None
        } else {
            active.iter().map(|s| s.watermark).min()
        };
        if let Some(w) = combined
            && w > emitted
        {
            emitted = w;
            metrics.watermark.store(w, Relaxed);
            operator.on_watermark(w, &mut out)?;
            out.watermark(w)?;
        }
        let now_idle = active.is_empty() && !state.iter().all(|s| s.ended);
        if now_idle && !all_idle {
            out.idle()?;
        }
        all_idle = now_idle;
        InstanceMetrics::add(&metrics.busy_nanos, started.elapsed().as_nanos() as u64);
        if state.iter().all(|s| s.ended) {
            operator.on_end(&mut out)?;
            out.end()?;
            return Ok(TaskEnd::Finished);
        }
    }
}

/// Waits for the next message on any input that has not ended; `None` if an input vanished.
fn receive(inputs: &[Input], state: &[InputState]) -> Option<(usize, Message)> {
    let open: Vec<usize> = (0..inputs.len()).filter(|&i| !state[i].ended).collect();
    if let [only] = open.as_slice() {
        return inputs[*only].rx.recv().ok().map(|m| (*only, m));
    }
    let mut select = Select::new();
    for &i in &open {
        select.recv(&inputs[i].rx);
    }
    let operation = select.select();
    let index = open[operation.index()];
    operation.recv(&inputs[index].rx).ok().map(|m| (index, m))
}
