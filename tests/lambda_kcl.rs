//! Lambda and KCL consumers in whole runs, behind a simulated Kinesis stream: a KCL worker's
//! death re-delivers exactly the records its shard got between the last checkpoint and the
//! death; a child shard waits for its parent; a Lambda's parallelization factor keeps a poison
//! record's partition key blocked while the shard's other keys flow.

mod support;

use support::{run_in, scratch};

/// Two records every 200 ms: key `a` (shard 0 of 2) and key `trip-1` (shard 1 of 2), for
/// `seconds`, trips numbered in order.
fn two_shards(seconds: i64) -> String {
    let mut csv = String::from("ts,trip,key\n");
    let mut trip = 0;
    for i in 0..seconds * 5 {
        for key in ["a", "trip-1"] {
            csv.push_str(&format!("{},{trip},{key}\n", i * 200));
            trip += 1;
        }
    }
    csv
}

const SOURCE: &str = r#"(id: "trips", kind: Source(CsvFile(path: "trips.csv", schema: [(name: "ts", type: Timestamp), (name: "trip", type: Int64), (name: "key", type: String)], time: EventTime(column: "ts", max_out_of_orderness: "0s"))))"#;

fn kcl_pipeline(stream_extra: &str, kcl: &str) -> String {
    format!(
        r#"(format_version: 1, name: "kcl", nodes: [
    {SOURCE},
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 2), partition_key: "key"{stream_extra}))),
    (id: "app", kind: Transform(Kcl({kcl}))),
    (id: "processed", kind: Sink(Table(view: Latest(10)))),
    (id: "leases", kind: Sink(Table(view: Latest(10)))),
], edges: ["trips.out -> stream.in", "stream.out -> app.in", "app.out -> processed.in", "app.leases -> leases.in"])"#
    )
}

#[test]
fn a_dead_workers_shard_is_processed_again_from_its_last_checkpoint() {
    let dir = scratch("kcl-death");
    // Worker 1 takes shard 0 (the first lease, counter 1), worker 2 shard 1. Shard 0 gets a
    // record every 200 ms; its worker polls every second and checkpoints once 25 records are
    // processed: at the polls of 5 s, 10 s, ... 60 s (301 records). It renews its lease every
    // third of the failover time (3.33 s), at the polls of 4 s, 8 s, ... 60 s (counter 16). It
    // dies at 62.5 s, after the poll of 62 s (311 records): the 10 records that arrived after
    // 60 s, up to 62 s, were processed and not checkpointed. Its lease, last renewed at 60 s,
    // expires 10 s later; worker 2 takes it (counter 17) at the poll of 70 s and starts again
    // after the checkpoint.
    let outcome = run_in(
        &dir,
        &kcl_pipeline(
            "",
            r#"workers: 2, checkpoint_every_records: 25, checkpoint_every: "0s", failover_time: "10s", poll_every: "1s", worker_failures: [(worker: 1, at: "62500ms")]"#,
        ),
        &[("trips.csv", &two_shards(120))],
        1,
    );
    let batch = outcome.batch("processed").unwrap();
    let text = |name: &str, row: usize| {
        eddy::values::cell_text(batch.column_by_name(name).unwrap().as_ref(), row)
    };
    let mut again = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for row in 0..batch.num_rows() {
        seen.insert(text("trip", row).parse::<i64>().unwrap());
        match text("attempt", row).as_str() {
            "1" => {}
            "2" => {
                assert_eq!(text("worker", row), "worker-2");
                again.push((text("shard_id", row), text("ts", row)));
            }
            other => panic!("attempt {other}"),
        }
    }
    assert_eq!(seen.len(), 120 * 10, "every trip processed");
    let expected: Vec<(String, String)> = (301..311)
        .map(|i| {
            let ms = i * 200;
            (
                "shardId-000000000000".to_string(),
                eddy::values::cell_text(
                    &arrow::array::TimestampMillisecondArray::from(vec![ms]),
                    0,
                ),
            )
        })
        .collect();
    assert_eq!(again, expected);
    // The lease table shows the death and the takeover: shard 0, worker 2, counter 17.
    let taken: Vec<String> = outcome
        .lines("leases")
        .into_iter()
        .filter(|l| l.contains("taken after expiry"))
        .collect();
    assert_eq!(taken.len(), 1, "{taken:?}");
    let cells: Vec<&str> = taken[0].split('|').collect();
    assert_eq!(
        (cells[1], cells[2], cells[4]),
        ("shardId-000000000000", "worker-2", "17")
    );
    assert!(cells[0].ends_with("00:01:10.000Z"), "{}", cells[0]);
    let died: Vec<String> = outcome
        .lines("leases")
        .into_iter()
        .filter(|l| l.contains("owner died"))
        .collect();
    assert_eq!(died.len(), 1, "{died:?}");
    let cells: Vec<&str> = died[0].split('|').collect();
    assert_eq!((cells[1], cells[2]), ("shardId-000000000000", "worker-1"));
    assert!(cells[0].ends_with("00:01:03.000Z"), "{}", cells[0]);
}

#[test]
fn a_child_shard_waits_until_its_parent_is_finished() {
    let dir = scratch("kcl-parent");
    // Shard 1 splits at 30 s; its children are 2 and 3. With one worker checkpointing every
    // 10 s, the parent's last records are processed and checkpointed at SHARD_END before any
    // record of a child comes out.
    let outcome = run_in(
        &dir,
        &kcl_pipeline(
            &format!(
                r#", resharding: [Split(at: "30s", shard: 1, hash_key: "{}")]"#,
                3u128 << 126
            ),
            r#"workers: 1, checkpoint_every_records: 0, checkpoint_every: "10s""#,
        ),
        &[("trips.csv", &two_shards(60))],
        1,
    );
    let shards: Vec<String> = outcome
        .lines("processed")
        .iter()
        .map(|l| l.split('|').nth(3).unwrap().to_string())
        .collect();
    let last_parent = shards
        .iter()
        .rposition(|s| s == "shardId-000000000001")
        .unwrap();
    let first_child = shards
        .iter()
        .position(|s| s == "shardId-000000000002" || s == "shardId-000000000003")
        .unwrap();
    assert!(
        last_parent < first_child,
        "parent {last_parent}, child {first_child}"
    );
    assert!(
        outcome
            .lines("leases")
            .iter()
            .any(|l| l.starts_with(|c: char| c.is_ascii_digit())
                && l.contains("shardId-000000000001|")
                && l.contains("SHARD_END"))
    );
    assert_eq!(shards.len(), 600, "every trip once");
}

#[test]
fn with_a_parallelization_factor_a_poison_record_blocks_only_its_partition_key() {
    let dir = scratch("lambda-parallel");
    // Keys `a` and `b` both hash into shard 0 of 1; `a`'s trip 10 is poison. With factor 2 the
    // keys have lanes of their own (as far as their hashes differ): `b` flows while `a` waits.
    let mut csv = String::from("ts,trip,key\n");
    for i in 0..200 {
        let key = if i % 2 == 0 { "a" } else { "b" };
        csv.push_str(&format!("{},{i},{key}\n", i * 100));
    }
    let ron = |factor: u32| {
        format!(
            r#"(format_version: 1, name: "lambda", nodes: [
    {SOURCE},
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 1), partition_key: "key"))),
    (id: "fn", kind: Transform(Lambda(batch_size: 5, parallelization_factor: {factor}, fails_when: "trip = 10", maximum_retry_attempts: Attempts(3)))),
    (id: "out", kind: Sink(Table(view: Latest(10)))),
    (id: "failed", kind: Sink(Table(view: Latest(10)))),
], edges: ["trips.out -> stream.in", "stream.out -> fn.in", "fn.out -> out.in", "fn.on_failure -> failed.in"])"#
        )
    };
    for factor in [1, 2] {
        let outcome = run_in(&dir, &ron(factor), &[("trips.csv", &csv)], 1);
        let failed = outcome.lines("failed");
        assert_eq!(failed.len(), 1);
        let size: usize = failed[0].split('|').nth(5).unwrap().parse().unwrap();
        // The failed batch's records before the poison were handed to the function at every
        // attempt (output again at attempts 2..); those from the poison on never came out.
        let out = outcome.lines("out");
        let trip_of = |l: &String| l.split('|').nth(1).unwrap().parse::<i64>().unwrap();
        let attempt_of = |l: &String| l.split('|').nth(7).unwrap().parse::<i64>().unwrap();
        let firsts: std::collections::BTreeSet<i64> = out
            .iter()
            .filter(|l| attempt_of(l) == 1)
            .map(trip_of)
            .collect();
        let retried: std::collections::BTreeSet<i64> = out
            .iter()
            .filter(|l| attempt_of(l) > 1)
            .map(trip_of)
            .collect();
        assert!(retried.is_subset(&firsts), "factor {factor}");
        assert!(!firsts.contains(&10), "the poison record never succeeds");
        assert_eq!(200 - firsts.len(), size - retried.len(), "factor {factor}");
        let is_b = |trip: &i64| trip % 2 == 1;
        let b_untouched = (0..200)
            .filter(is_b)
            .all(|trip| firsts.contains(&trip) && !retried.contains(&trip));
        if factor == 2 {
            // `b` has a lane of its own: none of its records waits on, or repeats with, `a`.
            assert!(b_untouched, "{out:?}");
            assert!(retried.iter().all(|t| !is_b(t)));
        } else {
            // One lane: the failing batch mixes both keys, so some `b` record is retried or lost.
            assert!(!b_untouched, "{out:?}");
        }
        assert_eq!(outcome.node("fn").late_rows, 0);
    }
}

#[test]
fn a_tumbling_window_keeps_state_per_shard_by_arrival_time_and_a_child_starts_afresh() {
    let dir = scratch("lambda-tumbling");
    // One record every 100 ms for 30 s on one key; the shard splits at 15 s, so the window
    // [10 s, 20 s) is two windows: the parent's records up to the split and the child's after.
    let mut csv = String::from("ts,trip,key\n");
    for i in 0..300 {
        csv.push_str(&format!("{},{i},k\n", i * 100));
    }
    let ron = format!(
        r#"(format_version: 1, name: "lambda", nodes: [
    {SOURCE},
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: 1), partition_key: "key", resharding: [Split(at: "15s", shard: 0, hash_key: "170141183460469231731687303715884105728")]))),
    (id: "fn", kind: Transform(Lambda(batch_size: 7, tumbling_window: (size: "10s", aggregates: ["count(*) AS records", "sum(trip) AS total"])))),
    (id: "out", kind: Sink(Table(view: Latest(10)))),
    (id: "windows", kind: Sink(Table(view: Latest(10)))),
], edges: ["trips.out -> stream.in", "stream.out -> fn.in", "fn.out -> out.in", "fn.windows -> windows.in"])"#
    );
    let outcome = run_in(&dir, &ron, &[("trips.csv", &csv)], 1);
    let mut windows: Vec<(String, String, i64, i64)> = outcome
        .lines("windows")
        .iter()
        .map(|l| {
            let c: Vec<&str> = l.split('|').collect();
            (
                c[1].to_string(),
                c[0].to_string(),
                c[3].parse().unwrap(),
                c[4].parse().unwrap(),
            )
        })
        .collect();
    windows.sort();
    let sum = |from: i64, to: i64| (from..to).sum::<i64>();
    let parent = "shardId-000000000000";
    let mut expected = vec![
        (parent, "00:00:00", 100, sum(0, 100)),
        (parent, "00:00:10", 50, sum(100, 150)),
    ];
    // A split's children take the hash range halves; key `k` lands in one of them.
    let child: Vec<&(String, String, i64, i64)> =
        windows.iter().filter(|w| w.1 != parent).collect();
    assert_eq!(child.len(), 2, "{windows:?}");
    let child_shard = child[0].1.clone();
    expected.push((&child_shard, "00:00:10", 50, sum(150, 200)));
    expected.push((&child_shard, "00:00:20", 100, sum(200, 300)));
    expected.sort_by(|a, b| (a.1, a.0).cmp(&(b.1, b.0)));
    let got: Vec<(&str, &str, i64, i64)> = windows
        .iter()
        .map(|w| (w.1.as_str(), &w.0[11..19], w.2, w.3))
        .collect();
    let want: Vec<(&str, &str, i64, i64)> = expected
        .iter()
        .map(|(s, start, n, total)| (*s, *start, *n, *total))
        .collect();
    assert_eq!(got, want);
}
