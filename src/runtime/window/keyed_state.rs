//! Keys seen by a window instance, interned to small ids, and turned back into key columns.

use arrow::array::ArrayRef;
use arrow::row::Rows;
use rustc_hash::FxHashMap;

use crate::runtime::contract::RunError;
use crate::runtime::keys::KeyEncoder;

/// Interns key bytes; id 0 is the single key of an unkeyed window.
pub struct KeyTable {
    pub encoder: KeyEncoder,
    ids: FxHashMap<Box<[u8]>, u32>,
    bytes: Vec<Box<[u8]>>,
}

impl KeyTable {
    pub fn new(encoder: KeyEncoder) -> Self {
        Self {
            encoder,
            ids: FxHashMap::default(),
            bytes: Vec::new(),
        }
    }

    /// The id of row `row`'s key.
    pub fn id(&mut self, rows: Option<&Rows>, row: usize) -> u32 {
        let Some(rows) = rows else { return 0 };
        let key = rows.row(row);
        let bytes = key.as_ref();
        if let Some(&id) = self.ids.get(bytes) {
            return id;
        }
        let id = self.bytes.len() as u32;
        let owned: Box<[u8]> = bytes.into();
        self.ids.insert(owned.clone(), id);
        self.bytes.push(owned);
        id
    }

    pub fn len(&self) -> usize {
        self.bytes.len().max(usize::from(self.encoder.is_global()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Key columns for the given key ids, in order.
    pub fn columns(&self, ids: &[u32]) -> Result<Vec<ArrayRef>, RunError> {
        self.encoder
            .decode(ids.iter().map(|&id| self.bytes[id as usize].as_ref()))
    }
}
