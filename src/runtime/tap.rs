//! Taps: the last rows that crossed an edge, kept in a small ring the UI reads (or, for a
//! preview, the first rows). A tap never slows the pipeline: when disabled it costs one atomic
//! load, and a busy reader makes it skip a batch.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow::record_batch::RecordBatch;

/// The ring of one edge.
#[derive(Debug)]
pub struct Tap {
    enabled: AtomicBool,
    ring: Mutex<TapRing>,
}

#[derive(Debug, Default)]
struct TapRing {
    capacity_rows: usize,
    /// Keep the first rows and then nothing more, instead of the last ones.
    keep_first: bool,
    rows: usize,
    batches: VecDeque<RecordBatch>,
}

impl Tap {
    pub fn new() -> Self {
        Self {
            enabled: AtomicBool::new(false),
            ring: Mutex::new(TapRing::default()),
        }
    }

    /// Starts keeping the last `rows` rows.
    pub fn enable(&self, rows: usize) {
        self.enable_keeping(rows, false);
    }

    /// Starts keeping the first `rows` rows, and nothing after them (a preview).
    pub fn enable_first(&self, rows: usize) {
        self.enable_keeping(rows, true);
    }

    fn enable_keeping(&self, rows: usize, keep_first: bool) {
        if let Ok(mut ring) = self.ring.lock() {
            ring.capacity_rows = rows.max(1);
            ring.keep_first = keep_first;
        }
        self.enabled.store(true, Ordering::Release);
    }

    pub fn disable(&self) {
        self.enabled.store(false, Ordering::Release);
        if let Ok(mut ring) = self.ring.lock() {
            ring.batches.clear();
            ring.rows = 0;
        }
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Called by the sender for every batch on the edge.
    pub fn offer(&self, batch: &RecordBatch) {
        if !self.is_enabled() || batch.num_rows() == 0 {
            return;
        }
        // Never wait for the reader: skipping a batch is better than slowing the pipeline.
        let Ok(mut guard) = self.ring.try_lock() else {
            return;
        };
        let ring = &mut *guard;
        let capacity = ring.capacity_rows;
        if ring.keep_first {
            let room = capacity.saturating_sub(ring.rows);
            if room > 0 {
                let batch = batch.slice(0, room.min(batch.num_rows()));
                ring.rows += batch.num_rows();
                ring.batches.push_back(batch);
            }
            return;
        }
        let batch = if batch.num_rows() > capacity {
            batch.slice(batch.num_rows() - capacity, capacity)
        } else {
            batch.clone()
        };
        ring.rows += batch.num_rows();
        ring.batches.push_back(batch);
        while ring.rows > capacity {
            let Some(front) = ring.batches.front_mut() else {
                break;
            };
            let excess = ring.rows - capacity;
            if front.num_rows() <= excess {
                ring.rows -= front.num_rows();
                ring.batches.pop_front();
            } else {
                *front = front.slice(excess, front.num_rows() - excess);
                ring.rows -= excess;
            }
        }
    }

    /// The rows kept, oldest first.
    pub fn rows(&self) -> Vec<RecordBatch> {
        match self.ring.lock() {
            Ok(ring) => ring.batches.iter().cloned().collect(),
            Err(_) => Vec::new(),
        }
    }
}

impl Default for Tap {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use std::sync::Arc;

    fn batch(values: Vec<i64>) -> RecordBatch {
        RecordBatch::try_from_iter([("v", Arc::new(Int64Array::from(values)) as _)]).unwrap()
    }

    #[test]
    fn keeps_only_the_last_rows_and_nothing_when_disabled() {
        let tap = Tap::new();
        tap.offer(&batch(vec![1, 2, 3]));
        assert!(tap.rows().is_empty());
        tap.enable(4);
        tap.offer(&batch(vec![1, 2, 3]));
        tap.offer(&batch(vec![4, 5, 6]));
        let kept = kept_values(&tap);
        assert_eq!(kept, vec![3, 4, 5, 6]);
    }

    /// The values of the first column of every row the tap kept, in order.
    fn kept_values(tap: &Tap) -> Vec<i64> {
        tap.rows()
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    #[test]
    fn a_preview_tap_keeps_the_first_rows_and_then_nothing() {
        let tap = Tap::new();
        tap.enable_first(4);
        tap.offer(&batch(vec![1, 2, 3]));
        tap.offer(&batch(vec![4, 5, 6]));
        tap.offer(&batch(vec![7]));
        let kept = kept_values(&tap);
        assert_eq!(kept, vec![1, 2, 3, 4]);
    }
}
