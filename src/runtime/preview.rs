//! A preview: the plan run on a sample (the first rows of each source), with nothing written
//! anywhere, keeping the first rows that leave every output port. The designer shows it per node
//! while no run is going, and runs it again after each edit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;

use super::{RunOptions, RunStatus, Speed, start};
use crate::model::PortRef;
use crate::model::plan::Plan;

/// How big a preview is.
#[derive(Debug, Clone, Copy)]
pub struct PreviewSize {
    /// Each source ends (as if complete, so open windows fire) after the batch that brings its
    /// rows to this many.
    pub source_rows: u64,
    /// Rows kept per output port.
    pub rows_per_port: usize,
    /// A preview that takes longer is stopped and shows what it has.
    pub deadline: Duration,
}

impl Default for PreviewSize {
    fn default() -> Self {
        Self {
            source_rows: 1_000,
            rows_per_port: 20,
            deadline: Duration::from_secs(3),
        }
    }
}

/// What a preview found.
#[derive(Debug, Clone, Default)]
pub struct Preview {
    /// The first rows out of every output port that feeds an edge.
    pub outputs: BTreeMap<PortRef, RecordBatch>,
    /// Why the sample run failed (a division by zero in a Map, say), when it did.
    pub failure: Option<String>,
    /// The deadline came before the sample was through.
    pub cut_short: bool,
}

/// Runs `plan` on a sample and returns the first rows of every port.
pub fn preview(plan: &Plan, size: PreviewSize) -> Preview {
    let options = RunOptions {
        speed: Speed::Max,
        parallelism: 1,
        console: Arc::new(|_: &str| {}),
        collector_max_rows: size.rows_per_port.max(1),
        sample_every: Duration::from_millis(20),
        dry_run: true,
        tap_first_rows: Some(size.rows_per_port.max(1)),
        source_row_limit: Some(size.source_rows),
        ..RunOptions::default()
    };
    let handle = match start(plan, options) {
        Ok(handle) => handle,
        Err(e) => {
            return Preview {
                failure: Some(e.to_string()),
                ..Preview::default()
            };
        }
    };
    // Each source ends by itself after the sample, as if complete, so windows fire.
    let started = Instant::now();
    let mut cut_short = false;
    while !handle.is_done() {
        if started.elapsed() > size.deadline {
            handle.stop();
            cut_short = true;
            break;
        }
        let _ = handle.snapshots().recv_timeout(Duration::from_millis(20));
    }
    let mut outputs = BTreeMap::new();
    for edge in plan.edges.iter().map(|e| &e.edge) {
        if outputs.contains_key(&edge.from) {
            continue;
        }
        let Some(tap) = handle.tap(edge) else {
            continue;
        };
        let batches = tap.rows();
        let Some(first) = batches.first() else {
            continue;
        };
        if let Ok(batch) = concat_batches(&first.schema(), &batches) {
            outputs.insert(edge.from.clone(), batch);
        }
    }
    let report = handle.wait();
    let failure = match report.status {
        RunStatus::Failed(e) => Some(e.to_string()),
        _ => None,
    };
    Preview {
        outputs,
        failure,
        cut_short,
    }
}
