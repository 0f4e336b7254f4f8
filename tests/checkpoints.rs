//! Checkpoints end to end, through `eddy run` as a user runs it: kill -9 at seeded random moments
//! and `--resume` until the run completes gives byte-identical outputs; a damaged checkpoint falls
//! back to the one before; barriers align over a union of a fast and a slow source while the run
//! is rescaled 2 → 4 → 1; at-least-once mode writes the rows after the last checkpoint again.

mod support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::processes::{Lcg, eddy, kill_9_after, run, spawn};
use support::scratch;

/// The checkpoint lab, copied into `dir` (its outputs go to `dir/out`).
fn lab(dir: &Path) -> PathBuf {
    let text = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/checkpoint_lab.ron"),
    )
    .unwrap();
    let path = dir.join("lab.ron");
    fs::write(&path, text).unwrap();
    path
}

const OUTPUTS: [&str; 2] = ["out/pages_per_minute.csv", "out/checkpoint_sessions.jsonl"];

fn read_outputs(dir: &Path) -> Vec<Vec<u8>> {
    OUTPUTS
        .iter()
        .map(|o| fs::read(dir.join(o)).unwrap_or_else(|e| panic!("{o}: {e}")))
        .collect()
}

fn hidden_files(dir: &Path) -> Vec<String> {
    fs::read_dir(dir.join("out"))
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.') || n.contains("incomplete"))
                .collect()
        })
        .unwrap_or_default()
}

fn newest_checkpoint(dir: &Path) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("chk-") && !name.ends_with(".inprogress")
        })
        .collect();
    found.sort();
    found.pop()
}

#[test]
fn kill_9_at_ten_seeded_moments_then_resume_gives_byte_identical_outputs() {
    let dir = scratch("checkpoint-kill");
    let file = lab(&dir);
    let single = ["--parallelism", "1"];
    let reference = run(&file, &single);
    assert!(reference.status.success());
    let expected = read_outputs(&dir);
    for o in OUTPUTS {
        fs::remove_file(dir.join(o)).unwrap();
    }
    let checkpoints = dir.join("checkpoints");
    let ckdir = checkpoints.to_str().unwrap();
    let paced = ["--parallelism", "1", "--speed", "600x"];
    let mut moments = Lcg(42);
    let mut resumed = 0;
    let mut fell_back = false;
    for attempt in 0..10 {
        let mut args: Vec<&str> = paced.to_vec();
        if attempt == 0 {
            args.extend(["--checkpoint-every", "150ms", "--checkpoint-dir", ckdir]);
        } else {
            args.extend(["--resume", ckdir]);
        }
        let stderr = kill_9_after(spawn(&file, &args), moments.next_in(700, 1500));
        resumed += usize::from(stderr.contains("resuming from checkpoint"));
        fell_back |= stderr.contains("is damaged");
        // Halfway, damage the newest checkpoint: the next resume must use the one before it.
        if attempt == 5
            && let Some(newest) = newest_checkpoint(&checkpoints)
        {
            let state = fs::read_dir(&newest)
                .unwrap()
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|e| e == "state"))
                .unwrap();
            let mut bytes = fs::read(&state).unwrap();
            bytes[0] ^= 0xff;
            fs::write(&state, bytes).unwrap();
            let name = newest.file_name().unwrap().to_string_lossy().into_owned();
            let next = kill_9_after(
                spawn(&file, &[&paced[..], &["--resume", ckdir]].concat()),
                moments.next_in(700, 1500),
            );
            assert!(
                next.contains(&format!("{name} is damaged")),
                "the warning names the damaged checkpoint: {next}"
            );
            fell_back = true;
        }
    }
    let last = run(&file, &["--parallelism", "1", "--resume", ckdir]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    assert!(
        resumed >= 5,
        "most attempts resumed from a checkpoint ({resumed})"
    );
    assert!(fell_back);
    assert!(
        read_outputs(&dir) == expected,
        "the outputs equal an uninterrupted run's, byte for byte"
    );
    assert_eq!(
        hidden_files(&dir),
        Vec::<String>::new(),
        "nothing left behind"
    );
    // The job is finished: resuming again changes nothing.
    let again = run(&file, &["--resume", ckdir]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to resume"));
}

/// Rows of a file as a multiset.
fn counted(bytes: &[u8]) -> BTreeMap<String, i64> {
    let mut rows = BTreeMap::new();
    for line in String::from_utf8_lossy(bytes).lines() {
        *rows.entry(line.to_string()).or_insert(0) += 1;
    }
    rows
}

#[test]
fn at_least_once_writes_the_rows_after_the_last_checkpoint_again_and_counts_them() {
    let dir = scratch("checkpoint-at-least-once");
    let file = lab(&dir);
    assert!(run(&file, &["--parallelism", "1"]).status.success());
    let expected = read_outputs(&dir);
    for o in OUTPUTS {
        fs::remove_file(dir.join(o)).unwrap();
    }
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    // Checkpoints far apart, so rows are written between the last one and the crash.
    let first = [
        "--parallelism",
        "1",
        "--speed",
        "600x",
        "--checkpoint-mode",
        "at-least-once",
        "--checkpoint-every",
        "1500ms",
        "--checkpoint-dir",
        ckdir,
    ];
    kill_9_after(spawn(&file, &first), Duration::from_millis(4_000));
    let resumed = run(&file, &["--parallelism", "1", "--resume", ckdir]);
    let stdout = String::from_utf8_lossy(&resumed.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert!(stderr.contains("at-least-once"), "{stderr}");
    let mut total_again = 0;
    for (output, bytes) in OUTPUTS.iter().zip(&expected) {
        // "out/…: N rows written after the checkpoint stay in the file and are written again"
        let again: i64 = stdout
            .lines()
            .find(|l| l.contains(output) && l.contains("written again"))
            .and_then(|l| l.split(": ").nth(1))
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count for {output} in {stdout}"));
        let got = counted(&fs::read(dir.join(output)).unwrap());
        let want = counted(bytes);
        let mut extra = 0;
        for (row, n) in &got {
            let w = want.get(row).copied().unwrap_or(0);
            assert!(*n >= w, "{output}: row lost: {row}");
            assert!(w > 0, "{output}: a row no uninterrupted run writes: {row}");
            extra += n - w;
        }
        assert_eq!(
            extra, again,
            "{output}: the duplicates are the rows counted"
        );
        total_again += again;
    }
    assert!(
        total_again > 0,
        "the crash came after rows were written past a checkpoint"
    );
}

/// Two generators of one schema at 200 and 4 events a second, unioned, deduplicated (the fast
/// one repeats 5% of its rows; whole readings are the key, so which copy is kept does not depend
/// on the order the union interleaves them), counted per sensor and minute (keyed, so instances
/// split the keys).
const UNION: &str = r#"(
    format_version: 1,
    name: "union of a fast and a slow source",
    nodes: [
        (id: "fast", kind: Source(Generator(preset: IotSensors, events_per_sec: 200, keys: 40,
            seed: 3, duplicate_share: 0.05, start_time: "2024-01-01T00:00:00Z",
            stop_after: EventTime("40m"),
            time: EventTime(column: "event_time", max_out_of_orderness: "2s")))),
        (id: "slow", kind: Source(Generator(preset: IotSensors, events_per_sec: 4, keys: 40,
            seed: 4, start_time: "2024-01-01T00:00:00Z", stop_after: EventTime("40m"),
            time: EventTime(column: "event_time", max_out_of_orderness: "2s")))),
        (id: "both", kind: Transform(Union(inputs: 2))),
        (id: "once", kind: Transform(Deduplicate(key_by: ["sensor_id", "event_time", "temperature"],
            within: "1m"))),
        (id: "per_minute", kind: Window(window: Tumbling(size: "1m"), key_by: ["sensor_id"],
            aggregates: ["count(*) AS readings", "max(temperature) AS hottest",
                "first(site) AS site"], emit: OnWatermark)),
        (id: "counts", kind: Sink(CsvFile(path: "out/counts.csv"))),
    ],
    edges: ["fast.out -> both.in1", "slow.out -> both.in2", "both.out -> once.in",
        "once.out -> per_minute.in", "per_minute.out -> counts.in"],
)"#;

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

#[test]
fn barriers_align_over_a_fast_and_a_slow_input_and_a_rescale_2_4_1_keeps_every_result() {
    let dir = scratch("checkpoint-rescale");
    let file = dir.join("union.ron");
    fs::write(&file, UNION).unwrap();
    let check = eddy().arg("check").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(run(&file, &["--parallelism", "2"]).status.success());
    let expected = sorted_lines(&dir.join("out/counts.csv"));
    fs::remove_file(dir.join("out/counts.csv")).unwrap();
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    // Stop-with-savepoint after a while at 2 instances, again at 4, then finish at 1.
    let first = run(
        &file,
        &[
            "--parallelism",
            "2",
            "--speed",
            "300x",
            "--checkpoint-every",
            "100ms",
            "--checkpoint-dir",
            ckdir,
            "--for",
            "2s",
        ],
    );
    let said = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(said.contains("a savepoint"), "{said}");
    assert!(
        !dir.join("out/counts.csv").exists(),
        "nothing is committed before the end"
    );
    let second = run(
        &file,
        &[
            "--parallelism",
            "4",
            "--speed",
            "300x",
            "--resume",
            ckdir,
            "--for",
            "2s",
        ],
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("resuming from checkpoint"));
    let last = run(&file, &["--parallelism", "1", "--resume", ckdir]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let got = sorted_lines(&dir.join("out/counts.csv"));
    let differ: Vec<_> = got
        .iter()
        .zip(&expected)
        .filter(|(g, e)| g != e)
        .take(3)
        .collect();
    assert!(
        got.len() == expected.len() && differ.is_empty(),
        "{} rows against {}; first differences {differ:?}",
        got.len(),
        expected.len()
    );
    assert_eq!(hidden_files(&dir), Vec::<String>::new());
}

/// Every file under `dir`, by its path relative to `dir`.
fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                found.insert(name, fs::read(&path).unwrap());
            }
        }
    }
    found
}

const FIREHOSE: &str = r#"(
    format_version: 1,
    name: "readings to a bucket",
    nodes: [
        (id: "readings", kind: Source(Generator(preset: IotSensors, events_per_sec: 400, keys: 30,
            seed: 5, start_time: "2024-01-01T00:00:00Z", stop_after: EventTime("30m"),
            time: EventTime(column: "event_time", max_out_of_orderness: "1s")))),
        (id: "delivery", kind: Stream(Firehose(destination: Folder(path: "bucket"),
            buffering: (size_mib: 1, interval: "60s"), format: JsonLines, compression: Gzip))),
    ],
    edges: ["readings.out -> delivery.in"],
)"#;

#[test]
fn a_firehose_killed_and_resumed_delivers_the_same_objects_with_the_same_contents() {
    let dir = scratch("checkpoint-firehose");
    let file = dir.join("firehose.ron");
    fs::write(&file, FIREHOSE).unwrap();
    let reference = run(&file, &[]);
    assert!(
        reference.status.success(),
        "{}",
        String::from_utf8_lossy(&reference.stderr)
    );
    let expected = files_under(&dir.join("bucket"));
    assert!(expected.len() > 10, "{} objects", expected.len());
    fs::remove_dir_all(dir.join("bucket")).unwrap();
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    let mut moments = Lcg(7);
    let mut resumed = 0;
    for attempt in 0..4 {
        let args: Vec<&str> = if attempt == 0 {
            vec![
                "--speed",
                "300x",
                "--checkpoint-every",
                "200ms",
                "--checkpoint-dir",
                ckdir,
            ]
        } else {
            vec!["--speed", "300x", "--resume", ckdir]
        };
        let stderr = kill_9_after(spawn(&file, &args), moments.next_in(800, 1600));
        resumed += usize::from(stderr.contains("resuming from checkpoint"));
    }
    assert!(
        resumed >= 2,
        "the kills came mid-run and the runs resumed ({resumed})"
    );
    let last = run(&file, &["--resume", ckdir]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let got = files_under(&dir.join("bucket"));
    let missing: Vec<_> = expected
        .keys()
        .filter(|k| !got.contains_key(*k))
        .take(3)
        .collect();
    let extra: Vec<_> = got
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .take(3)
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (key, bytes) in &expected {
        assert!(&got[key] == bytes, "{key} differs");
    }
}

#[test]
fn a_changed_pipeline_keeps_the_state_it_can_and_refuses_what_it_cannot_map() {
    let dir = scratch("checkpoint-changed");
    let file = lab(&dir);
    assert!(run(&file, &["--parallelism", "1"]).status.success());
    let expected = read_outputs(&dir);
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    let first = run(
        &file,
        &[
            "--parallelism",
            "1",
            "--speed",
            "600x",
            "--checkpoint-every",
            "100ms",
            "--checkpoint-dir",
            ckdir,
            "--for",
            "1500ms",
        ],
    );
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let shipped = fs::read_to_string(&file).unwrap();
    // Other aggregates: the saved accumulators no longer fit the node.
    let changed = shipped.replacen("\"sum(price) AS spent\",", "", 1);
    assert_ne!(changed, shipped);
    fs::write(&file, &changed).unwrap();
    let refused = run(&file, &["--resume", ckdir]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        stderr.contains("node `per_page`") && stderr.contains("cannot be mapped"),
        "{stderr}"
    );
    // A node removed: its state has nowhere to go.
    let removed = shipped
        .replacen("\"clicks.out -> sessions.in\",", "", 1)
        .replacen("\"sessions.out -> sessions_file.in\",", "", 1);
    let start = removed.find("(\n            id: \"sessions\",").unwrap();
    let end = removed[start..]
        .find("(\n            id: \"pages_file\"")
        .unwrap()
        + start;
    let removed = format!("{}{}", &removed[..start], &removed[end..]);
    let start = removed
        .find("(\n            id: \"sessions_file\",")
        .unwrap();
    let end = removed[start..].find("        ),\n    ],").unwrap() + start + "        ),\n".len();
    let removed = format!("{}{}", &removed[..start], &removed[end..]);
    fs::write(&file, &removed).unwrap();
    let check = eddy().arg("check").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let refused = run(&file, &["--resume", ckdir]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("node `sessions` has state"), "{stderr}");
    // A new node (a Filter, keeping no state, before the page window) is fine: the rest resumes.
    let added = shipped
        .replacen("\"clicks.out -> per_page.in\",", "\"clicks.out -> priced.in\", \"priced.out -> per_page.in\",", 1)
        .replacen(
            "        (\n            id: \"per_page\",",
            "        (\n            id: \"priced\",\n            kind: Transform(Filter(predicate: \"price IS NULL OR price >= 0\")),\n        ),\n        (\n            id: \"per_page\",",
            1,
        );
    fs::write(&file, &added).unwrap();
    let check = eddy().arg("check").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
    let resumed = run(&file, &["--parallelism", "1", "--resume", ckdir]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resuming from checkpoint"));
    assert!(
        read_outputs(&dir) == expected,
        "the new Filter passes every click: the outputs are an uninterrupted run's"
    );
}

/// `ts,sensor,value` over an hour, 20 readings a second, with a malformed row now and then.
fn readings_csv() -> String {
    let mut text = String::from("ts,sensor,value\n");
    for i in 0..72_000u64 {
        let ts = 1_704_067_200_000 + i * 50 - (i % 7) * 100;
        if i % 5_000 == 4_999 {
            text.push_str(&format!("{ts},sensor-{},not-a-number\n", i % 13));
        } else {
            text.push_str(&format!("{ts},sensor-{},{}.{}\n", i % 13, i % 40, i % 10));
        }
    }
    text
}

const FROM_FILE: &str = r#"(
    format_version: 1,
    name: "readings from a file",
    nodes: [
        (id: "readings", kind: Source(CsvFile(path: "readings.csv",
            schema: [(name: "ts", type: Timestamp), (name: "sensor", type: String), (name: "value", type: Float64)],
            time: EventTime(column: "ts", max_out_of_orderness: "1s")))),
        (id: "per_minute", kind: Window(window: Sliding(size: "2m", slide: "30s"), key_by: ["sensor"],
            aggregates: ["count(*) AS n", "avg(value) AS mean", "max(value) AS peak"], emit: OnWatermark)),
        (id: "means", kind: Sink(CsvFile(path: "out/means.csv"))),
        (id: "bad_rows", kind: Sink(CsvFile(path: "out/bad_rows.csv"))),
    ],
    edges: ["readings.out -> per_minute.in", "per_minute.out -> means.in", "readings.errors -> bad_rows.in"],
)"#;

#[test]
fn a_csv_source_resumes_at_its_byte_offset_and_its_bad_rows_are_routed_once() {
    let dir = scratch("checkpoint-csv");
    fs::write(dir.join("readings.csv"), readings_csv()).unwrap();
    let file = dir.join("from_file.ron");
    fs::write(&file, FROM_FILE).unwrap();
    assert!(run(&file, &["--parallelism", "1"]).status.success());
    let outputs = ["out/means.csv", "out/bad_rows.csv"];
    let expected: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| fs::read(dir.join(o)).unwrap())
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&expected[1]).lines().count(),
        1 + 72_000 / 5_000,
        "a header and every malformed row"
    );
    for o in outputs {
        fs::remove_file(dir.join(o)).unwrap();
    }
    let ckdir = dir.join("checkpoints");
    let ckdir = ckdir.to_str().unwrap();
    let mut moments = Lcg(11);
    let mut resumed = 0;
    for attempt in 0..4 {
        let mut args = vec!["--parallelism", "1", "--speed", "1000x"];
        if attempt == 0 {
            args.extend(["--checkpoint-every", "150ms", "--checkpoint-dir", ckdir]);
        } else {
            args.extend(["--resume", ckdir]);
        }
        let stderr = kill_9_after(spawn(&file, &args), moments.next_in(500, 1000));
        resumed += usize::from(stderr.contains("resuming from checkpoint"));
    }
    assert!(resumed >= 2, "{resumed} resumed");
    let last = run(&file, &["--parallelism", "1", "--resume", ckdir]);
    assert!(
        last.status.success(),
        "{}",
        String::from_utf8_lossy(&last.stderr)
    );
    let got: Vec<Vec<u8>> = outputs
        .iter()
        .map(|o| fs::read(dir.join(o)).unwrap())
        .collect();
    assert!(got == expected, "byte for byte as an uninterrupted run");
    assert_eq!(hidden_files(&dir), Vec::<String>::new());
}
