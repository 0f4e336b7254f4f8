//! Firehose delivery in whole runs: the objects a run writes into a folder bucket read back with
//! their libraries (GZIP JSON lines with flate2, Snappy ones with snap, Parquet with parquet) equal the rows that went
//! in, under the keys Firehose gives them; and a round trip to a real S3 API, s3rver from npm,
//! started on 127.0.0.1 by this test and stopped by its PID, listed and read back with the AWS
//! SDK. Skipped, saying so, only when npm is not installed (`.ci/run` makes sure it is).

mod support;

use std::collections::BTreeSet;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{run_in, scratch};

/// 10 trips a second for 150 s from 2024-01-15T13:00:00Z.
fn trips_csv() -> String {
    let mut csv = String::from("ts,trip,fare\n");
    for i in 0..1_500u64 {
        csv.push_str(&format!(
            "{},{i},{}.{:02}\n",
            1_705_323_600_000 + i * 100,
            5 + i % 40,
            i % 100
        ));
    }
    csv
}

fn pipeline(settings: &str) -> String {
    format!(
        r#"(format_version: 1, name: "firehose", nodes: [
    (id: "trips", kind: Source(CsvFile(path: "trips.csv", schema: [(name: "ts", type: Timestamp), (name: "trip", type: Int64), (name: "fare", type: Float64)], time: EventTime(column: "ts", max_out_of_orderness: "0s")))),
    (id: "fh", kind: Stream(Firehose({settings}))),
    (id: "objects", kind: Sink(Table(view: Latest(100)))),
], edges: ["trips.out -> fh.in", "fh.objects -> objects.in"])"#
    )
}

/// Every file under `dir`, by its key (its path under `dir`).
fn objects(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, found: &mut Vec<(String, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, found);
            } else {
                let key = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.push((key, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut found = Vec::new();
    walk(dir, dir, &mut found);
    found.sort();
    found
}

/// The trips as the JSON objects the producer sent, in order.
fn expected_rows() -> Vec<serde_json::Value> {
    trips_csv()
        .lines()
        .skip(1)
        .map(|line| {
            let cells: Vec<&str> = line.split(',').collect();
            let ms: i64 = cells[0].parse().unwrap();
            let ts = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            serde_json::json!({"ts": ts, "trip": cells[1].parse::<i64>().unwrap(), "fare": cells[2].parse::<f64>().unwrap()})
        })
        .collect()
}

#[test]
fn gzip_json_objects_read_back_equal_the_rows_under_firehose_keys() {
    let dir = scratch("firehose-gzip");
    run_in(
        &dir,
        &pipeline(
            r#"buffering: (size_mib: 1, interval: "60s"), destination: Folder(path: "bucket"), format: JsonLines, compression: Gzip"#,
        ),
        &[("trips.csv", &trips_csv())],
        1,
    );
    let found = objects(&dir.join("bucket"));
    // 150 s of trips, 60 s intervals: objects from 13:00:00, 13:01:00 and 13:02:00.
    let names: Vec<String> = found
        .iter()
        .map(|(key, _)| {
            assert!(key.ends_with(".gz"), "{key}");
            // `<uuid>.gz`: 36 + 3 characters.
            key[..key.len() - 40].to_string()
        })
        .collect();
    assert_eq!(
        names,
        [
            "2024/01/15/13/fh-1-2024-01-15-13-00-00",
            "2024/01/15/13/fh-1-2024-01-15-13-01-00",
            "2024/01/15/13/fh-1-2024-01-15-13-02-00"
        ]
    );
    let rows = json_rows(&found, |bytes, text| {
        flate2::read::GzDecoder::new(bytes).read_to_string(text)
    });
    assert_eq!(rows, expected_rows());
}

/// The JSON-lines rows of every object, in key order, each undone by `decode`.
fn json_rows(
    found: &[(String, Vec<u8>)],
    decode: impl Fn(&[u8], &mut String) -> std::io::Result<usize>,
) -> Vec<serde_json::Value> {
    let mut rows = Vec::new();
    for (key, bytes) in found {
        let mut text = String::new();
        decode(bytes, &mut text).unwrap_or_else(|e| panic!("{key}: {e}"));
        rows.extend(
            text.lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
        );
    }
    rows
}

#[test]
fn snappy_json_objects_are_framed_streams_that_read_back_equal_to_the_rows() {
    let dir = scratch("firehose-snappy");
    run_in(
        &dir,
        &pipeline(
            r#"buffering: (size_mib: 1, interval: "60s"), destination: Folder(path: "bucket"), format: JsonLines, compression: Snappy"#,
        ),
        &[("trips.csv", &trips_csv())],
        1,
    );
    let found = objects(&dir.join("bucket"));
    assert_eq!(found.len(), 3, "one object a minute");
    for (key, bytes) in &found {
        assert!(key.ends_with(".snappy"), "{key}");
        // Snappy's framing format opens with its stream identifier chunk; raw Snappy does not.
        assert!(
            bytes.starts_with(b"\xff\x06\x00\x00sNaPpY"),
            "{key} is framed"
        );
    }
    let rows = json_rows(&found, |bytes, text| {
        snap::read::FrameDecoder::new(bytes).read_to_string(text)
    });
    assert_eq!(rows, expected_rows());
}

#[test]
fn parquet_objects_read_back_equal_the_rows() {
    let dir = scratch("firehose-parquet");
    run_in(
        &dir,
        &pipeline(
            r#"buffering: (size_mib: 64, interval: "60s"), destination: Folder(path: "bucket"), format: Parquet"#,
        ),
        &[("trips.csv", &trips_csv())],
        1,
    );
    let mut trips = Vec::new();
    let mut fares = Vec::new();
    for (key, bytes) in objects(&dir.join("bucket")) {
        assert!(bytes.starts_with(b"PAR1"), "{key} is Parquet");
        let file = std::fs::File::open(dir.join("bucket").join(&key)).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            let trip = batch.column_by_name("trip").unwrap();
            let fare = batch.column_by_name("fare").unwrap();
            for row in 0..batch.num_rows() {
                trips.push(eddy::values::cell_text(trip.as_ref(), row));
                fares.push(eddy::values::cell_text(fare.as_ref(), row));
            }
        }
    }
    let expected = expected_rows();
    assert_eq!(trips.len(), expected.len());
    for (i, row) in expected.iter().enumerate() {
        assert_eq!(trips[i], row["trip"].to_string());
        assert_eq!(
            fares[i].parse::<f64>().unwrap(),
            row["fare"].as_f64().unwrap()
        );
    }
}

/// A running s3rver; dropping it stops it.
struct S3rver {
    child: Child,
    port: u16,
}

impl Drop for S3rver {
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

fn cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("EDDY_TEST_CACHE") {
        return PathBuf::from(dir).join("s3rver");
    }
    let home = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from);
    home.join(".cache/eddy-tests/s3rver")
}

/// Installs s3rver (once) and starts it on 127.0.0.1 with a bucket `taxi-bucket`.
fn start_s3rver(data: &Path) -> S3rver {
    let dir = cache();
    let script = dir.join("node_modules/s3rver/bin/s3rver.js");
    if !script.is_file() {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "s3rver@3.7.1"])
            .current_dir(&dir)
            .status()
            .expect("npm runs");
        assert!(status.success(), "npm install s3rver failed");
    }
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let child = Command::new("node")
        .arg(&script)
        .args(["-d"])
        .arg(data)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "--configure-bucket",
            "taxi-bucket",
            "--silent",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("node starts");
    let server = S3rver { child, port };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "s3rver did not listen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

#[test]
fn objects_delivered_to_s3rver_are_listed_and_read_back_with_the_aws_sdk() {
    if !has_npm() {
        assert!(
            std::env::var_os("EDDY_REQUIRE_NPM").is_none(),
            "npm is not installed, and EDDY_REQUIRE_NPM says this test must run"
        );
        eprintln!(
            "SKIPPED: npm is not installed, so s3rver cannot be started (.ci/run installs it)"
        );
        return;
    }
    let dir = scratch("firehose-s3rver");
    let server = start_s3rver(&dir.join("s3rver-data"));
    std::fs::write(dir.join("trips.csv"), trips_csv()).unwrap();
    let ron = pipeline(&format!(
        r#"buffering: (size_mib: 1, interval: "60s"), destination: S3(bucket: "taxi-bucket", region: "us-east-1", endpoint: "http://127.0.0.1:{}"), prefix: "raw/""#,
        server.port
    ));
    std::fs::write(dir.join("p.ron"), ron).unwrap();
    // s3rver's own keys, from the environment as the standard chain reads them.
    let output = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .arg("run")
        .arg(dir.join("p.ron"))
        .env("AWS_ACCESS_KEY_ID", "S3RVER")
        .env("AWS_SECRET_ACCESS_KEY", "S3RVER")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // List and read back through the S3 API.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (keys, rows) = runtime.block_on(async {
        let credentials =
            aws_sdk_s3::config::Credentials::new("S3RVER", "S3RVER", None, None, "test");
        let config = aws_sdk_s3::config::Builder::new()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .endpoint_url(format!("http://127.0.0.1:{}", server.port))
            .credentials_provider(credentials)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .force_path_style(true)
            .build();
        let client = aws_sdk_s3::Client::from_conf(config);
        let listed = client
            .list_objects_v2()
            .bucket("taxi-bucket")
            .prefix("raw/")
            .send()
            .await
            .unwrap();
        let mut keys = Vec::new();
        let mut rows = Vec::new();
        for object in listed.contents() {
            let key = object.key().unwrap().to_string();
            let body = client
                .get_object()
                .bucket("taxi-bucket")
                .key(&key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            let text = String::from_utf8(body.to_vec()).unwrap();
            rows.extend(
                text.lines()
                    .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()),
            );
            keys.push(key);
        }
        (keys, rows)
    });
    drop(server);
    let names: BTreeSet<String> = keys.iter().map(|k| k[..k.len() - 37].to_string()).collect();
    assert_eq!(
        names,
        [
            "raw/2024/01/15/13/fh-1-2024-01-15-13-00-00",
            "raw/2024/01/15/13/fh-1-2024-01-15-13-01-00",
            "raw/2024/01/15/13/fh-1-2024-01-15-13-02-00"
        ]
        .map(String::from)
        .into()
    );
    let mut rows = rows;
    rows.sort_by_key(|r| r["trip"].as_i64());
    assert_eq!(rows, expected_rows());
}
