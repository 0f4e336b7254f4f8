//! Every example's "Try:" suggestion does what its description promises: each test applies the
//! suggestion to the shipped file, as a learner would in the form, and checks the effect against
//! the rules (Flink's watermark, lateness and late-firing semantics), not against a past run.

mod support;

use std::fs;
use std::path::Path;

use eddy::model::file::parse;
use support::{Outcome, run_pipeline, scratch};

/// The examples whose descriptions make a suggestion; each has a test below.
const TRIED: [&str; 8] = [
    "at_least_once",
    "firehose_to_s3",
    "kcl_worker_failover",
    "kinesis_consumers",
    "kinesis_hot_shard",
    "kinesis_skewed_keys",
    "lambda_poison_record",
    "late_data_lab",
];

fn example_text(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(format!("{name}.ron"));
    fs::read_to_string(path).unwrap()
}

/// Runs the example after replacing each `(from, to)` in its text (each must be there).
fn run_with(name: &str, label: &str, changes: &[(&str, &str)]) -> Outcome {
    let mut text = example_text(name);
    for (from, to) in changes {
        assert!(text.contains(from), "{name} has no `{from}`");
        text = text.replacen(from, to, 1);
    }
    let pipeline = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    let dir = scratch(&format!("try-{name}-{label}"));
    run_pipeline(&dir, &pipeline, 2)
}

#[test]
fn every_suggestion_has_a_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut suggesting: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .filter(|p| fs::read_to_string(p).unwrap().contains("Try:"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    suggesting.sort();
    assert_eq!(suggesting, TRIED, "add a test for the new suggestion");
}

const OUT_OF_ORDERNESS: (&str, &str) = (
    r#"max_out_of_orderness: "2s""#,
    r#"max_out_of_orderness: "5s""#,
);

#[test]
fn late_data_lab_a_watermark_that_covers_the_disorder_leaves_only_the_stragglers_late() {
    let shipped = run_with("late_data_lab", "shipped", &[]);
    let covered = run_with("late_data_lab", "ooo5", &[OUT_OF_ORDERNESS]);
    let (before, after) = (shipped.node("per_10s"), covered.node("per_10s"));
    assert!(
        after.late_firings < before.late_firings,
        "fewer late firings: {} then {}",
        before.late_firings,
        after.late_firings
    );
    // Readings are at most 4 s out of order. With a 5 s bound the watermark (newest event - 5 s
    // - 1 ms) is always behind every such reading, so only the 20 s stragglers can be late:
    // without them, nothing is.
    let no_stragglers = run_with(
        "late_data_lab",
        "ooo5-no-late",
        &[OUT_OF_ORDERNESS, ("late_share: 0.05", "late_share: 0.0")],
    );
    let window = no_stragglers.node("per_10s");
    assert_eq!(window.late_firings, 0);
    assert_eq!(window.late_rows, 0);
    assert_eq!(window.dropped_rows, 0);
}

#[test]
fn late_data_lab_without_allowed_lateness_every_late_reading_goes_to_the_late_file() {
    let shipped = run_with("late_data_lab", "shipped-lateness", &[]);
    let strict = run_with(
        "late_data_lab",
        "lateness0",
        &[(r#"allowed_lateness: "15s""#, r#"allowed_lateness: "0s""#)],
    );
    let (before, after) = (shipped.node("per_10s"), strict.node("per_10s"));
    assert_eq!(after.late_firings, 0, "no lateness, no late firings");
    // A reading is late when its window has fired; the lateness only decides what happens then
    // (a late firing, or the late port). The watermark does not depend on it, so the late rows
    // without lateness are exactly the late firings and late rows with it.
    assert_eq!(after.late_rows, before.late_firings + before.late_rows);
    assert!(after.late_rows > before.late_rows, "the late file grows");
    assert_eq!(strict.lines("too_late").len() as u64, after.late_rows);
}

#[test]
fn kinesis_hot_shard_a_key_that_spreads_ends_the_throttling() {
    let shipped = run_with("kinesis_hot_shard", "shipped", &[]);
    // Both vendor ids hash into the second of two shards (MD5 of "1" and of "2" are both at
    // least 2^127): it takes 1,000 records a second of the 1,600 and throttles the rest.
    let stream = shipped.node("trip_stream");
    let seconds = 5 * 60;
    assert_eq!(stream.rows_out, 1_000 * seconds);
    assert_eq!(stream.throttled_rows, 600 * seconds);
    let spread = run_with(
        "kinesis_hot_shard",
        "trip-key",
        &[(
            r#"partition_key: "CAST(vendor_id AS VARCHAR)""#,
            r#"partition_key: "CAST(trip_id AS VARCHAR)""#,
        )],
    );
    let stream = spread.node("trip_stream");
    assert_eq!(
        stream.throttled_rows, 0,
        "about 800 a second per shard is under 1,000"
    );
    assert_eq!(stream.rows_out, 1_600 * seconds);
}

#[test]
fn kinesis_hot_shard_splitting_the_hot_shard_between_the_keys_ends_the_throttling() {
    let split = run_with(
        "kinesis_hot_shard",
        "split",
        &[(
            "resharding: []",
            r#"resharding: [Split(at: "1m", shard: 1, hash_key: "263187143165413342834953797935508226048")]"#,
        )],
    );
    let stream = split.node("trip_stream");
    // The first minute throttles 600 of 1,600 trips a second as before; then MD5("1") is below
    // the split key and MD5("2") above it, each vendor has a shard of its own, about 800 a
    // second each, and nothing more is throttled.
    assert_eq!(stream.throttled_rows, 600 * 60);
    assert_eq!(stream.rows_out, 1_600 * 5 * 60 - 600 * 60);
    let shards: std::collections::BTreeSet<String> = split
        .lines("written")
        .iter()
        .map(|l| l.split('|').next().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        shards,
        [
            "shardId-000000000001",
            "shardId-000000000002",
            "shardId-000000000003"
        ]
        .map(String::from)
        .into()
    );
}

#[test]
fn kinesis_hot_shard_the_kpl_keeps_the_hot_shard_under_its_limits() {
    // Same key, same data: 1,600 trips a second of a few hundred bytes each go to one shard as
    // aggregated records; that is far under 1,000 records and 1 MiB a second.
    let kpl = run_with(
        "kinesis_hot_shard",
        "kpl",
        &[("producer: PutRecord", "producer: Kpl()")],
    );
    let stream = kpl.node("trip_stream");
    assert_eq!(stream.throttled_rows, 0);
    assert_eq!(stream.rows_out, 1_600 * 5 * 60);
}

#[test]
fn at_least_once_more_copies_change_the_raw_counts_but_not_the_deduplicated_ones() {
    let shipped = run_with("at_least_once", "shipped", &[]);
    let more = run_with(
        "at_least_once",
        "dup20",
        &[("duplicate_share: 0.05", "duplicate_share: 0.2")],
    );
    let copies = |out: &Outcome| out.lines("copies").len() as u64;
    assert!(
        copies(&more) > 3 * copies(&shipped),
        "copies: {} then {}",
        copies(&shipped),
        copies(&more)
    );
    let per_minute = |out: &Outcome, sink: &str| -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = out
            .lines(sink)
            .iter()
            .map(|l| {
                let cells: Vec<&str> = l.split('|').collect();
                (cells[0].to_string(), cells[2].parse().unwrap())
            })
            .collect();
        counts.sort();
        counts
    };
    // Each payment's event time comes from its sequence number, so the payments per minute are
    // the same; only their copies differ.
    assert_eq!(per_minute(&more, "counts"), per_minute(&shipped, "counts"));
    let raw_total =
        |out: &Outcome| -> u64 { per_minute(out, "raw_counts").iter().map(|c| c.1).sum() };
    assert_eq!(raw_total(&more), 30_000 + copies(&more));
    assert!(raw_total(&more) > raw_total(&shipped));
}

#[test]
fn kinesis_skewed_keys_more_shards_or_a_salted_key_end_the_throttling() {
    let more = run_with(
        "kinesis_skewed_keys",
        "eight",
        &[("shards: 4,", "shards: 8,")],
    );
    assert_eq!(more.node("readings").throttled_rows, 0);
    let salted = run_with(
        "kinesis_skewed_keys",
        "salted",
        &[(
            r#"partition_key: "sensor_id","#,
            r#"partition_key: "CONCAT(sensor_id, '-', CAST(date_part('millisecond', event_time) % 4 AS VARCHAR))","#,
        )],
    );
    assert_eq!(salted.node("readings").throttled_rows, 0);
    assert_eq!(salted.node("readings").rows_out, 5 * 60 * 2_800);
}

#[test]
fn kinesis_skewed_keys_splitting_the_hot_shard_stops_the_throttling_after_a_minute() {
    let split = run_with(
        "kinesis_skewed_keys",
        "split",
        &[(
            "resharding: [],",
            r#"resharding: [Split(at: "1m", shard: 2, hash_key: "200000000000000000000000000000000000000")],"#,
        )],
    );
    let throttled = split.node("readings").throttled_rows;
    assert!(throttled > 0, "the first minute still throttles");
    // Every throttled window ends by 06:01:00 (the split's time, a minute after the start).
    for line in split.lines("throttled") {
        let end = line.split('|').nth(2).unwrap();
        assert!(end <= "2024-03-01T06:01:00.000Z", "{line}");
    }
    // The children take the hot keys: sensor-0001 to shard 4, sensor-0003 and -0004 to 5.
    let view = split.shard_view("readings");
    assert_eq!(view.shards.len(), 6);
    assert!(view.shards[4].written > 0 && view.shards[5].written > 0);
}

#[test]
fn kinesis_consumers_a_backfill_with_its_own_pipe_leaves_the_others_alone() {
    let shipped = run_with("kinesis_consumers", "shipped", &[]);
    let fan_out = run_with(
        "kinesis_consumers",
        "efo",
        &[(
            r#"name: "archiver",
                        reads: Polling(
                            poll_every: "1s",
                            max_records: 10000,
                        ),"#,
            r#"name: "archiver",
                        reads: EnhancedFanOut,"#,
        )],
    );
    let peak = |out: &Outcome, i: usize| out.shard_view("trip_stream").consumers[i].peak_behind_ms;
    assert!(peak(&fan_out, 0) < peak(&shipped, 0));
    // Flink's polls are at most 200 ms apart, one in six throttled: never much over 400 ms.
    assert!(peak(&fan_out, 0) <= 600, "{}", peak(&fan_out, 0));
    let archiver = &fan_out.shard_view("trip_stream").consumers[2];
    assert_eq!(archiver.read, 5 * 60 * 1_600);
    assert_eq!(archiver.throttled_calls, 0);
}

#[test]
fn kinesis_consumers_a_flink_app_polling_once_a_second_is_throttled_far_less() {
    let shipped = run_with("kinesis_consumers", "shipped-2", &[]);
    let slower = run_with(
        "kinesis_consumers",
        "slower",
        &[(r#"poll_every: "200ms","#, r#"poll_every: "1s","#)],
    );
    let throttled = |out: &Outcome| out.shard_view("trip_stream").consumers[0].throttled_calls;
    assert!(throttled(&slower) * 5 < throttled(&shipped));
}

/// The data objects of a run: (records, latency in ms).
fn data_objects(out: &Outcome) -> Vec<(u64, i64)> {
    out.lines("objects")
        .iter()
        .map(|l| l.split('|').map(str::to_string).collect::<Vec<_>>())
        .filter(|cells| cells[1] == "data")
        .map(|cells| (cells[2].parse().unwrap(), cells[6].parse().unwrap()))
        .collect()
}

#[test]
fn firehose_to_s3_a_one_minute_interval_delivers_smaller_objects_every_minute() {
    let shipped = run_with("firehose_to_s3", "shipped", &[]);
    let minute = run_with(
        "firehose_to_s3",
        "minute",
        &[
            ("size_mib: 128,", "size_mib: 64,"),
            (r#"interval: "5m","#, r#"interval: "1m","#),
        ],
    );
    let objects = data_objects(&minute);
    // An object about a minute after the first record reached the delivery buffer, which the
    // transformation fills every 12 s or so: 30 minutes of trips make 25 to 30 objects.
    assert!(
        (25..=30).contains(&objects.len()),
        "{} objects",
        objects.len()
    );
    // The transformation's buffer (at most a minute), then a minute in the delivery buffer.
    assert!(
        objects
            .iter()
            .all(|(_, latency)| (60_000..=120_000).contains(latency))
    );
    let total = |o: &[(u64, i64)]| o.iter().map(|(n, _)| n).sum::<u64>();
    assert_eq!(total(&objects), total(&data_objects(&shipped)));
}

#[test]
fn firehose_to_s3_a_one_mebibyte_hint_delivers_gzip_json_every_few_seconds() {
    let small = run_with(
        "firehose_to_s3",
        "small",
        &[
            ("size_mib: 128,", "size_mib: 1,"),
            ("format: Parquet,", "format: JsonLines,"),
            ("compression: Uncompressed,", "compression: Gzip,"),
        ],
    );
    let objects = data_objects(&small);
    // About 80 KB of JSON a second (200 trips of about 410 bytes): a mebibyte every 13 s or so,
    // 1,800 s of trips in 120 to 170 objects.
    assert!(
        (120..170).contains(&objects.len()),
        "{} objects",
        objects.len()
    );
    let (last, full) = objects.split_last().unwrap();
    // A record waits up to a minute for the transformation, then a few seconds to fill a MiB.
    assert!(full.iter().all(|(_, latency)| *latency < 75_000));
    // The last one goes when its interval (5 minutes) runs out after the input ends.
    assert!(last.1 <= 360_000);
}

#[test]
fn lambda_poison_record_bisect_and_two_retries_give_up_only_the_poison_record() {
    let fixed = run_with(
        "lambda_poison_record",
        "bisect",
        &[
            (
                "bisect_batch_on_function_error: false,",
                "bisect_batch_on_function_error: true,",
            ),
            (
                "maximum_retry_attempts: UntilExpired,",
                "maximum_retry_attempts: Attempts(2),",
            ),
        ],
    );
    let failed = fixed.lines("failed_batches");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let cells: Vec<&str> = failed[0].split('|').collect();
    // One record, after the first attempt and two retries of it alone.
    assert_eq!(
        (cells[5], cells[6], cells[7]),
        ("1", "RetryAttemptsExhausted", "3")
    );
    assert_eq!(cells[1], cells[2], "the poison record alone");
    assert_eq!(fixed.node("price_per_mile").dropped_rows, 1);
}

const KCL_DEATH: &str = r#"worker_failures: [
                    (
                        worker: 1,
                        at: "2m",
                    ),
                ],"#;

#[test]
fn kcl_worker_failover_with_both_workers_dead_the_rest_stays_in_the_stream() {
    // The button kills worker 2 while it runs; in the file that is a second death, at 3m.
    let out = run_with(
        "kcl_worker_failover",
        "both-dead",
        &[(
            KCL_DEATH,
            r#"worker_failures: [(worker: 1, at: "2m"), (worker: 2, at: "3m")],"#,
        )],
    );
    let trips = 5 * 60 * 200;
    let app = out.node("trip_app");
    let processed = out.node("processed").rows_in;
    // Nothing after the second death is processed: about two of the five minutes are left,
    // and each trip is either processed (once, past the Deduplicate) or left in the stream.
    assert!(processed < trips * 3 / 5 + 1_000, "{processed}");
    assert!(processed > trips * 3 / 5 - 1_000, "{processed}");
    assert_eq!(processed + app.dropped_rows, trips);
}

#[test]
fn kcl_worker_failover_checkpointing_every_100_records_repeats_fewer_than_100_a_shard() {
    let out = run_with(
        "kcl_worker_failover",
        "often",
        &[(
            "checkpoint_every_records: 2000,",
            "checkpoint_every_records: 100,",
        )],
    );
    // A worker checkpoints a shard at the poll where 100 or more records are unrecorded, so
    // fewer than 100 are at any death; the dead worker had two shards.
    let copies = out.node("processed_twice").rows_in;
    assert!(copies > 0 && copies < 200, "{copies}");
    assert_eq!(out.node("processed").rows_in, 5 * 60 * 200);
}

#[test]
fn kcl_worker_failover_a_child_shard_waits_for_its_parents_shard_end() {
    let out = run_with(
        "kcl_worker_failover",
        "split",
        &[(
            "resharding: [],",
            r#"resharding: [Split(at: "3m", shard: 0, hash_key: "42535295865117307932921825928971026432")],"#,
        )],
    );
    assert_eq!(out.node("processed").rows_in, 5 * 60 * 200);
    // at|lease_key|lease_owner|checkpoint|lease_counter|parent_shard_id|event
    let events: Vec<Vec<String>> = out
        .lines("lease_events")
        .iter()
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect();
    let parent_end = events
        .iter()
        .find(|e| e[1] == "shardId-000000000000" && e[6] == "shard end")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(parent_end[3], "SHARD_END");
    for child in ["shardId-000000000004", "shardId-000000000005"] {
        let taken = events
            .iter()
            .find(|e| e[1] == child && e[6] == "taken")
            .unwrap_or_else(|| panic!("{child}: {events:?}"));
        assert_eq!(taken[5], "shardId-000000000000");
        assert!(taken[0] >= parent_end[0], "{taken:?} before {parent_end:?}");
    }
    // The children's first records come out only after the parent's last.
    let processed = out.batch("processed").unwrap();
    let text = |name: &str, row: usize| {
        eddy::values::cell_text(processed.column_by_name(name).unwrap().as_ref(), row)
    };
    let mut last_parent = None;
    let mut first_child = None;
    for row in 0..processed.num_rows() {
        match text("shard_id", row).as_str() {
            "shardId-000000000000" => last_parent = Some(row),
            "shardId-000000000004" | "shardId-000000000005" if first_child.is_none() => {
                first_child = Some(row)
            }
            _ => {}
        }
    }
    assert!(last_parent < first_child, "{last_parent:?} {first_child:?}");
}
