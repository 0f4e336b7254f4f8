//! Previews: a pipeline run on a sample keeps the first rows of every port, writes no file and
//! prints nothing, ends its sources after the sample so windows fire, and reports a failure.

mod support;

use eddy::model::PortRef;
use eddy::model::file::parse;
use eddy::runtime::preview::{PreviewSize, preview};
use support::scratch;

const SAMPLE: &str = r#"(format_version: 1, name: "p", nodes: [
    (id: "readings", kind: Source(Generator(preset: IotSensors, events_per_sec: 100, keys: 3, seed: 1,
        start_time: "2024-01-01T00:00:00Z", stop_after: Events(1000000),
        time: EventTime(column: "event_time", max_out_of_orderness: "1s")))),
    (id: "warm", kind: Transform(Filter(predicate: "temperature > 0"))),
    (id: "per_min", kind: Window(window: Tumbling(size: "1m"), key_by: ["sensor_id"],
        aggregates: ["count(*) AS readings"], emit: OnWatermark)),
    (id: "file", kind: Sink(CsvFile(path: "out/per_min.csv", header: true))),
    (id: "print", kind: Sink(Console(format: Table))),
], edges: ["readings.out -> warm.in", "warm.out -> per_min.in", "per_min.out -> file.in",
           "warm.out -> print.in"])"#;

#[test]
fn a_preview_keeps_the_first_rows_of_every_port_and_writes_nothing() {
    let dir = scratch("preview");
    let pipeline = parse(SAMPLE).unwrap();
    let plan = eddy::model::plan(&pipeline, &dir).unwrap();
    let size = PreviewSize {
        source_rows: 500,
        rows_per_port: 20,
        ..PreviewSize::default()
    };
    let found = preview(&plan, size);
    assert_eq!(found.failure, None);
    assert!(!found.cut_short);
    let rows = |node: &str| {
        found
            .outputs
            .get(&PortRef::new(node, "out"))
            .map(|b| b.num_rows())
    };
    assert_eq!(rows("readings"), Some(20));
    assert_eq!(rows("warm"), Some(20));
    // The endless source ended after the sample, as if complete, so its first windows fired:
    // 500 rows at 100 a second are 5 seconds of event time (25 batches of 200 ms, the limit
    // falling on a batch's end), one minute-window per sensor.
    let windows = rows("per_min").unwrap_or(0);
    assert_eq!(windows, 3, "{windows} window results");
    // The first rows, in order: the generator's first event comes first.
    let first = &found.outputs[&PortRef::new("readings", "out")];
    let times = first
        .column_by_name("event_time")
        .unwrap()
        .as_any()
        .downcast_ref::<arrow::array::TimestampMillisecondArray>()
        .unwrap();
    assert_eq!(times.value(0), 1_704_067_200_000);
    assert!(!dir.join("out").exists(), "a preview writes no file");
}

#[test]
fn a_failing_sample_run_says_why() {
    let dir = scratch("preview-fail");
    let ron = SAMPLE.replace(
        r#"Filter(predicate: "temperature > 0")"#,
        r#"Filter(predicate: "10 / (CAST(humidity AS BIGINT) * 0) > 0")"#,
    );
    let plan = eddy::model::plan(&parse(&ron).unwrap(), &dir).unwrap();
    let found = preview(&plan, PreviewSize::default());
    let failure = found.failure.unwrap_or_default();
    assert!(failure.contains("warm"), "{failure}");
    assert!(
        failure.to_lowercase().contains("divide by zero"),
        "{failure}"
    );
}
