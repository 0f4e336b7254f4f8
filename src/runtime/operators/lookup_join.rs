//! Lookup join: each row looks its key up in a reference table held in memory and comes out with
//! the table's columns (NULLs in a left join when the key is not there; dropped and counted in an
//! inner one). With `reload`, the file is looked at about once a second of wall time and read
//! again when it changed; a reload that fails keeps the table before and is counted.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Instant, SystemTime};

use arrow::array::{Array, UInt32Array};
use arrow::compute::{cast, filter_record_batch, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use crate::model::kinds::join::lookup::{DuplicateKeys, PlannedLookupJoin};
use crate::runtime::contract::{InstanceMetrics, OpResult, Operator, Output, RunError, fail};
use crate::runtime::keys::KeyEncoder;
use crate::values::cell_text;

/// Reads the reference table whole (the connectors' reader, handed in by the engine's builder).
pub type TableLoader = Box<dyn Fn() -> Result<RecordBatch, RunError> + Send>;

/// How often a reloading join looks at its file.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// A file's modification time and length: what tells that it changed.
type Stamp = Option<(SystemTime, u64)>;

/// The reference file of a reloading join: its stamp when last read, and when it was last looked at.
struct Watch {
    path: PathBuf,
    seen: Stamp,
    looked: Instant,
}

/// The reference table, keyed.
struct Table {
    rows: RecordBatch,
    /// Key bytes → the row that holds it (the last one, when keys repeat and the last wins).
    index: FxHashMap<Box<[u8]>, u32>,
}

pub struct LookupJoinOperator {
    stream_keys: KeyEncoder,
    table_keys: TableKeys,
    table_name: String,
    duplicates: DuplicateKeys,
    left_join: bool,
    table_columns: Vec<usize>,
    output: SchemaRef,
    table: Table,
    loader: TableLoader,
    /// When reloading: the file and what was last seen of it.
    watch: Option<Watch>,
    metrics: Arc<InstanceMetrics>,
}

fn stamp(path: &PathBuf) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

pub fn build(
    planned: &PlannedLookupJoin,
    input: &SchemaRef,
    loader: TableLoader,
    metrics: &Arc<InstanceMetrics>,
) -> Result<Box<dyn Operator>, RunError> {
    let table_keys = TableKeys::new(planned)?;
    let watch = planned.reload.then(|| Watch {
        path: planned.path.clone(),
        seen: stamp(&planned.path),
        looked: Instant::now(),
    });
    let rows = loader()?;
    let table = index(&rows, &table_keys, planned.duplicates, &planned.table_name)?;
    let op = LookupJoinOperator {
        stream_keys: KeyEncoder::new(input, &planned.key)?,
        table_keys,
        table_name: planned.table_name.clone(),
        duplicates: planned.duplicates,
        left_join: !planned.join.is_inner(),
        table_columns: planned.table_columns.clone(),
        output: Arc::clone(&planned.output),
        table,
        loader,
        watch,
        metrics: Arc::clone(metrics),
    };
    op.publish();
    Ok(Box::new(op))
}

/// The table's key columns read as the stream's key types, encoded as the stream's keys are.
struct TableKeys {
    columns: Vec<usize>,
    schema: SchemaRef,
    encoder: KeyEncoder,
}

impl TableKeys {
    fn new(planned: &PlannedLookupJoin) -> Result<Self, RunError> {
        let columns = planned
            .table_key
            .iter()
            .map(|k| {
                planned
                    .table_schema
                    .index_of(k)
                    .map_err(|_| RunError::internal(format!("table key `{k}` is missing")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fields: Vec<Field> = planned
            .table_key
            .iter()
            .zip(&planned.key_types)
            .map(|(name, data_type)| Field::new(name, data_type.clone(), true))
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let encoder = KeyEncoder::new(&schema, &planned.table_key)?;
        Ok(Self {
            columns,
            schema,
            encoder,
        })
    }

    /// The key rows of the table's `rows`, and which rows have a NULL in their key (a key too
    /// wide for the stream's type is NULL too: no stream row can hold it).
    fn encode(&self, rows: &RecordBatch) -> Result<(arrow::row::Rows, Vec<bool>), RunError> {
        let arrays = self
            .columns
            .iter()
            .zip(self.schema.fields())
            .map(|(&c, f)| cast(rows.column(c), f.data_type()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| RunError::data(e.to_string()))?;
        let nulls = (0..rows.num_rows())
            .map(|r| arrays.iter().any(|a| a.is_null(r)))
            .collect();
        let keys = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .map_err(|e| RunError::internal(e.to_string()))?;
        let encoded = self
            .encoder
            .encode(&keys)?
            .ok_or_else(|| RunError::internal("a lookup join's table has no key columns"))?;
        Ok((encoded, nulls))
    }

    fn decode(&self, key: &[u8]) -> Result<Vec<arrow::array::ArrayRef>, RunError> {
        self.encoder.decode([key])
    }
}

/// Keys the table's rows; a repeated key is replaced by the later row, or refused.
fn index(
    rows: &RecordBatch,
    keys: &TableKeys,
    duplicates: DuplicateKeys,
    name: &str,
) -> Result<Table, RunError> {
    let (encoded, nulls) = keys.encode(rows)?;
    let mut index: FxHashMap<Box<[u8]>, u32> = FxHashMap::default();
    index.reserve(rows.num_rows());
    for (row, &null) in nulls.iter().enumerate() {
        // A row with a NULL key can never be found (NULL equals nothing).
        if null {
            continue;
        }
        let key = encoded.row(row);
        if let Some(earlier) = index.insert(key.as_ref().into(), row as u32)
            && duplicates == DuplicateKeys::Refuse
        {
            let shown = keys
                .decode(key.as_ref())?
                .iter()
                .map(|c| cell_text(c.as_ref(), 0))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(RunError::data(format!(
                "the reference table {name} has the key ({shown}) twice, in its rows {} and {} (counting from 1 after any header); the join refuses repeated keys — set duplicate keys to LastWins to let the later row win",
                earlier + 1,
                row + 1
            )));
        }
    }
    Ok(Table {
        rows: rows.clone(),
        index,
    })
}

impl LookupJoinOperator {
    fn publish(&self) {
        self.metrics.held_rows[0].store(self.table.rows.num_rows() as u64, Relaxed);
        self.metrics
            .keys
            .store(self.table.index.len() as u64, Relaxed);
    }

    /// Reads the table again if its file changed since it was last read; a failure keeps the
    /// table there is and is counted.
    fn maybe_reload(&mut self) {
        let Some(watch) = &mut self.watch else {
            return;
        };
        if watch.looked.elapsed() < LOOK_EVERY {
            return;
        }
        watch.looked = Instant::now();
        let now = stamp(&watch.path);
        if now.is_none() || now == watch.seen {
            return;
        }
        watch.seen = now;
        let fresh = (self.loader)()
            .and_then(|rows| index(&rows, &self.table_keys, self.duplicates, &self.table_name));
        match fresh {
            Ok(table) => {
                self.table = table;
                InstanceMetrics::add(&self.metrics.reloads, 1);
            }
            Err(_) => InstanceMetrics::add(&self.metrics.failed_reloads, 1),
        }
        self.publish();
    }
}

impl Operator for LookupJoinOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        self.maybe_reload();
        let Some(keys) = self.stream_keys.encode(&batch)? else {
            return Err(fail("a lookup join has no key columns"));
        };
        let found: UInt32Array = (0..batch.num_rows())
            .map(|row| {
                // A NULL key equals nothing, as in SQL.
                if self.stream_keys.has_null(&batch, row) {
                    return None;
                }
                self.table.index.get(keys.row(row).as_ref()).copied()
            })
            .collect();
        let misses = found.null_count();
        InstanceMetrics::add(&self.metrics.unmatched_rows, misses as u64);
        let (batch, found) = if misses > 0 && !self.left_join {
            let hit = arrow::compute::is_not_null(&found).map_err(|e| fail(e.to_string()))?;
            let kept = filter_record_batch(&batch, &hit).map_err(|e| fail(e.to_string()))?;
            let found = arrow::compute::filter(&found, &hit).map_err(|e| fail(e.to_string()))?;
            let found = found
                .as_any()
                .downcast_ref::<UInt32Array>()
                .cloned()
                .ok_or_else(|| fail("lookup indices are not u32"))?;
            (kept, found)
        } else {
            (batch, found)
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let mut columns = batch.columns().to_vec();
        for &c in &self.table_columns {
            let column = take(self.table.rows.column(c).as_ref(), &found, None)
                .map_err(|e| fail(e.to_string()))?;
            columns.push(column);
        }
        let joined = RecordBatch::try_new(Arc::clone(&self.output), columns)
            .map_err(|e| fail(e.to_string()))?;
        out.emit(0, joined)
    }
}

#[cfg(test)]
#[path = "lookup_join_tests.rs"]
mod tests;
