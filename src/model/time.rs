//! How rows on a port tell time, derived through the graph as each node is planned, so windows know
//! how to read time and a Map that drops the time column is caught before a run.

use std::collections::BTreeMap;

use arrow::datatypes::{DataType, Schema};

use super::document::PortRef;

/// How rows on a port tell time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeAttr {
    /// Event time, read from `column` (TIMESTAMP(3)) plus `shift_ms`. A window's results carry
    /// `window_end` with a shift of -1 ms, so they fall in the window they came from (as Flink's
    /// `window_time` does).
    Event { column: String, shift_ms: i64 },
    /// The wall clock when a row reaches an operator.
    Processing,
    /// The rows have no time (a source's `errors` port, or a Map that dropped the time column).
    None { why: String },
}

/// The time attribute of every planned output port.
pub type TimeAttributes = BTreeMap<PortRef, TimeAttr>;

/// Where an operator reads each row's time, resolved against its input schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowTime {
    /// A TIMESTAMP(3) column (by index), plus a shift (-1 ms for `window_end` of an upstream window).
    Event { column: usize, shift_ms: i64 },
    /// The wall clock on arrival.
    Processing,
}

impl TimeAttr {
    /// Where to read the time of rows with this attribute and `schema`, or why they have none.
    pub fn row_time(&self, schema: &Schema) -> Result<RowTime, String> {
        match self {
            TimeAttr::Event { column, shift_ms } => match schema.index_of(column) {
                Ok(index) if matches!(schema.field(index).data_type(), DataType::Timestamp(..)) => {
                    Ok(RowTime::Event {
                        column: index,
                        shift_ms: *shift_ms,
                    })
                }
                _ => Err(format!("the time column `{column}` is missing")),
            },
            TimeAttr::Processing => Ok(RowTime::Processing),
            TimeAttr::None { why } => Err(why.clone()),
        }
    }
}
