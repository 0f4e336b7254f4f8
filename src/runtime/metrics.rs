//! Snapshots of the operators' live counters, with rates, made by the run's sampler.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::contract::message::{MIN_WATERMARK, Timestamp};
use super::contract::metrics::InstanceMetrics;

/// Counters of every instance of one node.
#[derive(Debug)]
pub struct NodeMetrics {
    pub node: String,
    pub instances: Vec<Arc<InstanceMetrics>>,
}

/// A consistent-enough reading of one node, with rates over the last sampling interval.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeSnapshot {
    pub node: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub bytes_in: u64,
    pub rows_in_per_sec: f64,
    pub rows_out_per_sec: f64,
    pub late_rows: u64,
    pub dropped_rows: u64,
    pub throttled_rows: u64,
    pub error_rows: u64,
    pub late_firings: u64,
    /// The slowest instance's watermark; `None` before the first one.
    pub watermark: Option<Timestamp>,
    /// How far the watermark trails the newest event seen, in ms.
    pub watermark_lag_ms: Option<i64>,
    pub open_windows: u64,
    pub keys: u64,
    /// A join's rows in state per input (a lookup join: its table's rows first).
    pub held_rows: [u64; 2],
    /// A join's held rows without a partner yet.
    pub waiting_rows: u64,
    /// Rows a join dropped for meeting nobody, or lookups that missed.
    pub unmatched_rows: u64,
    /// A lookup join's table reads after its file changed, and those that failed.
    pub reloads: u64,
    pub failed_reloads: u64,
    /// How many instances run the node.
    pub instances: u64,
    /// Share of wall time the node's instances spent working (0 to 1 per instance, averaged).
    pub busy_share: f64,
    /// Fill of the fullest queue feeding this node, 0 to 1.
    pub input_fill: f64,
}

/// All nodes at one instant of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsSnapshot {
    pub elapsed: Duration,
    pub nodes: Vec<NodeSnapshot>,
}

impl MetricsSnapshot {
    pub fn node(&self, id: &str) -> Option<&NodeSnapshot> {
        self.nodes.iter().find(|n| n.node == id)
    }
}

/// Reads counters and turns deltas into rates.
pub struct Sampler {
    nodes: Vec<NodeMetrics>,
    last: Vec<(u64, u64, u64)>,
    last_elapsed: Duration,
}

impl Sampler {
    pub fn new(nodes: Vec<NodeMetrics>) -> Self {
        let last = vec![(0, 0, 0); nodes.len()];
        Self {
            nodes,
            last,
            last_elapsed: Duration::ZERO,
        }
    }

    pub fn sample(&mut self, elapsed: Duration) -> MetricsSnapshot {
        let interval = (elapsed - self.last_elapsed.min(elapsed))
            .as_secs_f64()
            .max(1e-9);
        self.last_elapsed = elapsed;
        let mut nodes = Vec::with_capacity(self.nodes.len());
        for (node, last) in self.nodes.iter().zip(self.last.iter_mut()) {
            let sum = |f: fn(&InstanceMetrics) -> &AtomicU64| -> u64 {
                node.instances.iter().map(|i| f(i).load(Relaxed)).sum()
            };
            let rows_in = sum(|m| &m.rows_in);
            let rows_out = sum(|m| &m.rows_out);
            let busy = sum(|m| &m.busy_nanos);
            let watermark = node
                .instances
                .iter()
                .map(|i| i.watermark.load(Relaxed))
                .min()
                .filter(|&w| w != MIN_WATERMARK);
            let max_event = node
                .instances
                .iter()
                .map(|i| i.max_event_time.load(Relaxed))
                .max()
                .filter(|&t| t != MIN_WATERMARK);
            let watermark_lag_ms = match (watermark, max_event) {
                (Some(w), Some(e)) if w < i64::MAX => Some(e.saturating_sub(w).max(0)),
                _ => None,
            };
            let input_fill = node
                .instances
                .iter()
                .flat_map(|i| i.input_fill_permille.iter().map(|f| f.load(Relaxed)))
                .max()
                .unwrap_or(0) as f64
                / 1000.0;
            let instances = node.instances.len().max(1) as f64;
            nodes.push(NodeSnapshot {
                node: node.node.clone(),
                rows_in,
                rows_out,
                bytes_in: sum(|m| &m.bytes_in),
                rows_in_per_sec: rows_in.saturating_sub(last.0) as f64 / interval,
                rows_out_per_sec: rows_out.saturating_sub(last.1) as f64 / interval,
                late_rows: sum(|m| &m.late_rows),
                dropped_rows: sum(|m| &m.dropped_rows),
                throttled_rows: sum(|m| &m.throttled_rows),
                error_rows: sum(|m| &m.error_rows),
                late_firings: sum(|m| &m.late_firings),
                watermark,
                watermark_lag_ms,
                open_windows: sum(|m| &m.open_windows),
                keys: sum(|m| &m.keys),
                held_rows: [sum(|m| &m.held_rows[0]), sum(|m| &m.held_rows[1])],
                waiting_rows: sum(|m| &m.waiting_rows),
                unmatched_rows: sum(|m| &m.unmatched_rows),
                reloads: sum(|m| &m.reloads),
                failed_reloads: sum(|m| &m.failed_reloads),
                instances: node.instances.len() as u64,
                busy_share: (busy.saturating_sub(last.2) as f64 / 1e9 / interval / instances)
                    .min(1.0),
                input_fill,
            });
            *last = (rows_in, rows_out, busy);
        }
        MetricsSnapshot { elapsed, nodes }
    }
}
