//! Window join: rows of two streams with the same key in the same tumbling or sliding window of
//! event time are joined when the window closes (Flink SQL's window join). Each window's rows wait
//! until the watermark passes its end, then every left row meets every right row of its key; a
//! left join also emits the left rows that met nobody. Results carry `window_start` and
//! `window_end` and tell time by the window's end, as a window's results do.

use std::sync::Arc;

use arrow::datatypes::{Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::{
    JoinType, KeyTypes, LEFT, RIGHT, check_key_list, check_key_pairs, event_times, joined_schema,
};
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Partitioning, Planned, PortInput,
    PortOutput, Ports, Report,
};
use crate::model::kinds::window::{MAX_WINDOWS_PER_ROW, SlidingWindow, TumblingWindow};
use crate::model::kinds::{JoinKind, KindId, NodeKind, PlannedKind};
use crate::model::node::{Family, OUT};
use crate::model::time::{RowTime, TimeAttr};

/// The windows both sides are cut into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinWindow {
    Tumbling(TumblingWindow),
    Sliding(SlidingWindow),
}

/// Two streams joined per key within the same window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowJoin {
    pub left_key: Vec<String>,
    pub right_key: Vec<String>,
    pub window: JoinWindow,
    #[serde(default, skip_serializing_if = "is_inner")]
    pub join: JoinType,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

fn is_inner(join: &JoinType) -> bool {
    join.is_inner()
}

/// The runnable form of a window join.
#[derive(Debug, Clone)]
pub struct PlannedWindowJoin {
    pub left_key: Vec<String>,
    pub right_key: Vec<String>,
    /// Size, slide (the size for tumbling windows) and offset, in ms.
    pub size_ms: i64,
    pub slide_ms: i64,
    pub offset_ms: i64,
    pub join: JoinType,
    pub left_time: RowTime,
    pub right_time: RowTime,
    pub right_columns: Vec<usize>,
    pub right_names: Vec<(String, String)>,
    pub output: SchemaRef,
    pub window: JoinWindow,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Window join",
    family: Family::Join,
    id_stem: "window_join",
    explanation: "Joins two streams on a key within the same tumbling or sliding window of event time, as Flink SQL's window join: when the watermark passes a window's end, every left row of a key meets every right row of that key in the window. A Left join also emits the left rows that met nobody, with NULLs. Results carry window_start and window_end.\nExample: orders and shipments by `order_id` in the same 10-minute window.",
    keywords: "join window tumbling sliding two streams key same window flink",
    default: || {
        NodeKind::Join(JoinKind::Window(WindowJoin {
            left_key: Vec::new(),
            right_key: Vec::new(),
            window: JoinWindow::Tumbling(TumblingWindow {
                size: Duration::from_secs(60),
                offset: Duration::ZERO,
            }),
            join: JoinType::Inner,
            prefix: String::new(),
        }))
    },
};

impl WindowJoin {
    /// (size, slide, offset) in ms.
    fn shape(&self) -> (i64, i64, i64) {
        match &self.window {
            JoinWindow::Tumbling(t) => {
                (t.size.as_millis(), t.size.as_millis(), t.offset.as_millis())
            }
            JoinWindow::Sliding(s) => (
                s.size.as_millis(),
                s.slide.as_millis(),
                s.offset.as_millis(),
            ),
        }
    }
}

impl KindModel for WindowJoin {
    fn kind_id(&self) -> KindId {
        KindId::WindowJoin
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
        let (size, slide, offset) = self.shape();
        if size <= 0 {
            report.error("size", "a window size must be longer than 0s");
        } else if slide <= 0 {
            report.error("slide", "the slide must be longer than 0s");
        } else if slide > size {
            report.error(
                "slide",
                "the slide is longer than the size: rows between windows would meet nobody; use a tumbling window or a shorter slide",
            );
        } else if offset.abs() >= slide {
            report.error("offset", "the offset must be smaller than the slide");
        } else if (size + slide - 1) / slide > MAX_WINDOWS_PER_ROW {
            report.error(
                "slide",
                format!(
                    "each row would be in {} windows; at most {MAX_WINDOWS_PER_ROW} are allowed (use a longer slide)",
                    (size + slide - 1) / slide
                ),
            );
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
            "a window join cuts rows into windows of event time",
            report,
        );
        let (joined, right_columns) = joined_schema(
            &left.schema,
            &right.schema,
            &self.right_key,
            &self.prefix,
            !self.join.is_inner(),
            report,
        )?;
        let taken: Vec<&str> = ["window_start", "window_end"]
            .into_iter()
            .filter(|n| joined.field_with_name(n).is_ok())
            .collect();
        if !taken.is_empty() {
            report.error(
                "prefix",
                format!(
                    "the output starts with window_start and window_end, but the inputs have {}; rename it in a Map first, or set a prefix",
                    taken.join(" and ")
                ),
            );
            return None;
        }
        let [Some(left_time), Some(right_time)] = times else {
            return None;
        };
        if !keys_ok {
            return None;
        }
        let mut fields = vec![
            ArrowField::new("window_start", timestamp_type(), false),
            ArrowField::new("window_end", timestamp_type(), false),
        ];
        fields.extend(joined.fields().iter().map(|f| f.as_ref().clone()));
        let output: SchemaRef = Arc::new(Schema::new(fields));
        let right_names = right_columns
            .iter()
            .map(|&i| {
                let name = right.schema.field(i).name().clone();
                (name.clone(), format!("{}{name}", self.prefix))
            })
            .collect();
        let (size_ms, slide_ms, offset_ms) = self.shape();
        let planned = PlannedWindowJoin {
            left_key: self.left_key.clone(),
            right_key: self.right_key.clone(),
            size_ms,
            slide_ms,
            offset_ms,
            join: self.join,
            left_time,
            right_time,
            right_columns,
            right_names,
            output: Arc::clone(&output),
            window: self.window.clone(),
        };
        let time = TimeAttr::Event {
            column: "window_end".into(),
            shift_ms: -1,
        };
        Some(
            Planned::new(
                PlannedKind::WindowJoin(Box::new(planned)),
                2,
                vec![PortOutput::new(output, time)],
            )
            .partitioned(vec![
                Partitioning::Hash(self.left_key.clone()),
                Partitioning::Hash(self.right_key.clone()),
            ]),
        )
    }

    fn summary(&self) -> String {
        let shape = match &self.window {
            JoinWindow::Tumbling(t) => format!("tumbling {}", t.size),
            JoinWindow::Sliding(s) => format!("sliding {} every {}", s.size, s.slide),
        };
        let join = if self.join.is_inner() {
            ""
        } else {
            "left join "
        };
        format!(
            "{join}on {} = {}, {shape}",
            self.left_key.join(", "),
            self.right_key.join(", ")
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
                "window",
                "The windows both streams are cut into",
                FieldValue::Choice(&mut self.window),
            ),
            Field::new(
                "join",
                "Inner: only rows that met a partner. Left: every left row, with NULLs when it met nobody in its window",
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

impl Choice for JoinWindow {
    fn options(&self) -> Vec<&'static str> {
        vec!["Tumbling", "Sliding"]
    }

    fn selected(&self) -> usize {
        usize::from(matches!(self, JoinWindow::Sliding(_)))
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match self {
            JoinWindow::Tumbling(t) => JoinWindow::Sliding(SlidingWindow {
                size: t.size,
                slide: t.size,
                offset: Duration::ZERO,
            }),
            JoinWindow::Sliding(s) => JoinWindow::Tumbling(TumblingWindow {
                size: s.size,
                offset: Duration::ZERO,
            }),
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            JoinWindow::Tumbling(t) => vec![
                Field::new(
                    "size",
                    "How long each window is",
                    FieldValue::Duration(&mut t.size),
                ),
                Field::new(
                    "offset",
                    "Shifts the windows from the epoch",
                    FieldValue::Duration(&mut t.offset),
                ),
            ],
            JoinWindow::Sliding(s) => vec![
                Field::new(
                    "size",
                    "How long each window is",
                    FieldValue::Duration(&mut s.size),
                ),
                Field::new(
                    "slide",
                    "How often a window starts",
                    FieldValue::Duration(&mut s.slide),
                ),
                Field::new(
                    "offset",
                    "Shifts the windows from the epoch",
                    FieldValue::Duration(&mut s.offset),
                ),
            ],
        }
    }
}
