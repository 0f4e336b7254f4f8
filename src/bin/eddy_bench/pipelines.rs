//! The benchmark's pipelines, as pipeline files: P1-P3 (windows), P4-P5 (P1 behind a simulated
//! Kinesis stream), P6-P7 (a Firehose delivering to a folder).

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

pub fn pipelines() -> Vec<(&'static str, String)> {
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
