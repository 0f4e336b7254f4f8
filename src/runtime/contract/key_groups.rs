//! Key groups (Flink's): a key belongs to one of [`KEY_GROUPS`] groups by its hash, and each
//! instance of a keyed node owns a contiguous range of groups, so state saved at one parallelism
//! is restored at another by handing whole groups to their new owners.

use std::hash::Hasher;

/// How many key groups keys are spread over: the most instances a keyed node can have (Flink's
/// maximum parallelism; the model's `MAX_PARALLELISM`).
pub const KEY_GROUPS: u64 = 256;

/// A stable hash of key bytes: the same key goes to the same instance on every run.
pub fn key_hash(bytes: &[u8]) -> u64 {
    let mut hasher = rustc_hash::FxHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// The instance, of `instances`, that owns the key with these bytes: its key group scaled to the
/// instance count (Flink's `computeOperatorIndexForKeyGroup`).
pub fn instance_of_key(bytes: &[u8], instances: usize) -> usize {
    let group = key_hash(bytes) % KEY_GROUPS;
    (group * instances as u64 / KEY_GROUPS) as usize
}

/// One instance of a node, as a restore sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceOf {
    pub index: usize,
    pub count: usize,
}

impl InstanceOf {
    pub const ONLY: InstanceOf = InstanceOf { index: 0, count: 1 };

    /// Whether the key with these bytes is this instance's.
    pub fn owns(&self, key: &[u8]) -> bool {
        self.count <= 1 || instance_of_key(key, self.count) == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_one_owner_at_any_parallelism_and_groups_stay_together() {
        let keys: Vec<Vec<u8>> = (0..2000)
            .map(|i| format!("sensor-{i}").into_bytes())
            .collect();
        for count in [1, 2, 3, 4, 7] {
            for key in &keys {
                let owners = (0..count)
                    .filter(|&index| InstanceOf { index, count }.owns(key))
                    .count();
                assert_eq!(owners, 1);
            }
        }
        // Going from 2 to 4 instances splits each instance's groups in two: no key moves between
        // the halves (instance 0 of 2 hands keys only to 0 and 1 of 4).
        for key in &keys {
            assert_eq!(instance_of_key(key, 4) / 2, instance_of_key(key, 2));
        }
        let on_first = keys.iter().filter(|k| instance_of_key(k, 2) == 0).count();
        assert!(
            (800..1200).contains(&on_first),
            "{on_first} of 2000 on instance 0"
        );
    }
}
