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
