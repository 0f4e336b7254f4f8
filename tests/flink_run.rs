//! `eddy flink run` as a user runs it: without PyFlink or with a JobManager that does not answer it
//! fails at once saying what is missing; on a real session cluster (Flink 2.3.0 from the PyPI
//! package, one JobManager and one TaskManager started by this test on 127.0.0.1 and stopped by
//! their PIDs, as flink-cluster.md describes) it runs the exported job, follows it to FINISHED
//! with its records per vertex, and the job writes the rows Eddy writes. The cluster part is
//! skipped, saying so, only when PyFlink cannot be installed and `EDDY_REQUIRE_FLINK` is unset.

mod support;

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use eddy::export::flink_progress::FlinkProgress;
use support::flink::flink_python_or_skip;
use support::processes::eddy;
use support::scratch;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// The body of `GET path` on 127.0.0.1:`port`, or nothing.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    if stream.write_all(request.as_bytes()).is_ok() {
        let _ = stream.read_to_string(&mut answer);
    }
    answer
}

/// A standalone session cluster; dropping it stops its daemons by PID.
struct Cluster {
    conf: PathBuf,
    home: PathBuf,
    rest_port: u16,
}

impl Cluster {
    fn start(python: &Path, dir: &Path) -> Cluster {
        let home = PathBuf::from(
            String::from_utf8(
                Command::new(python)
                    .args([
                        "-c",
                        "import os, pyflink; print(os.path.dirname(pyflink.__file__))",
                    ])
                    .output()
                    .unwrap()
                    .stdout,
            )
            .unwrap()
            .trim(),
        );
        let conf = dir.join("conf");
        fs::create_dir_all(&conf).unwrap();
        for sub in ["log", "pid", "upload", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // The package's Java options (the --add-opens Java 17 needs), the rest on 127.0.0.1.
        let shipped = fs::read_to_string(home.join("conf/config.yaml")).unwrap();
        let java_opts = shipped
            .lines()
            .find(|l| l.trim_start().starts_with("all:"))
            .map(|l| l.trim_start().trim_start_matches("all:").trim().to_string())
            .unwrap_or_default();
        let rest_port = free_port();
        let config = format!(
            "env:\n  java:\n    opts:\n      all: {java_opts}\njobmanager:\n  bind-host: 127.0.0.1\n  rpc:\n    address: 127.0.0.1\n    port: {}\n  memory:\n    process:\n      size: 1024m\ntaskmanager:\n  bind-host: 127.0.0.1\n  host: 127.0.0.1\n  numberOfTaskSlots: 2\n  memory:\n    process:\n      size: 1536m\nrest:\n  address: 127.0.0.1\n  bind-address: 127.0.0.1\n  port: {rest_port}\nblob:\n  server:\n    port: {}\nparallelism:\n  default: 1\nweb:\n  upload:\n    dir: {}\nio:\n  tmp:\n    dirs: {}\n",
            free_port(),
            free_port(),
            dir.join("upload").display(),
            dir.join("tmp").display(),
        );
        fs::write(conf.join("config.yaml"), config).unwrap();
        fs::write(conf.join("masters"), "127.0.0.1\n").unwrap();
        fs::write(conf.join("workers"), "127.0.0.1\n").unwrap();
        let started = Command::new(home.join("bin/start-cluster.sh"))
            .env("FLINK_HOME", &home)
            .env("FLINK_CONF_DIR", &conf)
            .env("FLINK_LOG_DIR", dir.join("log"))
            .env("FLINK_PID_DIR", dir.join("pid"))
            .output()
            .unwrap();
        let cluster = Cluster {
            conf,
            home,
            rest_port,
        };
        assert!(
            started.status.success(),
            "start-cluster.sh: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        let since = Instant::now();
        loop {
            let overview = http_get(rest_port, "/overview");
            if overview.contains("\"slots-total\":2") {
                break;
            }
            assert!(
                since.elapsed() < Duration::from_secs(120),
                "the cluster did not come up: {overview}"
            );
            std::thread::sleep(Duration::from_millis(500));
        }
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The daemons' command lines carry our configuration directory: that is how they are found.
        let pids = Command::new("pgrep")
            .args(["-f", &self.conf.display().to_string()])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
        let _ = &self.home;
    }
}

fn pipeline(dir: &Path) -> PathBuf {
    pipeline_of(dir, 2_000)
}

/// The pipeline over `count` events, 250 ms apart.
fn pipeline_of(dir: &Path, count: i64) -> PathBuf {
    let mut rows = String::from("ts,key,value\n");
    for i in 0..count {
        rows.push_str(&format!(
            "{},k{},{}\n",
            1_704_067_200_000 + i * 250,
            i % 7,
            (i * 37 % 1000) as f64 / 10.0
        ));
    }
    fs::write(dir.join("events.csv"), rows).unwrap();
    let text = r#"(format_version: 1, name: "per key per 10 s", nodes: [
    (id: "events", kind: Source(CsvFile(path: "events.csv", schema: [(name: "ts", type: Timestamp), (name: "key", type: String), (name: "value", type: Float64)], time: EventTime(column: "ts", max_out_of_orderness: "1s")))),
    (id: "per_10s", kind: Window(window: Tumbling(size: "10s"), key_by: ["key"], aggregates: ["count(*) AS n", "sum(value) AS total"], emit: OnWatermark)),
    (id: "totals", kind: Sink(CsvFile(path: "out/totals.csv", header: true))),
], edges: ["events.out -> per_10s.in", "per_10s.out -> totals.in"])"#;
    let path = dir.join("per_key.ron");
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn without_pyflink_or_a_jobmanager_it_fails_at_once_saying_what_is_missing() {
    let dir = scratch("flink-run-missing");
    let file = pipeline(&dir);
    let out = eddy()
        .args(["flink", "run"])
        .arg(&file)
        .env("EDDY_FLINK_PYTHON", dir.join("no-such-python"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("PyFlink is not installed"), "{stderr}");
    assert!(stderr.contains("pip install apache-flink"), "{stderr}");
    let port = free_port();
    let started = Instant::now();
    let out = eddy()
        .args(["flink", "run"])
        .arg(&file)
        .args(["--jobmanager", &format!("http://127.0.0.1:{port}")])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "no Flink JobManager answers at http://127.0.0.1:{port}"
        )),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "it fails fast");
}

#[test]
fn a_job_on_a_session_cluster_is_followed_to_the_end_and_writes_what_eddy_writes() {
    let Some(python) = flink_python_or_skip() else {
        return;
    };
    let dir = scratch("flink-run-cluster");
    let file = pipeline(&dir);
    let ran = eddy().arg("run").arg(&file).output().unwrap();
    assert!(ran.status.success());
    let cluster = Cluster::start(&python, &dir.join("cluster"));
    let out = eddy()
        .args(["flink", "run"])
        .arg(&file)
        .args([
            "--jobmanager",
            &format!("http://127.0.0.1:{}", cluster.rest_port),
            "--progress-json",
        ])
        .env("EDDY_FLINK_PYTHON", &python)
        .output()
        .unwrap();
    drop(cluster);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(": FINISHED after"), "{stderr}");
    assert!(stderr.contains("written"), "records per vertex: {stderr}");
    assert_progress_ends_finished_with_counts(&String::from_utf8_lossy(&out.stdout));
    let eddy_rows = fs::read_to_string(dir.join("out/totals.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let mut flink_rows = 0;
    for part in fs::read_dir(dir.join("out/totals.flink"))
        .unwrap()
        .flatten()
    {
        if !part.file_name().to_string_lossy().starts_with('.') {
            flink_rows += fs::read_to_string(part.path()).unwrap().lines().count();
        }
    }
    assert!(eddy_rows > 100);
    assert_eq!(
        flink_rows, eddy_rows,
        "the cluster's job wrote the rows Eddy wrote"
    );
}

/// The progress lines say the job finished, with records at the source and the sink nodes.
fn assert_progress_ends_finished_with_counts(stdout: &str) {
    let progress: Vec<FlinkProgress> = stdout.lines().filter_map(FlinkProgress::parse).collect();
    let last = progress.last().expect("progress lines on standard output");
    assert_eq!(last.state, "FINISHED", "{stdout}");
    // The source's vertex read the file's 2,000 rows (and its end) and passed rows on. Flink
    // names no table in a filesystem sink's vertex, so the sink node has no counts of its own.
    assert!(
        last.nodes
            .get("events")
            .is_some_and(|c| c.read >= 2_000 && c.written > 0),
        "{last:?}"
    );
    assert!(!last.nodes.contains_key("totals"), "{last:?}");
    assert!(
        !last.nodes.contains_key("per_10s"),
        "a window is no table of its own"
    );
}

#[test]
fn a_local_run_is_followed_through_its_mini_clusters_rest_api() {
    let Some(python) = flink_python_or_skip() else {
        return;
    };
    let dir = scratch("flink-run-local");
    // Enough rows for the job to be seen running before the mini-cluster goes with it.
    let file = pipeline_of(&dir, 400_000);
    let out = eddy()
        .args(["flink", "run", "--progress-json"])
        .arg(&file)
        .env("EDDY_FLINK_PYTHON", &python)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The mini-cluster goes with the program, so the last look is while the job was alive.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let progress: Vec<FlinkProgress> = stdout.lines().filter_map(FlinkProgress::parse).collect();
    assert!(!progress.is_empty(), "the job was followed: {stderr}");
    assert!(
        progress
            .iter()
            .any(|p| p.state == "RUNNING" && p.nodes.contains_key("events")),
        "{progress:?}"
    );
    assert!(stderr.contains("eddy: job "), "its state is told: {stderr}");
}
