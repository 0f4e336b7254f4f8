//! Interval join: a left row meets every right row with the same key whose event time lies within
//! `[left − before, left + after]` — Flink's interval join (`b.ts BETWEEN a.ts − lower AND
//! a.ts + upper`). Rows wait in state until the watermark passes their interval, so state is
//! bounded by the interval; a left join emits a left row without a partner once that happens.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use serde::{Deserialize, Serialize};

use super::{
    JoinType, KeyTypes, LEFT, RIGHT, check_key_list, check_key_pairs, event_times, joined_schema,
};
use crate::model::duration::Duration;
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Partitioning, Planned, PortInput,
    PortOutput, Ports, Report,
};
use crate::model::kinds::{JoinKind, KindId, NodeKind, PlannedKind};
use crate::model::node::{Family, OUT};
use crate::model::time::RowTime;

/// Spans longer than this are refused: a year of rows held per key is a mistake, not a join.
pub const MAX_SPAN_MS: i64 = 366 * 24 * 3_600_000;

/// Two streams matched on keys within a span of event time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalJoin {
    /// The left stream's key columns, e.g. `["user_id"]`.
    pub left_key: Vec<String>,
    /// The right stream's key columns, in the same order and of the same types.
    pub right_key: Vec<String>,
    /// How far before a left row a right row may lie.
    pub before: Duration,
    /// How far after a left row a right row may lie.
    pub after: Duration,
    #[serde(default, skip_serializing_if = "is_inner")]
    pub join: JoinType,
    /// Put in front of the right side's column names, e.g. `purchase_`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

fn is_inner(join: &JoinType) -> bool {
    join.is_inner()
}

/// The runnable form of an interval join.
#[derive(Debug, Clone)]
pub struct PlannedIntervalJoin {
    pub left_key: Vec<String>,
    pub right_key: Vec<String>,
    pub before_ms: i64,
    pub after_ms: i64,
    pub join: JoinType,
    pub left_time: RowTime,
    pub right_time: RowTime,
    /// The right columns that come out (all but its keys), by index.
    pub right_columns: Vec<usize>,
    pub output: SchemaRef,
    /// The name of the left time column and of each right column kept, as the output names them:
    /// what the Flink export writes.
    pub right_names: Vec<(String, String)>,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Interval join",
    family: Family::Join,
    id_stem: "join",
    explanation: "Joins two streams on a key when their event times are close: a right row meets a left row when it lies between `before` and `after` it. Rows wait in state until the watermark passes their span, then are let go; a Left join also emits the left rows that met nobody, with NULLs.\nExample: ad clicks (left) and purchases (right) by `user_id`, before `0s`, after `30m` — which clicks led to a purchase.",
    keywords: "join interval between two streams match key enrich correlate attribution clicks purchases flink",
    default: || {
        NodeKind::Join(JoinKind::Interval(IntervalJoin {
            left_key: Vec::new(),
            right_key: Vec::new(),
            before: Duration::ZERO,
            after: Duration::from_secs(30 * 60),
            join: JoinType::Inner,
            prefix: String::new(),
        }))
    },
};

impl KindModel for IntervalJoin {
    fn kind_id(&self) -> KindId {
        KindId::IntervalJoin
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![LEFT.into(), RIGHT.into()],
            outputs: vec![OutputPort::new(OUT)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        check_key_list(&self.left_key, "left_key", "left", report);
        check_key_list(&self.right_key, "right_key", "right", report);
        for (field, span) in [("before", self.before), ("after", self.after)] {
            if span.as_millis() < 0 || span.as_millis() > MAX_SPAN_MS {
                report.error(
                    field,
                    format!("the span must lie between 0s and 366d, not {span}"),
                );
            }
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let [left, right] = inputs else {
            return None;
        };
        let keys_ok = check_key_pairs(
            (&left.schema, &self.left_key, "left_key"),
            (&right.schema, &self.right_key, "right_key"),
            KeyTypes::Same,
            report,
        );
        let times = event_times(
            [left, right],
            "an interval join matches rows by event time",
            report,
        );
        let (output, right_columns) = joined_schema(
            &left.schema,
            &right.schema,
            &self.right_key,
            &self.prefix,
            !self.join.is_inner(),
            report,
        )?;
        let [Some(left_time), Some(right_time)] = times else {
            return None;
        };
        if !keys_ok {
            return None;
        }
        let right_names = right_columns
            .iter()
            .map(|&i| {
                let name = right.schema.field(i).name().clone();
                (name.clone(), format!("{}{name}", self.prefix))
            })
            .collect();
        let planned = PlannedIntervalJoin {
            left_key: self.left_key.clone(),
            right_key: self.right_key.clone(),
            before_ms: self.before.as_millis(),
            after_ms: self.after.as_millis(),
            join: self.join,
            left_time,
            right_time,
            right_columns,
            output: Arc::clone(&output),
            right_names,
        };
        Some(
            Planned::new(
                PlannedKind::IntervalJoin(Box::new(planned)),
                2,
                vec![PortOutput::new(output, left.time.clone())],
            )
            .partitioned(vec![
                Partitioning::Hash(self.left_key.clone()),
                Partitioning::Hash(self.right_key.clone()),
            ]),
        )
    }

    fn summary(&self) -> String {
        let join = match self.join {
            JoinType::Inner => "",
            JoinType::Left => "left join ",
        };
        format!(
            "{join}on {} = {}, right from −{} to +{}",
            self.left_key.join(", "),
            self.right_key.join(", "),
            self.before,
            self.after
        )
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "left key",
                "The left stream's columns to match on",
                FieldValue::Columns(&mut self.left_key),
            ),
            Field::new(
                "right key",
                "The right stream's columns, in the same order and of the same types",
                FieldValue::Columns(&mut self.right_key),
            ),
            Field::new(
                "before",
                "A right row may lie this far before the left row, in event time",
                FieldValue::Duration(&mut self.before),
            ),
            Field::new(
                "after",
                "A right row may lie this far after the left row, in event time",
                FieldValue::Duration(&mut self.after),
            ),
            Field::new(
                "join",
                "Inner: only rows that met a partner. Left: every left row, with NULLs when it met nobody",
                FieldValue::Choice(&mut self.join),
            ),
            Field::new(
                "prefix",
                "Put in front of the right side's column names, so no name is taken twice",
                FieldValue::Text(&mut self.prefix),
            ),
        ]
    }
}
