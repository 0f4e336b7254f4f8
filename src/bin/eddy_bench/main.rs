//! `eddy-bench`: throughput and memory of the engine on deterministic CSVs of sensor events at two
//! densities of event time (20,000 and 1,000 events a second), beside hand-written single-purpose
//! loops that compute P1-P3 (the practical limit).
//!
//! `cargo run --release --bin eddy-bench -- [--events N] [--scaling] [--json]`

mod data;
mod loops;
mod pipelines;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use eddy::model::file::parse;
use eddy::runtime::{RunOptions, RunStatus, start_pipeline};

use data::{KEYS, generate};
use loops::{hand_written_p1, hand_written_p2, hand_written_p3};
use pipelines::pipelines;

/// The peak resident memory of this process, from the kernel.
fn peak_rss_bytes() -> u64 {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs one pipeline in this process and prints `seconds peak_bytes rows_out`.
fn run_one(dir: &Path, index: usize) -> ExitCode {
    let (_, text) = &pipelines()[index];
    let Ok(pipeline) = parse(text) else {
        eprintln!("bad pipeline");
        return ExitCode::FAILURE;
    };
    let options = RunOptions {
        console: Arc::new(|_: &str| {}),
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
    let report = handle.wait();
    let seconds = started.elapsed().as_secs_f64();
    if report.status != RunStatus::Finished {
        eprintln!("run ended as {:?}", report.status);
        return ExitCode::FAILURE;
    }
    // A window's results, or the objects a Firehose delivered.
    let results = report
        .metrics
        .node("win")
        .or_else(|| report.metrics.node("fh"))
        .map_or(0, |n| n.rows_out);
    let throttled = report
        .metrics
        .node("stream")
        .map_or(0, |n| n.throttled_rows);
    println!("{seconds} {} {results} {throttled}", peak_rss_bytes());
    ExitCode::SUCCESS
}

fn measure(dir: &Path, index: usize) -> Option<(f64, u64, u64, u64)> {
    let exe = std::env::current_exe().ok()?;
    let output = Command::new(exe)
        .args(["--run-one", &index.to_string(), "--dir"])
        .arg(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let mut parts = text.split_whitespace();
    Some((
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    ))
}

/// The two event-time densities of the benchmark: `eddy-bench`'s original file, and the one a
/// user's sensors more often look like (batches of about 200 rows instead of 4,000).
const DENSITIES: [(i64, &str); 2] = [(20_000, "dense"), (1_000, "sparse")];

/// One figure, for the table and for `--json`.
#[derive(serde::Serialize)]
struct Figure {
    density: i64,
    events: u64,
    pipeline: String,
    seconds: f64,
    peak_mb: Option<f64>,
    results: u64,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    if let (Some(index), Some(dir)) = (value_of("--run-one"), value_of("--dir")) {
        return run_one(Path::new(&dir), index.parse().unwrap_or(0));
    }
    let events: u64 = value_of("--events")
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000_000);
    let scaling = args.iter().any(|a| a == "--scaling");
    let json = args.iter().any(|a| a == "--json");
    let root: PathBuf = value_of("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("eddy-bench"));
    // With --json the table goes to standard error and standard output is only the JSON.
    let say = |line: String| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    say(format!(
        "eddy-bench: {} cores, release={}, keys {KEYS}",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        !cfg!(debug_assertions)
    ));
    let mut figures: Vec<Figure> = Vec::new();
    for (per_sec, density) in DENSITIES {
        // The dense file stays at the root, where eddy-checkpoint-bench reads it.
        let dir = if density == "dense" {
            root.clone()
        } else {
            root.join(density)
        };
        if let Err(e) = fs::create_dir_all(&dir) {
            eprintln!("cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        let mut sizes = vec![events];
        if scaling {
            sizes.push(events * 4);
        }
        for n in sizes {
            let csv = dir.join("events.csv");
            let generating = Instant::now();
            if let Err(e) = generate(&csv, n, per_sec) {
                eprintln!("cannot write {}: {e}", csv.display());
                return ExitCode::FAILURE;
            }
            let bytes = fs::metadata(&csv).map_or(0, |m| m.len());
            say(format!(
                "\nN = {n} events at {per_sec} events/s of event time ({density}; {:.0} MB CSV, written in {:.1}s)",
                bytes as f64 / 1e6,
                generating.elapsed().as_secs_f64()
            ));
            say(format!(
                "{:<44} {:>9} {:>14} {:>10} {:>10}",
                "pipeline", "seconds", "rows/s", "peak MB", "results"
            ));
            let mut engine_seconds = [0.0f64; 3];
            let mut stream_seconds = Vec::new();
            // The sparse file runs the window pipelines only.
            let count = if density == "dense" {
                pipelines().len()
            } else {
                3
            };
            for (index, (name, _)) in pipelines().iter().enumerate().take(count) {
                match measure(&dir, index) {
                    Some((seconds, peak, results, throttled)) => {
                        if let Some(slot) = engine_seconds.get_mut(index) {
                            *slot = seconds;
                        }
                        if (3..5).contains(&index) {
                            stream_seconds.push((index + 1, seconds, throttled));
                        }
                        say(format!(
                            "{name:<44} {seconds:>9.2} {:>14.0} {:>10.1} {results:>10}",
                            n as f64 / seconds,
                            peak as f64 / 1e6
                        ));
                        figures.push(Figure {
                            density: per_sec,
                            events: n,
                            pipeline: name.to_string(),
                            seconds,
                            peak_mb: Some(peak as f64 / 1e6),
                            results,
                        });
                    }
                    None => say(format!("{name:<44} failed")),
                }
            }
            for (number, seconds, throttled) in &stream_seconds {
                say(format!(
                    "P{number} time / P1 time (what the stream adds): {:.2}; throttled {throttled} of {n} ({:.1}%)",
                    seconds / engine_seconds[0].max(1e-9),
                    *throttled as f64 * 100.0 / n.max(1) as f64
                ));
            }
            let loops: [(&str, LoopFn); 3] = [
                ("hand-written loop computing P1 (1 thread)", hand_written_p1),
                ("hand-written loop computing P2 (1 thread)", hand_written_p2),
                ("hand-written loop computing P3 (1 thread)", hand_written_p3),
            ];
            let mut ratios = Vec::new();
            for (number, (name, run)) in loops.iter().enumerate() {
                match run(&csv, &dir.join("hand.csv")) {
                    Ok((seconds, results)) => {
                        say(format!(
                            "{name:<44} {seconds:>9.2} {:>14.0} {:>10} {results:>10}",
                            n as f64 / seconds,
                            "-"
                        ));
                        ratios.push(format!(
                            "P{} {:.2}",
                            number + 1,
                            engine_seconds[number] / seconds.max(1e-9)
                        ));
                        figures.push(Figure {
                            density: per_sec,
                            events: n,
                            pipeline: name.to_string(),
                            seconds,
                            peak_mb: None,
                            results,
                        });
                    }
                    Err(e) => say(format!("{name} failed: {e}")),
                }
            }
            say(format!(
                "engine time / hand-written time: {}",
                ratios.join(", ")
            ));
        }
    }
    if json {
        match serde_json::to_string_pretty(&figures) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// A hand-written loop: the events file, where it writes, and its time and result count.
type LoopFn = fn(&Path, &Path) -> std::io::Result<(f64, u64)>;
