//! Inject: a row written by hand goes into a node of a running pipeline and is treated as any
//! other row there: behind the window's watermark it is late (and goes to `late`), ahead of it it
//! is counted in its window; a value that does not read as its column's type is refused by name.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy::model::PortRef;
use eddy::model::file::parse;
use eddy::runtime::inject::{InjectError, row_from_text};
use eddy::runtime::{RunOptions, RunStatus, start_pipeline};
use eddy::values::cell_text;
use support::scratch;

/// Readings from 2024-01-01T00:00:00Z, 100 a second, in order; one-second windows that allow no
/// lateness.
const PIPELINE: &str = r#"(format_version: 1, name: "inject", nodes: [
    (id: "readings", kind: Source(Generator(preset: IotSensors, events_per_sec: 100, keys: 3, seed: 1,
        start_time: "2024-01-01T00:00:00Z", stop_after: Events(100000000),
        time: EventTime(column: "event_time", max_out_of_orderness: "0s")))),
    (id: "per_second", kind: Window(window: Tumbling(size: "1s"), key_by: ["sensor_id"],
        aggregates: ["count(*) AS readings"], emit: OnWatermark)),
    (id: "results", kind: Sink(Table(view: Latest(10)))),
    (id: "too_late", kind: Sink(Table(view: Latest(10)))),
], edges: ["readings.out -> per_second.in", "per_second.out -> results.in",
           "per_second.late -> too_late.in"])"#;

const START_MS: i64 = 1_704_067_200_000;

/// The texts of a reading of `sensor` at `time`, column by column of `port`'s schema.
fn reading(schema: &arrow::datatypes::SchemaRef, sensor: &str, time: &str) -> Vec<String> {
    schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "event_time" => time.to_string(),
            "sensor_id" => sensor.to_string(),
            _ => "1".to_string(),
        })
        .collect()
}

#[test]
fn an_injected_row_behind_the_watermark_is_late_and_one_ahead_is_counted() {
    let dir = scratch("inject");
    let pipeline = parse(PIPELINE).unwrap();
    let options = RunOptions {
        parallelism: 2,
        collect_all_sinks: true,
        console: Arc::new(|_: &str| {}),
        injectable: true,
        ..RunOptions::default()
    };
    let handle = start_pipeline(&pipeline, &dir, options).unwrap();
    let port = PortRef::new("per_second", "in");
    let schema = handle
        .injectors()
        .schema(&port)
        .expect("the window's input");
    // Wait until the window's watermark is past the first ten seconds.
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < Duration::from_secs(30), "no watermark");
        let Ok(snapshot) = handle.snapshots().recv_timeout(Duration::from_millis(50)) else {
            continue;
        };
        if snapshot
            .node("per_second")
            .and_then(|n| n.watermark)
            .is_some_and(|w| w > START_MS + 10_000)
        {
            break;
        }
    }
    let late = row_from_text(
        &schema,
        &reading(&schema, "by-hand-late", "2024-01-01T00:00:02.500Z"),
    )
    .unwrap();
    let ahead = row_from_text(
        &schema,
        &reading(&schema, "by-hand-ahead", "2024-01-02T00:00:00.500Z"),
    )
    .unwrap();
    handle.injectors().inject(&port, late).unwrap();
    handle.injectors().inject(&port, ahead).unwrap();
    assert!(matches!(
        handle.injectors().inject(
            &PortRef::new("per_second", "nope"),
            row_from_text(&schema, &reading(&schema, "x", "0")).unwrap()
        ),
        Err(InjectError::NoSuchPort(_))
    ));
    let results = handle.collected("results").unwrap();
    let too_late = handle.collected("too_late").unwrap();
    // Let the rows go through before the sources end (the end fires every open window).
    std::thread::sleep(Duration::from_millis(300));
    handle.drain();
    let report = handle.wait();
    // Drained: the sources ended as if complete, so every open window fired.
    assert_eq!(report.status, RunStatus::Stopped);
    let rows_of = |batches: &[arrow::record_batch::RecordBatch], key: &str| -> Vec<Vec<String>> {
        batches
            .iter()
            .flat_map(|b| {
                let sensor = b.schema().index_of("sensor_id").unwrap();
                (0..b.num_rows())
                    .filter(|&r| cell_text(b.column(sensor).as_ref(), r) == key)
                    .map(|r| {
                        b.columns()
                            .iter()
                            .map(|c| cell_text(c.as_ref(), r))
                            .collect()
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let late_rows = rows_of(&too_late.snapshot().batches, "by-hand-late");
    assert_eq!(late_rows.len(), 1, "the late row went to `late`");
    assert!(rows_of(&results.snapshot().batches, "by-hand-late").is_empty());
    // The row ahead of the watermark waited in its window, which fired at the end of the run.
    let ahead_rows = rows_of(&results.snapshot().batches, "by-hand-ahead");
    assert_eq!(ahead_rows.len(), 1, "{ahead_rows:?}");
    let counted = results.snapshot().batches[0]
        .schema()
        .index_of("readings")
        .unwrap();
    assert_eq!(ahead_rows[0][counted], "1");
    assert!(rows_of(&too_late.snapshot().batches, "by-hand-ahead").is_empty());
}

#[test]
fn injecting_into_a_finished_run_says_so() {
    let dir = scratch("inject-finished");
    let pipeline = parse(&PIPELINE.replace("Events(100000000)", "Events(10)")).unwrap();
    let options = RunOptions {
        console: Arc::new(|_: &str| {}),
        injectable: true,
        ..RunOptions::default()
    };
    let handle = start_pipeline(&pipeline, &dir, options).unwrap();
    let port = PortRef::new("results", "in");
    let schema = handle.injectors().schema(&port).unwrap();
    let started = Instant::now();
    while !handle.is_done() {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    }
    // A window result: its key, its window's bounds and its count.
    let texts: Vec<String> = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "sensor_id" => "s".to_string(),
            "readings" => "1".to_string(),
            _ => "2024-01-01T00:00:00Z".to_string(),
        })
        .collect();
    let row = row_from_text(&schema, &texts).unwrap();
    assert_eq!(
        handle.injectors().inject(&port, row),
        Err(InjectError::Finished(port.clone()))
    );
    assert_eq!(handle.wait().status, RunStatus::Finished);
}
