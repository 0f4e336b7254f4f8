//! Sliding windows by slices against the per-window operator, which follows Flink's
//! `WindowOperator` rule for rule: on seeded out-of-order data with late rows, allowed lateness
//! and several keys, every result (on time, late firings) and every late row is the same, in the
//! same order, floats within 1e-9 relative; with slides that divide the size and slides that do
//! not (slices of the greatest common divisor), and an offset. Plus Flink SQL's HOP example.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Float64Array, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::accumulate::Aggregates;
use super::assign::Assigner;
use super::keyed_state::KeyTable;
use super::sliced::{SliceShape, SlicedWindowOperator};
use super::time_windows::{TimeWindowConfig, TimeWindowOperator};
use crate::expr::plan_aggregate;
use crate::model::columns::timestamp_type;
use crate::model::time::RowTime;
use crate::runtime::contract::{Captured, InstanceMetrics, MAX_WATERMARK, Operator, Output};
use crate::runtime::keys::KeyEncoder;

const AGGREGATES: [&str; 5] = [
    "count(*) AS n",
    "sum(v) AS total",
    "max(v) AS hi",
    "avg(v) AS mean",
    "first_value(v) AS first",
];

fn input_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("ts", timestamp_type(), false),
        Field::new("v", DataType::Float64, false),
    ]))
}

fn config(size: i64, slide: i64, offset: i64, lateness: i64) -> TimeWindowConfig {
    let input = input_schema();
    let specs: Vec<_> = AGGREGATES
        .iter()
        .map(|a| plan_aggregate(a, &input).unwrap())
        .collect();
    let mut fields = vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("window_start", timestamp_type(), false),
        Field::new("window_end", timestamp_type(), false),
        Field::new("n", DataType::Int64, false),
    ];
    for name in ["total", "hi", "mean", "first"] {
        fields.push(Field::new(name, DataType::Float64, true));
    }
    let mut late_fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    late_fields.push(Field::new("late_reason", DataType::Utf8, false));
    late_fields.push(Field::new("watermark_at_arrival", timestamp_type(), false));
    TimeWindowConfig {
        assigner: Assigner::Sliding {
            size,
            slide,
            offset,
        },
        time: RowTime::Event {
            column: 1,
            shift_ms: 0,
        },
        allowed_lateness_ms: lateness,
        early_every_ms: None,
        aggregates: Aggregates::new(&specs),
        output_schema: Arc::new(Schema::new(fields)),
        late_schema: Arc::new(Schema::new(late_fields)),
        trace: None,
    }
}

fn keys() -> KeyTable {
    KeyTable::new(KeyEncoder::new(&input_schema(), &["k".to_string()]).unwrap())
}

/// Seeded rows in batches, each followed by its watermark: 3 keys, times advancing about 700 ms a
/// row with up to 4 s of disorder, and now and then a row 30 s late.
fn workload(seed: u64) -> Vec<(RecordBatch, i64)> {
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % n
    };
    let mut newest = 1_700_000_000_000i64;
    let mut batches = Vec::new();
    for _ in 0..60 {
        let (mut ks, mut ts, mut vs) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..(1 + next(12)) {
            newest += next(1_400) as i64;
            let t = match next(20) {
                0 => newest - 30_000,
                _ => newest - next(4_000) as i64,
            };
            ks.push(format!("k{}", next(3)));
            ts.push(t);
            vs.push(next(20_000) as f64 / 1000.0 + 0.1);
        }
        let batch = RecordBatch::try_new(
            input_schema(),
            vec![
                Arc::new(StringArray::from(ks)) as ArrayRef,
                Arc::new(TimestampMillisecondArray::from(ts)),
                Arc::new(Float64Array::from(vs)),
            ],
        )
        .unwrap();
        batches.push((batch, newest - 2_001));
    }
    batches
}

fn play(operator: &mut dyn Operator, out: &mut Output, work: &[(RecordBatch, i64)]) {
    for (batch, watermark) in work {
        operator.on_batch(0, batch.clone(), out).unwrap();
        operator.on_watermark(*watermark, out).unwrap();
    }
    operator.on_watermark(MAX_WATERMARK, out).unwrap();
}

/// Results as (key, start, end, count, floats...) and late rows as (key, ts), in order.
type Results = (
    Vec<(String, i64, i64, i64, Vec<Option<f64>>)>,
    Vec<(String, i64)>,
);

fn results(captured: &Captured) -> Results {
    let mut windows = Vec::new();
    for b in captured.batches(0) {
        let k = b.column(0).as_string::<i32>();
        let start = b
            .column(1)
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>();
        let end = b
            .column(2)
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>();
        let n = b.column(3).as_primitive::<Int64Type>();
        for row in 0..b.num_rows() {
            let floats = (4..8)
                .map(|c| {
                    let col = b.column(c).as_primitive::<Float64Type>();
                    col.is_valid(row).then(|| col.value(row))
                })
                .collect();
            windows.push((
                k.value(row).to_string(),
                start.value(row),
                end.value(row),
                n.value(row),
                floats,
            ));
        }
    }
    let mut late = Vec::new();
    for b in captured.batches(1) {
        let k = b.column(0).as_string::<i32>();
        let ts = b
            .column(1)
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>();
        for row in 0..b.num_rows() {
            late.push((k.value(row).to_string(), ts.value(row)));
        }
    }
    (windows, late)
}

fn run_both(size: i64, slide: i64, offset: i64, lateness: i64, seed: u64) -> (Results, Results) {
    let work = workload(seed);
    let (mut out, captured) = Output::capturing(2);
    let mut per_window = TimeWindowOperator::new(
        config(size, slide, offset, lateness),
        keys(),
        Arc::new(InstanceMetrics::new(1)),
    );
    play(&mut per_window, &mut out, &work);
    let expected = results(&captured);
    let (mut out, captured) = Output::capturing(2);
    let mut sliced = SlicedWindowOperator::new(
        config(size, slide, offset, lateness),
        SliceShape::new(size, slide, offset),
        keys(),
        Arc::new(InstanceMetrics::new(1)),
    );
    play(&mut sliced, &mut out, &work);
    (expected, results(&captured))
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-300),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn slices_give_every_result_and_late_row_the_per_window_operator_gives() {
    // (size, slide, offset, allowed lateness): slides dividing the size, a slide that does not
    // (slices of 2 s), one equal to the size, an offset.
    let (mut total_late_rows, mut total_late_firings) = (0, 0);
    for (size, slide, offset, lateness) in [
        (10_000, 2_000, 0, 0),
        (10_000, 4_000, 0, 3_000),
        (60_000, 10_000, 1_000, 5_000),
        (5_000, 5_000, 0, 0),
        (9_000, 6_000, 500, 20_000),
    ] {
        let (mut late_rows, mut late_firings) = (0, 0);
        for seed in [1, 7, 42] {
            let ((want, want_late), (got, got_late)) =
                run_both(size, slide, offset, lateness, seed);
            let case = format!("size {size} slide {slide} offset {offset} lateness {lateness}");
            assert!(want.len() > 20, "{case}: a workload with results");
            assert_eq!(got_late, want_late, "{case}, seed {seed}: late rows");
            assert_eq!(got.len(), want.len(), "{case}, seed {seed}: result count");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!((&g.0, g.1, g.2, g.3), (&w.0, w.1, w.2, w.3), "{case}");
                assert!(
                    g.4.iter().zip(&w.4).all(|(a, b)| close(*a, *b)),
                    "{case}, seed {seed}: {g:?} vs {w:?}"
                );
            }
            late_rows += want_late.len();
            let mut windows: Vec<_> = want.iter().map(|w| (&w.0, w.1)).collect();
            windows.sort();
            windows.dedup();
            late_firings += want.len() - windows.len();
        }
        total_late_rows += late_rows;
        total_late_firings += late_firings;
    }
    // The comparison covered rows too late for every window, and windows fired again.
    assert!(total_late_rows > 10 && total_late_firings > 10);
}

/// Flink's window TVF documentation: Bid at 08:05 4.00, 08:07 2.00, 08:09 5.00, 08:11 3.00,
/// 08:13 1.00, 08:17 6.00; HOP of 10 minutes every 5 gives 11.00 (08:00–08:10), 15.00
/// (08:05–08:15), 10.00 (08:10–08:20) and 6.00 (08:15–08:25).
#[test]
fn flink_sql_hop_example() {
    let minute = 60_000i64;
    let bids = [
        (5, 4.0),
        (7, 2.0),
        (9, 5.0),
        (11, 3.0),
        (13, 1.0),
        (17, 6.0),
    ];
    let batch = RecordBatch::try_new(
        input_schema(),
        vec![
            Arc::new(StringArray::from(vec!["all"; bids.len()])) as ArrayRef,
            Arc::new(TimestampMillisecondArray::from(
                bids.iter()
                    .map(|(m, _)| 8 * 60 * minute + m * minute)
                    .collect::<Vec<_>>(),
            )),
            Arc::new(Float64Array::from(
                bids.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
            )),
        ],
    )
    .unwrap();
    let (mut out, captured) = Output::capturing(2);
    let mut sliced = SlicedWindowOperator::new(
        config(10 * minute, 5 * minute, 0, 0),
        SliceShape::new(10 * minute, 5 * minute, 0),
        keys(),
        Arc::new(InstanceMetrics::new(1)),
    );
    play(&mut sliced, &mut out, &[(batch, 8 * 60 * minute)]);
    let (windows, late) = results(&captured);
    assert!(late.is_empty());
    let sums: Vec<(i64, i64, Option<f64>)> = windows
        .iter()
        .map(|w| ((w.1 / minute) % 60, (w.2 / minute) % 60, w.4[0]))
        .collect();
    // Windows ending past 08:00 and holding a bid (08:00–08:10 first), in firing order.
    assert_eq!(
        sums,
        vec![
            (0, 10, Some(11.0)),
            (5, 15, Some(15.0)),
            (10, 20, Some(10.0)),
            (15, 25, Some(6.0)),
        ]
    );
}
