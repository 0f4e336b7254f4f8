//! The run handle as the app uses it: pause, single step, speed changes, metric snapshots, taps;
//! plus multi-input watermarks and processing-time pipelines.

mod support;

use std::time::{Duration, Instant};

use eddy::model::Edge;
use eddy::model::file::parse;
use eddy::runtime::{RunOptions, RunStatus, Speed, start_pipeline};
use support::{run_in, scratch};

const ENDLESS: &str = r#"(
    format_version: 1,
    name: "handle",
    nodes: [
        (id: "readings", kind: Source(Generator(
            preset: IotSensors, events_per_sec: 1000, keys: 10, seed: 3,
            start_time: "2024-03-01T12:00:00Z", stop_after: EventTime("1h"),
            time: EventTime(column: "event_time", max_out_of_orderness: "1s"),
        ))),
        (id: "per_minute", kind: Window(window: Tumbling(size: "1m"), key_by: ["sensor_id"],
            aggregates: ["count(*) AS n"], emit: OnWatermark)),
        (id: "chart", kind: Sink(Chart(x: "window_end", y: ["n"], series_by: "sensor_id", top_series: 5, style: Lines))),
    ],
    edges: ["readings.out -> per_minute.in", "per_minute.out -> chart.in"],
)"#;

fn source_rows(handle: &eddy::runtime::RunHandle) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = 0;
    // Take the freshest snapshot after the sampler has had a chance to read the counters.
    std::thread::sleep(Duration::from_millis(250));
    while let Ok(s) = handle.snapshots().recv_timeout(Duration::from_millis(300)) {
        last = s.node("readings").map_or(0, |n| n.rows_out);
        if handle.snapshots().is_empty() || Instant::now() > deadline {
            break;
        }
    }
    last
}

#[test]
fn pause_step_speed_and_snapshots() {
    let pipeline = parse(ENDLESS).unwrap();
    let options = RunOptions {
        // Real time: an hour of event time would take an hour.
        speed: Speed::Factor(1.0),
        ..RunOptions::default()
    };
    let handle = start_pipeline(&pipeline, std::path::Path::new("."), options).unwrap();
    handle.pause();
    assert_eq!(handle.status(), RunStatus::Paused);
    let paused_at = source_rows(&handle);
    assert_eq!(
        source_rows(&handle),
        paused_at,
        "nothing flows while paused"
    );
    handle.step();
    let stepped = source_rows(&handle);
    // One step lets one batch through: under 200 ms of event time = 200 rows at 1000/s.
    assert!(
        stepped > paused_at && stepped <= paused_at + 200,
        "{paused_at} -> {stepped}"
    );
    handle.step();
    let stepped_again = source_rows(&handle);
    assert_eq!(stepped_again - stepped, 200, "{stepped} -> {stepped_again}");
    let chart = handle.collected("chart").unwrap();
    handle.set_speed(Speed::Max);
    handle.resume();
    let started = Instant::now();
    let mut snapshots = 0;
    while !handle.is_done() && started.elapsed() < Duration::from_secs(60) {
        if handle
            .snapshots()
            .recv_timeout(Duration::from_millis(200))
            .is_ok()
        {
            snapshots += 1;
        }
    }
    let report = handle.wait();
    assert_eq!(report.status, RunStatus::Finished);
    assert_eq!(report.metrics.node("readings").unwrap().rows_out, 3_600_000);
    assert!(
        snapshots >= 2,
        "snapshots arrive while running ({snapshots})"
    );
    let rows = chart.snapshot().rows;
    assert_eq!(rows, 60 * 10, "one result per sensor per minute");
}

#[test]
fn a_tap_keeps_the_last_rows_of_an_edge() {
    let pipeline = parse(ENDLESS).unwrap();
    let options = RunOptions {
        speed: Speed::Factor(50.0),
        ..RunOptions::default()
    };
    let handle = start_pipeline(&pipeline, std::path::Path::new("."), options).unwrap();
    let edge: Edge = "readings.out -> per_minute.in".parse().unwrap();
    let tap = handle.tap(&edge).unwrap();
    tap.enable(25);
    std::thread::sleep(Duration::from_millis(600));
    let rows: usize = tap.rows().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 25);
    assert_eq!(tap.rows()[0].schema().field(0).name(), "sensor_id");
    handle.stop();
    let report = handle.wait();
    assert_eq!(report.status, RunStatus::Stopped);
}

#[test]
fn a_union_waits_for_its_slowest_input() {
    let dir = scratch("union");
    // Source b only reaches 30 s; its watermark holds the window at [0, 10s) back until b ends,
    // but results are complete and in order either way.
    let a: String = (0..40).map(|i| format!("{},a\n", i * 1000)).collect();
    let b: String = (0..31).map(|i| format!("{},b\n", i * 1000)).collect();
    let ron = r#"(
    format_version: 1,
    name: "union",
    nodes: [
        (id: "a", kind: Source(CsvFile(path: "a.csv", header: false, schema: [(name: "ts", type: Timestamp), (name: "k", type: String)], time: EventTime(column: "ts", max_out_of_orderness: "0s")))),
        (id: "b", kind: Source(CsvFile(path: "b.csv", header: false, schema: [(name: "ts", type: Timestamp), (name: "k", type: String)], time: EventTime(column: "ts", max_out_of_orderness: "0s")))),
        (id: "both", kind: Transform(Union(inputs: 2))),
        (id: "win", kind: Window(window: Tumbling(size: "10s"), aggregates: ["count(*) AS n"], emit: OnWatermark)),
        (id: "out", kind: Sink(Table(view: Latest(100)))),
    ],
    edges: ["a.out -> both.in1", "b.out -> both.in2", "both.out -> win.in", "win.out -> out.in"],
)"#;
    let out = run_in(&dir, ron, &[("a.csv", &a), ("b.csv", &b)], 1);
    let counts: Vec<String> = out
        .lines("out")
        .iter()
        .map(|l| l.rsplit('|').next().unwrap().to_string())
        .collect();
    assert_eq!(counts, vec!["20", "20", "20", "11"]);
    assert_eq!(
        out.node("win").late_rows,
        0,
        "no row is late: the union follows the slower input"
    );
}

#[test]
fn processing_time_pipelines_run_too() {
    let dir = scratch("processing");
    let data: String = (0..500).map(|i| format!("{i},k{}\n", i % 3)).collect();
    let ron = r#"(
    format_version: 1,
    name: "processing time",
    nodes: [
        (id: "src", kind: Source(CsvFile(path: "d.csv", header: false, schema: [(name: "n", type: Int64), (name: "k", type: String)], time: ProcessingTime))),
        (id: "win", kind: Window(window: Tumbling(size: "1s"), key_by: ["k"], aggregates: ["count(*) AS c", "sum(n) AS s"], emit: OnWatermark)),
        (id: "out", kind: Sink(Table(view: Latest(100)))),
    ],
    edges: ["src.out -> win.in", "win.out -> out.in"],
)"#;
    let out = run_in(&dir, ron, &[("d.csv", &data)], 2);
    let batch = out.batch("out").unwrap();
    let counts = batch
        .column(3)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    let sums = batch
        .column(4)
        .as_any()
        .downcast_ref::<arrow::array::Int64Array>()
        .unwrap();
    assert_eq!(counts.values().iter().sum::<i64>(), 500);
    assert_eq!(sums.values().iter().sum::<i64>(), (0..500).sum::<i64>());
}
