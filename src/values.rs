//! Plain Arrow value formatting: cells as text and JSON, times as ISO-8601, the way files,
//! terminals and the app show them. Knows only Arrow; every layer above may use it.

pub mod json_rows;

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

/// A number as a person reads it on screen: two decimals at or above one, three significant
/// digits below, trailing zeros dropped (`52313.06`, `3037.44`, `0.000123`). Files keep every
/// digit; only tables, charts and tooltips round.
pub fn number_text(value: f64) -> String {
    if !value.is_finite() {
        return value.to_string();
    }
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{}", value as i64);
    }
    let magnitude = value.abs();
    let decimals = if magnitude >= 1.0 {
        2
    } else {
        // log10 of a value in (0, 1) is negative; three significant digits need this many places.
        ((-magnitude.log10().floor()) as usize + 2).min(12)
    };
    let text = format!("{value:.decimals$}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// The text of one cell for the screen: like [`cell_text`], with floats rounded by
/// [`number_text`].
pub fn display_text(array: &dyn Array, row: usize) -> String {
    if let Some(floats) = array.as_any().downcast_ref::<Float64Array>()
        && floats.is_valid(row)
    {
        return number_text(floats.value(row));
    }
    cell_text(array, row)
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
    row_pairs(batch, row, cell_text)
}

/// Like [`row_text`], with floats rounded for the screen ([`display_text`]).
pub fn row_display_text(batch: &arrow::record_batch::RecordBatch, row: usize) -> String {
    row_pairs(batch, row, display_text)
}

fn row_pairs(
    batch: &arrow::record_batch::RecordBatch,
    row: usize,
    text: fn(&dyn Array, usize) -> String,
) -> String {
    if row >= batch.num_rows() {
        return String::new();
    }
    batch
        .schema()
        .fields()
        .iter()
        .zip(batch.columns())
        .map(|(f, c)| format!("{}={}", f.name(), text(c.as_ref(), row)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_on_screen_are_rounded_for_reading() {
        assert_eq!(number_text(52313.060123), "52313.06");
        assert_eq!(number_text(3037.4400000000005), "3037.44");
        assert_eq!(number_text(0.000123456), "0.000123");
        assert_eq!(number_text(0.5), "0.5");
        assert_eq!(number_text(-2.346), "-2.35");
        assert_eq!(number_text(12.0), "12");
        assert_eq!(number_text(-0.0001), "-0.0001");
        assert_eq!(number_text(f64::NAN), "NaN");
    }

    #[test]
    fn only_floats_are_rounded_on_screen() {
        let floats = Float64Array::from(vec![Some(1.23456), None]);
        assert_eq!(display_text(&floats, 0), "1.23");
        assert_eq!(display_text(&floats, 1), "");
        let ints = Int64Array::from(vec![123456789]);
        assert_eq!(display_text(&ints, 0), "123456789");
    }
}
