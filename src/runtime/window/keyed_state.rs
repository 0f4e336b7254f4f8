//! Keys seen by a window instance, interned to small ids and turned back into key columns. A key
//! is held only while it has windows: when its last window is freed, so is the key, so a stream of
//! ever-new keys (session ids) keeps flat memory.

use arrow::array::ArrayRef;
use arrow::row::Rows;
use rustc_hash::FxHashMap;

use crate::runtime::contract::RunError;
use crate::runtime::keys::KeyEncoder;

/// One held key: its bytes and how many windows hold it.
struct Held {
    bytes: Box<[u8]>,
    windows: u32,
}

/// Interns key bytes; id 0 is the single key of an unkeyed window.
pub struct KeyTable {
    pub encoder: KeyEncoder,
    ids: FxHashMap<Box<[u8]>, u32>,
    held: FxHashMap<u32, Held>,
    /// The next id to hand out. Ids are not reused while any could still be named by a timer.
    next: u32,
    /// Keys interned since the last sweep, freed then if no window took them.
    fresh: Vec<u32>,
}

impl KeyTable {
    pub fn new(encoder: KeyEncoder) -> Self {
        Self {
            encoder,
            ids: FxHashMap::default(),
            held: FxHashMap::default(),
            next: 0,
            fresh: Vec::new(),
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
        // After four billion keys the ids wrap; an id still held is skipped.
        let mut id = self.next;
        while self.held.contains_key(&id) {
            id = id.wrapping_add(1);
        }
        self.next = id.wrapping_add(1);
        let owned: Box<[u8]> = bytes.into();
        self.ids.insert(owned.clone(), id);
        self.held.insert(
            id,
            Held {
                bytes: owned,
                windows: 0,
            },
        );
        self.fresh.push(id);
        id
    }

    /// A window of `id` opened.
    pub fn retain(&mut self, id: u32) {
        if let Some(held) = self.held.get_mut(&id) {
            held.windows += 1;
        }
    }

    /// A window of `id` was freed; the key goes with its last window.
    pub fn release(&mut self, id: u32) {
        let Some(held) = self.held.get_mut(&id) else {
            return;
        };
        held.windows = held.windows.saturating_sub(1);
        if held.windows == 0 {
            self.forget(id);
        }
    }

    fn forget(&mut self, id: u32) {
        if let Some(held) = self.held.remove(&id) {
            self.ids.remove(&held.bytes);
        }
    }

    /// Frees the keys interned since the last sweep that no window took (their rows were late).
    pub fn sweep(&mut self) {
        for id in std::mem::take(&mut self.fresh) {
            if self.held.get(&id).is_some_and(|h| h.windows == 0) {
                self.forget(id);
            }
        }
    }

    /// The bytes of a held key.
    pub fn bytes_of(&self, id: u32) -> Option<&[u8]> {
        self.held.get(&id).map(|h| h.bytes.as_ref())
    }

    /// The next id to hand out (saved with the state, so restored keys keep their order).
    pub fn next_id(&self) -> u32 {
        self.next
    }

    /// Holds `bytes` again after a restore, under `saved_id` when that id is free (timers fire in
    /// key-id order, so a restored run fires in the same order as the saved one); the id used.
    pub fn restore(&mut self, saved_id: u32, bytes: &[u8], saved_next: u32) -> u32 {
        if let Some(&id) = self.ids.get(bytes) {
            return id;
        }
        self.next = self.next.max(saved_next);
        let mut id = saved_id;
        while self.held.contains_key(&id) {
            id = self.next;
            self.next = self.next.wrapping_add(1);
        }
        let owned: Box<[u8]> = bytes.into();
        self.ids.insert(owned.clone(), id);
        self.held.insert(
            id,
            Held {
                bytes: owned,
                windows: 0,
            },
        );
        id
    }

    /// How many keys are held (1 for an unkeyed window).
    pub fn len(&self) -> usize {
        self.held.len().max(usize::from(self.encoder.is_global()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Key columns for the given key ids, in order (none for an unkeyed window).
    pub fn columns(&self, ids: &[u32]) -> Result<Vec<ArrayRef>, RunError> {
        if self.encoder.is_global() {
            return Ok(Vec::new());
        }
        let mut bytes = Vec::with_capacity(ids.len());
        for id in ids {
            let held = self
                .held
                .get(id)
                .ok_or_else(|| RunError::internal(format!("key {id} is no longer held")))?;
            bytes.push(held.bytes.as_ref());
        }
        self.encoder.decode(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::StringArray;
    use arrow::datatypes::{DataType, Field, Schema};
    use arrow::record_batch::RecordBatch;
    use std::sync::Arc;

    #[test]
    fn a_key_is_held_while_it_has_windows_and_freed_with_its_last() {
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Utf8, false)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(StringArray::from(vec!["a", "b", "a"]))],
        )
        .unwrap();
        let mut keys = KeyTable::new(KeyEncoder::new(&schema, &["k".to_string()]).unwrap());
        let rows = keys.encoder.encode(&batch).unwrap();
        let a = keys.id(rows.as_ref(), 0);
        let b = keys.id(rows.as_ref(), 1);
        assert_eq!(keys.id(rows.as_ref(), 2), a);
        keys.retain(a);
        keys.retain(a);
        keys.sweep();
        assert_eq!(keys.len(), 1, "b took no window and is gone");
        assert!(keys.columns(&[b]).is_err());
        keys.release(a);
        assert_eq!(keys.len(), 1);
        keys.release(a);
        assert_eq!(keys.len(), 0);
        // A key seen again later gets a new id.
        assert_ne!(keys.id(rows.as_ref(), 0), a);
    }
}
