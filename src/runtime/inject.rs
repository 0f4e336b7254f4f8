//! Inject: a row written by hand, pushed into an input port of a running (or paused) pipeline, as
//! Node-RED's inject node does, to see what the pipeline does with one event (a late one, say).
//! The row arrives on a channel of its own that never holds back the watermark, the clock, a
//! barrier or the end of the run, and is spread over the node's instances as its port asks.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray, TimestampMillisecondArray, new_null_array};
use arrow::compute::{CastOptions, cast, cast_with_options};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::contract::{EdgeSink, SendFailure};
use super::edges::EdgeSender;
use crate::model::PortRef;
use crate::model::infer::parse_timestamp_millis;
use crate::model::kind::column_names;

/// The senders into every input port of a run started with injection on.
#[derive(Default)]
pub struct Injectors {
    ports: BTreeMap<PortRef, Injector>,
}

/// The sender into one input port (one channel per instance of its node) and its columns.
pub struct Injector {
    pub(crate) sender: EdgeSender,
    pub(crate) schema: SchemaRef,
    /// The column the node reads event time from, if it uses event time.
    pub(crate) time_column: Option<String>,
}

/// Why a row could not be injected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InjectError {
    /// No such input port in this run (or the run was started without injection).
    NoSuchPort(PortRef),
    /// The row does not have the port's columns.
    WrongColumns { port: PortRef, why: String },
    /// A value does not read as its column's type.
    BadValue { column: String, why: String },
    /// The node has not taken in the rows injected before; try again in a moment.
    Busy(PortRef),
    /// The node has finished (or the run has ended).
    Finished(PortRef),
}

impl std::fmt::Display for InjectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoSuchPort(port) => write!(f, "`{port}` is not an input port of this run"),
            Self::WrongColumns { port, why } => {
                write!(f, "the row does not fit `{port}`: {why}")
            }
            Self::BadValue { column, why } => write!(f, "column `{column}`: {why}"),
            Self::Busy(port) => write!(
                f,
                "`{port}` has not taken in the rows injected before yet; try again in a moment"
            ),
            Self::Finished(port) => write!(f, "`{}` has finished; nothing more goes in", port.node),
        }
    }
}

impl std::error::Error for InjectError {}

impl Injectors {
    pub(crate) fn new(ports: BTreeMap<PortRef, Injector>) -> Self {
        Self { ports }
    }

    /// The columns a row injected at `port` has.
    pub fn schema(&self, port: &PortRef) -> Option<SchemaRef> {
        self.ports.get(port).map(|i| Arc::clone(&i.schema))
    }

    /// The column of `port` that carries event time, if the node reads event time there.
    pub fn time_column(&self, port: &PortRef) -> Option<&str> {
        self.ports.get(port)?.time_column.as_deref()
    }

    /// The input ports rows can be injected into.
    pub fn ports(&self) -> impl Iterator<Item = &PortRef> {
        self.ports.keys()
    }

    /// Pushes `batch` into `port`. Never waits: a node that has not yet taken in the rows
    /// injected before gives [`InjectError::Busy`].
    pub fn inject(&self, port: &PortRef, batch: RecordBatch) -> Result<(), InjectError> {
        let injector = self
            .ports
            .get(port)
            .ok_or_else(|| InjectError::NoSuchPort(port.clone()))?;
        if batch.schema().fields() != injector.schema.fields() {
            return Err(InjectError::WrongColumns {
                port: port.clone(),
                why: format!(
                    "it has ({}), the port takes ({})",
                    column_names(&batch.schema()),
                    column_names(&injector.schema)
                ),
            });
        }
        // The app is the only sender on these channels, so room now is room when sending.
        if injector.sender.senders.iter().any(|s| s.is_full()) {
            return Err(InjectError::Busy(port.clone()));
        }
        injector.sender.send_batch(&batch).map_err(|e| match e {
            SendFailure::Disconnected => InjectError::Finished(port.clone()),
            SendFailure::Failed(e) => InjectError::WrongColumns {
                port: port.clone(),
                why: e.to_string(),
            },
        })
    }
}

/// One row of `schema` from one text per column, read as a user types them: numbers, `true` /
/// `false`, times as ISO 8601 (`2024-01-15T08:00:03Z`) or epoch milliseconds; an empty text is
/// NULL where the column allows it.
pub fn row_from_text(schema: &SchemaRef, texts: &[String]) -> Result<RecordBatch, InjectError> {
    if texts.len() != schema.fields().len() {
        return Err(InjectError::BadValue {
            column: String::new(),
            why: format!(
                "{} values for {} columns",
                texts.len(),
                schema.fields().len()
            ),
        });
    }
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(texts.len());
    for (field, text) in schema.fields().iter().zip(texts) {
        let bad = |why: String| InjectError::BadValue {
            column: field.name().clone(),
            why,
        };
        let text = text.trim();
        if text.is_empty() && *field.data_type() != DataType::Utf8 {
            if !field.is_nullable() {
                return Err(bad("needs a value".into()));
            }
            columns.push(new_null_array(field.data_type(), 1));
            continue;
        }
        let column: ArrayRef = match field.data_type() {
            DataType::Timestamp(_, _) => {
                let millis = parse_timestamp_millis(text)
                    .or_else(|| text.parse::<i64>().ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "`{text}` is not a time (write it as 2024-01-15T08:00:03Z)"
                        ))
                    })?;
                let array = TimestampMillisecondArray::from(vec![millis]);
                cast(&array, field.data_type()).map_err(|e| bad(e.to_string()))?
            }
            DataType::Boolean => {
                let value = match text.to_ascii_lowercase().as_str() {
                    "true" | "t" | "1" | "yes" => true,
                    "false" | "f" | "0" | "no" => false,
                    _ => return Err(bad(format!("`{text}` is not true or false"))),
                };
                Arc::new(arrow::array::BooleanArray::from(vec![value]))
            }
            other => {
                let strict = CastOptions {
                    safe: false,
                    ..CastOptions::default()
                };
                let array = StringArray::from(vec![text]);
                cast_with_options(&array, other, &strict)
                    .map_err(|_| bad(format!("`{text}` is not a {}", type_name(other))))?
            }
        };
        if column.null_count() > 0 && !field.is_nullable() {
            return Err(bad("needs a value".into()));
        }
        columns.push(column);
    }
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| InjectError::BadValue {
        column: String::new(),
        why: e.to_string(),
    })
}

fn type_name(data_type: &DataType) -> &'static str {
    match data_type {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => "whole number",
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            "whole number of at least 0"
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => "number",
        _ => "value of this column",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{Field, Schema, TimeUnit};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("sensor_id", DataType::Utf8, false),
            Field::new("temperature", DataType::Float64, true),
            Field::new("count", DataType::Int64, true),
            Field::new("ok", DataType::Boolean, true),
        ]))
    }

    fn texts(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn a_typed_row_reads_as_its_columns_types() {
        let row = row_from_text(
            &schema(),
            &texts(&["1970-01-01T00:00:03Z", "s-1", "21.5", "", "yes"]),
        )
        .unwrap();
        assert_eq!(row.num_rows(), 1);
        assert_eq!(
            crate::values::cell_text(row.column(0).as_ref(), 0),
            crate::values::iso_millis(3_000)
        );
        assert_eq!(crate::values::cell_text(row.column(1).as_ref(), 0), "s-1");
        assert_eq!(crate::values::cell_text(row.column(2).as_ref(), 0), "21.5");
        assert!(row.column(3).is_null(0), "an empty number is NULL");
        assert_eq!(crate::values::cell_text(row.column(4).as_ref(), 0), "true");
        let millis = row_from_text(&schema(), &texts(&["3000", "s", "1", "2", "no"])).unwrap();
        assert_eq!(millis.column(0).as_ref(), row.column(0).as_ref());
    }

    #[test]
    fn a_bad_value_names_its_column() {
        let cases = [
            (
                ["yesterday", "s", "1", "1", "true"],
                "event_time",
                "not a time",
            ),
            (
                ["3000", "s", "warm", "1", "true"],
                "temperature",
                "not a number",
            ),
            (
                ["3000", "s", "1", "1.5", "true"],
                "count",
                "not a whole number",
            ),
            (["3000", "s", "1", "1", "maybe"], "ok", "not true or false"),
            (["", "s", "1", "1", "true"], "event_time", "needs a value"),
        ];
        for (values, column, why) in cases {
            match row_from_text(&schema(), &texts(&values)) {
                Err(InjectError::BadValue { column: c, why: w }) => {
                    assert_eq!(c, column);
                    assert!(w.contains(why), "{w}");
                }
                other => panic!("{values:?} gave {other:?}"),
            }
        }
    }
}
