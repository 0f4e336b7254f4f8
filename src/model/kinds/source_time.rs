//! How a source tells time (a column of its rows, or the clock), shared by every source: its
//! checks, its form, and the source's two output ports (`out` with the event-time column turned
//! into TIMESTAMP(3), and `errors`).

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use serde::{Deserialize, Serialize};

use crate::expr::sql_type_name;
use crate::model::columns::timestamp_type;
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue};
use crate::model::kind::{OutputPort, PortOutput, Ports, Report, column_names};
use crate::model::node::{ERRORS, OUT};
use crate::model::schema::errors_schema;
use crate::model::time::TimeAttr;

/// How a source tells time: from a column of its rows, or from the clock when rows arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Time {
    /// Windows and watermarks follow a timestamp column in the data.
    EventTime(EventTime),
    /// Rows are stamped with the wall clock when they are read.
    ProcessingTime,
}

/// The event-time column and the watermark rules of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTime {
    /// A TIMESTAMP column, or an integer column of epoch milliseconds, or ISO-8601 text.
    pub column: String,
    /// The watermark trails the newest event time by this much (Flink's bounded out-of-orderness).
    pub max_out_of_orderness: Duration,
    /// A source with no rows for this long stops holding back the watermark downstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Duration>,
}

impl Time {
    /// Event time from `column`, 2 s out of order at most: what new sources start with.
    pub fn event(column: &str) -> Self {
        Time::EventTime(EventTime {
            column: column.to_string(),
            max_out_of_orderness: Duration::from_secs(2),
            idle_timeout: None,
        })
    }

    pub fn check(&self, report: &mut Report) {
        if let Time::EventTime(t) = self {
            if t.max_out_of_orderness.as_millis() < 0 {
                report.error(
                    "max_out_of_orderness",
                    "max_out_of_orderness cannot be negative",
                );
            }
            if let Some(idle) = t.idle_timeout
                && idle.as_millis() <= 0
            {
                report.error("idle_timeout", "idle_timeout must be longer than 0s");
            }
        }
    }

    /// `event time pickup_datetime (+2s)` or `processing time`.
    pub fn summary(&self) -> String {
        match self {
            Time::EventTime(t) => format!("event time {} (+{})", t.column, t.max_out_of_orderness),
            Time::ProcessingTime => "processing time".into(),
        }
    }

    /// The time attribute of the source's `out` rows.
    pub fn attr(&self) -> TimeAttr {
        match self {
            Time::EventTime(t) => TimeAttr::Event {
                column: t.column.clone(),
                shift_ms: 0,
            },
            Time::ProcessingTime => TimeAttr::Processing,
        }
    }
}

/// The ports every source has: `out`, and `errors` for rows that cannot be read.
pub fn source_ports() -> Ports {
    Ports {
        inputs: Vec::new(),
        outputs: vec![OutputPort::new(OUT), OutputPort::optional(ERRORS)],
    }
}

/// The source's outputs from the columns it reads: duplicate names refused, the event-time column
/// turned into TIMESTAMP(3) whether the data holds epoch ms or ISO text.
pub fn source_outputs(raw: Schema, time: &Time, report: &mut Report) -> Option<Vec<PortOutput>> {
    let mut seen = HashSet::new();
    for field in raw.fields() {
        if !seen.insert(field.name().clone()) {
            report.error(
                "schema",
                format!("the column `{}` appears twice", field.name()),
            );
        }
    }
    let schema = match time {
        Time::ProcessingTime => raw,
        Time::EventTime(event_time) => event_time_column(&raw, &event_time.column, report)?,
    };
    let errors_time = TimeAttr::None {
        why: format!(
            "rows from `{}.errors` could not be read, so they have no time",
            report.node()
        ),
    };
    Some(vec![
        PortOutput::new(Arc::new(schema), time.attr()),
        PortOutput::new(errors_schema(), errors_time),
    ])
}

fn event_time_column(schema: &Schema, column: &str, report: &mut Report) -> Option<Schema> {
    let Ok(index) = schema.index_of(column) else {
        let names = column_names(schema);
        report.error(
            "column",
            format!("the event-time column `{column}` does not exist; the source has: {names}"),
        );
        return None;
    };
    let field = schema.field(index);
    match field.data_type() {
        DataType::Timestamp(..) | DataType::Int64 | DataType::Int32 | DataType::Utf8 => {}
        other => {
            report.error(
                "column",
                format!(
                    "the event-time column `{column}` is {}; it must be a TIMESTAMP, epoch milliseconds (BIGINT) or ISO-8601 text",
                    sql_type_name(other)
                ),
            );
            return None;
        }
    }
    let mut fields: Vec<ArrowField> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
    fields[index] = ArrowField::new(column, timestamp_type(), field.is_nullable());
    Some(Schema::new(fields))
}

impl Choice for Time {
    fn options(&self) -> Vec<&'static str> {
        vec!["EventTime", "ProcessingTime"]
    }

    fn selected(&self) -> usize {
        match self {
            Time::EventTime(_) => 0,
            Time::ProcessingTime => 1,
        }
    }

    fn select(&mut self, index: usize) {
        match (index, &*self) {
            (0, Time::ProcessingTime) => *self = Time::event("event_time"),
            (1, Time::EventTime(_)) => *self = Time::ProcessingTime,
            _ => {}
        }
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            Time::EventTime(t) => vec![
                Field::new(
                    "column",
                    "The column holding each event's time (TIMESTAMP, epoch milliseconds or ISO-8601 text)",
                    FieldValue::Text(&mut t.column),
                ),
                Field::new(
                    "max out of orderness",
                    "The watermark trails the newest event time by this much: events later than that are late",
                    FieldValue::Duration(&mut t.max_out_of_orderness),
                ),
                Field::new(
                    "idle timeout",
                    "After this long without rows the source stops holding back the watermark",
                    FieldValue::OptionalDuration(&mut t.idle_timeout),
                ),
            ],
            Time::ProcessingTime => Vec::new(),
        }
    }
}

/// The form field of a source's time.
pub fn time_field(time: &mut Time) -> Field<'_> {
    Field::new(
        "time",
        "Event time comes from a column of the rows; processing time from the clock when rows are read",
        FieldValue::Choice(time),
    )
}
