//! `eddy run --summary-json PATH`: the run's figures per node as JSON, for benchmarks and scripts
//! that would otherwise scrape the summary table.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use crate::model::Family;
use crate::model::plan::Plan;
use crate::runtime::RunStatus;
use crate::runtime::metrics::MetricsSnapshot;

/// The summary document: the pipeline, how the run ended, its wall time in milliseconds, and per
/// node (in the pipeline's order) its kind and counts.
pub fn document(
    plan: &Plan,
    metrics: &MetricsSnapshot,
    status: &RunStatus,
    wall: Duration,
) -> Value {
    let nodes: Vec<Value> = plan
        .nodes
        .iter()
        .filter_map(|node| {
            let m = metrics.node(&node.id)?;
            Some(json!({
                "id": node.id,
                "kind": node.kind_id.entry().name,
                "source": node.family == Family::Source,
                "rows_in": m.rows_in,
                "rows_out": m.rows_out,
                "late": m.late_rows,
                "late_firings": m.late_firings,
                "dropped": m.dropped_rows,
                "errors": m.error_rows,
                "throttled": m.throttled_rows,
            }))
        })
        .collect();
    let status = match status {
        RunStatus::Finished => "finished",
        RunStatus::Stopped => "stopped",
        RunStatus::Failed(_) => "failed",
        RunStatus::Running | RunStatus::Paused => "running",
    };
    json!({
        "pipeline": plan.name,
        "status": status,
        "wall_ms": wall.as_millis() as u64,
        "nodes": nodes,
    })
}

/// Writes `doc` to `path` through a temporary file beside it, so a reader never sees half of it
/// and a failed write leaves the previous summary in place.
pub fn write(path: &Path, doc: &Value) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(std::io::Error::other)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "summary.json".into());
    let temporary = path.with_file_name(format!(".{name}.writing"));
    std::fs::write(&temporary, text + "\n")?;
    std::fs::rename(&temporary, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })
}
