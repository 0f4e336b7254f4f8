//! The `eddy` command as a user runs it: output formats, exit codes, and files it writes.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn eddy(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("eddy runs")
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("eddy-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_passes_every_example() {
    let out = eddy(
        &[
            "check",
            "pipelines/taxi_workshop.ron",
            "pipelines/late_data_lab.ron",
        ],
        &root(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("checked 2 files: 0 error(s)"));
}

#[test]
fn check_prints_file_line_col_node_message_and_fails() {
    let out = eddy(&["check", "tests/broken/many_problems.ron"], &root());
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 8, "{stdout}");
    assert!(lines.contains(
        &"tests/broken/many_problems.ron:30:40: per_zone: error: a window size must be longer than 0s, not 0s"
    ));
}

#[test]
fn schema_prints_every_node_and_port() {
    let out = eddy(&["schema", "pipelines/taxi_workshop.ron"], &root());
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("revenue_per_zone [Tumbling window]"),
        "{stdout}"
    );
    assert!(stdout.contains("avg_price_per_mile"), "{stdout}");
    assert!(
        stdout.contains("window_end          TIMESTAMP(3) NOT NULL"),
        "{stdout}"
    );
}

#[test]
fn new_writes_a_valid_starter_and_never_overwrites() {
    let dir = scratch("new");
    let out = eddy(&["new", "sensor_alerts"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = dir.join("sensor_alerts.ron");
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains("name: \"sensor alerts\""));
    assert!(eddy(&["check", "sensor_alerts.ron"], &dir).status.success());
    fs::write(&path, "mine").unwrap();
    let again = eddy(&["new", "sensor_alerts"], &dir);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert_eq!(fs::read_to_string(&path).unwrap(), "mine");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fmt_check_reports_and_fmt_rewrites_canonically() {
    let dir = scratch("fmt");
    let canonical = fs::read_to_string(root().join("pipelines/iot_alerts.ron")).unwrap();
    // Same document, written by hand: one line, no trailing commas, fields in another order.
    let messy = canonical.replace("\n", " ").replace("  ", " ");
    fs::write(dir.join("p.ron"), &messy).unwrap();
    let out = eddy(&["fmt", "--check", "p.ron"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not in canonical form"));
    assert_eq!(
        fs::read_to_string(dir.join("p.ron")).unwrap(),
        messy,
        "--check must not write"
    );
    assert!(eddy(&["fmt", "p.ron"], &dir).status.success());
    assert_eq!(fs::read_to_string(dir.join("p.ron")).unwrap(), canonical);
    assert!(eddy(&["fmt", "--check", "p.ron"], &dir).status.success());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fmt_refuses_a_broken_file_and_leaves_it_alone() {
    let dir = scratch("fmt-broken");
    fs::write(dir.join("b.ron"), "(format_version: 1, name: ").unwrap();
    let out = eddy(&["fmt", "b.ron"], &dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("b.ron:1:"));
    assert_eq!(
        fs::read_to_string(dir.join("b.ron")).unwrap(),
        "(format_version: 1, name: "
    );
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn help_has_examples() {
    for args in [
        vec!["--help"],
        vec!["check", "--help"],
        vec!["fmt", "--help"],
        vec!["new", "--help"],
    ] {
        let out = eddy(&args, &root());
        assert!(out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Examples:"),
            "{args:?}"
        );
    }
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = eddy(&["check", "nope.ron"], &root());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nope.ron"));
}

#[test]
fn run_prints_a_summary_and_writes_the_files() {
    let dir = scratch("run");
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::copy(
        root().join("pipelines/late_data_lab.ron"),
        dir.join("lab.ron"),
    )
    .unwrap();
    let out = eddy(&["run", "lab.ron"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("per_10s "))
        .collect();
    assert_eq!(summary.len(), 1, "{stdout}");
    assert!(stdout.contains("node ") && stdout.contains("rows/s") && stdout.contains("wall time"));
    // The late rows went to their file, whole: header plus one line per late row.
    let late = fs::read_to_string(dir.join("out/too_late.csv")).unwrap();
    assert!(late.starts_with("sensor_id,site,event_time,"), "{late}");
    assert!(late.lines().count() > 1);
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn run_writes_its_summary_as_json_when_asked() {
    let dir = scratch("run-summary-json");
    fs::create_dir_all(dir.join("data")).unwrap();
    fs::copy(
        root().join("pipelines/late_data_lab.ron"),
        dir.join("lab.ron"),
    )
    .unwrap();
    let out = eddy(&["run", "lab.ron", "--summary-json", "summary.json"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(doc["status"], "finished");
    assert!(doc["wall_ms"].as_u64().is_some());
    let nodes = doc["nodes"].as_array().unwrap();
    let node = |id: &str| nodes.iter().find(|n| n["id"] == id).unwrap();
    // The sink of late rows took in exactly the rows its file holds (the header aside), and they
    // are the window's late rows.
    let late_lines = fs::read_to_string(dir.join("out/too_late.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    assert!(late_lines > 0);
    assert_eq!(node("too_late")["rows_in"].as_u64(), Some(late_lines));
    assert_eq!(node("per_10s")["late"].as_u64(), Some(late_lines));
    assert_eq!(node("per_10s")["kind"], "Tumbling window");
    // A path that cannot be written fails the run's exit code and says why.
    let out = eddy(
        &[
            "run",
            "lab.ron",
            "--summary-json",
            "no/such/dir/summary.json",
        ],
        &dir,
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("could not write the summary"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn run_stops_an_endless_source_at_the_limit_and_fires_open_windows() {
    let dir = scratch("run-limit");
    let text = fs::read_to_string(root().join("pipelines/iot_alerts.ron"))
        .unwrap()
        .replace("stop_after: EventTime(\"20m\")", "stop_after: Never");
    fs::write(dir.join("endless.ron"), text).unwrap();
    let out = eddy(&["run", "endless.ron", "--limit", "50000"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sensors = stdout.lines().find(|l| l.starts_with("sensors ")).unwrap();
    let rows: u64 = sensors
        .split_whitespace()
        .nth(3)
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!((50_000..2_000_000).contains(&rows), "{sensors}");
    // Draining fired the open windows: the chart sink received results.
    let chart = stdout
        .lines()
        .find(|l| l.starts_with("temperature_chart "))
        .unwrap();
    let received: u64 = chart
        .split_whitespace()
        .nth(2)
        .unwrap()
        .replace(',', "")
        .parse()
        .unwrap();
    assert!(received > 0, "{chart}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn export_writes_flink_sql_and_a_report_and_fails_when_nothing_translates() {
    let dir = scratch("export");
    fs::copy(
        root().join("pipelines/iot_alerts.ron"),
        dir.join("sensors.ron"),
    )
    .unwrap();
    // Without --materialize-generators the generator has no rows Flink could read: nothing is
    // exported, the report says why, and the exit code is 1.
    let out = eddy(&["export", "sensors.ron", "--to", "flink-sql"], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(stdout.contains("--materialize-generators"), "{stdout}");
    assert!(
        stdout.contains("it reads `sensors.out`, which is not exported"),
        "{stdout}"
    );
    // With it, the script has the source table over the rows, the session window and the inserts.
    let out = eddy(
        &["export", "sensors.ron", "--materialize-generators", "rows"],
        &dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = fs::read_to_string(dir.join("sensors.flink.sql")).unwrap();
    assert!(
        sql.contains("CREATE TEMPORARY TABLE `sensors__file`"),
        "{sql}"
    );
    // Eddy's watermark is max - 2 s - 1 ms; Flink SQL's formula subtracts what it is given.
    assert!(
        sql.contains("WATERMARK FOR `event_time` AS `event_time` - INTERVAL '0 00:00:02.001'"),
        "{sql}"
    );
    assert!(sql.contains("EXECUTE STATEMENT SET"), "{sql}");
    assert!(dir.join("rows/sensors.csv").exists());
    assert!(dir.join("sensors.flink-report.txt").exists());
    let out = eddy(&["export", "sensors.ron", "--to", "spark"], &dir);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("flink-sql or pyflink"));
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn export_writes_kinesis_tables_for_the_connector_version_asked() {
    let dir = scratch("export-kinesis");
    fs::copy(
        root().join("tests/pipelines/kinesis_aws.ron"),
        dir.join("aws.ron"),
    )
    .unwrap();
    let out = eddy(&["export", "aws.ron"], &dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sql = fs::read_to_string(dir.join("aws.flink.sql")).unwrap();
    // The current connector names the stream by ARN and starts where the node says.
    assert!(
        sql.contains("'stream.arn' = 'arn:aws:kinesis:us-east-1:ACCOUNT_ID:stream/trips'"),
        "{sql}"
    );
    assert!(
        sql.contains("'source.init.position' = 'TRIM_HORIZON'"),
        "{sql}"
    );
    assert!(sql.contains("PARTITIONED BY (`__partition_key`)"), "{sql}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("ACCOUNT_ID"));
    let out = eddy(&["export", "aws.ron", "--kinesis-connector", "4"], &dir);
    assert!(out.status.success());
    let sql = fs::read_to_string(dir.join("aws.flink.sql")).unwrap();
    assert!(sql.contains("'stream' = 'trips'"), "{sql}");
    assert!(
        sql.contains("'scan.stream.initpos' = 'TRIM_HORIZON'"),
        "{sql}"
    );
    assert!(sql.contains("METADATA FROM 'shard-id' VIRTUAL"), "{sql}");
    let out = eddy(&["export", "aws.ron", "--kinesis-connector", "3"], &dir);
    assert!(!out.status.success());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn export_turns_simulated_consumers_into_the_flink_job_that_replaces_them() {
    let dir = scratch("export-consumers");
    fs::copy(
        root().join("pipelines/lambda_poison_record.ron"),
        dir.join("lambda.ron"),
    )
    .unwrap();
    let out = eddy(
        &["export", "lambda.ron", "--materialize-generators", "rows"],
        &dir,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let sql = fs::read_to_string(dir.join("lambda.flink.sql")).unwrap();
    // The stream passes the rows through; the function's columns come out for the records it
    // outputs, and the records it fails on are left out (in AWS they block the shard).
    assert!(sql.contains("CREATE TEMPORARY VIEW `trip_stream`"), "{sql}");
    assert!(
        sql.contains("CREATE TEMPORARY VIEW `price_per_mile`"),
        "{sql}"
    );
    assert!(
        sql.contains("WHERE (`trip_distance` > 0) IS TRUE AND (`fare_amount` < 0) IS NOT TRUE"),
        "{sql}"
    );
    assert!(
        stdout.contains("price_per_mile (exported, differs)"),
        "{stdout}"
    );
    assert!(stdout.contains("failed_batches (not exported)"), "{stdout}");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn run_refuses_a_pipeline_with_errors() {
    let out = eddy(&["run", "tests/broken/many_problems.ron"], &root());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("has errors"));
}

#[test]
fn run_rejects_a_bad_speed_with_the_accepted_forms() {
    let out = eddy(
        &["run", "pipelines/iot_alerts.ron", "--speed", "warp"],
        &root(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("10x"));
}
