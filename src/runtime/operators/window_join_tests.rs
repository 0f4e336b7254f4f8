//! Window join on hand-written rows: rows of a key in the same window meet when it closes, in
//! tumbling and sliding windows, out of order; late rows; a left join's rows that met nobody; and
//! a checkpoint taken while windows are open.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;

use super::*;
use crate::model::duration::Duration;
use crate::model::kind::{CheckContext, KindModel, PortInput, Report};
use crate::model::kinds::PlannedKind;
use crate::model::kinds::join::JoinType;
use crate::model::kinds::join::window::{JoinWindow, WindowJoin};
use crate::model::kinds::window::{SlidingWindow, TumblingWindow};
use crate::model::time::TimeAttr;
use crate::runtime::contract::{Captured, MAX_WATERMARK};
use crate::values::cell_text;

const MINUTE: i64 = 60_000;

fn rows(rows: &[(&str, i64, i64)]) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        (
            "id",
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
            "n",
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

fn harness(window: JoinWindow, join: JoinType) -> Harness {
    let config = WindowJoin {
        left_key: vec!["id".into()],
        right_key: vec!["id".into()],
        window,
        join,
        prefix: "r_".into(),
    };
    let schema = rows(&[]).schema();
    let time = TimeAttr::Event {
        column: "ts".into(),
        shift_ms: 0,
    };
    let inputs = [
        PortInput {
            schema: schema.clone(),
            time: time.clone(),
        },
        PortInput {
            schema: schema.clone(),
            time,
        },
    ];
    let ctx = CheckContext {
        base_dir: Path::new("."),
    };
    let mut report = Report::new("wj");
    config.check(&ctx, &mut report);
    let planned = config.plan(&inputs, &ctx, &mut report);
    assert!(!report.has_errors(), "{:?}", report.into_problems());
    let Some(PlannedKind::WindowJoin(planned)) = planned.map(|p| p.kind) else {
        panic!("not planned as a window join");
    };
    let metrics = Arc::new(InstanceMetrics::new(2));
    let op = build(&planned, &schema, &schema, &metrics).unwrap();
    let (out, captured) = Output::capturing(1);
    Harness {
        op,
        out,
        captured,
        metrics,
    }
}

fn tumbling(minutes: i64) -> JoinWindow {
    JoinWindow::Tumbling(TumblingWindow {
        size: Duration::from_millis(minutes * MINUTE),
        offset: Duration::ZERO,
    })
}

impl Harness {
    fn side(&mut self, port: usize, r: &[(&str, i64, i64)]) -> &mut Self {
        self.op.on_batch(port, rows(r), &mut self.out).unwrap();
        self
    }

    fn watermark(&mut self, w: i64) -> &mut Self {
        self.op.on_watermark(w, &mut self.out).unwrap();
        self
    }

    /// `start-end id n -> r_n` per output row (minutes), sorted.
    fn results(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .captured
            .batches(0)
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |r| {
                    let minute = |c: usize| {
                        let t = b
                            .column(c)
                            .as_any()
                            .downcast_ref::<TimestampMillisecondArray>()
                            .unwrap()
                            .value(r);
                        t / MINUTE
                    };
                    let cell = |c: usize| {
                        if b.column(c).is_null(r) {
                            "NULL".to_string()
                        } else {
                            cell_text(b.column(c).as_ref(), r)
                        }
                    };
                    format!(
                        "{}-{} {} {} -> {}",
                        minute(0),
                        minute(1),
                        cell(2),
                        cell(4),
                        cell(6)
                    )
                })
            })
            .collect();
        out.sort();
        out
    }
}

#[test]
fn rows_of_a_key_in_the_same_tumbling_window_meet_when_it_closes() {
    let mut h = harness(tumbling(10), JoinType::Inner);
    h.side(
        0,
        &[("a", MINUTE, 1), ("a", 9 * MINUTE, 2), ("b", 2 * MINUTE, 3)],
    );
    // Out of order, and one in the next window that meets nobody.
    h.side(
        1,
        &[
            ("a", 5 * MINUTE, 10),
            ("a", 12 * MINUTE, 11),
            ("c", 3 * MINUTE, 12),
        ],
    );
    h.watermark(10 * MINUTE - 2);
    assert!(h.results().is_empty(), "the window is not closed yet");
    h.watermark(10 * MINUTE - 1);
    assert_eq!(h.results(), ["0-10 a 1 -> 10", "0-10 a 2 -> 10"]);
    h.watermark(MAX_WATERMARK);
    assert_eq!(h.results().len(), 2);
    // b, c and the second a met nobody.
    assert_eq!(h.metrics.unmatched_rows.load(Relaxed), 3);
}

#[test]
fn sliding_windows_join_a_pair_once_per_window_they_share() {
    let window = JoinWindow::Sliding(SlidingWindow {
        size: Duration::from_millis(10 * MINUTE),
        slide: Duration::from_millis(5 * MINUTE),
        offset: Duration::ZERO,
    });
    let mut h = harness(window, JoinType::Inner);
    // 6 and 8 minutes share [0,10) and [5,15); 8 and 14 share [5,15) and [10,20).
    h.side(0, &[("a", 6 * MINUTE, 1)]);
    h.side(1, &[("a", 8 * MINUTE, 2), ("a", 14 * MINUTE, 3)]);
    h.watermark(MAX_WATERMARK);
    assert_eq!(
        h.results(),
        ["0-10 a 1 -> 2", "5-15 a 1 -> 2", "5-15 a 1 -> 3"]
    );
}

#[test]
fn a_left_join_keeps_a_row_alone_in_its_window_and_late_rows_are_dropped() {
    let mut h = harness(tumbling(10), JoinType::Left);
    h.side(0, &[("a", MINUTE, 1), ("b", MINUTE, 2)]);
    h.side(1, &[("a", 2 * MINUTE, 10)]);
    h.watermark(10 * MINUTE);
    // Its window closed: late.
    h.side(1, &[("b", 3 * MINUTE, 20)]);
    h.watermark(MAX_WATERMARK);
    assert_eq!(h.results(), ["0-10 a 1 -> 10", "0-10 b 2 -> NULL"]);
    assert_eq!(h.metrics.late_rows.load(Relaxed), 1);
    assert_eq!(h.metrics.held_rows[0].load(Relaxed), 0);
}

#[test]
fn a_restored_window_join_goes_on_as_if_never_stopped() {
    let run = |stop: bool| {
        let mut h = harness(tumbling(10), JoinType::Left);
        h.side(0, &[("a", MINUTE, 1), ("b", 11 * MINUTE, 2)]);
        h.side(1, &[("a", 2 * MINUTE, 10)]);
        h.watermark(5 * MINUTE);
        if stop {
            let saved = h.op.save_state().unwrap().unwrap();
            let mut fresh = harness(tumbling(10), JoinType::Left);
            fresh.op.restore_state(&[saved], InstanceOf::ONLY).unwrap();
            h = fresh;
        }
        h.side(1, &[("a", 3 * MINUTE, 11), ("b", 12 * MINUTE, 12)]);
        h.watermark(MAX_WATERMARK);
        h.results()
    };
    assert_eq!(
        run(false),
        ["0-10 a 1 -> 10", "0-10 a 1 -> 11", "10-20 b 2 -> 12"]
    );
    assert_eq!(run(true), run(false));
}
