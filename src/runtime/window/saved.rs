//! Window state in a checkpoint: per window its key (id and bytes), bounds, flags and
//! accumulators in the plain state encoding, with the values of any type an accumulator holds
//! (min/max of strings, first/last, distinct sets) gathered per aggregate into Arrow IPC streams, so
//! every Arrow type saves exactly. Layout: `bytes(body) u32(aggregates) bytes(ipc or empty)...`.

use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;
use rustc_hash::FxHashSet;

use super::accumulate::{Acc, Aggregates};
use crate::runtime::contract::RunError;
use crate::runtime::contract::{StateReader, StateWriter};

/// Writes accumulators into a body, keeping their typed values aside.
pub struct AccWriter {
    pub body: StateWriter,
    pools: Vec<Vec<ScalarValue>>,
}

impl AccWriter {
    pub fn new(aggregates: &Aggregates) -> Self {
        Self {
            body: StateWriter::new(),
            pools: vec![Vec::new(); aggregates.list.len()],
        }
    }

    fn pool(&mut self, aggregate: usize, value: &ScalarValue) -> u32 {
        let pool = &mut self.pools[aggregate];
        pool.push(value.clone());
        (pool.len() - 1) as u32
    }

    /// One window's accumulators, one per aggregate in order.
    pub fn accs(&mut self, accs: &[Acc]) {
        for (i, acc) in accs.iter().enumerate() {
            match acc {
                Acc::Count(n) => {
                    self.body.u8(0);
                    self.body.i64(*n);
                }
                Acc::SumInt(v) => {
                    self.body.u8(1);
                    self.body.opt_i64(*v);
                }
                Acc::SumFloat(v) => {
                    self.body.u8(2);
                    self.body.opt_f64(*v);
                }
                Acc::Avg(sum, n) => {
                    self.body.u8(3);
                    self.body.f64(*sum);
                    self.body.i64(*n);
                }
                Acc::Int(v) => {
                    self.body.u8(4);
                    self.body.opt_i64(*v);
                }
                Acc::Float(v) => {
                    self.body.u8(5);
                    self.body.opt_f64(*v);
                }
                Acc::Any(v) => {
                    self.body.u8(6);
                    let index = v.as_ref().map(|v| i64::from(self.pool(i, v)));
                    self.body.opt_i64(index);
                }
                Acc::Distinct(set) => {
                    self.body.u8(7);
                    self.body.u64(set.len() as u64);
                    for v in set {
                        let index = self.pool(i, v);
                        self.body.u32(index);
                    }
                }
                Acc::Timed(v) => {
                    self.body.u8(8);
                    match v {
                        Some((ts, value)) => {
                            self.body.bool(true);
                            self.body.i64(*ts);
                            let index = self.pool(i, value);
                            self.body.u32(index);
                        }
                        None => self.body.bool(false),
                    }
                }
            }
        }
    }

    /// The whole blob: the body, then each aggregate's values as an Arrow IPC stream.
    pub fn finish(self) -> Result<Vec<u8>, RunError> {
        let mut out = StateWriter::new();
        out.bytes(&self.body.finish());
        out.u32(self.pools.len() as u32);
        for pool in self.pools {
            if pool.is_empty() {
                out.bytes(&[]);
                continue;
            }
            let array = ScalarValue::iter_to_array(pool)
                .map_err(|e| RunError::internal(format!("saving window values: {e}")))?;
            out.bytes(&ipc_bytes(array)?);
        }
        Ok(out.finish())
    }
}

fn ipc_bytes(array: ArrayRef) -> Result<Vec<u8>, RunError> {
    let failed = |e: arrow::error::ArrowError| RunError::internal(format!("saving values: {e}"));
    let schema = Arc::new(Schema::new(vec![Field::new(
        "v",
        array.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(Arc::clone(&schema), vec![array]).map_err(failed)?;
    let mut writer =
        arrow_ipc::writer::StreamWriter::try_new(Vec::new(), &schema).map_err(failed)?;
    writer.write(&batch).map_err(failed)?;
    writer.into_inner().map_err(failed)
}

fn ipc_array(bytes: &[u8]) -> Result<Option<ArrayRef>, RunError> {
    if bytes.is_empty() {
        return Ok(None);
    }
    let damaged = |e: arrow::error::ArrowError| {
        RunError::data(format!("the saved window values are damaged: {e}"))
    };
    let reader =
        arrow_ipc::reader::StreamReader::try_new(Cursor::new(bytes), None).map_err(damaged)?;
    let mut columns = Vec::new();
    for batch in reader {
        columns.push(Arc::clone(batch.map_err(damaged)?.column(0)));
    }
    let refs: Vec<&dyn Array> = columns.iter().map(|c| c.as_ref()).collect();
    if refs.is_empty() {
        return Ok(None);
    }
    arrow::compute::concat(&refs).map(Some).map_err(damaged)
}

/// Reads accumulators back, resolving their typed values.
pub struct AccReader<'a> {
    pub body: StateReader<'a>,
    pools: Vec<Option<ArrayRef>>,
}

fn mismatch() -> RunError {
    RunError::data("the saved window state does not match the node's aggregates")
}

impl<'a> AccReader<'a> {
    pub fn new(blob: &'a [u8], aggregates: &Aggregates) -> Result<Self, RunError> {
        let mut outer = StateReader::new(blob);
        let body = outer.bytes()?;
        let n = outer.u32()? as usize;
        if n != aggregates.list.len() {
            return Err(mismatch());
        }
        let mut pools = Vec::with_capacity(n);
        for _ in 0..n {
            pools.push(ipc_array(outer.bytes()?)?);
        }
        outer.end()?;
        Ok(Self {
            body: StateReader::new(body),
            pools,
        })
    }

    fn value(&self, aggregate: usize, index: u64) -> Result<ScalarValue, RunError> {
        let pool = self.pools[aggregate].as_ref().ok_or_else(mismatch)?;
        if index >= pool.len() as u64 {
            return Err(mismatch());
        }
        ScalarValue::try_from_array(pool, index as usize)
            .map_err(|e| RunError::data(format!("a saved window value: {e}")))
    }

    /// One window's accumulators, checked against the node's aggregates.
    pub fn accs(&mut self, aggregates: &Aggregates) -> Result<Vec<Acc>, RunError> {
        let mut accs = aggregates.new_states();
        for (i, acc) in accs.iter_mut().enumerate() {
            let tag = self.body.u8()?;
            let read = match (tag, &*acc) {
                (0, Acc::Count(_)) => Acc::Count(self.body.i64()?),
                (1, Acc::SumInt(_)) => Acc::SumInt(self.body.opt_i64()?),
                (2, Acc::SumFloat(_)) => Acc::SumFloat(self.body.opt_f64()?),
                (3, Acc::Avg(..)) => Acc::Avg(self.body.f64()?, self.body.i64()?),
                (4, Acc::Int(_)) => Acc::Int(self.body.opt_i64()?),
                (5, Acc::Float(_)) => Acc::Float(self.body.opt_f64()?),
                (6, Acc::Any(_)) => match self.body.opt_i64()? {
                    Some(index) => Acc::Any(Some(self.value(i, index as u64)?)),
                    None => Acc::Any(None),
                },
                (7, Acc::Distinct(_)) => {
                    let n = self.body.count(4)?;
                    let mut set = FxHashSet::default();
                    for _ in 0..n {
                        let index = self.body.u32()?;
                        set.insert(self.value(i, u64::from(index))?);
                    }
                    Acc::Distinct(set)
                }
                (8, Acc::Timed(_)) => {
                    if self.body.bool()? {
                        let ts = self.body.i64()?;
                        let index = self.body.u32()?;
                        Acc::Timed(Some((ts, self.value(i, u64::from(index))?)))
                    } else {
                        Acc::Timed(None)
                    }
                }
                _ => return Err(mismatch()),
            };
            *acc = read;
        }
        Ok(accs)
    }
}
