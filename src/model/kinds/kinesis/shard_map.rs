//! A stream's shards through resharding (streaming-facts §1.5): splitting a shard at a hash key
//! (that key and higher to one child, lower keys to the other), merging two adjacent shards, or
//! setting the shard count. Parents close (their records stay readable) and children open with
//! new numbers, never reused. The check of a pipeline plays the schedule through this same map.

use serde::{Deserialize, Serialize};

use super::hash_ranges::{HashRange, even_split, parse_explicit_hash_key};
use crate::model::duration::Duration;

/// One change of the shards, `at` a time after the stream's first record arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reshard {
    /// Split shard number `shard` at `hash_key` (decimal): keys from it up go to the second child.
    Split {
        at: Duration,
        shard: u32,
        hash_key: String,
    },
    /// Merge shard number `shard` with the adjacent shard number `adjacent`.
    Merge {
        at: Duration,
        shard: u32,
        adjacent: u32,
    },
    /// Set the number of open shards, evenly split (`UpdateShardCount`, uniform scaling).
    UpdateShardCount { at: Duration, shards: u32 },
}

impl Reshard {
    pub fn at(&self) -> Duration {
        match self {
            Reshard::Split { at, .. }
            | Reshard::Merge { at, .. }
            | Reshard::UpdateShardCount { at, .. } => *at,
        }
    }
}

/// One shard, open or closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// As in `shardId-000000000003`.
    pub number: u32,
    pub range: HashRange,
    pub parents: Vec<u32>,
    pub open: bool,
}

/// Every shard the stream has had (saved whole in checkpoints).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardMap {
    /// Indexed by shard number.
    shards: Vec<ShardInfo>,
    /// The open shards' numbers, by the start of their range.
    open: Vec<u32>,
    /// The end of each open shard's range, in the same order: what routing searches.
    open_ends: Vec<u128>,
}

impl ShardMap {
    /// A new stream of `shards` shards, evenly split.
    pub fn new(shards: u32) -> Self {
        let shards: Vec<ShardInfo> = even_split(shards)
            .into_iter()
            .enumerate()
            .map(|(i, range)| ShardInfo {
                number: i as u32,
                range,
                parents: Vec::new(),
                open: true,
            })
            .collect();
        let open = shards.iter().map(|s| s.number).collect();
        let open_ends = shards.iter().map(|s| s.range.end).collect();
        Self {
            shards,
            open,
            open_ends,
        }
    }

    /// Every shard so far, by number.
    pub fn shards(&self) -> &[ShardInfo] {
        &self.shards
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// The open shard whose range holds `hash`.
    pub fn route(&self, hash: u128) -> u32 {
        let index = self
            .open_ends
            .partition_point(|&end| end < hash)
            .min(self.open.len().saturating_sub(1));
        self.open.get(index).copied().unwrap_or(0)
    }

    fn open_shard(&self, number: u32) -> Result<&ShardInfo, String> {
        match self.shards.get(number as usize) {
            Some(shard) if shard.open => Ok(shard),
            Some(_) => Err(format!(
                "shard {number} is already closed by an earlier resharding"
            )),
            None => Err(format!("there is no shard {number} at that time")),
        }
    }

    fn add(&mut self, range: HashRange, parents: Vec<u32>) -> u32 {
        let number = self.shards.len() as u32;
        self.shards.push(ShardInfo {
            number,
            range,
            parents,
            open: true,
        });
        self.open.push(number);
        number
    }

    fn close(&mut self, number: u32) {
        if let Some(shard) = self.shards.get_mut(number as usize) {
            shard.open = false;
        }
        self.open.retain(|&n| n != number);
    }

    fn reorder(&mut self) {
        let shards = &self.shards;
        self.open
            .sort_by_key(|&n| shards.get(n as usize).map_or(0, |s| s.range.start));
        self.open_ends = self
            .open
            .iter()
            .map(|&n| shards.get(n as usize).map_or(0, |s| s.range.end))
            .collect();
    }

    /// Closes every open shard and opens `shards` evenly split ones, each naming the old shards
    /// its range overlaps as parents (uniform scaling, and what an on-demand stream does).
    pub fn scale_to(&mut self, shards: u32) -> Vec<u32> {
        let old: Vec<(u32, HashRange)> = self
            .open
            .iter()
            .map(|&n| (n, self.shards[n as usize].range))
            .collect();
        for (n, _) in &old {
            self.close(*n);
        }
        let opened = even_split(shards)
            .into_iter()
            .map(|range| {
                let parents = old
                    .iter()
                    .filter(|(_, r)| r.start <= range.end && range.start <= r.end)
                    .map(|(n, _)| *n)
                    .collect();
                self.add(range, parents)
            })
            .collect();
        self.reorder();
        opened
    }

    /// Applies one change; the numbers of the shards it opened, or why it cannot be done.
    pub fn apply(&mut self, change: &Reshard, max_shards: u32) -> Result<Vec<u32>, String> {
        let opened = match change {
            Reshard::Split {
                shard, hash_key, ..
            } => {
                let key = parse_explicit_hash_key(hash_key)?;
                let parent = self.open_shard(*shard)?.range;
                if key <= parent.start || key > parent.end {
                    return Err(format!(
                        "the hash key {key} is not inside shard {shard}'s range {} … {} (it must be above its start)",
                        parent.start, parent.end
                    ));
                }
                if self.open.len() as u32 + 1 > max_shards {
                    return Err(format!("a split would pass {max_shards} shards"));
                }
                self.close(*shard);
                let low = self.add(
                    HashRange {
                        start: parent.start,
                        end: key - 1,
                    },
                    vec![*shard],
                );
                let high = self.add(
                    HashRange {
                        start: key,
                        end: parent.end,
                    },
                    vec![*shard],
                );
                vec![low, high]
            }
            Reshard::Merge {
                shard, adjacent, ..
            } => {
                let a = self.open_shard(*shard)?.range;
                let b = self.open_shard(*adjacent)?.range;
                let (low, high) = if a.start < b.start { (a, b) } else { (b, a) };
                if low.end.checked_add(1) != Some(high.start) {
                    return Err(format!(
                        "shards {shard} and {adjacent} are not adjacent: their hash ranges do not meet"
                    ));
                }
                self.close(*shard);
                self.close(*adjacent);
                vec![self.add(
                    HashRange {
                        start: low.start,
                        end: high.end,
                    },
                    vec![*shard, *adjacent],
                )]
            }
            Reshard::UpdateShardCount { shards, .. } => {
                let current = self.open.len() as u32;
                // UpdateShardCount scales to at most double, and at least half, the open shards.
                if *shards == 0 || *shards > max_shards {
                    return Err(format!(
                        "a stream has 1 to {max_shards} shards, not {shards}"
                    ));
                }
                if *shards > current * 2 || shards * 2 < current {
                    return Err(format!(
                        "UpdateShardCount goes from {current} shards to between {} and {}, not {shards}",
                        current.div_ceil(2),
                        current * 2
                    ));
                }
                // `scale_to` puts the open shards in order itself.
                return Ok(self.scale_to(*shards));
            }
        };
        self.reorder();
        Ok(opened)
    }
}

impl crate::model::form::Choice for Reshard {
    fn options(&self) -> Vec<&'static str> {
        vec!["Split", "Merge", "UpdateShardCount"]
    }

    fn selected(&self) -> usize {
        match self {
            Reshard::Split { .. } => 0,
            Reshard::Merge { .. } => 1,
            Reshard::UpdateShardCount { .. } => 2,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        let at = self.at();
        *self = match index {
            0 => Reshard::Split {
                at,
                shard: 0,
                hash_key: (1u128 << 126).to_string(),
            },
            1 => Reshard::Merge {
                at,
                shard: 0,
                adjacent: 1,
            },
            _ => Reshard::UpdateShardCount { at, shards: 2 },
        };
    }

    fn fields(&mut self) -> Vec<crate::model::form::Field<'_>> {
        use crate::model::form::{Field, FieldValue};
        let at = |at| {
            Field::new(
                "at",
                "When, after the stream's first record arrived",
                FieldValue::Duration(at),
            )
        };
        match self {
            Reshard::Split {
                at: when,
                shard,
                hash_key,
            } => vec![
                at(when),
                Field::new(
                    "shard",
                    "The number of the shard to split (shardId-00000000000N)",
                    FieldValue::Count(shard),
                ),
                Field::new(
                    "hash key",
                    "The new starting hash key (decimal): it and higher keys go to the second child",
                    FieldValue::Text(hash_key),
                ),
            ],
            Reshard::Merge {
                at: when,
                shard,
                adjacent,
            } => vec![
                at(when),
                Field::new("shard", "One shard to merge", FieldValue::Count(shard)),
                Field::new(
                    "adjacent",
                    "The shard next to it in the key space",
                    FieldValue::Count(adjacent),
                ),
            ],
            Reshard::UpdateShardCount { at: when, shards } => vec![
                at(when),
                Field::new(
                    "shards",
                    "How many open shards afterwards (half to double the current ones)",
                    FieldValue::Count(shards),
                ),
            ],
        }
    }
}

impl crate::model::form::ListField for Vec<Reshard> {
    fn item_name(&self) -> &'static str {
        "resharding"
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn item(&mut self, index: usize) -> Vec<crate::model::form::Field<'_>> {
        use crate::model::form::{Field, FieldValue};
        match self.get_mut(index) {
            Some(change) => vec![Field::new(
                "change",
                "Split a shard, merge two adjacent ones, or set the shard count",
                FieldValue::Choice(change),
            )],
            None => Vec::new(),
        }
    }

    fn add(&mut self) {
        let at = self.last().map_or(Duration::from_secs(60), |last| {
            Duration::from_millis(last.at().as_millis() + 60_000)
        });
        self.push(Reshard::UpdateShardCount { at, shards: 2 });
    }

    fn remove(&mut self, index: usize) {
        if index < Vec::len(self) {
            Vec::remove(self, index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kinds::kinesis::hash_ranges::MAX_HASH_KEY;

    fn at(secs: i64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn a_split_closes_the_parent_and_opens_two_children_with_new_numbers() {
        // As kinesalite did: splitting shard 1 of 2 opens shards 2 and 3 (parent 1).
        let mut map = ShardMap::new(2);
        let half = 1u128 << 127;
        let quarter = half + (1u128 << 126);
        let opened = map
            .apply(
                &Reshard::Split {
                    at: at(60),
                    shard: 1,
                    hash_key: quarter.to_string(),
                },
                100,
            )
            .unwrap();
        assert_eq!(opened, vec![2, 3]);
        let shards = map.shards();
        assert!(!shards[1].open);
        assert_eq!(
            shards[2].range,
            HashRange {
                start: half,
                end: quarter - 1
            }
        );
        assert_eq!(
            shards[3].range,
            HashRange {
                start: quarter,
                end: MAX_HASH_KEY
            }
        );
        assert_eq!(shards[3].parents, vec![1]);
        assert_eq!(
            map.route(quarter),
            3,
            "the key itself goes to the upper child"
        );
        assert_eq!(map.route(quarter - 1), 2);
        assert_eq!(map.route(0), 0);
        // Merging the children back opens shard 4 with both as parents.
        let merged = map
            .apply(
                &Reshard::Merge {
                    at: at(120),
                    shard: 2,
                    adjacent: 3,
                },
                100,
            )
            .unwrap();
        assert_eq!(merged, vec![4]);
        assert_eq!(map.shards()[4].parents, vec![2, 3]);
        assert_eq!(
            map.shards()[4].range,
            HashRange {
                start: half,
                end: MAX_HASH_KEY
            }
        );
        assert_eq!(map.open_count(), 2);
    }

    #[test]
    fn impossible_changes_say_why() {
        let mut map = ShardMap::new(4);
        let split = |shard: u32, key: &str| Reshard::Split {
            at: at(1),
            shard,
            hash_key: key.into(),
        };
        assert!(
            map.apply(&split(9, "5"), 100)
                .unwrap_err()
                .contains("no shard 9")
        );
        assert!(
            map.apply(&split(0, "0"), 100)
                .unwrap_err()
                .contains("not inside")
        );
        let merge = Reshard::Merge {
            at: at(1),
            shard: 0,
            adjacent: 2,
        };
        assert!(map.apply(&merge, 100).unwrap_err().contains("not adjacent"));
        let count = |shards| Reshard::UpdateShardCount { at: at(1), shards };
        assert!(
            map.apply(&count(9), 100)
                .unwrap_err()
                .contains("between 2 and 8")
        );
        assert!(map.apply(&count(1), 100).is_err());
        map.apply(&split(0, "1000"), 100).unwrap();
        assert!(
            map.apply(&split(0, "10"), 100)
                .unwrap_err()
                .contains("already closed")
        );
    }

    #[test]
    fn update_shard_count_replaces_the_open_shards_with_an_even_split() {
        let mut map = ShardMap::new(2);
        let opened = map
            .apply(
                &Reshard::UpdateShardCount {
                    at: at(1),
                    shards: 4,
                },
                100,
            )
            .unwrap();
        assert_eq!(opened, vec![2, 3, 4, 5]);
        assert_eq!(map.open_count(), 4);
        // Each new shard's parents are the old shards its range overlaps.
        assert_eq!(map.shards()[2].parents, vec![0]);
        assert_eq!(map.shards()[5].parents, vec![1]);
        for (i, range) in even_split(4).into_iter().enumerate() {
            assert_eq!(map.shards()[2 + i].range, range);
        }
    }
}
