//! Plain Arrow value formatting: cells as text and JSON, times as ISO-8601, the way files,
//! terminals and the app show them. Knows only Arrow; every layer above may use it.

use arrow::array::{
    Array, AsArray, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMillisecondArray,
};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};

/// ISO-8601 UTC with milliseconds, as the workshop's files write times.
pub fn iso_millis(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// Human-readable UTC time for messages: `2024-01-15 08:00:00.000`.
pub fn show_time(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// The text of one cell (empty for null).
pub fn cell_text(array: &dyn Array, row: usize) -> String {
    if array.is_null(row) {
        return String::new();
    }
    if let Some(ts) = array.as_any().downcast_ref::<TimestampMillisecondArray>() {
        return iso_millis(ts.value(row));
    }
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array, &options) {
        Ok(formatter) => formatter.value(row).to_string(),
        Err(_) => String::new(),
    }
}

/// The JSON value of one cell.
pub fn cell_json(array: &dyn Array, row: usize) -> serde_json::Value {
    use serde_json::Value;
    if array.is_null(row) {
        return Value::Null;
    }
    let any = array.as_any();
    if let Some(a) = any.downcast_ref::<Int64Array>() {
        return Value::from(a.value(row));
    }
    if let Some(a) = any.downcast_ref::<Int32Array>() {
        return Value::from(a.value(row));
    }
    if let Some(a) = any.downcast_ref::<Float64Array>() {
        return serde_json::Number::from_f64(a.value(row)).map_or(Value::Null, Value::Number);
    }
    if let Some(a) = any.downcast_ref::<BooleanArray>() {
        return Value::Bool(a.value(row));
    }
    if let Some(a) = any.downcast_ref::<StringArray>() {
        return Value::String(a.value(row).to_string());
    }
    if matches!(array.data_type(), DataType::Utf8View) {
        return Value::String(array.as_string_view().value(row).to_string());
    }
    Value::String(cell_text(array, row))
}

/// One row as `column=value` pairs, for messages that name the row they are about.
pub fn row_text(batch: &arrow::record_batch::RecordBatch, row: usize) -> String {
    if row >= batch.num_rows() {
        return String::new();
    }
    batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| format!("{}={}", f.name(), cell_text(c.as_ref(), row)))
        .collect::<Vec<_>>()
        .join(", ")
}
