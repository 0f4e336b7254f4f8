//! `eddy-checkpoint-bench`: what checkpoints cost. (1) P1 of `eddy-bench` (filter + tumbling 10 s
//! per key over 1,000 keys) without checkpoints and with one every 10 s, 1 s and 100 ms,
//! alternating whole processes; (2) one window instance holding 1M keys: how long saving and
//! restoring its state takes, the saved size, and the memory saving needs beyond the state.
//!
//! `cargo run --release --bin eddy-checkpoint-bench -- [--events N] [--rounds R] [--keys K]`
//! (run `eddy-bench` first, or pass `--csv FILE`: it reads the events file `eddy-bench` writes).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;
use eddy::model::file::parse;
use eddy::model::kinds::PlannedKind;
use eddy::runtime::checkpoint::store::{FORMAT_VERSION, JobFile, reset_job};
use eddy::runtime::checkpoint::{CheckpointMode, CheckpointSettings};
use eddy::runtime::contract::{InstanceMetrics, InstanceOf, Output};
use eddy::runtime::{RunOptions, RunStatus, start_pipeline};

const P1: &str = r#"(
    format_version: 1,
    name: "bench",
    nodes: [
        (id: "events", kind: Source(CsvFile(path: "events.csv",
            schema: [(name: "event_time_ms", type: Timestamp), (name: "key", type: String), (name: "value", type: Float64)],
            time: EventTime(column: "event_time_ms", max_out_of_orderness: "2s")))),
        (id: "hot", kind: Transform(Filter(predicate: "value > 10"))),
        (id: "win", kind: Window(window: Tumbling(size: "10s"), key_by: ["key"], aggregates: ["count(*) AS n", "sum(value) AS total", "max(value) AS peak"], emit: OnWatermark)),
        (id: "out", kind: Sink(CsvFile(path: "out.csv"))),
    ],
    edges: ["events.out -> hot.in", "hot.out -> win.in", "win.out -> out.in"],
)"#;

fn peak_rss_bytes() -> u64 {
    status_kb("VmHWM:") * 1024
}

fn rss_bytes() -> u64 {
    status_kb("VmRSS:") * 1024
}

fn status_kb(field: &str) -> u64 {
    fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak resident size to the current one (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = fs::write("/proc/self/clear_refs", "5");
}

/// One run of P1 in this process, checkpointing every `every_ms` (0: never); prints
/// `seconds checkpoints`.
fn run_p1(dir: &Path, every_ms: u64) -> ExitCode {
    let Ok(pipeline) = parse(P1) else {
        return ExitCode::FAILURE;
    };
    let checkpoints = (every_ms > 0).then(|| {
        let ckdir = dir.join("checkpoints");
        let job = JobFile {
            format: "eddy-checkpoints".into(),
            version: FORMAT_VERSION,
            job: "bench".into(),
            pipeline: "bench".into(),
            mode: "exactly-once".into(),
            every_ms,
        };
        let _ = reset_job(&ckdir, &job);
        CheckpointSettings {
            every: Duration::from_millis(every_ms),
            dir: ckdir,
            mode: CheckpointMode::ExactlyOnce,
            retain: 3,
            job: "bench".into(),
            restore: None,
            notes: Arc::new(Mutex::new(Vec::new())),
        }
    });
    let options = RunOptions {
        console: Arc::new(|_: &str| {}),
        checkpoints,
        ..RunOptions::default()
    };
    let started = Instant::now();
    let handle = match start_pipeline(&pipeline, dir, options) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let coordinator = handle.coordinator();
    let report = handle.wait();
    let seconds = started.elapsed().as_secs_f64();
    if report.status != RunStatus::Finished {
        eprintln!("run ended as {:?}", report.status);
        return ExitCode::FAILURE;
    }
    let taken = coordinator.map_or(0, |c| {
        c.history()
            .iter()
            .filter(|r| r.status == eddy::runtime::checkpoint::CheckpointStatus::Completed)
            .count()
    });
    println!("{seconds} {taken}");
    ExitCode::SUCCESS
}

/// One window instance with `keys` keys in one open 10 s window each: save, then restore into a
/// fresh instance. Prints `state_bytes_in_memory saved_bytes save_s restore_s save_extra_bytes
/// restored_windows`.
fn state_bench(keys: usize, dir: &Path) -> ExitCode {
    let Ok(pipeline) = parse(P1) else {
        return ExitCode::FAILURE;
    };
    let plan = match eddy::model::plan(&pipeline, dir) {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(node) = plan.nodes.iter().find(|n| n.id == "win") else {
        return ExitCode::FAILURE;
    };
    let PlannedKind::Window(planned) = &node.kind else {
        return ExitCode::FAILURE;
    };
    let metrics = Arc::new(InstanceMetrics::new(1));
    let build = || eddy::runtime::window::build(planned, node, &metrics, None);
    let (Ok(mut operator), Ok(mut restored)) = (build(), build()) else {
        return ExitCode::FAILURE;
    };
    let (mut out, _captured) = Output::capturing(2);
    let before = rss_bytes();
    let chunk = 100_000;
    for first in (0..keys).step_by(chunk) {
        let n = chunk.min(keys - first);
        let names: Vec<String> = (first..first + n).map(|k| format!("key-{k:07}")).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(vec![
                1_700_000_000_000i64;
                n
            ])),
            Arc::new(StringArray::from(names)),
            Arc::new(Float64Array::from(vec![12.5; n])),
        ];
        let Ok(batch) = RecordBatch::try_new(Arc::clone(&node.inputs[0].schema), columns) else {
            eprintln!("bad batch");
            return ExitCode::FAILURE;
        };
        if operator.on_batch(0, batch, &mut out).is_err() {
            return ExitCode::FAILURE;
        }
    }
    let state_memory = rss_bytes().saturating_sub(before);
    let base = rss_bytes();
    reset_peak();
    let started = Instant::now();
    let Ok(Some(blob)) = operator.save_state() else {
        return ExitCode::FAILURE;
    };
    let save = started.elapsed().as_secs_f64();
    let extra = peak_rss_bytes().saturating_sub(base);
    drop(operator);
    let started = Instant::now();
    if let Err(e) = restored.restore_state(std::slice::from_ref(&blob), InstanceOf::ONLY) {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    let restore = started.elapsed().as_secs_f64();
    let windows = metrics
        .open_windows
        .load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "{state_memory} {} {save} {restore} {extra} {windows}",
        blob.len()
    );
    ExitCode::SUCCESS
}

fn child(args: &[String]) -> Option<Vec<f64>> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe).args(args).output().ok()?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(|p| p.parse().ok())
        .collect()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir: PathBuf = value_of("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("eddy-bench"));
    if let Some(every) = value_of("--run-p1") {
        return run_p1(&dir, every.parse().unwrap_or(0));
    }
    if let Some(keys) = value_of("--run-state") {
        return state_bench(keys.parse().unwrap_or(1_000_000), &dir);
    }
    let rounds: usize = value_of("--rounds")
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let keys: usize = value_of("--keys")
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    if let Some(csv) = value_of("--csv") {
        let _ = fs::create_dir_all(&dir);
        if let Err(e) = fs::copy(&csv, dir.join("events.csv")) {
            eprintln!("cannot copy {csv}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if !dir.join("events.csv").exists() {
        eprintln!(
            "no {}: run eddy-bench first (it writes it), or pass --csv FILE",
            dir.join("events.csv").display()
        );
        return ExitCode::FAILURE;
    }
    println!(
        "eddy-checkpoint-bench: {} cores, release={}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        !cfg!(debug_assertions)
    );
    let dir_arg = dir.to_string_lossy().into_owned();
    let intervals = [0u64, 10_000, 1_000, 100];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); intervals.len()];
    let mut taken: Vec<f64> = vec![0.0; intervals.len()];
    // Alternating whole processes, so the machine's mood falls on every variant alike.
    for _ in 0..rounds {
        for (i, every) in intervals.iter().enumerate() {
            let args = [
                "--run-p1".to_string(),
                every.to_string(),
                "--dir".into(),
                dir_arg.clone(),
            ];
            match child(&args) {
                Some(v) if v.len() == 2 => {
                    times[i].push(v[0]);
                    taken[i] = v[1];
                }
                _ => {
                    println!("P1 with checkpoints every {every} ms failed");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    let base = median(&mut times[0].clone());
    println!(
        "\nP1 (filter + tumbling 10s per key, 1,000 keys), median of {rounds} alternating runs:"
    );
    for (i, every) in intervals.iter().enumerate() {
        let label = match every {
            0 => "no checkpoints".to_string(),
            ms => format!("a checkpoint every {ms} ms"),
        };
        let m = median(&mut times[i]);
        println!(
            "  {label:<30} {m:>6.2} s   {:>4.0} checkpoints   time / without: {:.3}",
            taken[i],
            m / base.max(1e-9)
        );
    }
    let args = [
        "--run-state".to_string(),
        keys.to_string(),
        "--dir".into(),
        dir_arg.clone(),
    ];
    match child(&args) {
        Some(v) if v.len() == 6 => {
            let (memory, saved, save, restore, extra, windows) =
                (v[0], v[1], v[2], v[3], v[4], v[5]);
            println!("\nWindow state of {keys} keys (one open window each, count/sum/max):");
            println!("  in memory          {:>8.1} MB", memory / 1e6);
            println!("  saved              {:>8.1} MB", saved / 1e6);
            println!("  save               {save:>8.3} s");
            println!("  restore            {restore:>8.3} s   ({windows} windows back)");
            println!(
                "  memory while saving: {:.1} MB beyond the state = {:.2}x the state in all",
                extra / 1e6,
                (memory + extra) / memory.max(1.0)
            );
        }
        _ => {
            println!("the state benchmark failed");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
