//! What a simulated Kinesis stream shows the app while it runs: per shard its hash-key range, the
//! records, bytes and throttled writes so far and in the last whole second of arrival time, and the
//! first partition keys seen with where their hashes fall. The stream publishes once per batch.

use rustc_hash::FxHashMap;
use std::sync::Mutex;

use crate::model::kinds::kinesis::hash_ranges::HashRange;

/// The partition keys placed on the key-space bar: the first this many distinct keys.
pub const KEYS_SHOWN: usize = 256;

/// One shard.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardLine {
    pub id: String,
    pub range: HashRange,
    /// Closed by resharding: it takes no more writes, its records stay readable.
    pub open: bool,
    pub written: u64,
    pub bytes: u64,
    pub throttled: u64,
    /// The last whole second of arrival time: records and bytes written, writes throttled.
    pub last_second_records: u32,
    pub last_second_bytes: u64,
    pub last_second_throttled: u32,
}

impl ShardLine {
    /// A shard that is open and has taken nothing yet.
    pub fn new(id: String, range: HashRange) -> Self {
        Self {
            id,
            range,
            open: true,
            written: 0,
            bytes: 0,
            throttled: 0,
            last_second_records: 0,
            last_second_bytes: 0,
            last_second_throttled: 0,
        }
    }
}

/// One partition key and where it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPoint {
    pub key: String,
    pub hash: u128,
    pub shard: usize,
    pub records: u64,
}

/// A consistent picture of the stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShardView {
    pub shards: Vec<ShardLine>,
    pub keys: Vec<KeyPoint>,
    /// Records whose key is not among `keys` (there were more than [`KEYS_SHOWN`]).
    pub other_key_records: u64,
    /// The arrival second (epoch s) the `last_second_*` figures are of.
    pub last_second: Option<i64>,
    /// Every resharding so far, in order.
    pub reshards: Vec<ReshardEvent>,
    /// Each consumer's reads so far.
    pub consumers: Vec<ConsumerView>,
    /// Per shard, the polling consumers' calls and reads in the last whole second.
    pub shared_reads: Vec<SharedReads>,
    pub producer: ProducerView,
}

/// One resharding as it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct ReshardEvent {
    /// Arrival time (ms).
    pub at: i64,
    /// The numbers of the shards it closed.
    pub closed: Vec<u32>,
    /// The shards it opened: id and range.
    pub opened: Vec<(String, HashRange)>,
}

impl ShardView {
    /// The shard taking the most records in the last second, if any took more than its share.
    pub fn hot_shard(&self) -> Option<usize> {
        let total: u64 = self
            .shards
            .iter()
            .filter(|s| s.open)
            .map(|s| u64::from(s.last_second_records + s.last_second_throttled))
            .sum();
        let open = self.shards.iter().filter(|s| s.open).count();
        if total == 0 || open < 2 {
            return None;
        }
        let (index, busiest) = self
            .shards
            .iter()
            .enumerate()
            .filter(|(_, s)| s.open)
            .max_by_key(|(_, s)| s.last_second_records + s.last_second_throttled)?;
        let load = u64::from(busiest.last_second_records + busiest.last_second_throttled);
        // Hot: more than twice an even share, or throttling.
        (load * open as u64 > 2 * total || busiest.last_second_throttled > 0).then_some(index)
    }
}

/// Shared between the stream's operator and the app.
#[derive(Debug, Default)]
pub struct ShardStats {
    view: Mutex<ShardView>,
}

impl ShardStats {
    pub fn new(ids: Vec<String>, ranges: &[HashRange]) -> Self {
        let shards = ids
            .into_iter()
            .zip(ranges)
            .map(|(id, range)| ShardLine::new(id, *range))
            .collect();
        Self {
            view: Mutex::new(ShardView {
                shards,
                ..ShardView::default()
            }),
        }
    }

    /// The picture now.
    pub fn view(&self) -> ShardView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Takes in one batch's worth of changes.
    pub fn publish(&self, update: &ShardUpdate) {
        let Ok(mut view) = self.view.lock() else {
            return;
        };
        for event in &update.reshards {
            for closed in &event.closed {
                if let Some(line) = view.shards.get_mut(*closed as usize) {
                    line.open = false;
                }
            }
            for (id, range) in &event.opened {
                view.shards.push(ShardLine::new(id.clone(), *range));
            }
            view.reshards.push(event.clone());
        }
        for (shard, delta) in view.shards.iter_mut().zip(&update.totals) {
            shard.written += delta.records;
            shard.bytes += delta.bytes;
            shard.throttled += delta.throttled;
        }
        if let Some((second, lines)) = &update.finished_second {
            view.last_second = Some(*second);
            for (shard, line) in view.shards.iter_mut().zip(lines) {
                shard.last_second_records = line.records as u32;
                shard.last_second_bytes = line.bytes;
                shard.last_second_throttled = line.throttled as u32;
            }
        }
        for (hash, (key, shard, records)) in &update.keys {
            match view.keys.iter_mut().find(|k| k.hash == *hash) {
                Some(point) => point.records += records,
                None => view.keys.push(KeyPoint {
                    key: key.clone(),
                    hash: *hash,
                    shard: *shard,
                    records: *records,
                }),
            }
        }
        view.other_key_records += update.other_key_records;
        if let Some(producer) = update.producer {
            view.producer = producer;
        }
        if let Some((consumers, shared)) = &update.consumers {
            view.consumers = consumers.clone();
            view.shared_reads = shared.clone();
        }
    }
}

/// A consumer's figures for the shard view.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerView {
    pub name: String,
    pub enhanced_fan_out: bool,
    pub started: bool,
    pub read: u64,
    pub expired: u64,
    pub skipped: u64,
    pub throttled_calls: u64,
    /// The most any shard is behind (`MillisBehindLatest`).
    pub behind_ms: i64,
    /// The most it has been behind so far.
    pub peak_behind_ms: i64,
    pub shards: Vec<ConsumerShardView>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumerShardView {
    pub read: u64,
    pub bytes: u64,
    pub calls: u64,
    pub throttled: u64,
    pub behind_ms: i64,
    pub finished: bool,
    /// The last whole second: calls, throttled calls, records and bytes read.
    pub last_second: (u32, u32, u64, u64),
}

/// What the producer did: the user records it was given, the Kinesis records it wrote (KPL
/// aggregates count once), its API requests, write attempts and records that expired in the KPL.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct ProducerView {
    pub user_records: u64,
    pub kinesis_records: u64,
    pub requests: u64,
    pub attempts: u64,
    pub expired: u64,
}

/// The polling consumers' calls and reads of one shard in the last whole second, together.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SharedReads {
    pub calls: u32,
    pub throttled: u32,
    pub records: u64,
    pub bytes: u64,
}

/// Counts of one shard.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct ShardCounts {
    pub records: u64,
    pub bytes: u64,
    pub throttled: u64,
    /// The bytes of the throttled writes: demand an on-demand stream scales for.
    pub throttled_bytes: u64,
}

/// What the stream saw in one batch, to publish at once.
#[derive(Debug, Default)]
pub struct ShardUpdate {
    pub totals: Vec<ShardCounts>,
    /// A second of arrival time that ended, with its counts per shard.
    pub finished_second: Option<(i64, Vec<ShardCounts>)>,
    /// Keys among the first [`KEYS_SHOWN`], by hash: the key, its shard and its records in this
    /// batch.
    pub keys: FxHashMap<u128, (String, usize, u64)>,
    pub other_key_records: u64,
    /// Reshardings in this batch, in order.
    pub reshards: Vec<ReshardEvent>,
    /// The consumers' figures now, and the shared reads per shard, when the stream has consumers.
    pub consumers: Option<(Vec<ConsumerView>, Vec<SharedReads>)>,
    /// The producer's figures now.
    pub producer: Option<ProducerView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(records: u32, throttled: u32) -> ShardLine {
        ShardLine {
            id: String::new(),
            range: HashRange { start: 0, end: 0 },
            open: true,
            written: 0,
            bytes: 0,
            throttled: 0,
            last_second_records: records,
            last_second_bytes: 0,
            last_second_throttled: throttled,
        }
    }

    #[test]
    fn a_shard_is_hot_when_it_throttles_or_takes_more_than_twice_its_share() {
        let view = |shards: Vec<ShardLine>| ShardView {
            shards,
            ..ShardView::default()
        };
        assert_eq!(view(vec![line(500, 0), line(520, 0)]).hot_shard(), None);
        assert_eq!(
            view(vec![line(0, 0), line(1_000, 600)]).hot_shard(),
            Some(1)
        );
        assert_eq!(
            view(vec![line(100, 0), line(100, 0), line(100, 0), line(900, 0)]).hot_shard(),
            Some(3)
        );
        assert_eq!(view(vec![line(0, 0), line(0, 0)]).hot_shard(), None);
    }
}
