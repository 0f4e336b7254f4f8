//! KPL aggregation (streaming-facts §2.1): user records bound for the same shard are packed into
//! one Kinesis record until it would pass `AggregationMaxSize` or its first record has waited
//! `RecordMaxBufferedTime` of arrival time. One aggregate counts once against the shard's 1,000
//! records a second, which is why the KPL keeps a hot key under the limit that PutRecord breaks.
//! The end of an input batch closes every aggregate, so no record is held behind the watermark
//! that follows the batch.
//!
//! Sending, the KPL keeps each shard under `RateLimit` percent of its limits (what is over waits
//! in the KPL), retries throttled records with backoff until their `RecordTtl` runs out (then they
//! fail as expired), and collects Kinesis records into `PutRecords` requests of at most 500
//! records and 5 MiB.

use rustc_hash::FxHashSet;

use super::kinesis_limits::{BYTES_PER_SECOND, RECORDS_PER_SECOND, ShardLimits};
use crate::model::kinds::kinesis::{PUT_RECORDS_BYTES, PUT_RECORDS_MAX};

/// The framing of an aggregated record: the magic `F3 89 9A C2` and the MD5 trailer.
const FRAME_BYTES: usize = 4 + 16;
/// Protobuf tags and lengths around each user record, about.
const PER_RECORD_BYTES: usize = 6;
/// ...and around each entry of the partition-key table.
const PER_KEY_BYTES: usize = 2;

/// User records waiting to go out as one Kinesis record.
#[derive(Debug)]
pub struct Aggregate {
    pub shard: usize,
    /// The rows of the batch it holds, in order.
    pub rows: Vec<usize>,
    /// Its size as a Kinesis record.
    pub bytes: usize,
    pub first_arrival: i64,
    keys: FxHashSet<String>,
}

impl Aggregate {
    /// The arrival time it is sent at: when its wait ran out, or `now` if that is sooner.
    pub fn sent_at(&self, now: i64, max_buffered_ms: i64) -> i64 {
        now.min(self.first_arrival.saturating_add(max_buffered_ms))
    }
}

/// The open aggregate of every shard.
pub struct Aggregator {
    max_size: usize,
    max_buffered_ms: i64,
    open: Vec<Option<Aggregate>>,
    /// The earliest time an open aggregate's wait runs out.
    next_deadline: i64,
}

impl Aggregator {
    pub fn new(shards: usize, max_size: usize, max_buffered_ms: i64) -> Self {
        Self {
            max_size,
            max_buffered_ms,
            open: (0..shards).map(|_| None).collect(),
            next_deadline: i64::MAX,
        }
    }

    /// Makes room for shards opened by resharding.
    pub fn grow(&mut self, shards: usize) {
        while self.open.len() < shards {
            self.open.push(None);
        }
    }

    /// Whether a record could be aggregated at all; a larger one goes out on its own, as a
    /// plain Kinesis record (as the KPL sends it).
    pub fn takes(&self, data_bytes: usize, key: &str) -> bool {
        FRAME_BYTES + data_bytes + PER_RECORD_BYTES + key.len() + PER_KEY_BYTES <= self.max_size
    }

    pub fn max_buffered_ms(&self) -> i64 {
        self.max_buffered_ms
    }

    /// Adds row `row` (`data_bytes` of data, partition key `key`) bound for `shard`, arriving at
    /// `now`; returns the aggregates this closed, oldest first.
    pub fn add(
        &mut self,
        row: usize,
        shard: usize,
        key: &str,
        data_bytes: usize,
        now: i64,
    ) -> Vec<Aggregate> {
        let mut closed = self.expired(now);
        let Some(slot) = self.open.get_mut(shard) else {
            return closed;
        };
        let grown = |a: &Aggregate| {
            let new_key = if a.keys.contains(key) {
                0
            } else {
                key.len() + PER_KEY_BYTES
            };
            a.bytes + data_bytes + PER_RECORD_BYTES + new_key
        };
        if let Some(open) = slot.as_ref()
            && grown(open) > self.max_size
            && let Some(full) = slot.take()
        {
            closed.push(full);
        }
        match slot {
            Some(open) => {
                open.bytes = grown(open);
                if !open.keys.contains(key) {
                    open.keys.insert(key.to_string());
                }
                open.rows.push(row);
            }
            None => {
                *slot = Some(Aggregate {
                    shard,
                    rows: vec![row],
                    bytes: FRAME_BYTES + data_bytes + PER_RECORD_BYTES + key.len() + PER_KEY_BYTES,
                    first_arrival: now,
                    keys: FxHashSet::from_iter([key.to_string()]),
                });
                self.next_deadline = self
                    .next_deadline
                    .min(now.saturating_add(self.max_buffered_ms));
            }
        }
        closed
    }

    /// Every open aggregate, oldest first (the end of a batch).
    pub fn close_all(&mut self) -> Vec<Aggregate> {
        self.next_deadline = i64::MAX;
        let mut all: Vec<Aggregate> = self.open.iter_mut().filter_map(Option::take).collect();
        all.sort_by_key(|a| a.first_arrival);
        all
    }

    /// The aggregates whose wait ran out by `now`.
    fn expired(&mut self, now: i64) -> Vec<Aggregate> {
        if now < self.next_deadline {
            return Vec::new();
        }
        let wait = self.max_buffered_ms;
        let mut closed = Vec::new();
        let mut next = i64::MAX;
        for slot in &mut self.open {
            let deadline = slot.as_ref().map(|a| a.first_arrival.saturating_add(wait));
            match deadline {
                Some(d) if d <= now => closed.extend(slot.take()),
                Some(d) => next = next.min(d),
                None => {}
            }
        }
        self.next_deadline = next;
        closed.sort_by_key(|a| a.first_arrival);
        closed
    }
}

/// The KPL's side of sending: its rate limit per shard, the records' time to live, and how its
/// Kinesis records are collected into requests.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct KplSender {
    limiter: ShardLimits,
    /// The limiter's room per shard and second, in bytes: a record larger than that is sent
    /// as it comes.
    limiter_bytes: u64,
    pub ttl_ms: i64,
    pub fail_if_throttled: bool,
    /// The request being filled: records and bytes.
    collecting: (u32, u64),
    /// `PutRecords` requests sent so far.
    pub requests: u64,
}

impl KplSender {
    /// A KPL sending to `shards` shards at `rate_limit` percent of their limits.
    pub fn new(shards: usize, rate_limit: u32, ttl_ms: i64, fail_if_throttled: bool) -> Self {
        let records = (u64::from(RECORDS_PER_SECOND) * u64::from(rate_limit) / 100).max(1);
        let bytes = (BYTES_PER_SECOND * u64::from(rate_limit) / 100).max(1);
        Self {
            limiter: ShardLimits::with_limits(
                shards,
                records.min(u64::from(u32::MAX)) as u32,
                bytes,
            ),
            limiter_bytes: bytes,
            ttl_ms,
            fail_if_throttled,
            collecting: (0, 0),
            requests: 0,
        }
    }

    pub fn grow(&mut self, shards: usize) {
        self.limiter.grow(shards);
    }

    /// When, from `from` on, the rate limit lets `bytes` go to `shard` (taking that room), if
    /// that is no later than `deadline`; `now` is the newest arrival so far.
    pub fn admit(
        &mut self,
        shard: usize,
        bytes: usize,
        from: i64,
        deadline: i64,
        now: i64,
    ) -> Option<i64> {
        if bytes as u64 > self.limiter_bytes {
            return (from <= deadline).then_some(from);
        }
        let mut when = from;
        while when <= deadline {
            if self.limiter.write(shard, bytes, when, now).is_some() {
                return Some(when);
            }
            // That second is full: the record waits for the next one.
            when = (when.div_euclid(1000) + 1) * 1000;
        }
        None
    }

    /// One more Kinesis record of `bytes` goes into the request being filled; a full request
    /// (500 records or 5 MiB) is sent first.
    pub fn collect(&mut self, bytes: usize) {
        let (records, filled) = self.collecting;
        if records > 0
            && (records + 1 > PUT_RECORDS_MAX
                || filled + bytes as u64 > u64::from(PUT_RECORDS_BYTES))
        {
            self.flush();
        }
        self.collecting.0 += 1;
        self.collecting.1 += bytes as u64;
    }

    /// Sends the request being filled, if it holds anything.
    pub fn flush(&mut self) {
        if self.collecting.0 > 0 {
            self.requests += 1;
            self.collecting = (0, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_for_one_shard_pack_until_the_size_limit() {
        // 100-byte records with one key: each adds 106 bytes after the first (126 + 1 key).
        let mut aggregator = Aggregator::new(2, 51_200, 100);
        let mut closed = Vec::new();
        for row in 0..1_000 {
            closed.extend(aggregator.add(row, 1, "k", 100, 0));
        }
        closed.extend(aggregator.close_all());
        let first = &closed[0];
        // 20 + (100 + 6) * n + (1 + 2) <= 51,200 gives n = 482.
        assert_eq!(first.rows.len(), 482);
        assert!(first.bytes <= 51_200);
        assert_eq!(closed.iter().map(|a| a.rows.len()).sum::<usize>(), 1_000);
        assert!(closed.iter().all(|a| a.shard == 1));
    }

    #[test]
    fn an_aggregate_goes_out_when_its_first_record_has_waited_long_enough() {
        let mut aggregator = Aggregator::new(2, 51_200, 100);
        assert!(aggregator.add(0, 0, "a", 10, 1_000).is_empty());
        assert!(aggregator.add(1, 1, "b", 10, 1_050).is_empty());
        // At 1,100 shard 0's aggregate has waited 100 ms; shard 1's only 50.
        let closed = aggregator.add(2, 1, "b", 10, 1_100);
        assert_eq!(closed.len(), 1);
        assert_eq!((closed[0].shard, closed[0].rows.clone()), (0, vec![0]));
        assert_eq!(closed[0].sent_at(1_100, 100), 1_100);
        let rest = aggregator.close_all();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].rows, vec![1, 2]);
    }
}

#[cfg(test)]
mod sender_tests {
    use super::*;

    #[test]
    fn the_rate_limit_holds_what_is_over_it_for_the_next_second() {
        // At 100 %, a shard gets 1,000 records a second from the KPL.
        let mut kpl = KplSender::new(1, 100, 30_000, false);
        let sent: Vec<i64> = (0..2_500)
            .map(|_| kpl.admit(0, 10, 0, 30_000, 0).unwrap())
            .collect();
        assert_eq!(sent.iter().filter(|&&t| t == 0).count(), 1_000);
        assert_eq!(sent.iter().filter(|&&t| t == 1_000).count(), 1_000);
        assert_eq!(sent.iter().filter(|&&t| t == 2_000).count(), 500);
        // At 150 %, 1,500.
        let mut kpl = KplSender::new(1, 150, 30_000, false);
        let now = (0..2_000)
            .filter(|_| kpl.admit(0, 10, 0, 30_000, 0) == Some(0))
            .count();
        assert_eq!(now, 1_500);
    }

    #[test]
    fn a_record_that_cannot_go_before_its_deadline_is_not_admitted() {
        let mut kpl = KplSender::new(1, 100, 1_500, false);
        for _ in 0..2_000 {
            assert!(kpl.admit(0, 10, 0, 1_500, 0).is_some());
        }
        assert_eq!(
            kpl.admit(0, 10, 0, 1_500, 0),
            None,
            "seconds 0 and 1 are full"
        );
    }

    #[test]
    fn collection_sends_requests_of_at_most_500_records_and_5_mib() {
        let mut kpl = KplSender::new(1, 150, 30_000, false);
        for _ in 0..1_200 {
            kpl.collect(100);
        }
        kpl.flush();
        assert_eq!(kpl.requests, 3, "500 + 500 + 200");
        let mut kpl = KplSender::new(1, 150, 30_000, false);
        // 51,200-byte aggregates: 102 fill 5 MiB (5,222,400 bytes); the 103rd starts another.
        for _ in 0..103 {
            kpl.collect(51_200);
        }
        kpl.flush();
        assert_eq!(kpl.requests, 2);
    }
}
