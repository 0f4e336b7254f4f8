//! The operator contract: small hooks the task loop calls in stream order.

use arrow::record_batch::RecordBatch;

use super::error::{RunError, SendFailure};
use super::key_groups::InstanceOf;
use super::message::{BarrierId, Timestamp};
use super::output::Output;

/// What an operator hook returns: failure stops the run and names the node.
pub type OpResult = Result<(), SendFailure>;

/// An internal failure inside an operator (a broken invariant, an Arrow error).
pub fn fail(message: impl Into<String>) -> SendFailure {
    SendFailure::Failed(RunError::internal(message))
}

/// One running instance of a transform, window or sink.
///
/// Hooks are called on the instance's own thread, one at a time, in the order the messages arrive;
/// every hook has a default that does nothing, so an operator implements only what it needs.
pub trait Operator: Send {
    /// Rows arrived on input `port` (index in the node's input ports).
    fn on_batch(&mut self, port: usize, batch: RecordBatch, out: &mut Output) -> OpResult;

    /// The combined watermark of all inputs advanced; called before it is forwarded downstream.
    fn on_watermark(&mut self, _watermark: Timestamp, _out: &mut Output) -> OpResult {
        Ok(())
    }

    /// Whether the operator sends the watermark out of output `port` itself, with
    /// [`Output::watermark_on`]: a port whose rows it holds back (a Kinesis consumer reading
    /// behind the stream's tip) must not be overtaken by the watermark. The loop forwards the
    /// combined watermark to every other port.
    fn sends_own_watermark(&self, _port: usize) -> bool {
        false
    }

    /// How often [`Operator::on_tick`] should be called, in milliseconds of the run's clock
    /// (simulated arrival time); `None` (the default) never.
    fn tick_interval_ms(&self) -> Option<i64> {
        None
    }

    /// The run's clock passed one or more multiples of the tick interval; `now` is the newest one.
    /// Ticks come at the same place in the stream in paced and as-fast-as-possible runs.
    fn on_tick(&mut self, _now: Timestamp, _out: &mut Output) -> OpResult {
        Ok(())
    }

    /// Every input delivered checkpoint barrier `barrier` (inputs are aligned: nothing after the
    /// barrier was processed yet). Snapshot state here; the barrier is forwarded afterwards.
    fn on_barrier(&mut self, _barrier: BarrierId, _out: &mut Output) -> OpResult {
        Ok(())
    }

    /// The operator's state at a checkpoint, in its own documented encoding (see
    /// `runtime::checkpoint`); `None` when it keeps none. Called when the barrier is aligned and
    /// once more when the operator finished.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        Ok(None)
    }

    /// Puts back state that instances of the same node saved, one blob per saved instance, before
    /// any message arrives. A keyed node restored at another parallelism gets every blob and keeps
    /// the keys that are now its own (`me`).
    fn restore_state(&mut self, _saved: &[Vec<u8>], _me: InstanceOf) -> Result<(), RunError> {
        Ok(())
    }

    /// Every input ended: flush and finish (sinks make their files whole here).
    fn on_end(&mut self, _out: &mut Output) -> OpResult {
        Ok(())
    }

    /// The run stops early or failed: release what `on_end` would have committed.
    fn on_abort(&mut self) {}
}
