//! `eddy-cep-bench`: throughput of the pattern and interval-join operators, driven directly with
//! Arrow batches (no source, no channels), and the memory of an interval join over keys that are
//! ever new, at two stream lengths — flat memory means the watermark lets state go.
//!
//! `cargo run --release --bin eddy-cep-bench -- [--rows N] [--json]`; `--pattern-only row` or
//! `--pattern-only navigating` runs one pattern workload alone (to profile it).
//!
//! Pattern workloads: 10,000 keys, rows 1 ms apart in event time (keys in a seeded random order),
//! a watermark after every 4,096-row batch; `A B C` with conditions on the row alone
//! (`v < 30`, `v >= 30 AND v < 70`, `v >= 70`), and the same with conditions that navigate the match
//! (`B.v > A.v`, `C.v > LAST(B.v)`), both `WITHIN 10s`, skip past last row. Interval join: two sides
//! of N rows each, rows 1 ms apart, every key used by 4 consecutive rows of each side then never
//! again, a right row meeting the left ones from 1 s before to 1 s after it.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, Float64Array, StringArray, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use eddy::model::duration::Duration;
use eddy::model::kind::{CheckContext, KindModel, PortInput, Report};
use eddy::model::kinds::PlannedKind;
use eddy::model::kinds::join::JoinType;
use eddy::model::kinds::join::interval::IntervalJoin;
use eddy::model::kinds::pattern::{AfterMatch, PatternMatch, StepCondition};
use eddy::model::time::TimeAttr;
use eddy::runtime::contract::{InstanceMetrics, MAX_WATERMARK, Output};
use eddy::runtime::operators::{interval_join, pattern};

const BATCH: usize = 4_096;
const KEYS: u64 = 10_000;

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// A batch of rows `first..first + n`: key, event time (1 ms apart), value 0-100.
fn batch(first: u64, n: usize, key_of: &dyn Fn(u64) -> u64, seed: u64) -> RecordBatch {
    let rows = first..first + n as u64;
    let mix = |i: u64| {
        let mut x = i.wrapping_add(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 31;
        x
    };
    let keys: Vec<String> = rows.clone().map(|i| format!("k{}", key_of(i))).collect();
    let times: Vec<i64> = rows.clone().map(|i| i as i64).collect();
    let values: Vec<f64> = rows.map(|i| (mix(i) % 10_000) as f64 / 100.0).collect();
    RecordBatch::try_from_iter([
        ("k", Arc::new(StringArray::from(keys)) as ArrayRef),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(times)) as ArrayRef,
        ),
        ("v", Arc::new(Float64Array::from(values)) as ArrayRef),
    ])
    .unwrap_or_else(|e| panic!("{e}"))
}

fn time() -> TimeAttr {
    TimeAttr::Event {
        column: "ts".into(),
        shift_ms: 0,
    }
}

fn planned(model: &dyn KindModel, inputs: &[PortInput]) -> PlannedKind {
    let ctx = CheckContext {
        base_dir: Path::new("."),
    };
    let mut report = Report::new("bench");
    model.check(&ctx, &mut report);
    let planned = model.plan(inputs, &ctx, &mut report);
    match planned {
        Some(p) if !report.has_errors() => p.kind,
        _ => panic!("{:?}", report.into_problems()),
    }
}

/// Rows a second through a pattern, and its matches.
fn pattern_run(rows: u64, navigating: bool) -> (f64, u64) {
    let define = if navigating {
        vec![("B", "B.v > A.v"), ("C", "C.v > LAST(B.v)")]
    } else {
        vec![
            ("A", "v < 30"),
            ("B", "v >= 30 AND v < 70"),
            ("C", "v >= 70"),
        ]
    };
    let config = PatternMatch {
        partition_by: vec!["k".into()],
        pattern: "A B C".into(),
        define: define
            .into_iter()
            .map(|(s, c)| StepCondition {
                step: s.into(),
                condition: c.into(),
            })
            .collect(),
        measures: vec!["FIRST(A.v) AS a".into(), "LAST(C.v) AS c".into()],
        after_match: AfterMatch::PastLastRow,
        within: Some(Duration::from_secs(10)),
    };
    let schema: SchemaRef = batch(0, 1, &|i| i, 0).schema();
    let input = PortInput {
        schema: schema.clone(),
        time: time(),
    };
    let PlannedKind::Pattern(p) = planned(&config, &[input]) else {
        panic!("not a pattern");
    };
    let metrics = Arc::new(InstanceMetrics::new(1));
    let mut op = pattern::build(&p, &schema, &metrics, Default::default(), None)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = Output::new(vec![Vec::new(), Vec::new()], Arc::clone(&metrics));
    let key_of = |i: u64| {
        let mut x = i.wrapping_mul(0xD1B5_4A32_D192_ED03);
        x ^= x >> 29;
        x % KEYS
    };
    let batches: Vec<RecordBatch> = (0..rows.div_ceil(BATCH as u64))
        .map(|b| batch(b * BATCH as u64, BATCH, &key_of, 7))
        .collect();
    let started = Instant::now();
    for (b, rows) in batches.into_iter().enumerate() {
        let last = ((b + 1) * BATCH) as i64 - 1;
        op.on_batch(0, rows, &mut out)
            .unwrap_or_else(|e| panic!("{e:?}"));
        op.on_watermark(last, &mut out)
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    op.on_watermark(MAX_WATERMARK, &mut out)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let seconds = started.elapsed().as_secs_f64();
    let matches = metrics.rows_out.load(std::sync::atomic::Ordering::Relaxed);
    (rows as f64 / seconds, matches)
}

/// Rows a second per side through an interval join over ever-new keys, the rows it emitted, the
/// most rows it held, and the process's peak memory.
fn join_run(rows: u64) -> (f64, u64, u64, u64) {
    let config = IntervalJoin {
        left_key: vec!["k".into()],
        right_key: vec!["k".into()],
        before: Duration::from_secs(1),
        after: Duration::from_secs(1),
        join: JoinType::Inner,
        prefix: "r_".into(),
    };
    let schema: SchemaRef = batch(0, 1, &|i| i, 0).schema();
    let inputs = [
        PortInput {
            schema: schema.clone(),
            time: time(),
        },
        PortInput {
            schema: schema.clone(),
            time: time(),
        },
    ];
    let PlannedKind::IntervalJoin(p) = planned(&config, &inputs) else {
        panic!("not an interval join");
    };
    let metrics = Arc::new(InstanceMetrics::new(2));
    let mut op =
        interval_join::build(&p, &schema, &schema, &metrics).unwrap_or_else(|e| panic!("{e}"));
    let mut out = Output::new(vec![Vec::new()], Arc::clone(&metrics));
    let key_of = |i: u64| i / 4;
    let mut most_held = 0u64;
    let mut spent = 0.0;
    for b in 0..rows.div_ceil(BATCH as u64) {
        let first = b * BATCH as u64;
        let (left, right) = (
            batch(first, BATCH, &key_of, 1),
            batch(first, BATCH, &key_of, 2),
        );
        let started = Instant::now();
        op.on_batch(0, left, &mut out)
            .unwrap_or_else(|e| panic!("{e:?}"));
        op.on_batch(1, right, &mut out)
            .unwrap_or_else(|e| panic!("{e:?}"));
        op.on_watermark((first + BATCH as u64) as i64 - 1, &mut out)
            .unwrap_or_else(|e| panic!("{e:?}"));
        spent += started.elapsed().as_secs_f64();
        let held = metrics.held_rows[0].load(std::sync::atomic::Ordering::Relaxed)
            + metrics.held_rows[1].load(std::sync::atomic::Ordering::Relaxed);
        most_held = most_held.max(held);
    }
    let emitted = metrics.rows_out.load(std::sync::atomic::Ordering::Relaxed);
    (rows as f64 / spent, emitted, most_held, peak_rss_bytes())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rows: u64 = args
        .iter()
        .position(|a| a == "--rows")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000_000);
    let json = args.iter().any(|a| a == "--json");
    if let Some(i) = args.iter().position(|a| a == "--join-only") {
        // One join run in its own process, so its peak memory is its own.
        let n: u64 = args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(rows);
        let (per_side, emitted, held, peak) = join_run(n);
        println!("{per_side} {emitted} {held} {peak}");
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--pattern-only") {
        // One pattern workload alone, to profile it.
        let navigating = args.get(i + 1).is_some_and(|w| w == "navigating");
        let (per_sec, matches) = pattern_run(rows, navigating);
        println!("{per_sec:.0} rows/s, {matches} matches");
        return;
    }
    let (row_only, row_only_matches) = pattern_run(rows, false);
    let (navigating, navigating_matches) = pattern_run(rows, true);
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let join = |n: u64| -> (f64, u64, u64, u64) {
        let out = std::process::Command::new(&exe)
            .args(["--join-only", &n.to_string()])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        let v: Vec<f64> = text
            .split_whitespace()
            .filter_map(|x| x.parse().ok())
            .collect();
        (v[0], v[1] as u64, v[2] as u64, v[3] as u64)
    };
    let small = join(rows);
    let large = join(rows * 4);
    if json {
        println!(
            "{{\"rows\": {rows}, \"pattern_row_only_rows_per_sec\": {row_only:.0}, \"pattern_row_only_matches\": {row_only_matches}, \"pattern_navigating_rows_per_sec\": {navigating:.0}, \"pattern_navigating_matches\": {navigating_matches}, \"join_rows_per_sec_per_side\": {:.0}, \"join_peak_bytes\": {}, \"join_most_held\": {}, \"join_4x_rows_per_sec_per_side\": {:.0}, \"join_4x_peak_bytes\": {}, \"join_4x_most_held\": {}}}",
            small.0, small.3, small.2, large.0, large.3, large.2
        );
        return;
    }
    println!("{rows} rows, 10,000 keys, a watermark every {BATCH} rows");
    println!(
        "pattern A B C, conditions on the row:        {:>12.0} rows/s  ({row_only_matches} matches)",
        row_only
    );
    println!(
        "pattern A B C, conditions navigating:        {:>12.0} rows/s  ({navigating_matches} matches)",
        navigating
    );
    println!(
        "interval join, ever-new keys, {rows} a side:  {:>12.0} rows/s a side, {} rows out, at most {} rows held, peak {:.0} MB",
        small.0,
        small.1,
        small.2,
        small.3 as f64 / 1e6
    );
    println!(
        "interval join, ever-new keys, {} a side: {:>12.0} rows/s a side, {} rows out, at most {} rows held, peak {:.0} MB",
        rows * 4,
        large.0,
        large.1,
        large.2,
        large.3 as f64 / 1e6
    );
}
