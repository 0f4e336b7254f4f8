//! Window nodes: tumbling, sliding, session and count windows over keyed rows, with aggregates,
//! allowed lateness and early results; the `late` port takes rows too late for any window.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind};
use crate::expr::{AggregateFunction, AggregateSpec, plan_aggregate};
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Partitioning, Planned, PortInput,
    PortOutput, Ports, Report, short,
};
use crate::model::node::{Family, IN, LATE, OUT};
use crate::model::time::{RowTime, TimeAttr};

/// Fixed, non-overlapping windows `[start, start + size)`, aligned to the epoch plus `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TumblingWindow {
    pub size: Duration,
    #[serde(default)]
    pub offset: Duration,
}

/// Overlapping windows of `size`, one starting every `slide` (Flink's HOP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlidingWindow {
    pub size: Duration,
    pub slide: Duration,
    #[serde(default)]
    pub offset: Duration,
}

/// A window per burst of activity, closed after `gap` without events for the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionWindow {
    pub gap: Duration,
}

/// A window of every `size` events per key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountWindow {
    pub size: u64,
}

/// The window shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowShape {
    Tumbling(TumblingWindow),
    Sliding(SlidingWindow),
    Session(SessionWindow),
    Count(CountWindow),
}

/// When a window emits its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Emit {
    /// Once, when the watermark passes the window's end (and again for each late firing).
    OnWatermark,
    /// Also an early, partial result every so often while the window is open.
    Early(Duration),
}

/// Groups rows by key into windows and aggregates each window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub window: WindowShape,
    /// Key columns; empty means one window for all rows.
    #[serde(default)]
    pub key_by: Vec<String>,
    /// Items like `count(*) AS trips` or `sum(total_amount) AS revenue`.
    pub aggregates: Vec<String>,
    /// Rows up to this late still update their window (a late firing); later rows go to `late`.
    #[serde(default)]
    pub allowed_lateness: Duration,
    pub emit: Emit,
}

/// Output columns every window result carries.
pub const WINDOW_START: &str = "window_start";
pub const WINDOW_END: &str = "window_end";
/// Extra columns on rows sent to the `late` port.
pub const LATE_REASON: &str = "late_reason";
pub const LATE_WATERMARK: &str = "watermark_at_arrival";

/// The most windows one row may belong to (a sliding window's `size / slide`): each costs state.
pub const MAX_WINDOWS_PER_ROW: i64 = 1_000;

/// The most early results one window may give (`size / every`): a watermark that jumps ahead
/// (at the end of the input) gives them all at once.
pub const MAX_EARLY_RESULTS: i64 = 1_000;

/// The runnable form of a window node.
#[derive(Debug, Clone)]
pub struct PlannedWindow {
    pub config: WindowConfig,
    pub aggregates: Vec<AggregateSpec>,
    pub time: RowTime,
}

/// How many sliding windows hold each row: `size / slide`, rounded up.
fn windows_per_row(s: &SlidingWindow) -> i64 {
    let (size, slide) = (s.size.as_millis(), s.slide.as_millis().max(1));
    (size + slide - 1) / slide
}

fn window(shape: WindowShape) -> NodeKind {
    NodeKind::Window(WindowConfig {
        window: shape,
        key_by: Vec::new(),
        aggregates: vec!["count(*) AS events".to_string()],
        allowed_lateness: Duration::ZERO,
        emit: Emit::OnWatermark,
    })
}

const KEYWORDS: &str =
    "window aggregate group by key count sum avg min max watermark late lateness state flink";

pub const TUMBLING_ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Tumbling window",
    family: Family::Window,
    id_stem: "tumbling",
    explanation: "Cuts time into fixed, back-to-back windows (e.g. every minute) and aggregates each key's rows in each window. A window's result comes out when the watermark passes its end.",
    keywords: KEYWORDS,
    default: || {
        window(WindowShape::Tumbling(TumblingWindow {
            size: Duration::from_secs(60),
            offset: Duration::ZERO,
        }))
    },
};

pub const SLIDING_ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Sliding window",
    family: Family::Window,
    id_stem: "sliding",
    explanation: "Windows of a fixed size that start every `slide` (Flink's HOP): 1-minute windows every 10 s overlap, so each row counts in 6 of them.",
    keywords: KEYWORDS,
    default: || {
        window(WindowShape::Sliding(SlidingWindow {
            size: Duration::from_secs(60),
            slide: Duration::from_secs(10),
            offset: Duration::ZERO,
        }))
    },
};

pub const SESSION_ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Session window",
    family: Family::Window,
    id_stem: "sessions",
    explanation: "A window per burst of activity: it closes after `gap` with no events for the key. Sessions that a late event bridges merge into one.",
    keywords: KEYWORDS,
    default: || {
        window(WindowShape::Session(SessionWindow {
            gap: Duration::from_secs(300),
        }))
    },
};

pub const COUNT_ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Count window",
    family: Family::Window,
    id_stem: "count_window",
    explanation: "A window of every N rows per key, whatever the time.",
    keywords: KEYWORDS,
    default: || window(WindowShape::Count(CountWindow { size: 100 })),
};

impl WindowConfig {
    fn check_shape(&self, report: &mut Report) {
        let positive = |d: Duration| d.as_millis() > 0;
        match &self.window {
            WindowShape::Tumbling(t) => {
                if !positive(t.size) {
                    report.error(
                        "size",
                        format!("a window size must be longer than 0s, not {}", t.size),
                    );
                } else if t.offset.as_millis().abs() >= t.size.as_millis() {
                    report.error(
                        "offset",
                        format!(
                            "the offset ({}) must be smaller than the size ({})",
                            t.offset, t.size
                        ),
                    );
                }
            }
            WindowShape::Sliding(s) => {
                if !positive(s.size) {
                    report.error(
                        "size",
                        format!("a window size must be longer than 0s, not {}", s.size),
                    );
                }
                if !positive(s.slide) {
                    report.error(
                        "slide",
                        format!("the slide must be longer than 0s, not {}", s.slide),
                    );
                } else if s.slide > s.size && positive(s.size) {
                    report.error(
                        "slide",
                        format!(
                            "the slide ({}) is longer than the size ({}): rows between windows would be lost; use a Tumbling window or a shorter slide",
                            s.slide, s.size
                        ),
                    );
                } else if s.offset.as_millis().abs() >= s.slide.as_millis() {
                    report.error(
                        "offset",
                        format!(
                            "the offset ({}) must be smaller than the slide ({})",
                            s.offset, s.slide
                        ),
                    );
                } else if positive(s.size) && windows_per_row(s) > MAX_WINDOWS_PER_ROW {
                    report.error(
                        "slide",
                        format!(
                            "a {} window every {} puts each row in {} windows; at most {MAX_WINDOWS_PER_ROW} are allowed (use a longer slide)",
                            s.size,
                            s.slide,
                            windows_per_row(s)
                        ),
                    );
                }
            }
            WindowShape::Session(s) => {
                if !positive(s.gap) {
                    report.error(
                        "gap",
                        format!("a session gap must be longer than 0s, not {}", s.gap),
                    );
                }
            }
            WindowShape::Count(c) => {
                if c.size == 0 {
                    report.error("size", "a count window needs a size of at least 1");
                }
            }
        }
    }
}

impl KindModel for WindowConfig {
    fn kind_id(&self) -> KindId {
        match self.window {
            WindowShape::Tumbling(_) => KindId::TumblingWindow,
            WindowShape::Sliding(_) => KindId::SlidingWindow,
            WindowShape::Session(_) => KindId::SessionWindow,
            WindowShape::Count(_) => KindId::CountWindow,
        }
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::new(OUT), OutputPort::optional(LATE)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        self.check_shape(report);
        if self.allowed_lateness.as_millis() < 0 {
            report.error("allowed_lateness", "allowed_lateness cannot be negative");
        }
        if let Emit::Early(every) = self.emit {
            let size = match &self.window {
                WindowShape::Tumbling(t) => Some(t.size),
                WindowShape::Sliding(s) => Some(s.size),
                WindowShape::Session(_) | WindowShape::Count(_) => None,
            };
            if every.as_millis() <= 0 {
                report.error("emit", "early results need an interval longer than 0s");
            } else if let Some(size) = size
                && size.as_millis() / every.as_millis() > MAX_EARLY_RESULTS
            {
                report.error(
                    "emit",
                    format!(
                        "early results every {every} in a {size} window would be {} per window; at most {MAX_EARLY_RESULTS} are allowed (use a longer interval)",
                        size.as_millis() / every.as_millis()
                    ),
                );
            }
        }
        let mut keys = HashSet::new();
        for key in &self.key_by {
            if !keys.insert(key) {
                report.error("key_by", format!("the key `{key}` is listed twice"));
            }
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let mut fields = Vec::new();
        let mut ok = true;
        for (i, key) in self.key_by.iter().enumerate() {
            match report.require_key(&input.schema, "key_by", key, Some(i)) {
                Some(field) => fields.push(field.clone()),
                None => ok = false,
            }
        }
        fields.push(ArrowField::new(WINDOW_START, timestamp_type(), false));
        fields.push(ArrowField::new(WINDOW_END, timestamp_type(), false));
        if self.aggregates.is_empty() {
            report.error(
                "aggregates",
                "a window needs at least one aggregate, e.g. `count(*) AS events`",
            );
            ok = false;
        }
        let mut specs = Vec::new();
        for (i, text) in self.aggregates.iter().enumerate() {
            match plan_aggregate(text, &input.schema) {
                Ok(spec) => {
                    if fields.iter().any(|f| f.name() == &spec.name) {
                        report
                            .error(
                                "aggregates",
                                format!("`{}` is already a column of the window's output; choose another name", spec.name),
                            )
                            .item = Some(i);
                        ok = false;
                    }
                    let nullable = !matches!(
                        spec.function,
                        AggregateFunction::Count | AggregateFunction::CountDistinct
                    );
                    fields.push(ArrowField::new(
                        &spec.name,
                        spec.output_type.clone(),
                        nullable,
                    ));
                    specs.push(spec);
                }
                Err(e) => {
                    report.expr("aggregates", Some(i), text, e);
                    ok = false;
                }
            }
        }
        let time = match input.time.row_time(&input.schema) {
            Ok(time) => Some(time),
            Err(why) => {
                report.node_error(format!(
                    "a window needs time, but its rows have none: {why}"
                ));
                None
            }
        };
        if !ok {
            return None;
        }
        let time = time?;
        let mut late_fields: Vec<ArrowField> = input
            .schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        late_fields.push(ArrowField::new(LATE_REASON, DataType::Utf8, false));
        late_fields.push(ArrowField::new(LATE_WATERMARK, timestamp_type(), false));
        let out_time = match &input.time {
            TimeAttr::Event { .. } => TimeAttr::Event {
                column: WINDOW_END.to_string(),
                shift_ms: -1,
            },
            other => other.clone(),
        };
        let partitioning = if self.key_by.is_empty() {
            Partitioning::Forward
        } else {
            Partitioning::Hash(self.key_by.clone())
        };
        let planned = PlannedWindow {
            config: self.clone(),
            aggregates: specs,
            time,
        };
        Some(
            Planned::new(
                PlannedKind::Window(planned),
                1,
                vec![
                    PortOutput::new(Arc::new(Schema::new(fields)), out_time),
                    PortOutput::new(Arc::new(Schema::new(late_fields)), input.time.clone()),
                ],
            )
            .partitioned(vec![partitioning]),
        )
    }

    fn summary(&self) -> String {
        let shape = match &self.window {
            WindowShape::Tumbling(t) => format!("tumbling {}", t.size),
            WindowShape::Sliding(s) => format!("sliding {} every {}", s.size, s.slide),
            WindowShape::Session(s) => format!("session gap {}", s.gap),
            WindowShape::Count(c) => format!("every {} rows", c.size),
        };
        // No key is one global window per span (Flink's windowAll): one instance does all of it.
        let keys = if self.key_by.is_empty() {
            " of all rows (no key, one instance)".to_string()
        } else {
            format!(" by {}", self.key_by.join(", "))
        };
        let aggs: Vec<String> = self
            .aggregates
            .iter()
            .map(|a| {
                a.split(" AS ")
                    .next()
                    .unwrap_or(a)
                    .trim()
                    .replace("(*)", "")
            })
            .collect();
        let early = match self.emit {
            Emit::Early(d) => format!(", early every {d}"),
            Emit::OnWatermark => String::new(),
        };
        short(&format!("{shape}{keys}: {}{early}", aggs.join(", ")), 90)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        let mut fields = match &mut self.window {
            WindowShape::Tumbling(t) => vec![
                Field::new(
                    "size",
                    "Each window spans this much event time",
                    FieldValue::Duration(&mut t.size),
                ),
                Field::new(
                    "offset",
                    "Shifts the window grid (e.g. -8h for days in UTC+8)",
                    FieldValue::Duration(&mut t.offset),
                ),
            ],
            WindowShape::Sliding(s) => vec![
                Field::new(
                    "size",
                    "Each window spans this much event time",
                    FieldValue::Duration(&mut s.size),
                ),
                Field::new(
                    "slide",
                    "A new window starts this often",
                    FieldValue::Duration(&mut s.slide),
                ),
                Field::new(
                    "offset",
                    "Shifts the window grid",
                    FieldValue::Duration(&mut s.offset),
                ),
            ],
            WindowShape::Session(s) => vec![Field::new(
                "gap",
                "A session ends after this long without events",
                FieldValue::Duration(&mut s.gap),
            )],
            WindowShape::Count(c) => vec![Field::new(
                "rows per window",
                "A window fires every this many rows of a key",
                FieldValue::BigCount(&mut c.size),
            )],
        };
        fields.extend([
            Field::new(
                "key by",
                "Each key gets its own windows (keyed state), spread over the instances; none makes one window for all rows, which a single instance runs (Flink's windowAll)",
                FieldValue::Columns(&mut self.key_by),
            ),
            Field::new(
                "aggregates",
                "Each item is an aggregate with a name, e.g. `count(*) AS events`",
                FieldValue::SqlList(&mut self.aggregates, SqlRole::Aggregate),
            ),
            Field::new(
                "allowed lateness",
                "Rows this late still update their window (a late firing); later rows go to `late`",
                FieldValue::Duration(&mut self.allowed_lateness),
            ),
            Field::new(
                "emit",
                "When results come out: once the watermark passes the window's end, or also early",
                FieldValue::Choice(&mut self.emit),
            ),
        ]);
        fields
    }
}

impl Choice for Emit {
    fn options(&self) -> Vec<&'static str> {
        vec!["OnWatermark", "Early"]
    }

    fn selected(&self) -> usize {
        match self {
            Emit::OnWatermark => 0,
            Emit::Early(_) => 1,
        }
    }

    fn select(&mut self, index: usize) {
        match (index, &*self) {
            (0, Emit::Early(_)) => *self = Emit::OnWatermark,
            (1, Emit::OnWatermark) => *self = Emit::Early(Duration::from_secs(10)),
            _ => {}
        }
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            Emit::Early(every) => vec![Field::new(
                "every",
                "Also emit a partial result this often while the window is open",
                FieldValue::Duration(every),
            )],
            Emit::OnWatermark => Vec::new(),
        }
    }
}
