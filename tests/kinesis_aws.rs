//! The real Kinesis connectors (the AWS SDK for Rust) against kinesis-local, the npm build of
//! kinesis-mock, which this test installs if needed, starts on 127.0.0.1 only and stops by its
//! PID: rows written by the Kinesis sink come back from the Kinesis source, each on the shard the
//! simulated stream routes it to (a split between two writes included: the parent is read to its
//! end before its children), in order within its shard; a record that does not fit the declared
//! fields goes to `errors`. A checkpointed read stopped with a savepoint resumes just after the
//! last sequence number it read in each shard, children of a split made meanwhile included.
//! Skipped, saying so, only when npm is not installed (`.ci/run`
//! makes sure it is).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The kinesis-local version streaming-facts §8.2 was checked with.
const KINESIS_LOCAL: &str = "kinesis-local@0.6.2";
const SHARDS: u32 = 4;

/// A running emulator; dropping it stops it.
struct Emulator {
    child: Child,
    port: u16,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn has_npm() -> bool {
    Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Where kinesis-local is kept between runs.
fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("EDDY_TEST_CACHE") {
        return PathBuf::from(dir).join("kinesis-local");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/eddy-tests/kinesis-local")
}

/// Installs kinesis-local (once) and writes the copy of it that listens on 127.0.0.1 only: its
/// `main.js` binds 0.0.0.0, in exactly one place.
fn install() -> PathBuf {
    let dir = cache();
    let package = dir.join("node_modules/kinesis-local");
    if !package.join("main.js").is_file() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", KINESIS_LOCAL])
            .current_dir(&dir)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm install {KINESIS_LOCAL} failed");
    }
    let main = std::fs::read_to_string(package.join("main.js")).unwrap();
    let any_host = r#"em("0.0.0.0")"#;
    assert_eq!(main.matches(any_host).count(), 1, "kinesis-local changed");
    std::fs::write(
        package.join("main-loopback.js"),
        main.replacen(any_host, r#"em("127.0.0.1")"#, 1),
    )
    .unwrap();
    package
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Starts kinesis-local with a stream `trips` of 4 shards, and waits until it answers.
fn start() -> Emulator {
    let package = install();
    let (port, tls_port) = (free_port(), free_port());
    let child = Command::new("node")
        .arg("main-loopback.js")
        .current_dir(&package)
        .env("KINESIS_MOCK_PLAIN_PORT", port.to_string())
        .env("KINESIS_MOCK_TLS_PORT", tls_port.to_string())
        .env("INITIALIZE_STREAMS", format!("trips:{SHARDS}"))
        .env("CREATE_STREAM_DURATION", "0ms")
        .env("SPLIT_SHARD_DURATION", "0ms")
        .env("LOG_LEVEL", "WARN")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let emulator = Emulator { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "kinesis-local did not listen on 127.0.0.1:{port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The stream is created as the server starts; give it a moment to be ACTIVE.
    std::thread::sleep(Duration::from_secs(2));
    emulator
}

/// Splits shard 0 of `trips` at 2^125 with a raw `SplitShard` call (the emulator checks that a
/// request is signed, not the signature).
fn split_first_shard(port: u16) {
    use std::io::{Read, Write};
    let body = format!(
        r#"{{"StreamName":"trips","ShardToSplit":"shardId-000000000000","NewStartingHashKey":"{}"}}"#,
        1u128 << 125
    );
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: Kinesis_20131202.SplitShard\r\nX-Amz-Date: 20240101T000000Z\r\nAuthorization: AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/kinesis/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "SplitShard: {answer}");
    // The split takes effect once the stream is ACTIVE again.
    std::thread::sleep(Duration::from_secs(2));
}

/// Runs `eddy run FILE` with test credentials from the environment (as the standard chain reads
/// them) and no profile files.
fn eddy_run(file: &Path) -> String {
    eddy_run_with(file, &[])
}

/// `eddy run FILE ARGS...`, as [`eddy_run`].
fn eddy_run_with(file: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .arg("run")
        .arg(file)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", file.with_extension("no-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            file.with_extension("no-credentials"),
        )
        .env_remove("AWS_PROFILE")
        .output()
        .expect("eddy runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "eddy run {}:\n{text}",
        file.display()
    );
    text
}

/// The rows of a CSV file with a header: column name to values, row by row.
fn read_csv(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

const TRIPS: usize = 1_200;
/// The trips written before shard 0 splits; the others after.
const BEFORE_SPLIT: usize = 600;

/// `ts,trip,key` for trips `range`, 10 ms apart.
fn trips_csv(range: std::ops::Range<usize>) -> String {
    let mut trips = String::from("ts,trip,key\n");
    for i in range {
        trips.push_str(&format!(
            "{},{i},zone-{}\n",
            1_700_000_000_000u64 + i as u64 * 10,
            i % 37
        ));
    }
    trips
}

/// Fails the test when npm is missing where it must not be; whether the test can run.
fn emulator_available() -> bool {
    if has_npm() {
        return true;
    }
    // CI sets this: there the test must run, never skip.
    assert!(
        std::env::var_os("EDDY_REQUIRE_NPM").is_none(),
        "npm is not installed, and EDDY_REQUIRE_NPM says this test must run"
    );
    eprintln!(
        "SKIPPED: npm is not installed, so kinesis-local cannot be started (.ci/run installs it)"
    );
    false
}

fn pipelines(dir: &Path, port: u16) {
    std::fs::write(dir.join("trips.csv"), trips_csv(0..TRIPS)).unwrap();
    std::fs::write(dir.join("first.csv"), trips_csv(0..BEFORE_SPLIT)).unwrap();
    std::fs::write(dir.join("second.csv"), trips_csv(BEFORE_SPLIT..TRIPS)).unwrap();
    std::fs::write(
        dir.join("bad.csv"),
        "ts,trip,key\n1700000100000,not-a-number,zone-1\n1700000100001,also-bad,zone-2\n",
    )
    .unwrap();
    let source = |file: &str, trip_type: &str| {
        format!(
            r#"(id: "trips", kind: Source(CsvFile(path: "{file}", schema: [(name: "ts", type: Timestamp), (name: "trip", type: {trip_type}), (name: "key", type: String)], time: EventTime(column: "ts", max_out_of_orderness: "0s"))))"#
        )
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let write = |name: &str, file: &str, trip_type: &str| {
        let text = format!(
            r#"(format_version: 1, name: "{name}", nodes: [
    {},
    (id: "to_kinesis", kind: Sink(Kinesis(stream: "trips", region: "us-east-1", endpoint: "{endpoint}", partition_key: "key"))),
], edges: ["trips.out -> to_kinesis.in"])"#,
            source(file, trip_type)
        );
        std::fs::write(dir.join(format!("{name}.ron")), text).unwrap();
    };
    write("write_first", "first.csv", "Int64");
    write("write_second", "second.csv", "Int64");
    write("write_bad", "bad.csv", "String");
    std::fs::write(
        dir.join("read.ron"),
        format!(
            r#"(format_version: 1, name: "read", nodes: [
    (id: "from_kinesis", kind: Source(Kinesis(stream: "trips", region: "us-east-1", endpoint: "{endpoint}", start: TrimHorizon,
        schema: Some([(name: "ts", type: Timestamp), (name: "trip", type: Int64), (name: "key", type: String)]),
        time: EventTime(column: "ts", max_out_of_orderness: "1s"), poll_every: "200ms"))),
    (id: "rows", kind: Sink(CsvFile(path: "read.csv", header: true))),
    (id: "bad", kind: Sink(CsvFile(path: "bad_records.csv", header: true))),
], edges: ["from_kinesis.out -> rows.in", "from_kinesis.errors -> bad.in"])"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("simulated.ron"),
        format!(
            r#"(format_version: 1, name: "simulated", nodes: [
    {},
    (id: "stream", kind: Stream(Kinesis(capacity: Provisioned(shards: {SHARDS}), partition_key: "key",
        resharding: [Split(at: "{}ms", shard: 0, hash_key: "{}")]))),
    (id: "rows", kind: Sink(CsvFile(path: "simulated.csv", header: true))),
], edges: ["trips.out -> stream.in", "stream.out -> rows.in"])"#,
            source("trips.csv", "Int64"),
            BEFORE_SPLIT * 10,
            1u128 << 125
        ),
    )
    .unwrap();
}

#[test]
fn rows_written_to_kinesis_local_come_back_on_the_shards_the_simulation_picks() {
    if !emulator_available() {
        return;
    }
    let emulator = start();
    let dir = std::env::temp_dir().join(format!("eddy-kinesis-aws-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    pipelines(&dir, emulator.port);
    eddy_run(&dir.join("write_first.ron"));
    split_first_shard(emulator.port);
    eddy_run(&dir.join("write_second.ron"));
    eddy_run(&dir.join("write_bad.ron"));
    eddy_run(&dir.join("read.ron"));
    eddy_run(&dir.join("simulated.ron"));
    drop(emulator);

    let read = read_csv(&dir.join("read.csv"));
    let simulated = read_csv(&dir.join("simulated.csv"));
    assert_eq!(read.len(), TRIPS, "every row written comes back once");
    let shard_of = |rows: &[std::collections::BTreeMap<String, String>]| {
        rows.iter()
            .map(|r| (r["trip"].clone(), r["shard_id"].clone()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // The emulator routes by the MD5 of the key over an even split, and splits shard 0 into
    // shards 4 and 5 at the hash key, as the simulation does.
    assert_eq!(shard_of(&read), shard_of(&simulated));
    let shards: std::collections::BTreeSet<&String> = read.iter().map(|r| &r["shard_id"]).collect();
    assert_eq!(
        shards.len(),
        SHARDS as usize + 2,
        "37 keys reach every shard"
    );
    // The parent is read to its end before its children.
    let position = |shard: &str, first: bool| {
        let mut places = read
            .iter()
            .enumerate()
            .filter(|(_, r)| r["shard_id"] == shard)
            .map(|(i, _)| i);
        if first {
            places.next()
        } else {
            places.next_back()
        }
    };
    let parent_last = position("shardId-000000000000", false).unwrap();
    for child in ["shardId-000000000004", "shardId-000000000005"] {
        assert!(
            position(child, true).unwrap() > parent_last,
            "{child} after its parent"
        );
    }
    // Within a shard, records come in the order they were written, sequence numbers rising.
    // Sequence numbers are decimal strings of up to 129 digits: compare by length, then text.
    let mut last: std::collections::BTreeMap<&str, ((usize, String), i64)> = Default::default();
    for row in &read {
        let text = &row["sequence_number"];
        assert!(text.bytes().all(|b| b.is_ascii_digit()), "{text}");
        let sequence = (text.len(), text.clone());
        let trip: i64 = row["trip"].parse().unwrap();
        if let Some((s, t)) = last.insert(&row["shard_id"], (sequence.clone(), trip)) {
            assert!(
                s < sequence && t < trip,
                "in order within {}",
                row["shard_id"]
            );
        }
        assert!(row["partition_key"].starts_with("zone-"));
        assert!(!row["approximate_arrival_timestamp"].is_empty());
    }
    // The two records whose `trip` is not a number are routed to `errors` with the reason.
    let bad = read_csv(&dir.join("bad_records.csv"));
    assert_eq!(bad.len(), 2);
    for row in &bad {
        assert!(row["raw"].contains("\"trip\":\""), "{row:?}");
        assert!(row["reason"].contains("field `trip`"), "{row:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpointed_read_resumes_after_the_last_sequence_number_of_each_shard() {
    if !emulator_available() {
        return;
    }
    let emulator = start();
    let dir = std::env::temp_dir().join(format!("eddy-kinesis-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    pipelines(&dir, emulator.port);
    // Reads until stopped; each stop takes a savepoint.
    let forever = std::fs::read_to_string(dir.join("read.ron"))
        .unwrap()
        .replace(
            "poll_every: \"200ms\"",
            "poll_every: \"200ms\", until: Never",
        )
        .replace("\"read.csv\"", "\"resumed.csv\"");
    let file = dir.join("read_forever.ron");
    std::fs::write(&file, forever).unwrap();
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    eddy_run(&dir.join("write_first.ron"));
    let first = eddy_run_with(
        &file,
        &[
            "--checkpoint-every",
            "300ms",
            "--checkpoint-dir",
            ckdir,
            "--for",
            "6s",
        ],
    );
    assert!(first.contains("savepoint"), "{first}");
    // Its rows wait in the sink's in-progress file until the job completes.
    assert!(!dir.join("resumed.csv").exists());
    // Meanwhile shard 0 splits and the second half is written, some of it to the children.
    split_first_shard(emulator.port);
    eddy_run(&dir.join("write_second.ron"));
    // The resumed read stops after every trip (the count goes on from the savepoint's).
    let to_the_end = std::fs::read_to_string(&file)
        .unwrap()
        .replace("until: Never", &format!("until: Records({TRIPS})"));
    std::fs::write(&file, to_the_end).unwrap();
    let second = eddy_run_with(&file, &["--resume", ckdir]);
    assert!(second.contains("resuming from checkpoint"), "{second}");
    drop(emulator);
    let read = read_csv(&dir.join("resumed.csv"));
    let mut trips: Vec<i64> = read.iter().map(|r| r["trip"].parse().unwrap()).collect();
    trips.sort_unstable();
    assert_eq!(
        trips,
        (0..TRIPS as i64).collect::<Vec<_>>(),
        "every trip once: nothing read again, nothing skipped"
    );
    let children: Vec<&str> = read[BEFORE_SPLIT..]
        .iter()
        .map(|r| r["shard_id"].as_str())
        .filter(|s| s.ends_with("04") || s.ends_with("05"))
        .collect();
    assert!(!children.is_empty(), "the children of the split are read");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_unreachable_endpoint_fails_the_run_with_the_address_tried() {
    let dir = std::env::temp_dir().join(format!("eddy-kinesis-down-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // A port nothing listens on.
    let port = free_port();
    pipelines(&dir, port);
    let output = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .arg("run")
        .arg(dir.join("read.ron"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("from_kinesis"), "the node is named: {text}");
    let _ = std::fs::remove_dir_all(&dir);
}
