//! The sending side of an operator: its output ports, each feeding one or more edges, each edge
//! feeding one or more instances (hash-partitioned by key for keyed operators).

use std::sync::Arc;

use arrow::array::UInt32Array;
use arrow::compute::take_record_batch;
use arrow::record_batch::RecordBatch;
use crossbeam_channel::Sender;

use super::error::RunError;
use super::keys::{KeyEncoder, key_hash};
use super::message::{Message, Timestamp};
use super::metrics::InstanceMetrics;
use super::tap::Tap;

/// The receiver is gone: the run is stopping (or a downstream operator failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

/// How an edge spreads batches over the instances of its target.
pub enum Partitioning {
    /// One target instance.
    Forward,
    /// Rows with the same key go to the same instance.
    Hash(KeyEncoder),
}

/// One edge leaving a port.
pub struct EdgeSender {
    pub senders: Vec<Sender<Message>>,
    pub partitioning: Partitioning,
    pub tap: Arc<Tap>,
}

impl EdgeSender {
    fn send_batch(&self, batch: &RecordBatch) -> Result<(), SendFailure> {
        self.tap.offer(batch);
        match &self.partitioning {
            Partitioning::Forward => self.send_to(0, batch.clone()),
            Partitioning::Hash(_) if self.senders.len() == 1 => self.send_to(0, batch.clone()),
            Partitioning::Hash(encoder) => {
                let parts = self.senders.len();
                let mut indices: Vec<Vec<u32>> = vec![Vec::new(); parts];
                match encoder.encode(batch).map_err(SendFailure::Failed)? {
                    Some(rows) => {
                        for (i, row) in rows.iter().enumerate() {
                            let part = (key_hash(row.as_ref()) % parts as u64) as usize;
                            indices[part].push(i as u32);
                        }
                    }
                    None => indices[0] = (0..batch.num_rows() as u32).collect(),
                }
                for (part, rows) in indices.into_iter().enumerate() {
                    if rows.is_empty() {
                        continue;
                    }
                    let piece = if rows.len() == batch.num_rows() {
                        batch.clone()
                    } else {
                        take_record_batch(batch, &UInt32Array::from(rows))
                            .map_err(|e| SendFailure::Failed(RunError::general(e.to_string())))?
                    };
                    self.send_to(part, piece)?;
                }
                Ok(())
            }
        }
    }

    fn send_to(&self, part: usize, batch: RecordBatch) -> Result<(), SendFailure> {
        self.senders[part]
            .send(Message::Batch(batch))
            .map_err(|_| SendFailure::Disconnected)
    }

    fn broadcast(&self, message: &Message) -> Result<(), SendFailure> {
        for sender in &self.senders {
            sender
                .send(message.clone())
                .map_err(|_| SendFailure::Disconnected)?;
        }
        Ok(())
    }
}

/// Why sending failed.
#[derive(Debug)]
pub enum SendFailure {
    Disconnected,
    Failed(RunError),
}

impl From<Disconnected> for SendFailure {
    fn from(_: Disconnected) -> Self {
        SendFailure::Disconnected
    }
}

/// All output ports of one operator instance, in the order of the node's `output_ports()`.
pub struct Output {
    ports: Vec<Vec<EdgeSender>>,
    metrics: Arc<InstanceMetrics>,
}

impl Output {
    pub fn new(ports: Vec<Vec<EdgeSender>>, metrics: Arc<InstanceMetrics>) -> Self {
        Self { ports, metrics }
    }

    /// Whether anything is connected to `port`.
    pub fn is_connected(&self, port: usize) -> bool {
        self.ports.get(port).is_some_and(|edges| !edges.is_empty())
    }

    /// Sends rows out of `port` to every edge leaving it.
    pub fn emit(&mut self, port: usize, batch: RecordBatch) -> Result<(), SendFailure> {
        InstanceMetrics::add(&self.metrics.rows_out, batch.num_rows() as u64);
        self.emit_side(port, batch)
    }

    /// Sends rejected rows (`errors`, `late`) without counting them as the node's output;
    /// they have counters of their own.
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
            edge.broadcast(&message)?;
        }
        Ok(())
    }

    pub fn watermark(&self, watermark: Timestamp) -> Result<(), SendFailure> {
        self.broadcast(Message::Watermark(watermark))
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
