//! Rows as compact JSON objects, written straight into a buffer: the same text as
//! `serde_json` makes of [`super::cell_json`] values, without a value built per cell. What
//! JSON-lines files, Firehose objects and Kinesis records hold, at the speed they need.

use arrow::array::{
    Array, BooleanArray, Float64Array, Int32Array, Int64Array, StringArray,
    TimestampMillisecondArray,
};
use arrow::record_batch::RecordBatch;

enum Column<'a> {
    Int64(&'a Int64Array),
    Int32(&'a Int32Array),
    Float64(&'a Float64Array),
    Boolean(&'a BooleanArray),
    Text(&'a StringArray),
    Time(&'a TimestampMillisecondArray),
    Other(&'a dyn Array),
}

/// A batch's columns ready to write row by row.
pub struct JsonRows<'a> {
    /// Each column's `"name":`, escaped, and `,` before all but the first.
    keys: Vec<Vec<u8>>,
    columns: Vec<Column<'a>>,
}

impl<'a> JsonRows<'a> {
    pub fn new(batch: &'a RecordBatch) -> Self {
        let schema = batch.schema();
        let keys = schema
            .fields()
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut key = Vec::new();
                if i > 0 {
                    key.push(b',');
                }
                let _ = serde_json::to_writer(&mut key, f.name());
                key.push(b':');
                key
            })
            .collect();
        let columns = batch
            .columns()
            .iter()
            .map(|c| {
                let any = c.as_any();
                if let Some(a) = any.downcast_ref::<Int64Array>() {
                    Column::Int64(a)
                } else if let Some(a) = any.downcast_ref::<Int32Array>() {
                    Column::Int32(a)
                } else if let Some(a) = any.downcast_ref::<Float64Array>() {
                    Column::Float64(a)
                } else if let Some(a) = any.downcast_ref::<BooleanArray>() {
                    Column::Boolean(a)
                } else if let Some(a) = any.downcast_ref::<StringArray>() {
                    Column::Text(a)
                } else if let Some(a) = any.downcast_ref::<TimestampMillisecondArray>() {
                    Column::Time(a)
                } else {
                    Column::Other(c.as_ref())
                }
            })
            .collect();
        Self { keys, columns }
    }

    /// Appends row `row` as one JSON object (no newline).
    pub fn write(&self, row: usize, out: &mut Vec<u8>) {
        out.push(b'{');
        for (key, column) in self.keys.iter().zip(&self.columns) {
            out.extend_from_slice(key);
            write_cell(column, row, out);
        }
        out.push(b'}');
    }
}

fn write_cell(column: &Column, row: usize, out: &mut Vec<u8>) {
    let null = match column {
        Column::Int64(a) => a.is_null(row),
        Column::Int32(a) => a.is_null(row),
        Column::Float64(a) => a.is_null(row),
        Column::Boolean(a) => a.is_null(row),
        Column::Text(a) => a.is_null(row),
        Column::Time(a) => a.is_null(row),
        Column::Other(a) => a.is_null(row),
    };
    if null {
        out.extend_from_slice(b"null");
        return;
    }
    match column {
        Column::Int64(a) => {
            out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
        }
        Column::Int32(a) => {
            out.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
        }
        Column::Float64(a) => {
            let v = a.value(row);
            if v.is_finite() {
                let mut buffer = ryu::Buffer::new();
                let text = buffer.format_finite(v).as_bytes();
                // serde_json writes a positive exponent with its sign: `1e+16`.
                match text.iter().position(|&b| b == b'e') {
                    Some(e) if text.get(e + 1) != Some(&b'-') => {
                        out.extend_from_slice(&text[..=e]);
                        out.push(b'+');
                        out.extend_from_slice(&text[e + 1..]);
                    }
                    _ => out.extend_from_slice(text),
                }
            } else {
                out.extend_from_slice(b"null");
            }
        }
        Column::Boolean(a) => out.extend_from_slice(if a.value(row) { b"true" } else { b"false" }),
        Column::Text(a) => {
            let _ = serde_json::to_writer(&mut *out, a.value(row));
        }
        Column::Time(a) => {
            out.push(b'"');
            iso_millis_into(a.value(row), out);
            out.push(b'"');
        }
        Column::Other(a) => {
            let _ = serde_json::to_writer(&mut *out, &super::cell_json(*a, row));
        }
    }
}

/// `2024-01-15T08:00:00.000Z` of `ms`, as [`super::iso_millis`] writes it, digits by hand for
/// the years 0 to 9999.
fn iso_millis_into(ms: i64, out: &mut Vec<u8>) {
    const YEAR_10000: i64 = 253_402_300_800_000;
    const YEAR_0: i64 = -62_167_219_200_000;
    if !(YEAR_0..YEAR_10000).contains(&ms) {
        out.extend_from_slice(super::iso_millis(ms).as_bytes());
        return;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let digits = |out: &mut Vec<u8>, value: i64, width: usize| {
        let mut buffer = [b'0'; 4];
        let mut rest = value;
        for place in (0..width).rev() {
            buffer[place] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        out.extend_from_slice(&buffer[..width]);
    };
    digits(out, year, 4);
    out.push(b'-');
    digits(out, month, 2);
    out.push(b'-');
    digits(out, day, 2);
    out.push(b'T');
    digits(out, in_day / 3_600_000, 2);
    out.push(b':');
    digits(out, in_day / 60_000 % 60, 2);
    out.push(b':');
    digits(out, in_day / 1_000 % 60, 2);
    out.push(b'.');
    digits(out, in_day % 1_000, 3);
    out.push(b'Z');
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;

    /// What serde_json makes of the same row's `cell_json` values.
    fn by_serde(batch: &RecordBatch, row: usize) -> Vec<u8> {
        let mut object = serde_json::Map::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            object.insert(
                field.name().clone(),
                super::super::cell_json(column.as_ref(), row),
            );
        }
        serde_json::to_vec(&serde_json::Value::Object(object)).unwrap()
    }

    #[test]
    fn rows_are_written_as_serde_json_writes_their_values() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let n = 5_000;
        let times: Vec<Option<i64>> = (0..n)
            .map(|i| {
                (i % 17 != 0).then(|| (next() % 400_000_000_000_000) as i64 - 62_000_000_000_000)
            })
            .collect();
        let floats: Vec<Option<f64>> = (0..n)
            .map(|i| match i % 7 {
                0 => None,
                1 => Some(f64::NAN),
                2 => Some(f64::from_bits(next())),
                _ => Some((next() % 100_000) as f64 / 1000.0 - 50.0),
            })
            .collect();
        let texts: Vec<Option<String>> = (0..n)
            .map(|i| {
                (i % 11 != 0).then(|| {
                    [
                        "plain",
                        "quote \" and \\\\ back",
                        "tab\tnew\nline",
                        "ünï",
                        "\u{1}",
                    ][i % 5]
                        .to_string()
                })
            })
            .collect();
        let batch = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new(
                    "time \"t\"",
                    DataType::Timestamp(TimeUnit::Millisecond, None),
                    true,
                ),
                Field::new("value", DataType::Float64, true),
                Field::new("text", DataType::Utf8, true),
                Field::new("n", DataType::Int64, true),
                Field::new("ok", DataType::Boolean, true),
                Field::new("small", DataType::UInt8, true),
            ])),
            vec![
                Arc::new(TimestampMillisecondArray::from(times)),
                Arc::new(Float64Array::from(floats)),
                Arc::new(StringArray::from(texts)),
                Arc::new(Int64Array::from(
                    (0..n as i64).map(|i| i * -7919).collect::<Vec<_>>(),
                )),
                Arc::new(BooleanArray::from(
                    (0..n)
                        .map(|i| (i % 3 != 0).then_some(i % 2 == 0))
                        .collect::<Vec<_>>(),
                )),
                Arc::new(arrow::array::UInt8Array::from(
                    (0..n).map(|i| i as u8).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        let rows = JsonRows::new(&batch);
        for row in 0..n {
            let mut written = Vec::new();
            rows.write(row, &mut written);
            assert_eq!(
                String::from_utf8(written).unwrap(),
                String::from_utf8(by_serde(&batch, row)).unwrap(),
                "row {row}"
            );
        }
    }
}
