//! The sending side of an operator: its output ports, each feeding the edges that leave it. How an
//! edge reaches its receivers (one channel, or one per instance partitioned by key) is the engine's
//! business behind [`EdgeSink`]; operators only emit.

use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;

use super::error::SendFailure;
use super::message::{BarrierId, Message, Timestamp};
use super::metrics::InstanceMetrics;

/// One edge leaving a port.
pub trait EdgeSink: Send {
    /// Sends rows (a partitioned edge may split them over its receivers).
    fn send_batch(&self, batch: &RecordBatch) -> Result<(), SendFailure>;
    /// Sends a control message to every receiver of the edge.
    fn send_control(&self, message: &Message) -> Result<(), SendFailure>;
}

/// All output ports of one operator instance, in the order of the node's output ports.
pub struct Output {
    ports: Vec<Vec<Box<dyn EdgeSink>>>,
    /// Ports whose watermark the operator sends itself (see `Operator::sends_own_watermark`).
    own_watermark: Vec<bool>,
    metrics: Arc<InstanceMetrics>,
}

impl Output {
    pub fn new(ports: Vec<Vec<Box<dyn EdgeSink>>>, metrics: Arc<InstanceMetrics>) -> Self {
        let own_watermark = vec![false; ports.len()];
        Self {
            ports,
            own_watermark,
            metrics,
        }
    }

    /// How many output ports there are.
    pub fn port_count(&self) -> usize {
        self.ports.len()
    }

    /// Marks the ports whose watermark the operator sends itself; [`Output::watermark`] skips them.
    pub fn set_own_watermark(&mut self, owns: impl Fn(usize) -> bool) {
        self.own_watermark = (0..self.ports.len()).map(owns).collect();
    }

    /// An output whose `ports` keep everything sent, for tests of one operator.
    pub fn capturing(ports: usize) -> (Self, Captured) {
        let captured = Captured::default();
        let edges = (0..ports)
            .map(|port| {
                let edge: Box<dyn EdgeSink> = Box::new(CaptureEdge {
                    port,
                    into: Arc::clone(&captured.messages),
                });
                vec![edge]
            })
            .collect();
        (
            Self::new(edges, Arc::new(InstanceMetrics::new(1))),
            captured,
        )
    }

    /// Whether anything is connected to `port`.
    pub fn is_connected(&self, port: usize) -> bool {
        self.ports.get(port).is_some_and(|edges| !edges.is_empty())
    }

    /// Sends rows out of `port` to every edge leaving it, counted as the node's output.
    pub fn emit(&mut self, port: usize, batch: RecordBatch) -> Result<(), SendFailure> {
        InstanceMetrics::add(&self.metrics.rows_out, batch.num_rows() as u64);
        self.emit_side(port, batch)
    }

    /// Sends rejected rows (`errors`, `late`, `duplicates`) without counting them as the node's
    /// output; they have counters of their own.
    pub fn emit_side(&mut self, port: usize, batch: RecordBatch) -> Result<(), SendFailure> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let Some(edges) = self.ports.get(port) else {
            return Ok(());
        };
        for edge in edges {
            edge.send_batch(&batch)?;
        }
        Ok(())
    }

    fn broadcast(&self, message: Message) -> Result<(), SendFailure> {
        for edge in self.ports.iter().flatten() {
            edge.send_control(&message)?;
        }
        Ok(())
    }

    /// Sends the watermark out of every port but those the operator watermarks itself.
    pub fn watermark(&self, watermark: Timestamp) -> Result<(), SendFailure> {
        let message = Message::Watermark(watermark);
        for (port, edges) in self.ports.iter().enumerate() {
            if self.own_watermark.get(port).copied().unwrap_or(false) {
                continue;
            }
            for edge in edges {
                edge.send_control(&message)?;
            }
        }
        Ok(())
    }

    /// Sends the watermark out of `port` alone.
    pub fn watermark_on(&self, port: usize, watermark: Timestamp) -> Result<(), SendFailure> {
        let message = Message::Watermark(watermark);
        for edge in self.ports.get(port).into_iter().flatten() {
            edge.send_control(&message)?;
        }
        Ok(())
    }

    /// Forwards the run's clock downstream.
    pub fn time(&self, now: Timestamp) -> Result<(), SendFailure> {
        self.broadcast(Message::Time(now))
    }

    pub fn barrier(&self, barrier: BarrierId) -> Result<(), SendFailure> {
        self.broadcast(Message::Barrier(barrier))
    }

    pub fn idle(&self) -> Result<(), SendFailure> {
        self.broadcast(Message::Idle)
    }

    /// Ends every edge; receivers finish once all their senders have ended.
    pub fn end(&self) -> Result<(), SendFailure> {
        self.broadcast(Message::End)
    }

    pub fn metrics(&self) -> &Arc<InstanceMetrics> {
        &self.metrics
    }
}

/// What a capturing output received, port by port.
#[derive(Default, Clone)]
pub struct Captured {
    messages: Arc<Mutex<Vec<(usize, Message)>>>,
}

impl Captured {
    /// Every message, with the port it left by, in order.
    pub fn messages(&self) -> Vec<(usize, Message)> {
        self.messages.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// The batches sent out of `port`, in order.
    pub fn batches(&self, port: usize) -> Vec<RecordBatch> {
        self.messages()
            .into_iter()
            .filter_map(|(p, m)| match m {
                Message::Batch(b) if p == port => Some(b),
                _ => None,
            })
            .collect()
    }
}

struct CaptureEdge {
    port: usize,
    into: Arc<Mutex<Vec<(usize, Message)>>>,
}

impl EdgeSink for CaptureEdge {
    fn send_batch(&self, batch: &RecordBatch) -> Result<(), SendFailure> {
        self.send_control(&Message::Batch(batch.clone()))
    }

    fn send_control(&self, message: &Message) -> Result<(), SendFailure> {
        if let Ok(mut messages) = self.into.lock() {
            messages.push((self.port, message.clone()));
        }
        Ok(())
    }
}
