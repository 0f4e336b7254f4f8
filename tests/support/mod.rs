//! Helpers for engine tests: write a pipeline and its data to a scratch folder, run it to the
//! end, and read each sink's rows back as sorted text lines.
#![allow(dead_code)]

pub mod flink;
pub mod processes;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;
use eddy::model::file::parse;
use eddy::runtime::{RunOptions, RunReport, RunStatus, start_pipeline};
use eddy::values::cell_text;

pub struct Outcome {
    pub report: RunReport,
    pub sinks: BTreeMap<String, Vec<RecordBatch>>,
    /// The shard view of every stream node, as the run left it.
    pub shards: BTreeMap<String, eddy::runtime::shard_stats::ShardView>,
}

impl Outcome {
    /// All rows a sink received, one `a|b|c` line per row, in arrival order.
    pub fn lines(&self, sink: &str) -> Vec<String> {
        let Some(batches) = self.sinks.get(sink) else {
            return Vec::new();
        };
        let mut lines = Vec::new();
        for batch in batches {
            for row in 0..batch.num_rows() {
                let cells: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|c| cell_text(c.as_ref(), row))
                    .collect();
                lines.push(cells.join("|"));
            }
        }
        lines
    }

    pub fn sorted_lines(&self, sink: &str) -> Vec<String> {
        let mut lines = self.lines(sink);
        lines.sort();
        lines
    }

    /// All rows of a sink in one batch.
    pub fn batch(&self, sink: &str) -> Option<RecordBatch> {
        let batches = self.sinks.get(sink)?;
        let first = batches.first()?;
        concat_batches(&first.schema(), batches).ok()
    }

    pub fn shard_view(&self, id: &str) -> &eddy::runtime::shard_stats::ShardView {
        self.shards
            .get(id)
            .unwrap_or_else(|| panic!("no shard view for {id}"))
    }

    pub fn node(&self, id: &str) -> &eddy::runtime::metrics::NodeSnapshot {
        self.report
            .metrics
            .node(id)
            .unwrap_or_else(|| panic!("no metrics for {id}"))
    }
}

/// The scratch folder `scratch(name)` makes, without making it.
pub fn scratch_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("eddy-engine-{name}-{}", std::process::id()))
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = scratch_path(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `ron` (a pipeline) after writing `files` beside it; every sink's rows are collected.
pub fn run_in(dir: &Path, ron: &str, files: &[(&str, &str)], parallelism: usize) -> Outcome {
    for (name, content) in files {
        fs::write(dir.join(name), content).unwrap();
    }
    let pipeline = parse(ron).unwrap_or_else(|p| panic!("{p}"));
    run_pipeline(dir, &pipeline, parallelism)
}

pub fn run_pipeline(dir: &Path, pipeline: &eddy::model::Pipeline, parallelism: usize) -> Outcome {
    let options = RunOptions {
        parallelism,
        collect_all_sinks: true,
        console: Arc::new(|_: &str| {}),
        ..RunOptions::default()
    };
    let handle = start_pipeline(pipeline, dir, options).unwrap_or_else(|e| panic!("{e}"));
    let sink_ids: Vec<String> = pipeline
        .nodes
        .iter()
        .filter(|n| n.kind.output_ports().is_empty())
        .map(|n| n.id.clone())
        .collect();
    let collected: Vec<_> = sink_ids
        .iter()
        .map(|id| (id.clone(), handle.collected(id)))
        .collect();
    let streams: Vec<_> = pipeline
        .nodes
        .iter()
        .filter_map(|n| Some((n.id.clone(), handle.shard_stats(&n.id)?)))
        .collect();
    let report = handle.wait();
    assert_eq!(report.status, RunStatus::Finished, "the run did not finish");
    let shards = streams
        .into_iter()
        .map(|(id, stats)| (id, stats.view()))
        .collect();
    let mut sinks = BTreeMap::new();
    for (id, rows) in collected {
        let batches = rows
            .map(|r| r.snapshot().batches.clone())
            .unwrap_or_default();
        sinks.insert(id, batches);
    }
    Outcome {
        report,
        sinks,
        shards,
    }
}

/// A pipeline of one CSV source (event time `ts`, given delay), one window node and a table sink,
/// plus a `late` sink.
pub fn window_pipeline(
    columns: &str,
    delay: &str,
    window: &str,
    key_by: &str,
    aggregates: &str,
    lateness: &str,
) -> String {
    format!(
        r#"(
    format_version: 1,
    name: "window test",
    nodes: [
        (id: "src", kind: Source(CsvFile(path: "data.csv", schema: [{columns}], time: EventTime(column: "ts", max_out_of_orderness: "{delay}")))),
        (id: "win", kind: Window(window: {window}, key_by: [{key_by}], aggregates: [{aggregates}], allowed_lateness: "{lateness}", emit: OnWatermark)),
        (id: "results", kind: Sink(Table(view: Latest(1000)))),
        (id: "late", kind: Sink(Table(view: Latest(1000)))),
    ],
    edges: ["src.out -> win.in", "win.out -> results.in", "win.late -> late.in"],
)"#
    )
}
