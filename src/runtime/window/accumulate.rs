//! Incremental aggregates: per-batch argument arrays prepared once (vectorised casts), then each
//! row folded into small accumulators that can also merge (session windows) and emit a column.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Float64Array, Int64Array, new_null_array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;
use rustc_hash::FxHashSet;

use crate::expr::{AggregateFunction, AggregateSpec, PlannedExpr};
use crate::runtime::contract::RunError;
use crate::runtime::contract::evaluate::evaluate;

/// How one aggregate accumulates, chosen once from its function and argument type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    CountAll,
    CountValues,
    SumInt,
    SumFloat,
    Avg,
    MinInt,
    MaxInt,
    MinFloat,
    MaxFloat,
    MinAny,
    MaxAny,
    CountDistinct,
    First,
    Last,
}

/// One planned aggregate, ready to accumulate.
#[derive(Debug, Clone)]
pub struct Aggregate {
    kind: Kind,
    argument: Option<PlannedExpr>,
    output_type: DataType,
}

fn is_int_like(t: &DataType) -> bool {
    t.is_integer()
        || matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64
        )
}

impl Aggregate {
    pub fn new(spec: &AggregateSpec) -> Self {
        use AggregateFunction as F;
        let arg_type = spec.argument.as_ref().map(|a| a.data_type.clone());
        let int = arg_type.as_ref().is_some_and(is_int_like);
        let float = arg_type.as_ref().is_some_and(|t| t.is_floating());
        let kind = match (spec.function, &spec.argument) {
            (F::Count, None) => Kind::CountAll,
            (F::Count, Some(_)) => Kind::CountValues,
            (F::Sum, _) if int => Kind::SumInt,
            (F::Sum, _) => Kind::SumFloat,
            (F::Avg, _) => Kind::Avg,
            (F::Min, _) if int => Kind::MinInt,
            (F::Max, _) if int => Kind::MaxInt,
            (F::Min, _) if float => Kind::MinFloat,
            (F::Max, _) if float => Kind::MaxFloat,
            (F::Min, _) => Kind::MinAny,
            (F::Max, _) => Kind::MaxAny,
            (F::CountDistinct, _) => Kind::CountDistinct,
            (F::First, _) => Kind::First,
            (F::Last, _) => Kind::Last,
        };
        Self {
            kind,
            argument: spec.argument.clone(),
            output_type: spec.output_type.clone(),
        }
    }

    /// Evaluates and casts this aggregate's argument for a whole batch.
    pub fn prepare(&self, batch: &RecordBatch) -> Result<Prepared, RunError> {
        let Some(argument) = &self.argument else {
            return Ok(Prepared::None);
        };
        let values = evaluate(argument, batch)?;
        let cast_to = |t: &DataType| {
            cast(&values, t)
                .map_err(|e| RunError::data(format!("the values of `{}`: {e}", argument.text)))
        };
        Ok(match self.kind {
            Kind::SumInt | Kind::MinInt | Kind::MaxInt => {
                let a = cast_to(&DataType::Int64)?;
                Prepared::Int(
                    a.as_any()
                        .downcast_ref::<Int64Array>()
                        .cloned()
                        .ok_or_else(|| RunError::internal("cast"))?,
                )
            }
            Kind::SumFloat | Kind::Avg | Kind::MinFloat | Kind::MaxFloat => {
                let a = cast_to(&DataType::Float64)?;
                Prepared::Float(
                    a.as_any()
                        .downcast_ref::<Float64Array>()
                        .cloned()
                        .ok_or_else(|| RunError::internal("cast"))?,
                )
            }
            _ => Prepared::Any(values),
        })
    }

    pub fn new_state(&self) -> Acc {
        match self.kind {
            Kind::CountAll | Kind::CountValues => Acc::Count(0),
            Kind::SumInt => Acc::SumInt(None),
            Kind::SumFloat => Acc::SumFloat(None),
            Kind::Avg => Acc::Avg(0.0, 0),
            Kind::MinInt | Kind::MaxInt => Acc::Int(None),
            Kind::MinFloat | Kind::MaxFloat => Acc::Float(None),
            Kind::MinAny | Kind::MaxAny => Acc::Any(None),
            Kind::CountDistinct => Acc::Distinct(FxHashSet::default()),
            Kind::First | Kind::Last => Acc::Timed(None),
        }
    }

    /// Folds row `row` (with event time `ts`) into `acc`.
    pub fn update(&self, acc: &mut Acc, prepared: &Prepared, row: usize, ts: i64) {
        match (acc, prepared) {
            (Acc::Count(n), Prepared::None) => *n += 1,
            (Acc::Count(n), Prepared::Any(a)) => *n += a.is_valid(row) as i64,
            (Acc::SumInt(s), Prepared::Int(a)) if a.is_valid(row) => {
                *s = Some(s.unwrap_or(0).wrapping_add(a.value(row)))
            }
            (Acc::SumFloat(s), Prepared::Float(a)) if a.is_valid(row) => {
                *s = Some(s.unwrap_or(0.0) + a.value(row))
            }
            (Acc::Avg(sum, n), Prepared::Float(a)) if a.is_valid(row) => {
                *sum += a.value(row);
                *n += 1;
            }
            (Acc::Int(m), Prepared::Int(a)) if a.is_valid(row) => {
                let v = a.value(row);
                *m = Some(match (*m, self.kind) {
                    (Some(old), Kind::MinInt) => old.min(v),
                    (Some(old), _) => old.max(v),
                    (None, _) => v,
                });
            }
            (Acc::Float(m), Prepared::Float(a)) if a.is_valid(row) => {
                let v = a.value(row);
                *m = Some(match (*m, self.kind) {
                    (Some(old), Kind::MinFloat) => old.min(v),
                    (Some(old), _) => old.max(v),
                    (None, _) => v,
                });
            }
            (Acc::Any(m), Prepared::Any(a)) if a.is_valid(row) => {
                if let Ok(v) = ScalarValue::try_from_array(a, row) {
                    let replace = match m {
                        None => true,
                        Some(old) if self.kind == Kind::MinAny => v < *old,
                        Some(old) => v > *old,
                    };
                    if replace {
                        *m = Some(v);
                    }
                }
            }
            (Acc::Distinct(set), Prepared::Any(a)) if a.is_valid(row) => {
                if let Ok(v) = ScalarValue::try_from_array(a, row) {
                    set.insert(v);
                }
            }
            (Acc::Timed(slot), Prepared::Any(a)) => {
                let replace = match slot {
                    None => true,
                    // First keeps the earliest event (the first to arrive among equals); Last the latest.
                    Some((t, _)) if self.kind == Kind::First => ts < *t,
                    Some((t, _)) => ts >= *t,
                };
                if replace && let Ok(v) = ScalarValue::try_from_array(a, row) {
                    *slot = Some((ts, v));
                }
            }
            _ => {}
        }
    }

    /// Merges `other` into `acc` (sessions that grew into each other).
    pub fn merge(&self, acc: &mut Acc, other: Acc) {
        match (acc, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::SumInt(a), Acc::SumInt(b)) => *a = merge_opt(*a, b, |x, y| x.wrapping_add(y)),
            (Acc::SumFloat(a), Acc::SumFloat(b)) => *a = merge_opt(*a, b, |x, y| x + y),
            (Acc::Avg(s, n), Acc::Avg(s2, n2)) => {
                *s += s2;
                *n += n2;
            }
            (Acc::Int(a), Acc::Int(b)) => {
                *a = merge_opt(*a, b, |x, y| {
                    if self.kind == Kind::MinInt {
                        x.min(y)
                    } else {
                        x.max(y)
                    }
                })
            }
            (Acc::Float(a), Acc::Float(b)) => {
                *a = merge_opt(*a, b, |x, y| {
                    if self.kind == Kind::MinFloat {
                        x.min(y)
                    } else {
                        x.max(y)
                    }
                })
            }
            (Acc::Any(a), Acc::Any(Some(v))) => {
                let replace = match a {
                    None => true,
                    Some(old) if self.kind == Kind::MinAny => v < *old,
                    Some(old) => v > *old,
                };
                if replace {
                    *a = Some(v);
                }
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => a.extend(b),
            (Acc::Timed(a), Acc::Timed(Some((t, v)))) => {
                let replace = match a {
                    None => true,
                    Some((old, _)) if self.kind == Kind::First => t < *old,
                    Some((old, _)) => t >= *old,
                };
                if replace {
                    *a = Some((t, v));
                }
            }
            _ => {}
        }
    }

    /// The column of results for `accs` (one per fired window).
    pub fn finish<'a>(&self, accs: impl Iterator<Item = &'a Acc>) -> Result<ArrayRef, String> {
        let array: ArrayRef = match self.kind {
            Kind::CountAll | Kind::CountValues | Kind::CountDistinct => {
                Arc::new(Int64Array::from_iter_values(accs.map(|a| match a {
                    Acc::Count(n) => *n,
                    Acc::Distinct(set) => set.len() as i64,
                    _ => 0,
                })))
            }
            Kind::SumInt | Kind::MinInt | Kind::MaxInt => {
                Arc::new(Int64Array::from_iter(accs.map(|a| match a {
                    Acc::SumInt(v) | Acc::Int(v) => *v,
                    _ => None,
                })))
            }
            Kind::SumFloat | Kind::MinFloat | Kind::MaxFloat | Kind::Avg => {
                Arc::new(Float64Array::from_iter(accs.map(|a| match a {
                    Acc::SumFloat(v) | Acc::Float(v) => *v,
                    Acc::Avg(_, 0) => None,
                    Acc::Avg(s, n) => Some(s / *n as f64),
                    _ => None,
                })))
            }
            Kind::MinAny | Kind::MaxAny | Kind::First | Kind::Last => {
                let values: Vec<Option<ScalarValue>> = accs
                    .map(|a| match a {
                        Acc::Any(v) => v.clone(),
                        Acc::Timed(v) => v.as_ref().map(|(_, v)| v.clone()),
                        _ => None,
                    })
                    .collect();
                scalars_to_array(values, &self.output_type)?
            }
        };
        if array.data_type() == &self.output_type {
            Ok(array)
        } else {
            cast(&array, &self.output_type).map_err(|e| e.to_string())
        }
    }
}

fn merge_opt<T: Copy>(a: Option<T>, b: Option<T>, f: impl Fn(T, T) -> T) -> Option<T> {
    match (a, b) {
        (Some(x), Some(y)) => Some(f(x, y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn scalars_to_array(
    values: Vec<Option<ScalarValue>>,
    data_type: &DataType,
) -> Result<ArrayRef, String> {
    if values.iter().all(Option::is_none) {
        return Ok(new_null_array(data_type, values.len()));
    }
    let null = ScalarValue::try_from(data_type).map_err(|e| e.to_string())?;
    ScalarValue::iter_to_array(
        values
            .into_iter()
            .map(|v| v.unwrap_or_else(|| null.clone())),
    )
    .map_err(|e| e.to_string())
}

/// An aggregate's argument for one batch, cast for fast per-row reads.
pub enum Prepared {
    None,
    Int(Int64Array),
    Float(Float64Array),
    Any(ArrayRef),
}

/// The running state of one aggregate in one window.
#[derive(Debug, Clone)]
pub enum Acc {
    Count(i64),
    SumInt(Option<i64>),
    SumFloat(Option<f64>),
    Avg(f64, i64),
    Int(Option<i64>),
    Float(Option<f64>),
    Any(Option<ScalarValue>),
    Distinct(FxHashSet<ScalarValue>),
    /// First/last value with its event time.
    Timed(Option<(i64, ScalarValue)>),
}

/// All aggregates of a window node.
#[derive(Debug, Clone)]
pub struct Aggregates {
    pub list: Vec<Aggregate>,
}

impl Aggregates {
    pub fn new(specs: &[AggregateSpec]) -> Self {
        Self {
            list: specs.iter().map(Aggregate::new).collect(),
        }
    }

    pub fn prepare(&self, batch: &RecordBatch) -> Result<Vec<Prepared>, RunError> {
        self.list.iter().map(|a| a.prepare(batch)).collect()
    }

    pub fn new_states(&self) -> Vec<Acc> {
        self.list.iter().map(Aggregate::new_state).collect()
    }

    pub fn update(&self, states: &mut [Acc], prepared: &[Prepared], row: usize, ts: i64) {
        for ((agg, acc), p) in self.list.iter().zip(states.iter_mut()).zip(prepared) {
            agg.update(acc, p, row, ts);
        }
    }

    pub fn merge(&self, into: &mut [Acc], other: Vec<Acc>) {
        for ((agg, acc), o) in self.list.iter().zip(into.iter_mut()).zip(other) {
            agg.merge(acc, o);
        }
    }

    /// One column per aggregate for the given windows' states.
    pub fn finish(&self, states: &[&[Acc]]) -> Result<Vec<ArrayRef>, String> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, agg)| agg.finish(states.iter().map(|s| &s[i])))
            .collect()
    }
}
