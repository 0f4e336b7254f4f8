//! Keys of rows as bytes (for state lookups); which instance owns a key is the contract's
//! `key_groups`.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use arrow::row::{RowConverter, Rows, SortField};

use super::contract::RunError;

/// Encodes the key columns of a batch into comparable byte rows, and decodes them back.
pub struct KeyEncoder {
    columns: Vec<usize>,
    converter: Option<RowConverter>,
}

impl KeyEncoder {
    /// `columns` are the key column names in `schema`; an empty list means one key for all rows.
    pub fn new(schema: &SchemaRef, columns: &[String]) -> Result<Self, RunError> {
        let indices: Vec<usize> = columns
            .iter()
            .map(|c| {
                schema
                    .index_of(c)
                    .map_err(|_| RunError::internal(format!("key column `{c}` is missing")))
            })
            .collect::<Result<_, _>>()?;
        let converter = if indices.is_empty() {
            None
        } else {
            let fields = indices
                .iter()
                .map(|&i| SortField::new(schema.field(i).data_type().clone()))
                .collect();
            Some(RowConverter::new(fields).map_err(|e| RunError::internal(e.to_string()))?)
        };
        Ok(Self {
            columns: indices,
            converter,
        })
    }

    /// The key columns' indices in the schema.
    pub fn columns(&self) -> &[usize] {
        &self.columns
    }

    /// Whether row `row` of `batch` has a NULL in a key column (a NULL key equals nothing, as in
    /// SQL, so joins and lookups let such a row meet nobody).
    pub fn has_null(&self, batch: &RecordBatch, row: usize) -> bool {
        self.columns.iter().any(|&c| batch.column(c).is_null(row))
    }

    pub fn is_global(&self) -> bool {
        self.converter.is_none()
    }

    /// The key rows of `batch`; `None` when there are no key columns.
    pub fn encode(&self, batch: &RecordBatch) -> Result<Option<Rows>, RunError> {
        let Some(converter) = &self.converter else {
            return Ok(None);
        };
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter()
            .map(|&i| batch.column(i).clone())
            .collect();
        converter
            .convert_columns(&arrays)
            .map(Some)
            .map_err(|e| RunError::internal(e.to_string()))
    }

    /// Turns stored key bytes back into key columns.
    pub fn decode<'a>(
        &self,
        keys: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<Vec<ArrayRef>, RunError> {
        let Some(converter) = &self.converter else {
            return Ok(Vec::new());
        };
        let parser = converter.parser();
        let rows: Vec<_> = keys.into_iter().map(|k| parser.parse(k)).collect();
        converter
            .convert_rows(rows)
            .map_err(|e| RunError::internal(e.to_string()))
    }
}

pub use super::contract::key_groups::{InstanceOf, instance_of_key, key_hash};

// Every parallelism a pipeline may ask for gets key groups of its own.
const _: () = assert!(
    super::contract::key_groups::KEY_GROUPS == crate::model::validate::MAX_PARALLELISM as u64
);
