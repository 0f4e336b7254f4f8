//! The differential test of the Flink export: a pipeline with two CSV sources (ISO-8601 and
//! epoch-millisecond times) and a JSON-lines source (epoch milliseconds as numbers), out of order
//! within the watermark delay, through a union, a filter and a map with SQL functions, a route, a
//! tumbling window with an offset, a sliding window whose slide does not divide its size and a
//! session window; a materialised generator through a tumbling window; a source read twice and
//! deduplicated; a lookup join against a reference table (a missing key, a repeated one) and an
//! interval join (left, both bounds), each followed by a window; a left window join in sliding
//! windows; two patterns (MATCH_RECOGNIZE: a
//! count, navigation and an aggregate in conditions, WITHIN, both skip strategies, a reluctant
//! step, MATCH_ROWTIME() feeding a window) — is run by Eddy, exported with `eddy export --to pyflink`, run on a real Flink (the
//! PyPI package, an in-process mini-cluster on 127.0.0.1), and every sink's rows compared: the same
//! rows, floats within 1e-9 relative. PyFlink is installed into a cached venv the first time
//! (`support::flink`). Skipped, saying so, only when it cannot be installed and
//! `EDDY_REQUIRE_FLINK` is unset (`.ci/run` installs it and sets it).

mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::flink::flink_python_or_skip;
use support::processes::eddy;
use support::scratch;

/// `ts,key,value` rows: `n` rows about 100 ms apart with up to 1.5 s of disorder, five keys.
fn events(seed: u64, n: usize, epoch_millis: bool) -> String {
    let mut state = seed;
    let mut next = move |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut text = String::from("ts,key,value\n");
    let start = 1_704_067_200_000i64; // 2024-01-01T00:00:00Z
    for i in 0..n {
        let t = start + i as i64 * 100 - next(1_500) as i64;
        let when = if epoch_millis { t.to_string() } else { iso(t) };
        let value = next(20_000) as f64 / 1000.0;
        text.push_str(&format!("{when},k{},{value}\n", next(5)));
    }
    text
}

fn iso(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60,
        ms.rem_euclid(1000)
    )
}

const SINKS: [&str; 15] = [
    "hot",
    "tumbling",
    "hopping",
    "sessions",
    "generated",
    "deduplicated",
    "enriched",
    "enriched_per_10s",
    "joined",
    "joined_per_10s",
    "patterns",
    "patterns_per_10s",
    "reluctant",
    "window_joined",
    "enriched_json",
];

fn pipeline(dir: &Path) -> PathBuf {
    fs::write(dir.join("a.csv"), events(3, 3_000, false)).unwrap();
    fs::write(dir.join("b.csv"), events(5, 2_000, true)).unwrap();
    // The same kind of rows as JSON lines, with epoch-millisecond times as numbers.
    let lines: String = events(9, 1_500, true)
        .lines()
        .skip(1)
        .map(|row| {
            let mut parts = row.split(',');
            let (ts, key, value) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            format!("{{\"ts\": {ts}, \"key\": \"{key}\", \"value\": {value}}}\n")
        })
        .collect();
    fs::write(dir.join("c.jsonl"), lines).unwrap();
    // A reference table: k4 is missing (a left join keeps its rows with NULLs) and k1 is listed
    // twice (the later row wins).
    fs::write(
        dir.join("ref.csv"),
        "key,label,weight\nk0,zero,0.5\nk1,one,1\nk2,two,2\nk3,three,3\nk1,uno,1.5\n",
    )
    .unwrap();
    // The same kind of table as JSON lines; k2 is missing, so an inner join drops its rows.
    fs::write(
        dir.join("ref.jsonl"),
        "{\"key\": \"k0\", \"label\": \"zero\", \"weight\": 0.5}\n{\"key\": \"k1\", \"label\": \"one\", \"weight\": 1}\n{\"key\": \"k3\", \"label\": \"three\", \"weight\": 3}\n{\"key\": \"k4\", \"label\": \"four\", \"weight\": 4}\n",
    )
    .unwrap();
    let source = |id: &str, file: &str| {
        format!(
            r#"(id: "{id}", kind: Source(CsvFile(path: "{file}", schema: [(name: "ts", type: Timestamp), (name: "key", type: String), (name: "value", type: Float64)], time: EventTime(column: "ts", max_out_of_orderness: "2s"))))"#
        )
    };
    let sink = |id: &str| {
        format!(r#"(id: "{id}", kind: Sink(CsvFile(path: "out/{id}.csv", header: true)))"#)
    };
    let text = format!(
        r#"(format_version: 1, name: "flink differential", nodes: [
    {},
    {},
    (id: "c", kind: Source(JsonLinesFile(path: "c.jsonl", schema: [(name: "ts", type: Timestamp), (name: "key", type: String), (name: "value", type: Float64)], time: EventTime(column: "ts", max_out_of_orderness: "2s")))),
    (id: "both", kind: Transform(Union(inputs: 3))),
    (id: "kept", kind: Transform(Filter(predicate: "value > 2 AND key <> 'k3' AND length(key) = 2"))),
    (id: "shaped", kind: Transform(Map(columns: ["round(value * 2, 1) AS doubled", "upper(key) AS key_upper", "CASE WHEN value % 2 > 1 THEN 'odd' ELSE 'even' END AS parity"], keep_input_columns: true))),
    (id: "split", kind: Transform(Route(routes: [(name: "hot", predicate: "value > 15")]))),
    (id: "per_10s", kind: Window(window: Tumbling(size: "10s", offset: "3s"), key_by: ["key_upper"], aggregates: ["count(*) AS n", "sum(value) AS total", "max(value) AS hi", "min(doubled) AS lo", "avg(value) AS mean"], emit: OnWatermark)),
    (id: "per_hop", kind: Window(window: Sliding(size: "10s", slide: "4s"), key_by: ["key", "parity"], aggregates: ["count(*) AS n", "sum(value) AS total"], emit: OnWatermark)),
    (id: "per_session", kind: Window(window: Session(gap: "1s"), key_by: ["key"], aggregates: ["count(*) AS n", "max(value) AS hi"], emit: OnWatermark)),
    (id: "gen", kind: Source(Generator(preset: IotSensors, events_per_sec: 50, keys: 4, seed: 11, start_time: "2024-01-01T00:00:00Z", stop_after: EventTime("2m"), time: EventTime(column: "event_time", max_out_of_orderness: "1s")))),
    (id: "gen_per_20s", kind: Window(window: Tumbling(size: "20s"), key_by: ["sensor_id"], aggregates: ["count(*) AS n", "max(temperature) AS hottest"], emit: OnWatermark)),
    (id: "to_bucket", kind: Stream(Firehose(buffering: (size_mib: 1, interval: "1m"),
        transformation: (columns: ["round(value, 1) AS rounded"], keep_input_columns: true, dropped_when: "value < 3"),
        destination: Folder(path: "out/bucket"), format: JsonLines, compression: Uncompressed))),
    (id: "twice", kind: Transform(Union(inputs: 2))),
    (id: "once", kind: Transform(Deduplicate(key_by: ["key", "ts", "value"], within: "1m"))),
    (id: "labelled", kind: Join(Lookup(table: "ref.csv", key: ["key"], table_key: ["key"], join: Left, prefix: "ref_"))),
    (id: "per_label", kind: Window(window: Tumbling(size: "10s"), key_by: ["ref_label"], aggregates: ["count(*) AS n", "sum(ref_weight) AS weight"], emit: OnWatermark)),
    (id: "near", kind: Join(Interval(left_key: ["key"], right_key: ["key"], before: "1s", after: "2s", join: Left, prefix: "b_"))),
    (id: "near_per_10s", kind: Window(window: Tumbling(size: "10s"), key_by: ["key"], aggregates: ["count(*) AS n", "count(b_value) AS met", "sum(b_value) AS b_total"], emit: OnWatermark)),
    (id: "rebound", kind: Pattern(partition_by: ["key"], pattern: "LOW HIGH{{2}}",
        define: [(step: "LOW", condition: "value < 5"), (step: "HIGH", condition: "HIGH.value > LAST(value, 1) AND SUM(HIGH.value) < 40")],
        measures: ["FIRST(LOW.value) AS low", "LAST(HIGH.value) AS high", "COUNT(HIGH.*) AS highs", "AVG(HIGH.value) AS mean_high", "LOW.ts AS started", "MATCH_ROWTIME() AS matched_at"],
        after_match: PastLastRow, within: Some("3s"))),
    (id: "rebound_per_10s", kind: Window(window: Tumbling(size: "10s"), key_by: ["key"], aggregates: ["count(*) AS n", "max(high) AS top"], emit: OnWatermark)),
    (id: "climb", kind: Pattern(partition_by: ["key"], pattern: "A B+? C",
        define: [(step: "A", condition: "A.value > 10"), (step: "C", condition: "C.value > A.value")],
        measures: ["A.value AS a", "C.value AS c", "COUNT(B.*) AS bs", "FIRST(B.ts) AS first_b"],
        within: Some("2s"))),
    (id: "same_window", kind: Join(Window(left_key: ["key"], right_key: ["key"], window: Sliding(size: "10s", slide: "5s"), join: Left, prefix: "b_"))),
    (id: "labelled_json", kind: Join(Lookup(table: "ref.jsonl", format: JsonLines, key: ["key"], table_key: ["key"], prefix: "j_"))),
    {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {},
], edges: [
    "b.out -> labelled_json.in", "labelled_json.out -> enriched_json.in",
    "a.out -> same_window.left", "b.out -> same_window.right", "same_window.out -> window_joined.in",
    "a.out -> rebound.in", "rebound.out -> patterns.in", "rebound.out -> rebound_per_10s.in",
    "rebound_per_10s.out -> patterns_per_10s.in", "b.out -> climb.in", "climb.out -> reluctant.in",
    "a.out -> labelled.in", "labelled.out -> enriched.in", "labelled.out -> per_label.in",
    "per_label.out -> enriched_per_10s.in",
    "a.out -> near.left", "b.out -> near.right", "near.out -> joined.in", "near.out -> near_per_10s.in",
    "near_per_10s.out -> joined_per_10s.in",
    "b.out -> to_bucket.in",
    "a.out -> twice.in1", "a.out -> twice.in2", "twice.out -> once.in", "once.out -> deduplicated.in",
    "a.out -> both.in1", "b.out -> both.in2", "c.out -> both.in3", "both.out -> kept.in", "kept.out -> shaped.in",
    "shaped.out -> split.in", "split.hot -> hot.in", "split.unmatched -> per_10s.in",
    "split.unmatched -> per_hop.in", "split.unmatched -> per_session.in",
    "per_10s.out -> tumbling.in", "per_hop.out -> hopping.in", "per_session.out -> sessions.in",
    "gen.out -> gen_per_20s.in", "gen_per_20s.out -> generated.in",
])"#,
        source("a", "a.csv"),
        source("b", "b.csv"),
        sink("hot"),
        sink("tumbling"),
        sink("hopping"),
        sink("sessions"),
        sink("generated"),
        sink("deduplicated"),
        sink("enriched"),
        sink("enriched_per_10s"),
        sink("joined"),
        sink("joined_per_10s"),
        sink("patterns"),
        sink("patterns_per_10s"),
        sink("reluctant"),
        sink("window_joined"),
        sink("enriched_json"),
    );
    let path = dir.join("differential.ron");
    fs::write(&path, text).unwrap();
    path
}

/// A cell as a comparable value: times to epoch milliseconds, numbers to f64, text as it is.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum Cell {
    Number(f64),
    Text(String),
}

fn cell(text: &str) -> Cell {
    let t = text.trim().trim_matches('"');
    if let Ok(n) = t.parse::<f64>() {
        return Cell::Number(n);
    }
    // `2024-01-01T00:00:10.000Z` (Eddy) or `2024-01-01 00:00:10[.5]` (Flink).
    let normal = t.replace('T', " ").trim_end_matches('Z').to_string();
    if normal.len() >= 19
        && normal.as_bytes().get(4) == Some(&b'-')
        && let Some(ms) = civil_millis(&normal)
    {
        return Cell::Number(ms as f64);
    }
    Cell::Text(t.to_string())
}

fn civil_millis(text: &str) -> Option<i64> {
    let (date, time) = text.split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<i64>());
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let mut t = time.split(':');
    let (h, min) = (
        t.next()?.parse::<i64>().ok()?,
        t.next()?.parse::<i64>().ok()?,
    );
    let secs: f64 = t.next()?.parse().ok()?;
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400 + h * 3600 + min * 60) as f64 * 1000.0 + (secs * 1000.0).round()) as i64)
}

fn rows_of(text: &str, skip_header: bool) -> Vec<Vec<Cell>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(skip_header)
        .from_reader(text.as_bytes());
    let mut rows: Vec<Vec<Cell>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(cell).collect())
        .collect();
    rows.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    rows
}

fn same(a: &Cell, b: &Cell) -> bool {
    match (a, b) {
        (Cell::Number(x), Cell::Number(y)) => {
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-300)
        }
        _ => a == b,
    }
}

/// Every part file Flink wrote into `folder`, concatenated.
fn flink_rows(folder: &Path) -> String {
    let mut text = String::new();
    let mut files: Vec<PathBuf> = fs::read_dir(folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    files.sort();
    for file in files {
        text.push_str(&fs::read_to_string(file).unwrap());
    }
    text
}

#[test]
fn an_exported_pipeline_gives_on_flink_the_rows_it_gives_in_eddy() {
    let Some(python) = flink_python_or_skip() else {
        return;
    };
    let dir = scratch("flink-differential");
    let file = pipeline(&dir);
    let ran = eddy().arg("run").arg(&file).output().unwrap();
    assert!(
        ran.status.success(),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
    let export_dir = dir.join("pyflink");
    let exported = eddy()
        .arg("export")
        .arg(&file)
        .args(["--to", "pyflink", "--out"])
        .arg(&export_dir)
        .arg("--materialize-generators")
        .arg(dir.join("generated_rows"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&exported.stdout).into_owned();
    assert!(
        exported.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&exported.stderr)
    );
    // Every node is exported; what differs is said (part-file folders, headers).
    assert!(!report.contains("not exported)"), "{report}");
    let flink = Command::new(&python)
        .arg(export_dir.join("main.py"))
        .current_dir(&export_dir)
        .output()
        .unwrap();
    assert!(
        flink.status.success(),
        "Flink failed:\n{}",
        String::from_utf8_lossy(&flink.stderr)
    );
    for sink in SINKS {
        let eddy_text = fs::read_to_string(dir.join(format!("out/{sink}.csv"))).unwrap();
        let flink_text = flink_rows(&dir.join(format!("out/{sink}.flink")));
        let (want, got) = (rows_of(&eddy_text, true), rows_of(&flink_text, false));
        assert!(!want.is_empty(), "{sink}: Eddy wrote rows");
        assert_eq!(got.len(), want.len(), "{sink}: rows (Flink / Eddy)");
        eprintln!("{sink}: {} rows, the same in Eddy and Flink", want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b)),
                "{sink}: Flink {g:?}\n   Eddy {w:?}"
            );
        }
    }
    // The Firehose delivered the same records (the transformation's, without the dropped ones),
    // as objects in Eddy and as part files in date and hour folders in Flink.
    let eddy_records = json_lines_under(&dir.join("out/bucket"), &|p| !p.contains(".flink"));
    let flink_records = json_lines_under(&dir.join("out/bucket/to_bucket.flink"), &|p| {
        p.contains("/dt=") && p.contains("/hr=")
    });
    assert!(eddy_records > 1_000, "{eddy_records}");
    assert_eq!(
        flink_records, eddy_records,
        "Firehose records (Flink / Eddy)"
    );
    let _ = fs::remove_dir_all(&dir);
}

/// Lines in the files under `dir` whose paths `keep` accepts (hidden files left out).
fn json_lines_under(dir: &Path, keep: &dyn Fn(&str) -> bool) -> usize {
    let mut count = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            let text = path.display().to_string();
            if path.is_dir() {
                stack.push(path);
            } else if keep(&text) && !entry.file_name().to_string_lossy().starts_with('.') {
                count += fs::read_to_string(&path)
                    .unwrap_or_default()
                    .lines()
                    .count();
            }
        }
    }
    count
}

#[test]
fn iso_times_round_trip() {
    for ms in [0i64, 1_704_067_200_000, 1_704_067_212_345, 951_782_400_000] {
        match cell(&iso(ms)) {
            Cell::Number(n) => assert_eq!(n as i64, ms),
            other => panic!("{other:?}"),
        }
    }
}
