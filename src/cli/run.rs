//! `eddy run`: run a pipeline headless, with a progress line and a summary per node.

use super::checkpoints::{self, CheckpointArgs};
use super::output::out;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arrow::util::pretty::pretty_format_batches;

use crate::connectors::collector::table_view;
use crate::model::check::check_file;
use crate::model::kinds::PlannedKind;
use crate::model::plan::Plan;
use crate::model::{Duration as ModelDuration, Family};
use crate::runtime::metrics::MetricsSnapshot;
use crate::runtime::{RunOptions, RunStatus, Speed, start};
use crate::values::iso_millis;

/// Settings of a headless run.
pub struct RunArgs {
    pub speed: Speed,
    pub limit_rows: Option<u64>,
    pub for_duration: Option<ModelDuration>,
    pub parallelism: Option<usize>,
    pub checkpoints: CheckpointArgs,
    /// Where to write the summary as JSON too.
    pub summary_json: Option<std::path::PathBuf>,
}

pub fn run(file: &Path, args: RunArgs) -> anyhow::Result<ExitCode> {
    let checked = check_file(file);
    let name = file.display().to_string();
    for problem in &checked.problems {
        eprintln!("{}", problem.display_in(&name));
    }
    let Some(plan) = checked.validation.and_then(|v| v.plan) else {
        eprintln!("eddy: {name} has errors; fix them before running it");
        return Ok(ExitCode::FAILURE);
    };
    let checkpoint_settings = match checkpoints::plan(file, &plan.name, &args.checkpoints) {
        Ok(checkpoints::Plan::None) => None,
        Ok(checkpoints::Plan::Run(settings)) => Some(settings),
        Ok(checkpoints::Plan::AlreadyDone(message)) => {
            eprintln!("eddy: {message}");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            eprintln!("eddy: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut options = RunOptions {
        speed: args.speed,
        source_row_limit: args.limit_rows,
        checkpoints: checkpoint_settings.clone(),
        ..RunOptions::default()
    };
    if let Some(p) = args.parallelism {
        options.parallelism = p.max(1);
    }
    let handle = match start(&plan, options) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("eddy: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = Arc::clone(&interrupted);
        // Ctrl-C, SIGTERM and SIGHUP all stop the run the same way. If a handler cannot be
        // installed, the signal simply ends the process as usual (and no output is replaced).
        let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    }
    let sources: Vec<String> = plan
        .nodes
        .iter()
        .filter(|n| n.family == Family::Source)
        .map(|n| n.id.clone())
        .collect();
    let terminal = std::io::stderr().is_terminal();
    let mut asked_to_stop = false;
    while !handle.is_done() {
        let snapshot = handle
            .snapshots()
            .recv_timeout(Duration::from_millis(100))
            .ok()
            .map(|first| handle.snapshots().try_iter().last().unwrap_or(first));
        if interrupted.load(Ordering::SeqCst) && !asked_to_stop {
            if handle.takes_checkpoints() {
                eprintln!("\neddy: interrupted: taking a savepoint, then stopping");
                handle.stop_with_savepoint();
            } else {
                eprintln!("\neddy: stopping (interrupted); outputs already there stay as they are");
                handle.stop();
            }
            asked_to_stop = true;
        }
        let Some(snapshot) = snapshot else { continue };
        let over_time = args
            .for_duration
            .is_some_and(|d| snapshot.elapsed.as_millis() as i64 >= d.as_millis());
        if over_time && !asked_to_stop {
            if handle.takes_checkpoints() {
                handle.stop_with_savepoint();
            } else {
                handle.drain();
            }
            asked_to_stop = true;
        }
        if terminal {
            eprint!(
                "\r{}\x1b[K",
                progress_line(&snapshot, &sources, handle.event_time())
            );
        }
    }
    if terminal {
        eprintln!();
    }
    let tables: Vec<(String, crate::model::kinds::table::TableView)> = plan
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            PlannedKind::Table(t) => Some((n.id.clone(), t.view.clone())),
            _ => None,
        })
        .collect();
    let collected: Vec<_> = tables
        .iter()
        .map(|(id, view)| (id.clone(), view.clone(), handle.collected(id)))
        .collect();
    let streams: Vec<_> = plan
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            PlannedKind::KinesisStream(_) => Some((n.id.clone(), handle.shard_stats(&n.id)?)),
            _ => None,
        })
        .collect();
    let applications: Vec<_> = plan
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            PlannedKind::Lambda(_) => Some((n.id.clone(), handle.lambda_stats(&n.id), None)),
            PlannedKind::Kcl(_) => Some((n.id.clone(), None, handle.kcl_stats(&n.id))),
            _ => None,
        })
        .collect();
    let coordinator = handle.coordinator();
    let report = handle.wait();
    for (id, view, rows) in collected {
        let Some(rows) = rows else { continue };
        let rows = rows.snapshot();
        if let Ok(Some(batch)) = table_view(&rows, &view)
            && let Ok(text) = pretty_format_batches(&[batch])
        {
            out!("\n[{id}] final table\n{text}");
        }
    }
    print_summary(&report.metrics, &plan, report.wall);
    let mut summary_failed = false;
    if let Some(path) = &args.summary_json {
        let doc =
            super::summary_json::document(&plan, &report.metrics, &report.status, report.wall);
        if let Err(e) = super::summary_json::write(path, &doc) {
            eprintln!(
                "eddy: could not write the summary to {}: {e}",
                path.display()
            );
            summary_failed = true;
        }
    }
    for (id, stats) in streams {
        let view = stats.view();
        let p = view.producer;
        out!(
            "{id}: the producer wrote {} records as {} Kinesis records in {} requests ({} attempts{})",
            thousands(p.user_records),
            thousands(p.kinesis_records),
            thousands(p.requests),
            thousands(p.attempts),
            if p.expired > 0 {
                format!(", {} expired in the KPL", thousands(p.expired))
            } else {
                String::new()
            }
        );
        if !view.consumers.is_empty() {
            print_consumers(&id, &view);
        }
    }
    for (id, lambda, kcl) in applications {
        if let Some(stats) = lambda {
            print_lambda(&id, &stats.view());
        }
        if let Some(stats) = kcl {
            print_kcl(&id, &stats.view());
        }
    }
    if let Some(settings) = &checkpoint_settings {
        let history = coordinator.map(|c| c.history()).unwrap_or_default();
        for line in checkpoints::summary(&history, settings) {
            out!("{line}");
        }
        if report.status != RunStatus::Finished {
            eprintln!(
                "eddy: continue this run with: eddy run {} --resume {}",
                file.display(),
                settings.dir.display()
            );
        }
    }
    for file in &report.outputs.incomplete {
        eprintln!(
            "eddy: the run was stopped before its end, so the output it would replace was left as it was; what was written so far is in {}",
            file.display()
        );
    }
    match report.status {
        RunStatus::Failed(error) => {
            eprintln!("eddy: the run failed: {error}");
            Ok(ExitCode::FAILURE)
        }
        _ if summary_failed => Ok(ExitCode::FAILURE),
        RunStatus::Stopped if checkpoint_settings.is_some() => {
            eprintln!("eddy: stopped with a savepoint");
            Ok(ExitCode::SUCCESS)
        }
        RunStatus::Stopped if interrupted.load(Ordering::SeqCst) => {
            eprintln!("eddy: stopped by a signal (Ctrl-C, SIGTERM or SIGHUP)");
            Ok(ExitCode::from(130))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn print_lambda(id: &str, view: &crate::runtime::lambda_stats::LambdaView) {
    let mut line = format!(
        "{id}: {} invocations ({} failed), {} records out, {} of them again after a retry",
        thousands(view.invocations),
        thousands(view.errors),
        thousands(view.output),
        thousands(view.duplicates)
    );
    if view.given_up_batches > 0 {
        line.push_str(&format!(
            "; {} {} ({} records) given up",
            thousands(view.given_up_batches),
            if view.given_up_batches == 1 {
                "batch"
            } else {
                "batches"
            },
            thousands(view.given_up_records)
        ));
    }
    out!("{line}");
}

fn print_kcl(id: &str, view: &crate::runtime::kcl_stats::KclView) {
    let dead = view.workers.iter().filter(|alive| !**alive).count();
    let mut line = format!(
        "{id}: {} workers ({dead} dead), {} records processed, {} of them again after a failover",
        view.workers.len(),
        thousands(view.processed),
        thousands(view.duplicates)
    );
    if view.unprocessed > 0 {
        line.push_str(&format!(
            "; {} left in the stream with no worker alive",
            thousands(view.unprocessed)
        ));
    }
    out!("{line}");
    out!("  lease table at the end:");
    for lease in &view.leases {
        out!(
            "  {:<22} {:<10} counter {:>5}  checkpoint {}{}",
            lease.lease_key,
            lease.owner.as_deref().unwrap_or("-"),
            lease.lease_counter,
            lease.checkpoint,
            lease
                .parent
                .as_deref()
                .map(|p| format!("  (parent {p})"))
                .unwrap_or_default()
        );
    }
}

fn progress_line(
    snapshot: &MetricsSnapshot,
    sources: &[String],
    event_time: Option<i64>,
) -> String {
    let (rows, rate) = sources
        .iter()
        .filter_map(|s| snapshot.node(s))
        .fold((0u64, 0f64), |(r, s), n| {
            (r + n.rows_out, s + n.rows_out_per_sec)
        });
    let watermark = snapshot
        .nodes
        .iter()
        .filter_map(|n| n.watermark)
        .filter(|&w| w < i64::MAX)
        .min();
    format!(
        "{:>7.1}s  rows {}  {}/s  event time {}  watermark {}",
        snapshot.elapsed.as_secs_f64(),
        thousands(rows),
        thousands(rate as u64),
        event_time.map_or("-".into(), iso_millis),
        watermark.map_or("-".into(), iso_millis),
    )
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One line per consumer of stream `id`: what it read, the furthest behind the newest record it
/// was, what it lost.
fn print_consumers(id: &str, view: &crate::runtime::shard_stats::ShardView) {
    out!(
        "\n{:<22} {:<36} {:>12} {:>12} {:>15} {:>9} {:>9}",
        format!("{id}: consumer"),
        "reads",
        "read",
        "most behind",
        "throttled calls",
        "expired",
        "skipped"
    );
    for consumer in &view.consumers {
        let reads = if consumer.enhanced_fan_out {
            "enhanced fan-out (2 MiB/s its own)"
        } else {
            "polling (shares 5 calls, 2 MiB/s)"
        };
        out!(
            "{:<22} {:<36} {:>12} {:>11.1}s {:>15} {:>9} {:>9}",
            consumer.name,
            reads,
            thousands(consumer.read),
            consumer.peak_behind_ms as f64 / 1000.0,
            thousands(consumer.throttled_calls),
            thousands(consumer.expired),
            thousands(consumer.skipped),
        );
    }
}

fn print_summary(metrics: &MetricsSnapshot, plan: &Plan, wall: Duration) {
    let secs = wall.as_secs_f64().max(1e-9);
    // Streams throttle writes: their column appears when the pipeline has one.
    let streams = plan.nodes.iter().any(|n| n.family == Family::Stream);
    let throttled = |text: String| {
        if streams {
            format!(" {text:>10}")
        } else {
            String::new()
        }
    };
    out!(
        "\n{:<22} {:<19} {:>12} {:>12} {:>9} {:>12} {:>9} {:>9}{} {:>12}",
        "node",
        "kind",
        "rows in",
        "rows out",
        "late",
        "late firings",
        "dropped",
        "errors",
        throttled("throttled".into()),
        "rows/s"
    );
    for node in &plan.nodes {
        let Some(m) = metrics.node(&node.id) else {
            continue;
        };
        let through = if node.family == Family::Source {
            m.rows_out
        } else {
            m.rows_in
        };
        out!(
            "{:<22} {:<19} {:>12} {:>12} {:>9} {:>12} {:>9} {:>9}{} {:>12}",
            node.id,
            node.kind_id.entry().name,
            thousands(m.rows_in),
            thousands(m.rows_out),
            thousands(m.late_rows),
            thousands(m.late_firings),
            thousands(m.dropped_rows),
            thousands(m.error_rows),
            throttled(thousands(m.throttled_rows)),
            thousands((through as f64 / secs) as u64),
        );
    }
    out!("wall time {:.2}s", wall.as_secs_f64());
}
