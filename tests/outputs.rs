//! Nothing lost, nothing overwritten: a sink may not write a source's input, the pipeline file,
//! another sink's file, a folder, a special file or (through a symlink) outside its folder; the
//! file sinks of a run commit together, and only when it completes; a stopped or signalled run
//! leaves every previous output as it was.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use eddy::model::check::check_file;
use eddy::model::file::parse;
use eddy::runtime::{RunOptions, RunStatus, Speed, start_pipeline};
use support::scratch;

const INPUT: &str = "ts,a,b\n1000,1,1\n2000,2,0\n3000,3,1\n";

fn source(path: &str) -> String {
    format!(
        r#"(id: "src", kind: Source(CsvFile(path: "{path}", time: EventTime(column: "ts", max_out_of_orderness: "0s"))))"#
    )
}

/// The errors `eddy check` reports for a pipeline with one source and one sink at `sink_path`.
fn sink_errors(dir: &Path, sink_path: &str) -> Vec<String> {
    let ron = format!(
        r#"(format_version: 1, name: "t", nodes: [{}, (id: "out", kind: Sink(CsvFile(path: "{sink_path}")))], edges: ["src.out -> out.in"])"#,
        source("in.csv")
    );
    fs::write(dir.join("p.ron"), ron).unwrap();
    check_file(&dir.join("p.ron"))
        .problems
        .iter()
        .filter(|p| p.is_error())
        .map(|p| p.message.clone())
        .collect()
}

#[test]
fn a_sink_may_not_write_what_the_pipeline_reads_or_is() {
    let dir = scratch("sink-aliases");
    fs::write(dir.join("in.csv"), INPUT).unwrap();
    fs::create_dir_all(dir.join("folder")).unwrap();
    for (path, says) in [
        ("in.csv", "the input of `src`"),
        ("./x/../in.csv", "the input of `src`"),
        ("p.ron", "this pipeline's own file"),
        ("folder", "is a folder"),
    ] {
        let errors = sink_errors(&dir, path);
        assert!(
            errors.iter().any(|e| e.contains(says)),
            "{path}: expected `{says}` in {errors:?}"
        );
    }
    assert!(sink_errors(&dir, "out/fine.csv").is_empty());
}

#[cfg(unix)]
#[test]
fn special_files_and_symlinked_folders_are_refused() {
    let dir = scratch("sink-special");
    fs::write(dir.join("in.csv"), INPUT).unwrap();
    let made = Command::new("mkfifo").arg(dir.join("pipe")).status();
    if made.is_ok_and(|s| s.success()) {
        let errors = sink_errors(&dir, "pipe");
        assert!(
            errors.iter().any(|e| e.contains("not a regular file")),
            "{errors:?}"
        );
    }
    let elsewhere = scratch("sink-special-elsewhere");
    std::os::unix::fs::symlink(&elsewhere, dir.join("link")).unwrap();
    let errors = sink_errors(&dir, "link/out.csv");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("outside the pipeline's folder")),
        "a symlinked folder does not make a path inside: {errors:?}"
    );
    // The symlink to the input is the input.
    std::os::unix::fs::symlink(dir.join("in.csv"), dir.join("alias.csv")).unwrap();
    let errors = sink_errors(&dir, "alias.csv");
    assert!(
        errors.iter().any(|e| e.contains("the input of `src`")),
        "{errors:?}"
    );
}

#[test]
fn two_sinks_on_one_file_are_refused() {
    let dir = scratch("sink-twins");
    fs::write(dir.join("in.csv"), INPUT).unwrap();
    let ron = format!(
        r#"(format_version: 1, name: "t", nodes: [{},
            (id: "one", kind: Sink(CsvFile(path: "out.csv"))),
            (id: "two", kind: Sink(JsonLinesFile(path: "./out.csv")))],
            edges: ["src.out -> one.in", "src.out -> two.in"])"#,
        source("in.csv")
    );
    fs::write(dir.join("p.ron"), ron).unwrap();
    let checked = check_file(&dir.join("p.ron"));
    assert!(
        checked
            .problems
            .iter()
            .any(|p| p.message.contains("also written by `one`")),
        "{:?}",
        checked.problems
    );
}

#[test]
fn a_run_that_fails_in_one_branch_commits_no_sink() {
    let dir = scratch("commit-together");
    fs::write(dir.join("in.csv"), INPUT).unwrap();
    fs::write(dir.join("all.csv"), "old\n").unwrap();
    fs::write(dir.join("derived.csv"), "old\n").unwrap();
    let ron = format!(
        r#"(format_version: 1, name: "t", nodes: [{},
            (id: "all", kind: Sink(CsvFile(path: "all.csv"))),
            (id: "derive", kind: Transform(Map(columns: ["a / b AS ratio"]))),
            (id: "derived", kind: Sink(CsvFile(path: "derived.csv")))],
            edges: ["src.out -> all.in", "src.out -> derive.in", "derive.out -> derived.in"])"#,
        source("in.csv")
    );
    let pipeline = parse(&ron).unwrap();
    let handle = start_pipeline(&pipeline, &dir, RunOptions::default()).unwrap();
    let report = handle.wait();
    let RunStatus::Failed(error) = &report.status else {
        panic!("the division by zero fails the run: {:?}", report.status);
    };
    assert_eq!(error.node.as_deref(), Some("derive"));
    assert_eq!(
        error.row.as_deref(),
        Some("ts=1970-01-01T00:00:02.000Z, a=2, b=0")
    );
    assert_eq!(fs::read_to_string(dir.join("all.csv")).unwrap(), "old\n");
    assert_eq!(
        fs::read_to_string(dir.join("derived.csv")).unwrap(),
        "old\n"
    );
    assert_no_partials(&dir);
}

fn assert_no_partials(dir: &Path) {
    let left: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

const ENDLESS: &str = r#"(format_version: 1, name: "t", nodes: [
    (id: "g", kind: Source(Generator(preset: IotSensors, events_per_sec: 100, keys: 5, seed: 1,
        start_time: "2024-01-01T00:00:00Z", stop_after: Never,
        time: EventTime(column: "event_time", max_out_of_orderness: "1s")))),
    (id: "out", kind: Sink(CsvFile(path: "readings.csv")))],
    edges: ["g.out -> out.in"])"#;

#[test]
fn runs_of_one_pipeline_at_once_each_have_their_own_files_and_a_stop_replaces_nothing() {
    let dir = scratch("two-runs");
    fs::write(dir.join("readings.csv"), "previous\n").unwrap();
    let pipeline = parse(ENDLESS).unwrap();
    let options = || RunOptions {
        speed: Speed::Factor(1.0),
        ..RunOptions::default()
    };
    // Restart in the app: a second run starts while the first is being stopped.
    let first = start_pipeline(&pipeline, &dir, options()).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let second = start_pipeline(&pipeline, &dir, options()).unwrap();
    first.stop();
    std::thread::sleep(Duration::from_millis(400));
    second.stop();
    for report in [first.wait(), second.wait()] {
        assert_eq!(report.status, RunStatus::Stopped);
        assert_eq!(report.outputs.committed, Vec::<std::path::PathBuf>::new());
        assert_eq!(report.outputs.incomplete.len(), 1);
    }
    assert_eq!(
        fs::read_to_string(dir.join("readings.csv")).unwrap(),
        "previous\n"
    );
    let incomplete = fs::read_to_string(dir.join("readings.incomplete.csv")).unwrap();
    assert!(incomplete.starts_with("sensor_id,"), "{incomplete}");
    assert_no_partials(&dir);
}

#[test]
fn a_drained_run_commits_and_an_empty_result_keeps_its_header() {
    let dir = scratch("drain-and-header");
    fs::write(dir.join("in.csv"), INPUT).unwrap();
    let ron = format!(
        r#"(format_version: 1, name: "t", nodes: [{},
            (id: "none", kind: Transform(Filter(predicate: "a > 100"))),
            (id: "out", kind: Sink(CsvFile(path: "empty.csv")))],
            edges: ["src.out -> none.in", "none.out -> out.in"])"#,
        source("in.csv")
    );
    let report = start_pipeline(&parse(&ron).unwrap(), &dir, RunOptions::default())
        .unwrap()
        .wait();
    assert_eq!(report.status, RunStatus::Finished);
    assert_eq!(report.outputs.committed, vec![dir.join("empty.csv")]);
    assert_eq!(
        fs::read_to_string(dir.join("empty.csv")).unwrap(),
        "ts,a,b\n"
    );
    // An endless source drained (what `--for` and `--limit` do) ends complete and commits.
    let handle = start_pipeline(&parse(ENDLESS).unwrap(), &dir, RunOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    handle.drain();
    let report = handle.wait();
    assert_eq!(report.status, RunStatus::Stopped);
    assert_eq!(report.outputs.committed, vec![dir.join("readings.csv")]);
}

#[cfg(unix)]
#[test]
fn a_signalled_run_leaves_the_previous_output_whole_and_no_partial_file() {
    for signal in ["TERM", "INT", "HUP"] {
        let dir = scratch(&format!("signal-{signal}"));
        fs::write(dir.join("p.ron"), ENDLESS).unwrap();
        fs::write(dir.join("readings.csv"), "complete previous output\n").unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args(["run", "p.ron", "--speed", "1x"])
            .current_dir(&dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let sent = Command::new("kill")
            .args([format!("-{signal}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = child.wait().unwrap();
        assert_eq!(
            status.code(),
            Some(130),
            "SIG{signal} is a stop, not a crash"
        );
        assert_eq!(
            fs::read_to_string(dir.join("readings.csv")).unwrap(),
            "complete previous output\n",
            "SIG{signal}"
        );
        assert!(dir.join("readings.incomplete.csv").is_file(), "SIG{signal}");
        assert_no_partials(&dir);
    }
}
