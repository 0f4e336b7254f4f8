//! One side of a join's state: the rows waiting for partners, kept in the batches they came in
//! (a batch is let go when its last waiting row is), indexed by key, with the instant each row may
//! be let go. Shared by the joins of two streams.

use std::collections::BTreeMap;

use arrow::array::{Array, ArrayRef, new_null_array};
use arrow::compute::interleave;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use crate::runtime::contract::{RunError, Timestamp};

/// A row held in state: where it is, its event time, and whether it met a partner yet.
#[derive(Debug, Clone, Copy)]
pub struct HeldRow {
    pub ts: Timestamp,
    pub batch: u32,
    pub row: u32,
    pub matched: bool,
}

/// Where an output row's columns come from: a held row of a side (batch, row), or NULLs.
pub type RowSource = Option<(u32, u32)>;

/// A batch and how many of its rows are still held.
struct HeldBatch {
    batch: RecordBatch,
    live: u32,
}

/// The held rows of one input of a join.
pub struct JoinSide {
    schema: SchemaRef,
    batches: FxHashMap<u32, HeldBatch>,
    next_batch: u32,
    pub by_key: FxHashMap<Box<[u8]>, Vec<HeldRow>>,
    /// When the watermark reaches an instant, the keys with a row that may go then.
    expiries: BTreeMap<Timestamp, Vec<Box<[u8]>>>,
    /// How long after its own time a row is kept (the span the other side may still match in).
    keep_ms: i64,
    pub held: u64,
    /// Held rows that have not met a partner yet.
    pub waiting: u64,
}

impl JoinSide {
    pub fn new(schema: SchemaRef, keep_ms: i64) -> Self {
        Self {
            schema,
            batches: FxHashMap::default(),
            next_batch: 0,
            by_key: FxHashMap::default(),
            expiries: BTreeMap::new(),
            keep_ms,
            held: 0,
            waiting: 0,
        }
    }

    /// How many columns the side's rows have.
    pub fn schema_width(&self) -> usize {
        self.schema.fields().len()
    }

    /// Registers a batch whose rows may be held; its id for [`JoinSide::hold`].
    pub fn add_batch(&mut self, batch: RecordBatch) -> u32 {
        let id = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        self.batches.insert(id, HeldBatch { batch, live: 0 });
        id
    }

    /// The side's columns.
    pub fn schema(&self) -> SchemaRef {
        SchemaRef::clone(&self.schema)
    }

    /// Counts one more row of batch `id` as held (by a caller that indexes rows itself).
    pub fn pin(&mut self, id: u32) {
        if let Some(b) = self.batches.get_mut(&id) {
            b.live += 1;
            self.held += 1;
        }
    }

    /// Counts one row of batch `id` as let go; [`JoinSide::release`] then forgets empty batches.
    pub fn unpin(&mut self, id: u32) {
        if let Some(b) = self.batches.get_mut(&id) {
            b.live = b.live.saturating_sub(1);
            self.held = self.held.saturating_sub(1);
        }
    }

    /// Forgets a batch none of whose rows was held.
    pub fn drop_if_unused(&mut self, id: u32) {
        if self.batches.get(&id).is_some_and(|b| b.live == 0) {
            self.batches.remove(&id);
        }
    }

    /// Holds `row` of batch `id` under `key` until the watermark passes its time by `keep_ms`.
    pub fn hold(&mut self, key: &[u8], row: HeldRow) {
        if let Some(b) = self.batches.get_mut(&row.batch) {
            b.live += 1;
        }
        self.held += 1;
        self.waiting += u64::from(!row.matched);
        match self.by_key.get_mut(key) {
            Some(rows) => rows.push(row),
            None => {
                self.by_key.insert(key.into(), vec![row]);
            }
        }
        self.expiries
            .entry(row.ts.saturating_add(self.keep_ms))
            .or_default()
            .push(key.into());
    }

    /// Marks a held row as having met a partner.
    pub fn mark_matched(&mut self, row: &mut HeldRow) {
        if !row.matched {
            row.matched = true;
            self.waiting = self.waiting.saturating_sub(1);
        }
    }

    /// Lets go of every row the watermark `w` passed by `keep_ms`; the rows let go that never met
    /// a partner, as row sources, when `want_unmatched` (a left join emits them). Their batches
    /// stay until [`JoinSide::release`].
    pub fn expire(&mut self, w: Timestamp, want_unmatched: bool) -> (Vec<RowSource>, u64) {
        let mut unmatched = Vec::new();
        let mut unmatched_count = 0;
        let keep = self.keep_ms;
        let mut emptied: Vec<u32> = Vec::new();
        while let Some(entry) = self.expiries.first_entry() {
            if *entry.key() > w {
                break;
            }
            for key in entry.remove() {
                let Some(rows) = self.by_key.get_mut(&key) else {
                    continue;
                };
                rows.retain(|r| {
                    let stays = r.ts.saturating_add(keep) > w;
                    if !stays {
                        if !r.matched {
                            unmatched_count += 1;
                            if want_unmatched {
                                unmatched.push(Some((r.batch, r.row)));
                            }
                        }
                        emptied.push(r.batch);
                    }
                    stays
                });
                if rows.is_empty() {
                    self.by_key.remove(&key);
                }
            }
        }
        for id in emptied {
            self.held = self.held.saturating_sub(1);
            if let Some(b) = self.batches.get_mut(&id) {
                b.live = b.live.saturating_sub(1);
            }
        }
        self.waiting = self.waiting.saturating_sub(unmatched_count);
        (unmatched, unmatched_count)
    }

    /// Forgets the batches no held row is in any more (after the rows let go were emitted).
    pub fn release(&mut self) {
        self.batches.retain(|_, b| b.live > 0);
    }

    /// The column `column` of the rows `sources`, NULL where a source is `None`.
    pub fn gather(&self, column: usize, sources: &[RowSource]) -> Result<ArrayRef, RunError> {
        let data_type = self.schema.field(column).data_type();
        let nulls = new_null_array(data_type, 1);
        let mut arrays: Vec<&dyn Array> = vec![nulls.as_ref()];
        let mut slot_of: FxHashMap<u32, usize> = FxHashMap::default();
        let mut indices = Vec::with_capacity(sources.len());
        for source in sources {
            match source {
                None => indices.push((0, 0)),
                Some((batch, row)) => {
                    let slot = match slot_of.get(batch) {
                        Some(&slot) => slot,
                        None => {
                            let held = self.batches.get(batch).ok_or_else(|| {
                                RunError::internal("a joined row's batch was let go too early")
                            })?;
                            arrays.push(held.batch.column(column).as_ref());
                            slot_of.insert(*batch, arrays.len() - 1);
                            arrays.len() - 1
                        }
                    };
                    indices.push((slot, *row as usize));
                }
            }
        }
        interleave(&arrays, &indices).map_err(|e| RunError::internal(e.to_string()))
    }

    /// Every held row, in one batch, with whether it met a partner: what a checkpoint keeps.
    pub fn snapshot(&self) -> Result<(RecordBatch, Vec<bool>), RunError> {
        let mut sources = Vec::with_capacity(self.held as usize);
        let mut matched = Vec::with_capacity(self.held as usize);
        let mut keys: Vec<&Box<[u8]>> = self.by_key.keys().collect();
        keys.sort_unstable();
        for key in keys {
            for r in &self.by_key[key] {
                sources.push(Some((r.batch, r.row)));
                matched.push(r.matched);
            }
        }
        let columns = (0..self.schema.fields().len())
            .map(|c| self.gather(c, &sources))
            .collect::<Result<Vec<_>, _>>()?;
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .map_err(|e| RunError::internal(e.to_string()))?;
        Ok((batch, matched))
    }
}
