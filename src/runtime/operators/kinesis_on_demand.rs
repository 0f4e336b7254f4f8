//! On-demand capacity (streaming-facts §1.3): a new on-demand stream takes 4 MB/s of writes (4
//! shards, as kinesis-local creates), and accommodates up to double its previous peak of writes,
//! reaching it within 15 minutes. Here the peak is what producers tried to write in a second of
//! arrival time (throttled attempts included); a new peak schedules shards for twice it, 15
//! minutes later. Scaling down (gradual in Kinesis) is not simulated: the shards stay.

use serde::{Deserialize, Serialize};

use super::kinesis_limits::{BYTES_PER_SECOND, RECORDS_PER_SECOND};
use crate::model::kinds::kinesis::ON_DEMAND_SHARDS;

/// How long a scale-up takes to arrive.
pub const SCALE_UP_DELAY_MS: i64 = 15 * 60 * 1000;

/// An on-demand stream's capacity planning.
#[derive(Serialize, Deserialize)]
pub struct OnDemand {
    peak_records: u64,
    peak_bytes: u64,
    /// The largest shard count planned so far.
    planned: u32,
    /// Scale-ups on their way: when, and to how many shards.
    pending: Vec<(i64, u32)>,
}

impl Default for OnDemand {
    fn default() -> Self {
        // The starting 4 shards are double a previous peak of 2 shards' worth.
        Self {
            peak_records: u64::from(ON_DEMAND_SHARDS / 2 * RECORDS_PER_SECOND),
            peak_bytes: u64::from(ON_DEMAND_SHARDS / 2) * BYTES_PER_SECOND,
            planned: ON_DEMAND_SHARDS,
            pending: Vec::new(),
        }
    }
}

impl OnDemand {
    /// Second `second` (epoch seconds) of arrival time ended with `records` and `bytes` tried.
    pub fn observe(&mut self, second: i64, records: u64, bytes: u64) {
        if records <= self.peak_records && bytes <= self.peak_bytes {
            return;
        }
        self.peak_records = self.peak_records.max(records);
        self.peak_bytes = self.peak_bytes.max(bytes);
        let for_records = (2 * self.peak_records).div_ceil(u64::from(RECORDS_PER_SECOND));
        let for_bytes = (2 * self.peak_bytes).div_ceil(BYTES_PER_SECOND);
        let target = for_records.max(for_bytes).min(u64::from(u32::MAX)) as u32;
        if target > self.planned {
            self.planned = target;
            let at = (second + 1)
                .saturating_mul(1000)
                .saturating_add(SCALE_UP_DELAY_MS);
            self.pending.push((at, target));
        }
    }

    /// The shard count to scale to now, if a scale-up has arrived by `now` (ms).
    pub fn due(&mut self, now: i64) -> Option<u32> {
        let arrived: Vec<u32> = self
            .pending
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, shards)| *shards)
            .collect();
        self.pending.retain(|(at, _)| *at > now);
        arrived.into_iter().max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_peak_brings_shards_for_twice_it_fifteen_minutes_later() {
        let mut on_demand = OnDemand::default();
        // Under the starting 2-shard peak: nothing changes.
        on_demand.observe(0, 1_500, 100_000);
        assert_eq!(on_demand.due(i64::MAX), None);
        // 6,000 records in second 10: shards for 12,000 a second, at 11 s + 15 min.
        on_demand.observe(10, 6_000, 1_000_000);
        let at = 11_000 + SCALE_UP_DELAY_MS;
        assert_eq!(on_demand.due(at - 1), None);
        assert_eq!(on_demand.due(at), Some(12));
        assert_eq!(on_demand.due(at), None, "once");
    }

    #[test]
    fn bytes_make_a_peak_too_and_a_lower_second_plans_nothing() {
        let mut on_demand = OnDemand::default();
        // 5 MiB in a second: twice is 10 MiB, 10 shards.
        on_demand.observe(0, 100, 5 * 1_048_576);
        on_demand.observe(1, 100, 3 * 1_048_576);
        assert_eq!(on_demand.due(1_000 + SCALE_UP_DELAY_MS), Some(10));
        assert_eq!(on_demand.due(i64::MAX), None);
    }
}
