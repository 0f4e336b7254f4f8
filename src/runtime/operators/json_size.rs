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
    if let Some(len) = few_decimals_len(v) {
        return len;
    }
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(v);
    let positive_exponent = text
        .find('e')
        .is_some_and(|e| text.as_bytes().get(e + 1) != Some(&b'-'));
    text.len() + usize::from(positive_exponent)
}

/// The length ryu writes `v` in (`12.345`, `7.0`, `0.0012`), found without formatting when `v`
/// is exactly the double nearest some decimal with at most 6 places: the fewest places whose
/// nearest double is `v` are the shortest round trip ryu finds. `None` leaves it to ryu.
fn few_decimals_len(v: f64) -> Option<usize> {
    const POWERS: [f64; 7] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6];
    let a = v.abs();
    if a == 0.0 {
        return Some(3 + usize::from(v.is_sign_negative()));
    }
    // ryu writes plain decimals between these; beyond them, exponents.
    if !(1e-5..1e15).contains(&a) {
        return None;
    }
    for (places, power) in POWERS.iter().enumerate() {
        let product = a * power;
        // Above 2^52 the scaled value has no fraction left to tell places apart.
        if product >= 4_503_599_627_370_496.0 {
            return None;
        }
        // Rounded to the nearest whole number (a cast, cheaper than `round` here).
        let scaled = (product + 0.5) as u64 as f64;
        // Division by an exact power of ten rounds as parsing the decimal does.
        if scaled / power == a {
            let whole = int_len(i128::from(a as u64));
            return Some(usize::from(v < 0.0) + whole + 1 + places.max(1));
        }
    }
    None
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
mod float_tests {
    use super::*;

    #[test]
    fn the_short_way_to_a_float_length_agrees_with_ryu() {
        let ryu_len = |v: f64| ryu::Buffer::new().format_finite(v).len();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for i in 0..200_000 {
            let r = next();
            let v = match i % 5 {
                // Three decimals, as sensors write them.
                0 => (r % 20_000) as f64 / 1000.0,
                1 => (r % 1_000_000) as f64 / 100.0 - 5_000.0,
                2 => f64::from_bits(r),
                3 => (r % 1_000) as f64 * 1e-6,
                _ => (r as f64) / 3.0,
            };
            if !v.is_finite() {
                continue;
            }
            if let Some(len) = few_decimals_len(v) {
                assert_eq!(
                    len,
                    ryu_len(v),
                    "{v:?} written {}",
                    ryu::Buffer::new().format_finite(v)
                );
                checked += 1;
            }
        }
        assert!(checked > 80_000, "the short way was taken {checked} times");
        for v in [
            0.0,
            -0.0,
            1.0,
            -12.5,
            0.1,
            0.00001,
            99999999999999.9,
            1e-5,
            0.3,
        ] {
            if let Some(len) = few_decimals_len(v) {
                assert_eq!(len, ryu_len(v), "{v}");
            }
        }
    }
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
