//! A Kinesis data stream in a whole run: exact throttle counts computed from the limits (1,000
//! records a second per shard), the same at full speed and paced, at any parallelism; refused
//! records routed with their reason; every accepted record once, in order within its shard.

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use eddy::model::file::parse;
use eddy::runtime::{RunOptions, RunStatus, Speed, start_pipeline};
use support::{run_in, scratch};

/// `ts` and `trip` for `rows` rows, two per millisecond (2,000 a second).
fn two_per_millisecond(rows: usize) -> String {
    let mut csv = String::from("ts,trip\n");
    for i in 0..rows {
        csv.push_str(&format!("{},{}\n", i / 2, i));
    }
    csv
}

fn pipeline(shards: u32, key: &str) -> String {
    with_producer(shards, key, "PutRecord")
}

fn with_producer(shards: u32, key: &str, producer: &str) -> String {
    format!(
        r#"(format_version: 1, name: "stream", nodes: [
    (id: "trips", kind: Source(CsvFile(path: "trips.csv", schema: [(name: "ts", type: Timestamp), (name: "trip", type: Int64)], time: EventTime(column: "ts", max_out_of_orderness: "0s")))),
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: {shards}), partition_key: "{key}", producer: {producer}))),
    (id: "written", kind: Sink(Table(view: Latest(100)))),
    (id: "throttled", kind: Sink(Table(view: Latest(100)))),
    (id: "refused", kind: Sink(Table(view: Latest(100)))),
], edges: ["trips.out -> stream.in", "stream.out -> written.in", "stream.throttled -> throttled.in", "stream.errors -> refused.in"])"#
    )
}

#[test]
fn one_shard_at_two_thousand_records_a_second_takes_half_of_them() {
    // 2,000 records a second for 10 seconds into one shard through PutRecord without retries:
    // each second 1,000 are written and 1,000 throttled.
    let dir = scratch("kinesis-half");
    for parallelism in [1, 2] {
        let outcome = run_in(
            &dir,
            &pipeline(1, "'all-on-one-key'"),
            &[("trips.csv", &two_per_millisecond(20_000))],
            parallelism,
        );
        assert_eq!(outcome.lines("written").len(), 10_000);
        assert_eq!(outcome.lines("throttled").len(), 10_000);
        assert_eq!(outcome.node("stream").throttled_rows, 10_000);
        assert!(outcome.lines("refused").is_empty());
    }
}

#[test]
fn a_paced_run_throttles_exactly_as_a_full_speed_run() {
    let dir = scratch("kinesis-paced");
    std::fs::write(dir.join("trips.csv"), two_per_millisecond(6_000)).unwrap();
    let pipeline = parse(&pipeline(1, "'k'")).unwrap();
    let mut counts = Vec::new();
    for speed in [Speed::Max, Speed::Factor(10.0)] {
        let options = RunOptions {
            speed,
            collect_all_sinks: true,
            console: Arc::new(|_: &str| {}),
            ..RunOptions::default()
        };
        let handle = start_pipeline(&pipeline, &dir, options).unwrap();
        let report = handle.wait();
        assert_eq!(report.status, RunStatus::Finished);
        let stream = report.metrics.node("stream").unwrap();
        counts.push((stream.rows_out, stream.throttled_rows));
    }
    // 3 seconds of 2,000 records: 3,000 written, 3,000 throttled, whatever the pace.
    assert_eq!(counts, vec![(3_000, 3_000), (3_000, 3_000)]);
}

#[test]
fn records_spread_over_shards_by_key_each_once_and_in_order_within_its_shard() {
    // 100 records a second (far under the limits) on 50 keys over 4 shards.
    let dir = scratch("kinesis-order");
    let mut csv = String::from("ts,trip\n");
    for i in 0..2_000 {
        csv.push_str(&format!("{},{}\n", i * 10, i));
    }
    let outcome = run_in(
        &dir,
        &pipeline(4, "CONCAT('trip-', CAST(trip % 50 AS VARCHAR))"),
        &[("trips.csv", &csv)],
        2,
    );
    let batch = outcome.batch("written").unwrap();
    assert_eq!(batch.num_rows(), 2_000);
    let text = |name: &str, row: usize| {
        eddy::values::cell_text(batch.column_by_name(name).unwrap().as_ref(), row)
    };
    let mut trips = std::collections::BTreeSet::new();
    let mut last_sequence: BTreeMap<String, String> = BTreeMap::new();
    let mut shard_of_key: BTreeMap<String, String> = BTreeMap::new();
    for row in 0..batch.num_rows() {
        assert!(trips.insert(text("trip", row)), "each record once");
        let (shard, sequence, key) = (
            text("shard_id", row),
            text("sequence_number", row),
            text("partition_key", row),
        );
        // The shard is the one the routing rules give for the key.
        let expected = eddy::model::kinds::kinesis::hash_ranges::shard_of(
            &eddy::model::kinds::kinesis::hash_ranges::even_split(4),
            eddy::model::kinds::kinesis::hash_ranges::hash_key(&key),
        );
        assert_eq!(shard, format!("shardId-{expected:012}"));
        assert_eq!(shard_of_key.entry(key).or_insert(shard.clone()), &shard);
        if let Some(previous) = last_sequence.insert(shard.clone(), sequence.clone()) {
            assert!(previous < sequence, "in order within {shard}");
        }
    }
    assert!(last_sequence.len() > 1, "the keys use several shards");
}

#[test]
fn the_kpl_writes_two_thousand_user_records_a_second_into_one_shard() {
    // The load PutRecord throttles by half fits when aggregated: 10 seconds, nothing throttled.
    let dir = scratch("kinesis-kpl");
    let kpl = r#"Kpl(aggregation_max_size: 51200, record_max_buffered_time: "100ms")"#;
    let outcome = run_in(
        &dir,
        &with_producer(1, "'all-on-one-key'", kpl),
        &[("trips.csv", &two_per_millisecond(20_000))],
        2,
    );
    assert_eq!(outcome.lines("written").len(), 20_000);
    assert!(outcome.lines("throttled").is_empty());
    let batch = outcome.batch("written").unwrap();
    let subs = batch.column_by_name("sub_sequence_number").unwrap();
    assert_eq!(eddy::values::cell_text(subs.as_ref(), 0), "0");
}

/// A stream of 4 shards with three consumers (polling once a second, enhanced fan-out, and one
/// that starts 20 s late), each port and `out` feeding the same 10 s count per trip key.
fn consumers_pipeline() -> String {
    let window = |id: &str| {
        format!(
            r#"(id: "{id}", kind: Window(window: Tumbling(size: "10s"), key_by: ["key"], aggregates: ["count(*) AS n"], allowed_lateness: "0s", emit: OnWatermark)),
    (id: "{id}_results", kind: Sink(Table(view: Latest(1000)))),
    (id: "{id}_late", kind: Sink(Table(view: Latest(1000)))),"#
        )
    };
    let edges = |from: &str, id: &str| {
        format!(
            r#""{from} -> {id}.in", "{id}.out -> {id}_results.in", "{id}.late -> {id}_late.in","#
        )
    };
    format!(
        r#"(format_version: 1, name: "consumers", nodes: [
    (id: "trips", kind: Source(CsvFile(path: "trips.csv", schema: [(name: "ts", type: Timestamp), (name: "trip", type: Int64), (name: "key", type: String)], time: EventTime(column: "ts", max_out_of_orderness: "1s")))),
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 4), partition_key: "key", consumers: [
        (name: "poller", reads: Polling(poll_every: "1s", max_records: 10000)),
        (name: "pushed", reads: EnhancedFanOut),
        (name: "late_app", starts_after: "20s"),
    ]))),
    {}
    {}
    {}
    {}
    (id: "poller_rows", kind: Sink(Table(view: Latest(10)))),
], edges: ["trips.out -> stream.in", {} {} {} {} "stream.poller -> poller_rows.in"])"#,
        window("written"),
        window("polled"),
        window("pushed"),
        window("late"),
        edges("stream.out", "written"),
        edges("stream.poller", "polled"),
        edges("stream.pushed", "pushed"),
        edges("stream.late_app", "late"),
    )
}

/// 4,000 trips, 100 a second, up to 500 ms out of order, on 20 keys.
fn disordered_trips() -> String {
    let mut csv = String::from("ts,trip,key\n");
    for i in 0..4_000i64 {
        let ts = i * 10 + (i * 7_919) % 500;
        csv.push_str(&format!("{ts},{i},key-{}\n", i % 20));
    }
    csv
}

#[test]
fn every_consumer_reads_every_record_once_and_nothing_it_delivers_is_late() {
    let dir = scratch("kinesis-consumers");
    let mut results = Vec::new();
    for parallelism in [1, 2, 4] {
        let outcome = run_in(
            &dir,
            &consumers_pipeline(),
            &[("trips.csv", &disordered_trips())],
            parallelism,
        );
        let written = outcome.sorted_lines("written_results");
        // One window per key and 10 s the trips fall in.
        let windows: std::collections::BTreeSet<(i64, i64)> = (0..4_000i64)
            .map(|i| (i % 20, (i * 10 + (i * 7_919) % 500) / 10_000))
            .collect();
        assert_eq!(written.len(), windows.len());
        for consumer in ["polled", "pushed", "late"] {
            // The consumer's watermark waits for what it has not read, so its windows count
            // exactly what the written stream's do, and nothing arrives late.
            assert_eq!(
                outcome.sorted_lines(&format!("{consumer}_results")),
                written,
                "{consumer} at parallelism {parallelism}"
            );
            assert!(outcome.lines(&format!("{consumer}_late")).is_empty());
        }
        assert!(outcome.lines("written_late").is_empty());
        // Each record once, and within each shard in the order it was written.
        let batch = outcome.batch("poller_rows").unwrap();
        assert_eq!(batch.num_rows(), 4_000);
        let text = |name: &str, row: usize| {
            eddy::values::cell_text(batch.column_by_name(name).unwrap().as_ref(), row)
        };
        let mut trips = std::collections::BTreeSet::new();
        let mut last_sequence: BTreeMap<String, String> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            assert!(trips.insert(text("trip", row)));
            let (shard, sequence) = (text("shard_id", row), text("sequence_number", row));
            if let Some(previous) = last_sequence.insert(shard.clone(), sequence.clone()) {
                assert!(previous < sequence, "in order within {shard}");
            }
        }
        // Reading is not writing: the stream's output counts each record once.
        assert_eq!(outcome.node("stream").rows_out, 4_000);
        results.push(written);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn a_consumer_deployed_after_the_retention_finds_the_oldest_records_expired() {
    // One trip a minute for 40 hours; a consumer starts 30 hours after the first with 24 hours
    // of retention: the trips that arrived at or before 6 h (minutes 0 to 360) are gone.
    let dir = scratch("kinesis-retention");
    let mut csv = String::from("ts,trip,key\n");
    for minute in 0..40 * 60i64 {
        csv.push_str(&format!("{},{minute},k{}\n", minute * 60_000, minute % 7));
    }
    std::fs::write(dir.join("trips.csv"), csv).unwrap();
    let ron = r#"(format_version: 1, name: "retention", nodes: [
    (id: "trips", kind: Source(CsvFile(path: "trips.csv", schema: [(name: "ts", type: Timestamp), (name: "trip", type: Int64), (name: "key", type: String)], time: EventTime(column: "ts", max_out_of_orderness: "0s")))),
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 2), partition_key: "key", retention: "24h", consumers: [(name: "late_app", starts_after: "30h")]))),
    (id: "read", kind: Sink(Table(view: Latest(10)))),
], edges: ["trips.out -> stream.in", "stream.late_app -> read.in"])"#;
    let pipeline = parse(ron).unwrap();
    let options = RunOptions {
        collect_all_sinks: true,
        console: Arc::new(|_: &str| {}),
        ..RunOptions::default()
    };
    let handle = start_pipeline(&pipeline, &dir, options).unwrap();
    let stats = handle.shard_stats("stream").unwrap();
    let read = handle.collected("read").unwrap();
    let report = handle.wait();
    assert_eq!(report.status, RunStatus::Finished);
    let view = stats.view();
    assert_eq!(view.consumers.len(), 1);
    assert_eq!(view.consumers[0].expired, 361);
    assert_eq!(view.consumers[0].read, 40 * 60 - 361);
    let rows: usize = read.snapshot().batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 40 * 60 - 361);
}
