//! The values navigations read from a (partial) match: the last or first rows of a step, sums,
//! averages, extremes and counts over them, the match's number and its last row's time.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion_common::ScalarValue;

use crate::expr::navigation::{NavFunction, Navigation};

/// A row taken into matching: its event time, its place in the partition's order, and the values
/// of the columns navigations read (the others are NULL).
#[derive(Debug)]
pub struct MatchedRow {
    pub ts: i64,
    pub seq: u64,
    pub values: Vec<ScalarValue>,
    /// When it reached the operator, in the trace's wall seconds (NaN when not traced).
    pub arrived: f64,
}

/// A row of a match with the step it was mapped to.
pub type Mapped = (Arc<MatchedRow>, usize);

/// The value of `nav` over a match's rows, given last first (`taken_rev`, each with its step), and
/// `current`, the row being tried as a step (in DEFINE). Rows are read in place: nothing is
/// copied to navigate.
pub fn navigate<'a, I>(
    nav: &Navigation,
    taken_rev: I,
    current: Option<(&'a MatchedRow, usize)>,
    match_number: u64,
) -> ScalarValue
where
    I: Iterator<Item = (&'a MatchedRow, usize)> + Clone,
{
    let null = || ScalarValue::try_from(&nav.data_type).unwrap_or(ScalarValue::Null);
    let in_set = |step: usize| nav.step.is_none_or(|s| s == step);
    // The rows the navigation reads, last first: the row tried, then the match backwards.
    let set_rev = || {
        current
            .into_iter()
            .chain(taken_rev.clone())
            .filter(move |(_, step)| in_set(*step))
            .map(|(row, _)| row)
    };
    let value = |row: &MatchedRow| match nav.column {
        Some(c) => row.values.get(c).cloned().unwrap_or(ScalarValue::Null),
        None => ScalarValue::Null,
    };
    // Non-NULL values in the rows' order (first to last), for folds whose result depends on it.
    let values_in_order = || {
        let mut values: Vec<ScalarValue> = set_rev().map(value).filter(|v| !v.is_null()).collect();
        values.reverse();
        values
    };
    match nav.function {
        NavFunction::Last(n) => set_rev()
            .nth(n as usize)
            .map(value)
            .filter(|v| !v.is_null())
            .unwrap_or_else(null),
        NavFunction::First(n) => {
            let total = set_rev().count();
            total
                .checked_sub(1 + n as usize)
                .and_then(|back| set_rev().nth(back))
                .map(value)
                .filter(|v| !v.is_null())
                .unwrap_or_else(null)
        }
        NavFunction::Count => {
            let count = match nav.column {
                None => set_rev().count(),
                Some(_) => set_rev().filter(|r| !value(r).is_null()).count(),
            };
            ScalarValue::Int64(Some(count as i64))
        }
        NavFunction::Sum | NavFunction::Avg => {
            if nav.function == NavFunction::Sum && nav.data_type == DataType::Int64 {
                // Integer sums do not depend on the order.
                let mut any = false;
                let mut sum = 0i64;
                for v in set_rev().map(value).filter(|v| !v.is_null()) {
                    any = true;
                    sum = sum.wrapping_add(as_i64(&v).unwrap_or(0));
                }
                return if any {
                    ScalarValue::Int64(Some(sum))
                } else {
                    null()
                };
            }
            // Floats are added first to last, as the match took them.
            let numbers = values_in_order();
            if numbers.is_empty() {
                return null();
            }
            let sum: f64 = numbers.iter().filter_map(as_f64).sum();
            match nav.function {
                NavFunction::Avg => ScalarValue::Float64(Some(sum / numbers.len() as f64)),
                _ => ScalarValue::Float64(Some(sum)),
            }
        }
        NavFunction::Min | NavFunction::Max => {
            let mut best: Option<ScalarValue> = None;
            for v in values_in_order() {
                let better = match &best {
                    None => true,
                    Some(b) => match v.partial_cmp(b) {
                        Some(std::cmp::Ordering::Less) => nav.function == NavFunction::Min,
                        Some(std::cmp::Ordering::Greater) => nav.function == NavFunction::Max,
                        _ => false,
                    },
                };
                if better {
                    best = Some(v);
                }
            }
            best.unwrap_or_else(null)
        }
        NavFunction::MatchNumber => ScalarValue::Int64(Some(match_number as i64)),
        NavFunction::MatchRowtime => {
            let last = taken_rev.clone().next().map(|(r, _)| r.ts);
            ScalarValue::TimestampMillisecond(last, None)
        }
    }
}

fn as_i64(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::Int8(Some(x)) => Some(i64::from(*x)),
        ScalarValue::Int16(Some(x)) => Some(i64::from(*x)),
        ScalarValue::Int32(Some(x)) => Some(i64::from(*x)),
        ScalarValue::Int64(Some(x)) => Some(*x),
        ScalarValue::UInt8(Some(x)) => Some(i64::from(*x)),
        ScalarValue::UInt16(Some(x)) => Some(i64::from(*x)),
        ScalarValue::UInt32(Some(x)) => Some(i64::from(*x)),
        ScalarValue::UInt64(Some(x)) => i64::try_from(*x).ok(),
        _ => None,
    }
}

fn as_f64(v: &ScalarValue) -> Option<f64> {
    match v {
        ScalarValue::Float32(Some(x)) => Some(f64::from(*x)),
        ScalarValue::Float64(Some(x)) => Some(*x),
        other => as_i64(other).map(|x| x as f64),
    }
}
