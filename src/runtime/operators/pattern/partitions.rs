//! A pattern operator's partitions, one per key, kept in a slab: a released row looks its key up
//! once and is matched by slot after that (its wave, taking the partition out and putting it
//! back), and the watermark's pass over every key walks a vector rather than a hash map.

use rustc_hash::FxHashMap;

use super::Partition;

#[derive(Default)]
pub struct Partitions {
    slots: Vec<Partition>,
    /// Each slot's key bytes, to find the slot a removal moves.
    keys: Vec<Box<[u8]>>,
    index: FxHashMap<Box<[u8]>, usize>,
}

impl Partitions {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// The slot of `key`, made with `make` the first time the key is seen.
    pub fn slot_of<E>(
        &mut self,
        key: &[u8],
        make: impl FnOnce() -> Result<Partition, E>,
    ) -> Result<usize, E> {
        if let Some(&slot) = self.index.get(key) {
            return Ok(slot);
        }
        self.insert(key.into(), make()?);
        Ok(self.slots.len() - 1)
    }

    /// Adds (or replaces) the partition of `key`.
    pub fn insert(&mut self, key: Box<[u8]>, partition: Partition) {
        if let Some(&slot) = self.index.get(&key) {
            self.slots[slot] = partition;
            return;
        }
        self.index.insert(key.clone(), self.slots.len());
        self.keys.push(key);
        self.slots.push(partition);
    }

    /// Takes a slot's partition out, leaving an empty one until it is put back.
    pub fn take(&mut self, slot: usize) -> Option<Partition> {
        self.slots
            .get_mut(slot)
            .map(|p| std::mem::replace(p, Partition::empty()))
    }

    pub fn put(&mut self, slot: usize, partition: Partition) {
        if let Some(p) = self.slots.get_mut(slot) {
            *p = partition;
        }
    }

    pub fn values(&self) -> impl Iterator<Item = &Partition> {
        self.slots.iter()
    }

    /// Every partition with its key bytes.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &Partition)> {
        self.keys.iter().map(|k| &**k).zip(&self.slots)
    }

    /// Keeps the partitions `keep` says to (it may change them), in one pass.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut Partition) -> bool) {
        let mut slot = 0;
        while slot < self.slots.len() {
            if keep(&mut self.slots[slot]) {
                slot += 1;
                continue;
            }
            // The last slot moves into the hole; its index follows it.
            self.slots.swap_remove(slot);
            let gone = self.keys.swap_remove(slot);
            self.index.remove(&gone);
            if let Some(moved) = self.keys.get(slot) {
                self.index.insert(moved.clone(), slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition(matches: u64) -> Partition {
        let mut p = Partition::empty();
        p.matches = matches;
        p
    }

    #[test]
    fn slots_stay_found_by_their_keys_after_removals_move_others() {
        let mut parts = Partitions::default();
        for (i, key) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            let slot = parts
                .slot_of::<()>(&key[..], || Ok(partition(i as u64)))
                .unwrap();
            assert_eq!(slot, i);
        }
        // Seen again: the same slot, not a new partition.
        assert_eq!(parts.slot_of::<()>(b"c", || Ok(partition(99))).unwrap(), 2);
        // Drop "a" and "c": "d" moves into "a"'s slot, then "c"'s hole is filled.
        parts.retain(|p| p.matches % 2 == 1);
        assert_eq!(parts.len(), 2);
        let found: Vec<(Vec<u8>, u64)> =
            parts.iter().map(|(k, p)| (k.to_vec(), p.matches)).collect();
        assert!(found.contains(&(b"b".to_vec(), 1)));
        assert!(found.contains(&(b"d".to_vec(), 3)));
        for (key, matches) in [(b"b", 1), (b"d", 3)] {
            let slot = parts.slot_of::<()>(key, || Ok(partition(99))).unwrap();
            let taken = parts.take(slot).unwrap();
            assert_eq!(taken.matches, matches, "{key:?} at slot {slot}");
            parts.put(slot, taken);
        }
        // A new key after removals gets a slot of its own.
        let e = parts.slot_of::<()>(b"e", || Ok(partition(5))).unwrap();
        assert_eq!(e, 2);
        assert_eq!(parts.len(), 3);
    }
}
