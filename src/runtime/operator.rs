//! The operator contract: small hooks the task loop calls in stream order.

use arrow::record_batch::RecordBatch;

use super::error::RunError;
use super::message::Timestamp;
use super::outputs::{Output, SendFailure};

/// What an operator hook returns: failure stops the run and names the node.
pub type OpResult = Result<(), SendFailure>;

/// A failure inside an operator.
pub fn fail(message: impl Into<String>) -> SendFailure {
    SendFailure::Failed(RunError::general(message))
}

/// One running instance of a transform, window or sink.
pub trait Operator: Send {
    /// Rows arrived on input `port` (index in the node's `input_ports()`).
    fn on_batch(&mut self, port: usize, batch: RecordBatch, out: &mut Output) -> OpResult;

    /// The combined watermark of all inputs advanced; called before it is forwarded downstream.
    fn on_watermark(&mut self, _watermark: Timestamp, _out: &mut Output) -> OpResult {
        Ok(())
    }

    /// Every input ended: flush and finish (sinks make their files whole here).
    fn on_end(&mut self, _out: &mut Output) -> OpResult {
        Ok(())
    }

    /// The run stops early or failed: release what `on_end` would have committed.
    fn on_abort(&mut self) {}
}
