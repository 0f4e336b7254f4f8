//! The size in bytes of each row of a batch written as compact JSON (`{"name":value,...}`, as
//! `serde_json` writes it), computed column by column without building the text: what a producer
//! sends as a Kinesis record's data.

use arrow::array::{Array, AsArray, BooleanArray, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, TimeUnit,
    UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow::record_batch::RecordBatch;

/// One size per row.
pub fn json_sizes(batch: &RecordBatch) -> Vec<usize> {
    let schema = batch.schema();
    let fields = schema.fields();
    // Braces, the commas between members, and each `"name":`.
    let frame = 2
        + fields.len().saturating_sub(1)
        + fields
            .iter()
            .map(|f| escaped_len(f.name()) + 3)
            .sum::<usize>();
    let mut sizes = vec![frame; batch.num_rows()];
    for column in batch.columns() {
        add_values(column.as_ref(), &mut sizes);
    }
    sizes
}

/// Adds each row's value of `array` to `sizes`.
fn add_values(array: &dyn Array, sizes: &mut [usize]) {
    macro_rules! each {
        ($typed:expr, $len:expr) => {{
            let typed = $typed;
            for (row, size) in sizes.iter_mut().enumerate() {
                *size += if typed.is_null(row) {
                    4
                } else {
                    $len(typed.value(row))
                };
            }
        }};
    }
    match array.data_type() {
        DataType::Int8 => each!(array.as_primitive::<Int8Type>(), |v: i8| int_len(v as i128)),
        DataType::Int16 => each!(array.as_primitive::<Int16Type>(), |v: i16| int_len(
            v as i128
        )),
        DataType::Int32 => each!(array.as_primitive::<Int32Type>(), |v: i32| int_len(
            v as i128
        )),
        DataType::Int64 => each!(array.as_primitive::<Int64Type>(), |v: i64| int_len(
            v as i128
        )),
        DataType::UInt8 => each!(array.as_primitive::<UInt8Type>(), |v: u8| int_len(
            v as i128
        )),
        DataType::UInt16 => {
            each!(array.as_primitive::<UInt16Type>(), |v: u16| int_len(
                v as i128
            ))
        }
        DataType::UInt32 => {
            each!(array.as_primitive::<UInt32Type>(), |v: u32| int_len(
                v as i128
            ))
        }
        DataType::UInt64 => {
            each!(array.as_primitive::<UInt64Type>(), |v: u64| int_len(
                v as i128
            ))
        }
        DataType::Float64 => each!(array.as_primitive::<Float64Type>(), float_len),
        DataType::Float32 => {
            each!(array.as_primitive::<Float32Type>(), |v: f32| float_len(
                v as f64
            ))
        }
        DataType::Boolean => {
            let typed = array.as_any().downcast_ref::<BooleanArray>();
            if let Some(typed) = typed {
                each!(typed, |v: bool| if v { 4 } else { 5 })
            }
        }
        DataType::Utf8 => {
            if let Some(typed) = array.as_any().downcast_ref::<StringArray>() {
                each!(typed, |v: &str| escaped_len(v) + 2)
            }
        }
        DataType::Timestamp(TimeUnit::Millisecond, _) => {
            if let Some(typed) = array.as_any().downcast_ref::<TimestampMillisecondArray>() {
                // `"2024-01-15T08:00:00.000Z"` for years 0 to 9999; other years as written.
                each!(
                    typed,
                    |v: i64| if (-62_167_219_200_000..253_402_300_800_000).contains(&v) {
                        26
                    } else {
                        escaped_len(&crate::values::iso_millis(v)) + 2
                    }
                )
            }
        }
        _ => {
            for (row, size) in sizes.iter_mut().enumerate() {
                let value = crate::values::cell_json(array, row);
                *size += serde_json::to_vec(&value).map_or(4, |v| v.len());
            }
        }
    }
}

/// Digits of an integer, and its sign.
fn int_len(v: i128) -> usize {
    let mut digits = 1;
    let mut rest = v.unsigned_abs();
    while rest >= 10 {
        rest /= 10;
        digits += 1;
    }
    digits + usize::from(v < 0)
}

/// A float as serde_json writes it: ryu's shortest form with a signed exponent (`1e+21`, where
/// ryu writes `1e21`); NaN and infinities are `null`.
fn float_len(v: f64) -> usize {
    if !v.is_finite() {
        return 4;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v);
    let positive_exponent = text
        .find('e')
        .is_some_and(|e| text.as_bytes().get(e + 1) != Some(&b'-'));
    text.len() + usize::from(positive_exponent)
}

/// A string's length inside JSON quotes: `"` and `\` take two bytes, control characters two
/// (`\n`, `\t`, ...) or six (`\u001f`).
fn escaped_len(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Float64Array, Int32Array, Int64Array};
    use std::sync::Arc;

    #[test]
    fn sizes_match_the_json_serde_writes() {
        let batch = RecordBatch::try_from_iter([
            (
                "id",
                Arc::new(Int64Array::from(vec![
                    Some(0),
                    Some(-12_345),
                    None,
                    Some(i64::MAX),
                ])) as ArrayRef,
            ),
            (
                "small",
                Arc::new(Int32Array::from(vec![Some(7), Some(-1), Some(100), None])) as ArrayRef,
            ),
            (
                "fare \"usd\"",
                Arc::new(Float64Array::from(vec![
                    Some(12.5),
                    Some(1e21),
                    Some(f64::NAN),
                    Some(0.1 + 0.2),
                ])) as ArrayRef,
            ),
            (
                "tiny",
                Arc::new(Float64Array::from(vec![
                    Some(1e-7),
                    Some(123_456.0),
                    Some(5e300),
                    Some(-0.0),
                ])) as ArrayRef,
            ),
            (
                "text",
                Arc::new(StringArray::from(vec![
                    Some("plain"),
                    Some("quote \" back \\ tab \t nl \n bell \u{7}"),
                    Some("zürich ☃"),
                    None,
                ])) as ArrayRef,
            ),
            (
                "ok",
                Arc::new(BooleanArray::from(vec![
                    Some(true),
                    Some(false),
                    None,
                    Some(true),
                ])) as ArrayRef,
            ),
            (
                "ts",
                Arc::new(TimestampMillisecondArray::from(vec![
                    Some(0),
                    Some(1_705_305_600_123),
                    None,
                    Some(-1),
                ])) as ArrayRef,
            ),
        ])
        .unwrap();
        let expected: Vec<usize> = (0..batch.num_rows())
            .map(|row| {
                let object: serde_json::Map<String, serde_json::Value> = batch
                    .schema()
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| (f.name().clone(), crate::values::cell_json(c.as_ref(), row)))
                    .collect();
                serde_json::to_vec(&serde_json::Value::Object(object))
                    .unwrap()
                    .len()
            })
            .collect();
        assert_eq!(json_sizes(&batch), expected);
    }
}
