//! Interval join on hand-written rows: which rows meet by the rule `l − before ≤ r ≤ l + after`,
//! out-of-order and late rows, left joins' rows that met nobody, the watermark held back, state
//! let go, and a checkpoint taken mid-stream.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::*;
use crate::model::duration::Duration;
use crate::model::kind::{CheckContext, KindModel, PortInput, Report};
use crate::model::kinds::PlannedKind;
use crate::model::kinds::join::JoinType;
use crate::model::kinds::join::interval::IntervalJoin;
use crate::model::time::TimeAttr;
use crate::runtime::contract::{Captured, Message};
use crate::values::cell_text;

const MINUTE: i64 = 60_000;

fn clicks(rows: &[(&str, i64, &str)]) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        (
            "user",
            Arc::new(StringArray::from(
                rows.iter()
                    .map(|r| Some(r.0).filter(|u| !u.is_empty()))
                    .collect::<Vec<_>>(),
            )) as ArrayRef,
            true,
        ),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )) as ArrayRef,
            true,
        ),
        (
            "ad",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )) as ArrayRef,
            true,
        ),
    ])
    .unwrap()
}

fn purchases(rows: &[(&str, i64, i64)]) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        (
            "user",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.0).collect::<Vec<_>>(),
            )) as ArrayRef,
            true,
        ),
        (
            "ts",
            Arc::new(TimestampMillisecondArray::from(
                rows.iter().map(|r| r.1).collect::<Vec<_>>(),
            )) as ArrayRef,
            true,
        ),
        (
            "amount",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )) as ArrayRef,
            true,
        ),
    ])
    .unwrap()
}

struct Harness {
    op: Box<dyn Operator>,
    out: Output,
    captured: Captured,
    metrics: Arc<InstanceMetrics>,
}

fn harness(before_min: i64, after_min: i64, join: JoinType) -> Harness {
    let config = IntervalJoin {
        left_key: vec!["user".into()],
        right_key: vec!["user".into()],
        before: Duration::from_millis(before_min * MINUTE),
        after: Duration::from_millis(after_min * MINUTE),
        join,
        prefix: "p_".into(),
    };
    let time = TimeAttr::Event {
        column: "ts".into(),
        shift_ms: 0,
    };
    let left: SchemaRef = clicks(&[]).schema();
    let right: SchemaRef = purchases(&[]).schema();
    let inputs = [
        PortInput {
            schema: left.clone(),
            time: time.clone(),
        },
        PortInput {
            schema: right.clone(),
            time,
        },
    ];
    let ctx = CheckContext {
        base_dir: Path::new("."),
    };
    let mut report = Report::new("join");
    config.check(&ctx, &mut report);
    let planned = config.plan(&inputs, &ctx, &mut report);
    assert!(!report.has_errors(), "{:?}", report.into_problems());
    let Some(PlannedKind::IntervalJoin(planned)) = planned.map(|p| p.kind) else {
        panic!("not planned as an interval join");
    };
    let metrics = Arc::new(InstanceMetrics::new(2));
    let op = build(&planned, &left, &right, &metrics).unwrap();
    let (out, captured) = Output::capturing(1);
    Harness {
        op,
        out,
        captured,
        metrics,
    }
}

impl Harness {
    fn left(&mut self, rows: &[(&str, i64, &str)]) {
        self.op.on_batch(0, clicks(rows), &mut self.out).unwrap();
    }

    fn right(&mut self, rows: &[(&str, i64, i64)]) {
        self.op.on_batch(1, purchases(rows), &mut self.out).unwrap();
    }

    fn watermark(&mut self, w: i64) {
        self.op.on_watermark(w, &mut self.out).unwrap();
    }

    /// Every output row as `user ad@minute -> amount@minute`, sorted.
    fn results(&self) -> Vec<String> {
        let mut rows: Vec<String> = self
            .captured
            .batches(0)
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    let cell = |c: usize| {
                        if b.column(c).is_null(r) {
                            "NULL".to_string()
                        } else {
                            cell_text(b.column(c).as_ref(), r)
                        }
                    };
                    let minute = |c: usize| {
                        let a = b
                            .column(c)
                            .as_any()
                            .downcast_ref::<TimestampMillisecondArray>()
                            .unwrap();
                        if a.is_null(r) {
                            "NULL".to_string()
                        } else {
                            (a.value(r) / MINUTE).to_string()
                        }
                    };
                    format!(
                        "{} {}@{} -> {}@{}",
                        cell(0),
                        cell(2),
                        minute(1),
                        cell(4),
                        minute(3)
                    )
                })
            })
            .collect();
        rows.sort();
        rows
    }

    fn watermarks(&self) -> Vec<i64> {
        self.captured
            .messages()
            .into_iter()
            .filter_map(|(_, m)| match m {
                Message::Watermark(w) => Some(w),
                _ => None,
            })
            .collect()
    }
}

#[test]
fn a_purchase_meets_the_clicks_of_its_user_up_to_thirty_minutes_before_it() {
    let mut h = harness(0, 30, JoinType::Inner);
    h.left(&[
        ("ann", 0, "shoes"),
        ("bob", 5 * MINUTE, "hats"),
        ("ann", 20 * MINUTE, "bags"),
    ]);
    // 25 min: after both of ann's clicks (0 and 20) and within 30 min of each.
    // 31 min: 31 after the first click (too late for it), 11 after the second.
    // bob buys 36 min after his click: one minute too late. cat never clicked.
    h.right(&[
        ("ann", 25 * MINUTE, 10),
        ("ann", 31 * MINUTE, 20),
        ("bob", 36 * MINUTE, 30),
        ("cat", 6 * MINUTE, 40),
    ]);
    assert_eq!(
        h.results(),
        vec![
            "ann bags@20 -> 10@25",
            "ann bags@20 -> 20@31",
            "ann shoes@0 -> 10@25",
        ]
    );
}

#[test]
fn the_bounds_are_inclusive_on_both_ends_and_before_reaches_back() {
    let mut h = harness(5, 10, JoinType::Inner);
    h.left(&[("ann", 60 * MINUTE, "x")]);
    h.right(&[
        ("ann", 55 * MINUTE - 1, 1),
        ("ann", 55 * MINUTE, 2),
        ("ann", 70 * MINUTE, 3),
        ("ann", 70 * MINUTE + 1, 4),
    ]);
    let got = h.results();
    assert_eq!(got, vec!["ann x@60 -> 2@55", "ann x@60 -> 3@70"]);
}

#[test]
fn a_purchase_that_arrives_before_its_click_still_meets_it() {
    let mut h = harness(0, 30, JoinType::Inner);
    h.right(&[("ann", 10 * MINUTE, 7)]);
    h.watermark(2 * MINUTE);
    h.left(&[("ann", 3 * MINUTE, "shoes")]);
    assert_eq!(h.results(), vec!["ann shoes@3 -> 7@10"]);
}

#[test]
fn a_row_behind_the_watermark_is_late_and_dropped_but_one_at_it_is_on_time() {
    let mut h = harness(0, 30, JoinType::Inner);
    h.right(&[("ann", 40 * MINUTE, 7)]);
    h.watermark(20 * MINUTE);
    h.left(&[
        ("ann", 20 * MINUTE - 1, "late"),
        ("ann", 20 * MINUTE, "on time"),
    ]);
    assert_eq!(h.results(), vec!["ann on time@20 -> 7@40"]);
    assert_eq!(h.metrics.late_rows.load(Relaxed), 1);
}

#[test]
fn a_left_join_emits_a_click_that_met_nobody_once_its_span_has_passed() {
    let mut h = harness(0, 30, JoinType::Left);
    h.left(&[("ann", 0, "shoes"), ("bob", 0, "hats")]);
    h.right(&[("ann", 10 * MINUTE, 5)]);
    // bob could still buy until 30 min: nothing yet for him.
    h.watermark(30 * MINUTE - 1);
    assert_eq!(h.results(), vec!["ann shoes@0 -> 5@10"]);
    assert_eq!(h.metrics.waiting_rows.load(Relaxed), 1);
    h.watermark(30 * MINUTE);
    assert_eq!(
        h.results(),
        vec!["ann shoes@0 -> 5@10", "bob hats@0 -> NULL@NULL"]
    );
    // ann's click met a partner: it is not emitted again alone.
    h.watermark(MAX_WATERMARK);
    assert_eq!(h.results().len(), 2);
}

#[test]
fn a_null_key_meets_nobody() {
    let mut h = harness(0, 30, JoinType::Left);
    h.left(&[("", 0, "anonymous")]);
    h.right(&[("ann", 0, 5)]);
    assert_eq!(h.results(), vec!["NULL anonymous@0 -> NULL@NULL"]);
}

#[test]
fn results_go_out_under_a_watermark_held_back_by_the_span_after() {
    let mut h = harness(0, 30, JoinType::Inner);
    h.watermark(100 * MINUTE);
    assert_eq!(h.watermarks(), vec![70 * MINUTE - 1]);
    // The earliest result still possible: a click at 70 min met by a purchase at 100 min.
    h.left(&[("ann", 100 * MINUTE, "x")]);
    h.watermark(MAX_WATERMARK);
    assert_eq!(h.watermarks(), vec![70 * MINUTE - 1, MAX_WATERMARK]);
}

#[test]
fn the_watermark_lets_go_of_rows_and_their_batches_once_no_partner_can_come() {
    let mut h = harness(5, 30, JoinType::Inner);
    h.left(&[("ann", 0, "x"), ("bob", 10 * MINUTE, "y")]);
    h.right(&[("cat", 0, 1)]);
    assert_eq!(h.metrics.held_rows[0].load(Relaxed), 2);
    assert_eq!(h.metrics.held_rows[1].load(Relaxed), 1);
    // A right row goes once the watermark is `before` past it; ann's click 30 min after it.
    h.watermark(5 * MINUTE);
    assert_eq!(h.metrics.held_rows[1].load(Relaxed), 0);
    assert_eq!(h.metrics.held_rows[0].load(Relaxed), 2);
    h.watermark(30 * MINUTE);
    assert_eq!(h.metrics.held_rows[0].load(Relaxed), 1);
    h.watermark(40 * MINUTE);
    assert_eq!(h.metrics.held_rows[0].load(Relaxed), 0);
    assert_eq!(h.metrics.keys.load(Relaxed), 0);
    // Three rows met nobody in an inner join: counted, not emitted.
    assert_eq!(h.metrics.unmatched_rows.load(Relaxed), 3);
    assert!(h.results().is_empty());
}

#[test]
fn a_restored_join_goes_on_as_if_never_stopped() {
    let run = |stop_after_first: bool| {
        let mut h = harness(0, 30, JoinType::Left);
        h.left(&[("ann", 0, "shoes"), ("bob", 2 * MINUTE, "hats")]);
        h.right(&[("ann", 5 * MINUTE, 1)]);
        h.watermark(3 * MINUTE);
        let mut before = h.results();
        if stop_after_first {
            let saved = h.op.save_state().unwrap().unwrap();
            let mut fresh = harness(0, 30, JoinType::Left);
            fresh.op.restore_state(&[saved], InstanceOf::ONLY).unwrap();
            h = fresh;
        } else {
            before.clear();
        }
        h.right(&[("ann", 20 * MINUTE, 2), ("bob", 40 * MINUTE, 3)]);
        h.watermark(MAX_WATERMARK);
        let mut all = before;
        all.extend(h.results());
        all.sort();
        all
    };
    let whole = run(false);
    assert_eq!(
        whole,
        vec![
            "ann shoes@0 -> 1@5",
            "ann shoes@0 -> 2@20",
            "bob hats@2 -> NULL@NULL",
        ]
    );
    assert_eq!(run(true), whole);
}
