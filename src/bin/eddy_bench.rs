//! `eddy-bench`: throughput and memory of the engine on a deterministic CSV of sensor events,
//! beside a hand-written single-purpose loop that computes the first pipeline (the practical limit).
//!
//! `cargo run --release --bin eddy-bench -- [--events N] [--scaling]`

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Arc;
use std::time::Instant;

use eddy::model::file::parse;
use eddy::runtime::{RunOptions, RunStatus, start_pipeline};

const KEYS: usize = 1000;
/// Events per second of event time in the generated file.
const EVENTS_PER_SEC: i64 = 20_000;

/// SplitMix64, so the file is the same on every machine.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `event_time_ms,key,value`: time mostly increasing, 10% of events up to 2 s out of order,
/// keys `sensor-0042` with Zipf-skewed popularity, values uniform in 0-20 with three decimals.
fn generate(path: &Path, events: u64) -> std::io::Result<()> {
    let mut rng = Rng(42);
    let mut cumulative = Vec::with_capacity(KEYS);
    let mut total = 0.0;
    for k in 0..KEYS {
        total += 1.0 / ((k + 1) as f64).powf(1.0);
        cumulative.push(total);
    }
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(out, "event_time_ms,key,value")?;
    let start: i64 = 1_700_000_000_000;
    for i in 0..events as i64 {
        let mut t = start + i * 1000 / EVENTS_PER_SEC;
        if rng.unit() < 0.10 {
            t -= (rng.unit() * 2000.0) as i64;
        }
        let u = rng.unit() * total;
        let key = cumulative.partition_point(|&c| c <= u).min(KEYS - 1);
        let value = (rng.unit() * 20_000.0) as u32;
        writeln!(
            out,
            "{t},sensor-{key:04},{}.{:03}",
            value / 1000,
            value % 1000
        )?;
    }
    out.flush()
}

fn pipeline(window: &str, filter: bool, aggregates: &str) -> String {
    pipeline_through(window, filter, aggregates, None)
}

/// A pipeline of the benchmark; with a `producer`, the events pass a simulated Kinesis stream of
/// 100 shards keyed by sensor before the filter.
fn pipeline_through(
    window: &str,
    filter: bool,
    aggregates: &str,
    producer: Option<&str>,
) -> String {
    let (filter_node, first_edge) = if filter {
        (
            r#"(id: "hot", kind: Transform(Filter(predicate: "value > 10"))),"#,
            r#""events.out -> hot.in", "hot.out -> win.in","#,
        )
    } else {
        ("", r#""events.out -> win.in","#)
    };
    let (stream_node, first_edge) = if let Some(producer) = producer {
        (
            format!(
                r#"(id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 100), partition_key: "key", producer: {producer}))),"#
            ),
            first_edge.replacen("events.out", "stream.out", 1).replacen(
                "\"stream.out",
                "\"events.out -> stream.in\", \"stream.out",
                1,
            ),
        )
    } else {
        (String::new(), first_edge.to_string())
    };
    let filter_node = format!("{stream_node}\n        {filter_node}");
    format!(
        r#"(
    format_version: 1,
    name: "bench",
    nodes: [
        (id: "events", kind: Source(CsvFile(path: "events.csv",
            schema: [(name: "event_time_ms", type: Timestamp), (name: "key", type: String), (name: "value", type: Float64)],
            time: EventTime(column: "event_time_ms", max_out_of_orderness: "2s")))),
        {filter_node}
        (id: "win", kind: Window(window: {window}, key_by: ["key"], aggregates: [{aggregates}], emit: OnWatermark)),
        (id: "out", kind: Sink(CsvFile(path: "out.csv"))),
    ],
    edges: [{first_edge} "win.out -> out.in"],
)"#
    )
}

fn pipelines() -> Vec<(&'static str, String)> {
    vec![
        (
            "P1 filter + tumbling 10s (count, sum, max)",
            pipeline(
                r#"Tumbling(size: "10s")"#,
                true,
                r#""count(*) AS n", "sum(value) AS total", "max(value) AS peak""#,
            ),
        ),
        (
            "P2 sliding 60s/10s avg",
            pipeline(
                r#"Sliding(size: "60s", slide: "10s")"#,
                false,
                r#""avg(value) AS mean""#,
            ),
        ),
        (
            "P3 session gap 30s count",
            pipeline(r#"Session(gap: "30s")"#, false, r#""count(*) AS n""#),
        ),
        (
            "P4 = P1 behind a 100-shard stream, PutRecord",
            pipeline_through(
                r#"Tumbling(size: "10s")"#,
                true,
                r#""count(*) AS n", "sum(value) AS total", "max(value) AS peak""#,
                Some("PutRecord"),
            ),
        ),
        (
            "P5 = P1 behind a 100-shard stream, KPL",
            pipeline_through(
                r#"Tumbling(size: "10s")"#,
                true,
                r#""count(*) AS n", "sum(value) AS total", "max(value) AS peak""#,
                Some("Kpl()"),
            ),
        ),
        (
            "P6 Firehose to a folder, JSON lines + GZIP",
            firehose(
                r#"buffering: (size_mib: 5, interval: "60s"), format: JsonLines, compression: Gzip"#,
            ),
        ),
        (
            "P7 Firehose to a folder, Parquet",
            firehose(r#"buffering: (size_mib: 64, interval: "60s"), format: Parquet"#),
        ),
    ]
}

/// The events delivered by a Firehose node (`settings`) into a folder bucket; its objects are
/// the results.
fn firehose(settings: &str) -> String {
    format!(
        r#"(
    format_version: 1,
    name: "bench",
    nodes: [
        (id: "events", kind: Source(CsvFile(path: "events.csv",
            schema: [(name: "event_time_ms", type: Timestamp), (name: "key", type: String), (name: "value", type: Float64)],
            time: EventTime(column: "event_time_ms", max_out_of_orderness: "2s")))),
        (id: "fh", kind: Stream(Firehose(destination: Folder(path: "bucket"), {settings}))),
    ],
    edges: ["events.out -> fh.in"],
)"#
    )
}

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

/// P1 by hand: one thread, one loop, no engine (the practical limit on this machine).
fn hand_written_p1(path: &Path, out: &Path) -> std::io::Result<(f64, u64)> {
    let started = Instant::now();
    let mut reader = csv::ReaderBuilder::new().from_path(path)?;
    let mut record = csv::ByteRecord::new();
    let mut state: HashMap<(Vec<u8>, i64), (i64, f64, f64)> = HashMap::new();
    let mut newest = i64::MIN;
    let mut watermark = i64::MIN;
    let mut writer = BufWriter::new(File::create(out)?);
    let mut results = 0u64;
    let size = 10_000;
    let mut rows_since_watermark = 0;
    while reader.read_byte_record(&mut record)? {
        let ts: i64 = std::str::from_utf8(&record[0])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let value: f64 = std::str::from_utf8(&record[2])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0.0);
        newest = newest.max(ts);
        if value > 10.0 {
            let start = ts - ts.rem_euclid(size);
            if start + size - 1 > watermark {
                let entry = state
                    .entry((record[1].to_vec(), start))
                    .or_insert((0, 0.0, f64::MIN));
                entry.0 += 1;
                entry.1 += value;
                entry.2 = entry.2.max(value);
            }
        }
        rows_since_watermark += 1;
        if rows_since_watermark == 4096 {
            rows_since_watermark = 0;
            watermark = newest - 2000 - 1;
            let due: Vec<(Vec<u8>, i64)> = state
                .keys()
                .filter(|(_, start)| start + size - 1 <= watermark)
                .cloned()
                .collect();
            for key in due {
                if let Some((n, total, peak)) = state.remove(&key) {
                    writeln!(
                        writer,
                        "{},{},{},{n},{total},{peak}",
                        String::from_utf8_lossy(&key.0),
                        key.1,
                        key.1 + size
                    )?;
                    results += 1;
                }
            }
        }
    }
    for ((key, start), (n, total, peak)) in state.drain() {
        writeln!(
            writer,
            "{},{start},{},{n},{total},{peak}",
            String::from_utf8_lossy(&key),
            start + size
        )?;
        results += 1;
    }
    writer.flush()?;
    Ok((started.elapsed().as_secs_f64(), results))
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
    let dir: PathBuf = value_of("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("eddy-bench"));
    if let Err(e) = fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    let mut sizes = vec![events];
    if scaling {
        sizes.push(events * 4);
    }
    println!(
        "eddy-bench: {} cores, release={}, keys {KEYS}, {EVENTS_PER_SEC} events/s of event time",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        !cfg!(debug_assertions)
    );
    for n in sizes {
        let csv = dir.join("events.csv");
        let generating = Instant::now();
        if let Err(e) = generate(&csv, n) {
            eprintln!("cannot write {}: {e}", csv.display());
            return ExitCode::FAILURE;
        }
        let bytes = fs::metadata(&csv).map_or(0, |m| m.len());
        println!(
            "\nN = {n} events ({:.0} MB CSV, written in {:.1}s)",
            bytes as f64 / 1e6,
            generating.elapsed().as_secs_f64()
        );
        println!(
            "{:<44} {:>9} {:>14} {:>10} {:>10}",
            "pipeline", "seconds", "rows/s", "peak MB", "results"
        );
        let mut p1_seconds = 0.0;
        let mut stream_seconds = Vec::new();
        for (index, (name, _)) in pipelines().iter().enumerate() {
            match measure(&dir, index) {
                Some((seconds, peak, results, throttled)) => {
                    if index == 0 {
                        p1_seconds = seconds;
                    }
                    if (3..5).contains(&index) {
                        stream_seconds.push((index + 1, seconds, throttled));
                    }
                    println!(
                        "{name:<44} {seconds:>9.2} {:>14.0} {:>10.1} {results:>10}",
                        n as f64 / seconds,
                        peak as f64 / 1e6
                    );
                }
                None => println!("{name:<44} failed"),
            }
        }
        for (number, seconds, throttled) in &stream_seconds {
            println!(
                "P{number} time / P1 time (what the stream adds): {:.2}; throttled {throttled} of {n} ({:.1}%)",
                seconds / p1_seconds.max(1e-9),
                *throttled as f64 * 100.0 / n.max(1) as f64
            );
        }
        match hand_written_p1(&csv, &dir.join("hand.csv")) {
            Ok((seconds, results)) => {
                println!(
                    "{:<44} {seconds:>9.2} {:>14.0} {:>10} {results:>10}",
                    "hand-written loop computing P1 (1 thread)",
                    n as f64 / seconds,
                    "-"
                );
                println!("P1 time / hand-written time: {:.2}", p1_seconds / seconds);
            }
            Err(e) => println!("hand-written loop failed: {e}"),
        }
    }
    ExitCode::SUCCESS
}
