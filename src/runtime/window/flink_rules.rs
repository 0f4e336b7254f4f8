//! The window operator against Flink's rules, batch by batch with hand-written timestamps and
//! watermarks (as Flink's `WindowOperatorTest` drives its operator): late firings per late row,
//! a fired session that a late row extends, early results as the continuous trigger gives them,
//! and keys freed with their windows.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{ArrayRef, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::accumulate::Aggregates;
use super::assign::Assigner;
use super::keyed_state::KeyTable;
use super::time_windows::{TimeWindowConfig, TimeWindowOperator};
use crate::expr::plan_aggregate;
use crate::model::time::RowTime;
use crate::runtime::contract::{
    Captured, InstanceMetrics, MAX_WATERMARK, Message, Operator, Output,
};
use crate::runtime::keys::KeyEncoder;

fn input_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new("ts", crate::model::columns::timestamp_type(), false),
    ]))
}

fn rows(rows: &[(&str, i64)]) -> RecordBatch {
    let keys: Vec<&str> = rows.iter().map(|(k, _)| *k).collect();
    let times: Vec<i64> = rows.iter().map(|(_, t)| *t).collect();
    RecordBatch::try_new(
        input_schema(),
        vec![
            Arc::new(StringArray::from(keys)) as ArrayRef,
            Arc::new(TimestampMillisecondArray::from(times)),
        ],
    )
    .unwrap()
}

struct Harness {
    operator: TimeWindowOperator,
    out: Output,
    captured: Captured,
    metrics: Arc<InstanceMetrics>,
}

fn harness(assigner: Assigner, lateness_ms: i64, early_every_ms: Option<i64>) -> Harness {
    let input = input_schema();
    let spec = plan_aggregate("count(*) AS n", &input).unwrap();
    let output_schema = Arc::new(Schema::new(vec![
        Field::new("k", DataType::Utf8, false),
        Field::new(
            "window_start",
            crate::model::columns::timestamp_type(),
            false,
        ),
        Field::new("window_end", crate::model::columns::timestamp_type(), false),
        Field::new("n", DataType::Int64, false),
    ]));
    let mut late_fields: Vec<Field> = input.fields().iter().map(|f| f.as_ref().clone()).collect();
    late_fields.push(Field::new("late_reason", DataType::Utf8, false));
    late_fields.push(Field::new(
        "watermark_at_arrival",
        crate::model::columns::timestamp_type(),
        false,
    ));
    let config = TimeWindowConfig {
        assigner,
        time: RowTime::Event {
            column: 1,
            shift_ms: 0,
        },
        allowed_lateness_ms: lateness_ms,
        early_every_ms,
        aggregates: Aggregates::new(&[spec]),
        output_schema,
        late_schema: Arc::new(Schema::new(late_fields)),
        trace: None,
    };
    let keys = KeyTable::new(KeyEncoder::new(&input, &["k".to_string()]).unwrap());
    let metrics = Arc::new(InstanceMetrics::new(1));
    let (out, captured) = Output::capturing(2);
    Harness {
        operator: TimeWindowOperator::new(config, keys, Arc::clone(&metrics)),
        out,
        captured,
        metrics,
    }
}

impl Harness {
    fn batch(&mut self, batch: &[(&str, i64)]) -> &mut Self {
        self.operator
            .on_batch(0, rows(batch), &mut self.out)
            .unwrap();
        self
    }

    fn watermark(&mut self, watermark: i64) -> &mut Self {
        self.operator
            .on_watermark(watermark, &mut self.out)
            .unwrap();
        self
    }

    /// Every result so far as `key [start,end) n`, in the order it came out.
    fn results(&self) -> Vec<String> {
        self.captured
            .messages()
            .into_iter()
            .filter_map(|(port, m)| match m {
                Message::Batch(b) if port == 0 => Some(b),
                _ => None,
            })
            .flat_map(|b| {
                (0..b.num_rows())
                    .map(|r| {
                        let cell = |c: usize| crate::values::cell_text(b.column(c).as_ref(), r);
                        let ms = |c: usize| {
                            b.column(c)
                                .as_any()
                                .downcast_ref::<TimestampMillisecondArray>()
                                .unwrap()
                                .value(r)
                        };
                        format!("{} [{},{}) n={}", cell(0), ms(1), ms(2), cell(3))
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }
}

#[test]
fn a_fired_session_that_a_late_row_extends_fires_again_at_its_new_end() {
    // Flink's EventTimeTrigger.onMerge sets a timer at the merged session's end. Gap 5 s,
    // allowed lateness 10 s, watermark = newest event time - 1 ms after each row.
    let mut h = harness(Assigner::Session { gap: 5_000 }, 10_000, None);
    h.batch(&[("a", 0)]).watermark(-1);
    h.batch(&[("z", 6_000)]).watermark(5_999);
    h.batch(&[("z", 6_200)]).watermark(6_199);
    h.batch(&[("a", 4_000)]).watermark(6_199);
    h.batch(&[("z", 10_000)]).watermark(9_999);
    h.watermark(MAX_WATERMARK);
    assert_eq!(
        h.results(),
        vec!["a [0,5000) n=1", "a [0,9000) n=2", "z [6000,15000) n=3"]
    );
}

#[test]
fn each_late_row_fires_its_window_again_with_that_row_in_it() {
    // Flink's EventTimeTrigger.onElement fires for every element of an already-fired window.
    let mut h = harness(
        Assigner::Tumbling {
            size: 10_000,
            offset: 0,
        },
        10_000,
        None,
    );
    h.batch(&[("a", 1_000)]).watermark(999);
    h.batch(&[("a", 12_000)]).watermark(11_999);
    h.batch(&[("a", 2_000), ("a", 3_000), ("a", 4_000)]);
    assert_eq!(
        h.results(),
        vec![
            "a [0,10000) n=1",
            "a [0,10000) n=2",
            "a [0,10000) n=3",
            "a [0,10000) n=4"
        ]
    );
    assert_eq!(h.metrics.late_firings.load(Relaxed), 3);
}

#[test]
fn early_results_start_from_the_first_row_as_the_continuous_trigger_says() {
    // ContinuousEventTimeTrigger(2 s): the first timer is the row's time rounded down to 2 s plus
    // 2 s; each firing sets the next 2 s on, up to the window's end, where only the final result
    // comes. a@5037 -> early at 6000 and 8000; b@9000 -> 10000 is past [0,10000): none.
    let mut h = harness(
        Assigner::Tumbling {
            size: 10_000,
            offset: 0,
        },
        0,
        Some(2_000),
    );
    h.batch(&[("a", 5_037)]).watermark(5_036);
    h.batch(&[("b", 9_000)]).watermark(8_999);
    h.watermark(MAX_WATERMARK);
    let results = h.results();
    let early_a = results.iter().filter(|r| r.starts_with("a ")).count();
    let early_b = results.iter().filter(|r| r.starts_with("b ")).count();
    assert_eq!((early_a, early_b), (3, 1), "{results:?}");
    assert_eq!(
        results[..2],
        ["a [0,10000) n=1".to_string(), "a [0,10000) n=1".to_string()]
    );
}

#[test]
fn a_key_leaves_the_state_once_its_last_window_is_freed() {
    let mut h = harness(Assigner::Session { gap: 1_000 }, 0, None);
    let ids: Vec<String> = (0..500).map(|i| format!("session-{i}")).collect();
    let batch: Vec<(&str, i64)> = ids.iter().map(|id| (id.as_str(), 10_000)).collect();
    h.batch(&batch);
    assert_eq!(h.metrics.keys.load(Relaxed), 500);
    h.watermark(10_999);
    assert_eq!(
        h.metrics.keys.load(Relaxed),
        0,
        "every session ended and was freed"
    );
    assert_eq!(h.metrics.open_windows.load(Relaxed), 0);
    // A row too late for any window leaves no key behind either.
    h.batch(&[("latecomer", 1)]);
    assert_eq!(h.metrics.keys.load(Relaxed), 0);
    assert_eq!(h.results().len(), 500);
}
