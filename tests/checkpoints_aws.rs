//! Checkpoints of the simulated AWS services, through `eddy run`: a Kinesis stream that reshards,
//! with a polling consumer, a Lambda consumer that retries, bisects and keeps tumbling windows,
//! and a KCL application whose worker dies — killed with SIGKILL at seeded moments and resumed
//! until it completes — writes the same rows as one uninterrupted run. A stream whose settings
//! changed is refused, naming the node.

mod support;

use std::fs;
use std::path::Path;

use support::processes::{Lcg, kill_9_after, run, spawn};
use support::scratch;

/// Every output of the pipeline below, in `out/`.
const OUTPUTS: [&str; 7] = [
    "out/stream_rows.csv",
    "out/archived.csv",
    "out/lambda_out.csv",
    "out/lambda_failed.csv",
    "out/lambda_windows.csv",
    "out/kcl_out.jsonl",
    "out/kcl_leases.csv",
];

/// Taxi trips through a 2-shard stream (shard 0 split after 8 minutes), read by a polling
/// consumer, a Lambda function (a poison trip every 997, bisected, retried twice, per-shard
/// windows of a minute) and a KCL application of two workers (worker 1 dies after 9 minutes).
fn pipeline(dir: &Path, shards: u32) -> std::path::PathBuf {
    let text = format!(
        r#"(format_version: 1, name: "aws through checkpoints", nodes: [
    (id: "trips", kind: Source(Generator(preset: TaxiTrips, events_per_sec: 20, keys: 40, seed: 7,
        start_time: "2024-01-15T09:00:00Z", stop_after: EventTime("20m"),
        time: EventTime(column: "dropoff_datetime", max_out_of_orderness: "1s")))),
    (id: "poison", kind: Transform(Map(columns: ["CASE WHEN trip_id % 997 = 0 THEN -1.0 ELSE fare_amount END AS fare_amount"], keep_input_columns: true))),
    (id: "trip_stream", kind: Stream(Kinesis(capacity: Provisioned(shards: {shards}),
        partition_key: "CAST(trip_id AS VARCHAR)",
        resharding: [Split(at: "8m", shard: 0, hash_key: "85070591730234615865843651857942052864")],
        consumers: [(name: "archiver", reads: Polling(poll_every: "2s", max_records: 25), start: TrimHorizon)]))),
    (id: "fn", kind: Transform(Lambda(batch_size: 50, handler: ["trip_id AS trip_id", "shard_id AS shard_id", "fare_amount AS fare_amount"],
        fails_when: "fare_amount < 0", maximum_retry_attempts: Attempts(2), bisect_batch_on_function_error: true,
        tumbling_window: (size: "1m", aggregates: ["count(*) AS records", "max(fare_amount) AS top_fare"])))),
    (id: "app", kind: Transform(Kcl(workers: 2, checkpoint_every_records: 300, worker_failures: [(worker: 1, at: "9m")]))),
    (id: "stream_rows", kind: Sink(CsvFile(path: "out/stream_rows.csv", header: true))),
    (id: "archived", kind: Sink(CsvFile(path: "out/archived.csv", header: true))),
    (id: "lambda_out", kind: Sink(CsvFile(path: "out/lambda_out.csv", header: true))),
    (id: "lambda_failed", kind: Sink(CsvFile(path: "out/lambda_failed.csv", header: true))),
    (id: "lambda_windows", kind: Sink(CsvFile(path: "out/lambda_windows.csv", header: true))),
    (id: "kcl_out", kind: Sink(JsonLinesFile(path: "out/kcl_out.jsonl"))),
    (id: "kcl_leases", kind: Sink(CsvFile(path: "out/kcl_leases.csv", header: true))),
], edges: [
    "trips.out -> poison.in", "poison.out -> trip_stream.in",
    "trip_stream.out -> stream_rows.in", "trip_stream.archiver -> archived.in",
    "trip_stream.out -> fn.in", "fn.out -> lambda_out.in", "fn.on_failure -> lambda_failed.in",
    "fn.windows -> lambda_windows.in",
    "trip_stream.out -> app.in", "app.out -> kcl_out.in", "app.leases -> kcl_leases.in",
])"#
    );
    let path = dir.join("aws.ron");
    fs::write(&path, text).unwrap();
    path
}

/// Each output's lines, sorted: rows of different shards and consumers interleave as threads go,
/// so only the multiset of rows is defined.
fn sorted_outputs(dir: &Path) -> Vec<Vec<String>> {
    OUTPUTS
        .iter()
        .map(|o| {
            let text = fs::read_to_string(dir.join(o)).unwrap_or_else(|e| panic!("{o}: {e}"));
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            lines
        })
        .collect()
}

fn remove_outputs(dir: &Path) {
    for o in OUTPUTS {
        let _ = fs::remove_file(dir.join(o));
    }
}

#[test]
fn a_stream_lambda_and_kcl_killed_and_resumed_write_what_one_run_writes() {
    let dir = scratch("checkpoint-aws");
    let file = pipeline(&dir, 2);
    let reference = run(&file, &["--parallelism", "1"]);
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let expected = sorted_outputs(&dir);
    // What the run must have exercised for the comparison to mean something.
    let [stream, archived, lambda, failed, windows, kcl, leases] = &expected[..] else {
        unreachable!()
    };
    assert!(stream.len() > 20_000 && archived.len() == stream.len());
    assert!(
        !failed.is_empty() && windows.len() > 20,
        "retries and windows"
    );
    assert!(
        lambda.len() > 20_000 && kcl.len() > stream.len(),
        "duplicates"
    );
    assert!(leases.iter().any(|l| l.contains("expired")) || leases.len() > 10);
    remove_outputs(&dir);
    let checkpoints = dir.join("checkpoints");
    let ckdir = checkpoints.to_str().unwrap();
    let paced = ["--parallelism", "1", "--speed", "600x"];
    let mut moments = Lcg(7);
    let mut resumed = 0;
    for attempt in 0..5 {
        let mut args: Vec<&str> = paced.to_vec();
        if attempt == 0 {
            args.extend(["--checkpoint-every", "100ms", "--checkpoint-dir", ckdir]);
        } else {
            args.extend(["--resume", ckdir]);
        }
        let stderr = kill_9_after(spawn(&file, &args), moments.next_in(300, 900));
        resumed += usize::from(stderr.contains("resuming from checkpoint"));
    }
    let last = run(&file, &["--parallelism", "1", "--resume", ckdir]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    assert!(
        resumed >= 2,
        "attempts resumed from a checkpoint ({resumed})"
    );
    let got = sorted_outputs(&dir);
    for ((name, want), have) in OUTPUTS.iter().zip(&expected).zip(&got) {
        assert!(
            want == have,
            "{name}: {} rows expected, {} written",
            want.len(),
            have.len()
        );
    }
}

#[test]
fn a_stream_with_other_settings_is_refused_naming_the_node() {
    let dir = scratch("checkpoint-aws-changed");
    let file = pipeline(&dir, 2);
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    let first = run(
        &file,
        &[
            "--speed",
            "600x",
            "--checkpoint-every",
            "100ms",
            "--checkpoint-dir",
            ckdir,
            "--for",
            "800ms",
        ],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    pipeline(&dir, 3);
    let refused = run(&file, &["--resume", ckdir]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("node `trip_stream`") && stderr.contains("cannot be mapped"),
        "{stderr}"
    );
    // Put back as it was, the same checkpoint resumes.
    pipeline(&dir, 2);
    let resumed = run(&file, &["--resume", ckdir]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
}
