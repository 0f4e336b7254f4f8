//! Backpressure: a slow sink throttles the source through the bounded channels, so memory stays
//! bounded no matter how fast the source could go. (Its own test binary: it measures the process.)

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use eddy::model::file::parse;
use eddy::runtime::{RunOptions, start_pipeline};

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

const PIPELINE: &str = r#"(
    format_version: 1,
    name: "slow sink",
    nodes: [
        (id: "fast", kind: Source(Generator(
            preset: IotSensors, events_per_sec: 100000, keys: 100, seed: 1,
            start_time: "2024-01-01T00:00:00Z", stop_after: Events(20000000),
            time: EventTime(column: "event_time", max_out_of_orderness: "1s"),
        ))),
        (id: "slow", kind: Sink(Console(format: JsonLines))),
    ],
    edges: ["fast.out -> slow.in"],
)"#;

#[test]
fn a_slow_sink_throttles_the_source_and_memory_stays_bounded() {
    let pipeline = parse(PIPELINE).unwrap();
    let batches_written = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&batches_written);
    let options = RunOptions {
        channel_capacity: 16,
        // The sink takes 100 ms per batch: about 40,000 rows/s at 4096 rows per batch.
        console: Arc::new(move |_: &str| {
            std::thread::sleep(Duration::from_millis(100));
            counter.fetch_add(1, Ordering::SeqCst);
        }),
        ..RunOptions::default()
    };
    let baseline = resident_bytes();
    let handle = start_pipeline(&pipeline, std::path::Path::new("."), options).unwrap();
    let started = Instant::now();
    let mut peak = baseline;
    while started.elapsed() < Duration::from_secs(3) {
        peak = peak.max(resident_bytes());
        std::thread::sleep(Duration::from_millis(20));
    }
    let snapshot = handle.snapshots().try_iter().last();
    handle.stop();
    let report = handle.wait();
    let produced = report.metrics.node("fast").map_or(0, |n| n.rows_out);
    let consumed_batches = batches_written.load(Ordering::SeqCst);
    // At most the sink's batches, the channel's 16 messages and one batch in each thread's hands.
    let bound = (consumed_batches + 16 + 2) * 4096;
    assert!(
        produced <= bound,
        "the source made {produced} rows while the sink took {consumed_batches} batches (bound {bound})"
    );
    assert!(produced > 0);
    let growth_mb = peak.saturating_sub(baseline) as f64 / 1e6;
    println!(
        "source rows {produced}, sink batches {consumed_batches}, peak growth {growth_mb:.1} MB"
    );
    assert!(growth_mb < 100.0, "memory grew by {growth_mb:.1} MB");
    // The queue into the sink is full: that is the backpressure the app shows.
    if let Some(s) = snapshot {
        let fill = s.node("slow").map_or(0.0, |n| n.input_fill);
        assert!(
            fill > 0.5,
            "the sink's input queue should be nearly full, was {fill}"
        );
    }
}
