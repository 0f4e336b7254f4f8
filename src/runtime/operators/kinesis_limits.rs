//! Each shard's write limits (streaming-facts §1.1): at most 1,000 records and 1 MiB, partition
//! keys included, in every second of arrival time, and the shard's sequence numbers. A retry
//! lands in a later second than the records around it, so a shard keeps the seconds ahead of the
//! newest arrival it has counts for, and forgets the ones behind it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// Per shard and second: at most this many records...
pub const RECORDS_PER_SECOND: u32 = 1_000;
/// ...and this many bytes.
pub const BYTES_PER_SECOND: u64 = 1024 * 1024;

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Second {
    second: i64,
    records: u32,
    bytes: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Shard {
    /// In order of second; none before the oldest second still written to.
    seconds: VecDeque<Second>,
    sequence: u64,
}

/// The limits of every shard of a stream.
#[derive(Serialize, Deserialize)]
pub struct ShardLimits {
    shards: Vec<Shard>,
    records_per_second: u32,
    bytes_per_second: u64,
}

impl ShardLimits {
    pub fn new(shards: usize) -> Self {
        Self::with_limits(shards, RECORDS_PER_SECOND, BYTES_PER_SECOND)
    }

    /// Other limits per shard and second (the KPL's own rate limit, a share of Kinesis's).
    pub fn with_limits(shards: usize, records_per_second: u32, bytes_per_second: u64) -> Self {
        Self {
            shards: (0..shards).map(|_| Shard::default()).collect(),
            records_per_second,
            bytes_per_second,
        }
    }

    /// Makes room for shards opened by resharding (numbers are never reused).
    pub fn grow(&mut self, shards: usize) {
        while self.shards.len() < shards {
            self.shards.push(Shard::default());
        }
    }

    /// One write of a Kinesis record of `bytes` to `shard` at arrival time `at` (ms): its
    /// sequence number, or `None` when that second of the shard is full. `now` is the newest
    /// arrival so far; seconds before it are forgotten (nothing is written there any more).
    pub fn write(&mut self, shard: usize, bytes: usize, at: i64, now: i64) -> Option<u64> {
        let state = self.shards.get_mut(shard)?;
        let oldest = now.min(at).div_euclid(1000);
        while state.seconds.front().is_some_and(|s| s.second < oldest) {
            state.seconds.pop_front();
        }
        let second = at.div_euclid(1000);
        let index = match state.seconds.iter().position(|s| s.second >= second) {
            Some(i) if state.seconds[i].second == second => i,
            Some(i) => {
                state.seconds.insert(i, Second::new(second));
                i
            }
            None => {
                state.seconds.push_back(Second::new(second));
                state.seconds.len() - 1
            }
        };
        let slot = &mut state.seconds[index];
        if slot.records + 1 > self.records_per_second
            || slot.bytes + bytes as u64 > self.bytes_per_second
        {
            return None;
        }
        slot.records += 1;
        slot.bytes += bytes as u64;
        state.sequence += 1;
        Some(state.sequence)
    }
}

impl Second {
    fn new(second: i64) -> Self {
        Self {
            second,
            records: 0,
            bytes: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_second_of_a_shard_takes_a_thousand_records() {
        let mut limits = ShardLimits::new(2);
        let written = (0..1_500)
            .filter(|i| limits.write(0, 10, i / 2, i / 2).is_some())
            .count();
        assert_eq!(written, 1_000);
        // The other shard and the next second have their own room.
        assert!(limits.write(1, 10, 749, 749).is_some());
        assert!(limits.write(0, 10, 1_000, 1_000).is_some());
    }

    #[test]
    fn a_later_second_filled_ahead_of_time_keeps_its_counts() {
        let mut limits = ShardLimits::new(1);
        // Retries land in second 2 while records still arrive in second 0.
        for _ in 0..1_000 {
            assert!(limits.write(0, 10, 2_500, 100).is_some());
        }
        assert!(limits.write(0, 10, 100, 100).is_some(), "second 0 is free");
        assert!(
            limits.write(0, 10, 2_000, 1_900).is_none(),
            "second 2 is full"
        );
    }

    #[test]
    fn bytes_count_against_the_second_too() {
        let mut limits = ShardLimits::new(1);
        assert!(limits.write(0, 1_048_000, 0, 0).is_some());
        assert!(limits.write(0, 1_000, 10, 10).is_none());
        assert!(limits.write(0, 576, 10, 10).is_some());
    }

    #[test]
    fn sequence_numbers_rise_with_every_write() {
        let mut limits = ShardLimits::new(1);
        let a = limits.write(0, 1, 0, 0).unwrap();
        let b = limits.write(0, 1, 5_000, 0).unwrap();
        let c = limits.write(0, 1, 10, 10).unwrap();
        assert!(a < b && b < c);
    }
}
