//! The simulated Kinesis data stream: routes each record to its shard by the MD5 of its partition
//! key (or its explicit hash key), holds every shard to 1,000 records and 1 MiB per second of
//! simulated arrival time, and stamps accepted records with their shard, sequence number and
//! arrival time (streaming-facts §1.1–1.2).
//!
//! A record's arrival time is the newest event time the stream has seen, this record's included:
//! an event is written when it happens, and one that comes out of order arrives among the newer
//! ones. It depends on the data alone, so a run at full speed and a paced run throttle alike.

use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::VecDeque;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, StringArray, StringBuilder, TimestampMillisecondArray, UInt32Array,
};
use arrow::compute::{cast, take};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use super::json_size::json_sizes;
use super::kinesis_kpl::{Aggregate, Aggregator, KplSender};
use super::kinesis_limits::ShardLimits;
use super::kinesis_on_demand::OnDemand;
use super::kinesis_reads::{Reads, Written, reads_of};
use crate::model::kinds::kinesis::hash_ranges::{
    even_split, hash_key, parse_explicit_hash_key, shard_id,
};
use crate::model::kinds::kinesis::shard_map::{Reshard, ShardMap};
use crate::model::kinds::kinesis::{MAX_SHARDS, PlannedKinesisStream, Producer};
use crate::runtime::contract::evaluate::evaluate;
use crate::runtime::contract::{
    InstanceMetrics, InstanceOf, MIN_WATERMARK, OpResult, Operator, Output, RunError, SendFailure,
    StateReader, StateWriter, Timestamp, fail,
};
use crate::runtime::row_times::row_times;
use crate::runtime::shard_stats::{
    KEYS_SHOWN, ProducerView, ReshardEvent, ShardCounts, ShardStats, ShardUpdate,
};

/// The largest record: data and partition key together.
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;
/// The longest partition key, in characters.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

const OUT_PORT: usize = 0;
const THROTTLED_PORT: usize = 1;
const ERRORS_PORT: usize = 2;

pub struct KinesisStreamOperator {
    planned: PlannedKinesisStream,
    /// The shards now, and the resharding still to come (the next change first).
    map: ShardMap,
    schedule: VecDeque<Reshard>,
    /// The capacity planning of an on-demand stream.
    on_demand: Option<OnDemand>,
    first_arrival: Option<Timestamp>,
    limits: ShardLimits,
    /// Write attempts so far: what decides, reproducibly, which answers are lost.
    attempts: u64,
    /// PutRecords requests sent so far.
    requests: u64,
    arrival: Timestamp,
    metrics: Arc<InstanceMetrics>,
    /// What the app's shard view shows, and what this stream counted towards it.
    stats: Arc<ShardStats>,
    second: Option<i64>,
    second_counts: Vec<ShardCounts>,
    shown_keys: FxHashSet<u128>,
    /// MD5s of the partition keys seen lately, and the shards they route to: keys repeat, and
    /// the hash is the dearest part. Cleared when the shards change.
    hashes: FxHashMap<Box<str>, (u128, u32)>,
    /// Per shard, the last sequence number written as text: the next is usually one more.
    sequence_texts: Vec<(u64, [u8; 56])>,
    /// `shardId-…` of every shard, by number.
    shard_names: Vec<String>,
    /// The consumers reading the stream, each out of its own port, if it has any.
    reads: Option<Reads>,
    /// The KPL's rate limit, time to live and collection, when it is the producer.
    kpl: Option<KplSender>,
    /// What the producer did so far, for the shard view.
    produced: ProducerView,
}

/// The first consumer's port: after `out`, `throttled` and `errors`.
const FIRST_CONSUMER_PORT: usize = 3;

/// The MD5 cache is cleared when it holds this many keys.
const HASHES_KEPT: usize = 100_000;

/// The shard view of a stream of `shards` shards, before it runs.
pub fn shard_stats(shards: u32) -> Arc<ShardStats> {
    let ranges = even_split(shards);
    let ids = (0..ranges.len() as u32).map(shard_id).collect();
    Arc::new(ShardStats::new(ids, &ranges))
}

pub fn build(
    planned: &PlannedKinesisStream,
    metrics: &Arc<InstanceMetrics>,
    stats: Option<Arc<ShardStats>>,
) -> Box<dyn Operator> {
    let map = ShardMap::new(planned.shards);
    let shard_count = map.shards().len();
    let reads = reads_of(
        &planned.consumers,
        FIRST_CONSUMER_PORT,
        &map,
        planned.retention_ms,
    );
    let kpl = match &planned.producer {
        Producer::Kpl {
            rate_limit,
            record_ttl,
            fail_if_throttled,
            ..
        } => Some(KplSender::new(
            shard_count,
            *rate_limit,
            record_ttl.as_millis(),
            *fail_if_throttled,
        )),
        Producer::PutRecord | Producer::PutRecords { .. } => None,
    };
    Box::new(KinesisStreamOperator {
        reads,
        kpl,
        produced: ProducerView::default(),
        planned: planned.clone(),
        map,
        schedule: planned.resharding.iter().cloned().collect(),
        on_demand: planned.on_demand.then(OnDemand::default),
        first_arrival: None,
        limits: ShardLimits::new(shard_count),
        attempts: 0,
        requests: 0,
        arrival: MIN_WATERMARK,
        metrics: Arc::clone(metrics),
        stats: stats.unwrap_or_else(|| shard_stats(planned.shards)),
        second: None,
        second_counts: vec![ShardCounts::default(); shard_count],
        shown_keys: FxHashSet::default(),
        hashes: FxHashMap::default(),
        sequence_texts: Vec::new(),
        shard_names: (0..shard_count as u32).map(shard_id).collect(),
    })
}

/// What became of one record.
enum Fate {
    /// Written; with the KPL, `sub` is its place in its aggregated record.
    /// Written: every copy the stream keeps (more than one when an answer was lost and the
    /// producer wrote again), each with its sequence number and arrival time.
    Accepted {
        shard: usize,
        copies: Copies,
        sub: u64,
    },
    /// Every attempt was throttled; with the KPL, `expired` when its `RecordTtl` ran out.
    Throttled {
        shard: usize,
        attempts: u32,
        expired: bool,
    },
    Refused(String),
}

/// The copies of a written record the stream keeps: one, or more when an answer was lost. The
/// first is kept inline, so the common record allocates nothing.
#[derive(Debug, Clone)]
struct Copies {
    first: (u64, Timestamp),
    more: Vec<(u64, Timestamp)>,
}

impl Copies {
    fn len(&self) -> usize {
        1 + self.more.len()
    }

    fn get(&self, index: usize) -> Option<&(u64, Timestamp)> {
        match index {
            0 => Some(&self.first),
            i => self.more.get(i - 1),
        }
    }
}

/// A record that may be written: its key, where it goes and its size.
struct Valid<'k> {
    key: &'k str,
    hash: u128,
    shard: usize,
    bytes: usize,
}

impl Operator for KinesisStreamOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let rows = batch.num_rows();
        let keys = as_text(evaluate(&self.planned.partition_key, &batch)?)?;
        let explicit = match &self.planned.explicit_hash_key {
            Some(expr) => Some(as_text(evaluate(expr, &batch)?)?),
            None => None,
        };
        let times = row_times(self.planned.time, &batch)?;
        // The data blob is the row as compact JSON, as a producer would send it.
        let sizes = json_sizes(&batch);
        let mut arrivals = Vec::with_capacity(rows);
        let mut fates = Vec::with_capacity(rows);
        let mut update = ShardUpdate {
            totals: vec![ShardCounts::default(); self.map.shards().len()],
            ..ShardUpdate::default()
        };
        // PutRecords: the entries of the request being filled (row, shard, bytes) and its bytes;
        // per row, its request and place in it.
        let mut request: Vec<(usize, usize, usize)> = Vec::new();
        let mut request_bytes = 0usize;
        let mut entries: Vec<Option<(u64, u64)>> = vec![None; rows];
        let request_limits = match &self.planned.producer {
            Producer::PutRecords {
                max_records,
                max_bytes,
            } => Some((*max_records as usize, *max_bytes as usize)),
            _ => None,
        };
        let mut aggregator = match &self.planned.producer {
            Producer::PutRecord | Producer::PutRecords { .. } => None,
            Producer::Kpl {
                aggregation_max_size,
                record_max_buffered_time,
                ..
            } => Some(Aggregator::new(
                self.map.shards().len(),
                *aggregation_max_size as usize,
                record_max_buffered_time.as_millis(),
            )),
        };
        let kpl = aggregator.is_some();
        let mut hashes = vec![0u128; rows];
        for (row, (time, size)) in times.iter().zip(&sizes).enumerate().take(rows) {
            if let Some(t) = time {
                self.arrival = self.arrival.max(*t);
            }
            arrivals.push(self.arrival);
            self.next_second(&mut update);
            self.reshard_when_due(aggregator.as_mut(), &mut fates, &mut update);
            let valid = match self.validate(row, &keys, explicit.as_ref(), *size) {
                Ok(valid) => valid,
                Err(why) => {
                    fates.push(Some(Fate::Refused(why)));
                    continue;
                }
            };
            hashes[row] = valid.hash;
            fates.push(None);
            let aggregated = aggregator.as_mut().filter(|a| a.takes(*size, valid.key));
            match aggregated {
                None if request_limits.is_some() => {
                    if let Some((max_records, max_bytes)) = request_limits
                        && (request.len() >= max_records || request_bytes + valid.bytes > max_bytes)
                    {
                        self.put_records(&mut request, &mut fates, &mut entries, &mut update);
                        request_bytes = 0;
                    }
                    request.push((row, valid.shard, valid.bytes));
                    request_bytes += valid.bytes;
                    self.count_key(&mut update, valid.key, valid.hash, valid.shard);
                }
                None => {
                    let fate = self.put_record(
                        valid.shard,
                        valid.bytes,
                        self.arrival,
                        self.arrival,
                        &mut update,
                    );
                    let fate = match fate {
                        Fate::Accepted { shard, copies, .. } => Fate::Accepted {
                            shard,
                            copies,
                            sub: 0,
                        },
                        other => other,
                    };
                    fates[row] = Some(fate);
                    // With the KPL, every user record counts towards its key after the batch.
                    if !kpl {
                        self.count_key(&mut update, valid.key, valid.hash, valid.shard);
                    }
                }
                Some(aggregator) => {
                    let closed = aggregator.add(row, valid.shard, valid.key, *size, self.arrival);
                    let wait = aggregator.max_buffered_ms();
                    for aggregate in closed {
                        self.send(aggregate, wait, &mut fates, &mut update);
                    }
                }
            }
        }
        // The end of a batch sends the request being filled.
        if !request.is_empty() {
            self.put_records(&mut request, &mut fates, &mut entries, &mut update);
        }
        if let Some(aggregator) = aggregator.as_mut() {
            let wait = aggregator.max_buffered_ms();
            for aggregate in aggregator.close_all() {
                self.send(aggregate, wait, &mut fates, &mut update);
            }
            // The user records count towards their keys once their aggregates are settled.
            for (row, fate) in fates.iter().enumerate() {
                if let Some(Fate::Accepted { shard, .. } | Fate::Throttled { shard, .. }) = fate
                    && keys.is_valid(row)
                {
                    self.count_key(&mut update, keys.value(row), hashes[row], *shard);
                }
            }
        }
        let fates: Vec<Fate> = fates
            .into_iter()
            .map(|f| f.unwrap_or_else(|| Fate::Refused("never sent".into())))
            .collect();
        // The KPL sends the request it was filling at the end of the batch.
        if let Some(kpl) = self.kpl.as_mut() {
            kpl.flush();
        }
        self.produced.user_records += rows as u64;
        self.produced.requests = match (&self.kpl, &self.planned.producer) {
            (Some(kpl), _) => kpl.requests,
            (None, Producer::PutRecords { .. }) => self.requests,
            (None, _) => self.attempts,
        };
        update.producer = Some(self.produced);
        let accepted = self.emit(&batch, &keys, &sizes, &arrivals, &fates, &entries, out)?;
        if let Some(reads) = self.reads.as_mut() {
            if let Some((accepted, written)) = accepted {
                reads.append(accepted, &written)?;
            }
            reads.advance(self.arrival, out)?;
            update.consumers = Some((reads.view(), reads.shared_last_second()));
        }
        self.stats.publish(&update);
        Ok(())
    }

    fn sends_own_watermark(&self, port: usize) -> bool {
        self.reads
            .as_ref()
            .is_some_and(|reads| reads.ports().any(|p| p == port))
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        if let Some(reads) = self.reads.as_mut() {
            reads.watermark(watermark);
            reads.advance(self.arrival, out)?;
        }
        Ok(())
    }

    /// Version 1: `u8(1)`, the stream's bookkeeping as JSON — every shard it has had, the
    /// resharding still to come, on-demand planning, each shard's counts per second and sequence
    /// numbers, the KPL's limiter and the producer's counters — then `bool` and, when it has
    /// consumers, their logs, cursors and unread rows ([`Reads::save`]).
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        w.json(&(
            (
                &self.map,
                &self.schedule,
                &self.on_demand,
                self.first_arrival,
            ),
            (&self.limits, self.attempts, self.requests, self.arrival),
            (self.second, &self.second_counts, &self.kpl, &self.produced),
        ))
        .map_err(SendFailure::Failed)?;
        w.bool(self.reads.is_some());
        if let Some(reads) = &self.reads {
            reads.save(&mut w).map_err(SendFailure::Failed)?;
        }
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], _me: InstanceOf) -> Result<(), RunError> {
        let Some(mut r) = StateReader::single(saved, 1, "Kinesis stream")? else {
            return Ok(());
        };
        type Saved = (
            (
                ShardMap,
                VecDeque<Reshard>,
                Option<OnDemand>,
                Option<Timestamp>,
            ),
            (ShardLimits, u64, u64, Timestamp),
            (
                Option<i64>,
                Vec<ShardCounts>,
                Option<KplSender>,
                ProducerView,
            ),
        );
        let (
            (map, schedule, on_demand, first_arrival),
            (limits, attempts, requests, arrival),
            (second, second_counts, kpl, produced),
        ): Saved = r.json()?;
        if self.kpl.is_some() != kpl.is_some() || self.on_demand.is_some() != on_demand.is_some() {
            return Err(RunError::data(
                "the saved Kinesis stream had another producer or capacity mode",
            ));
        }
        let has_reads = r.bool()?;
        match (self.reads.as_mut(), has_reads) {
            (Some(reads), true) => reads.restore(&mut r)?,
            (None, false) => {}
            _ => {
                return Err(RunError::data(
                    "the saved Kinesis stream had other consumers",
                ));
            }
        }
        r.end()?;
        let shard_count = map.shards().len();
        self.shard_names = (0..shard_count as u32).map(shard_id).collect();
        self.announce_restored_shards(&map);
        self.map = map;
        self.schedule = schedule;
        self.on_demand = on_demand;
        self.first_arrival = first_arrival;
        self.limits = limits;
        self.attempts = attempts;
        self.requests = requests;
        self.arrival = arrival;
        self.second = second;
        self.second_counts = second_counts;
        self.kpl = kpl;
        self.produced = produced;
        self.hashes.clear();
        self.sequence_texts.clear();
        Ok(())
    }

    fn on_end(&mut self, out: &mut Output) -> OpResult {
        if let Some(reads) = self.reads.as_mut() {
            reads.drain(out)?;
            let update = ShardUpdate {
                totals: vec![ShardCounts::default(); self.map.shards().len()],
                consumers: Some((reads.view(), reads.shared_last_second())),
                ..ShardUpdate::default()
            };
            self.stats.publish(&update);
        }
        Ok(())
    }
}

impl KinesisStreamOperator {
    /// Shows the shards a restored stream had opened by resharding before the checkpoint, each
    /// group with the parents it replaced.
    fn announce_restored_shards(&self, map: &ShardMap) {
        let mut reshards: Vec<ReshardEvent> = Vec::new();
        for shard in map.shards().iter().filter(|s| !s.parents.is_empty()) {
            let opened = (shard_id(shard.number), shard.range);
            match reshards.iter_mut().find(|e| e.closed == shard.parents) {
                Some(event) => event.opened.push(opened),
                None => reshards.push(ReshardEvent {
                    at: self.arrival,
                    closed: shard.parents.clone(),
                    opened: vec![opened],
                }),
            }
        }
        if !reshards.is_empty() {
            self.stats.publish(&ShardUpdate {
                reshards,
                ..ShardUpdate::default()
            });
        }
    }

    /// Applies the resharding whose time has come: what the KPL holds goes out first (to the
    /// shards it was packed for), then parents close and children open; the shard view and
    /// every per-shard count grow with them.
    fn reshard_when_due(
        &mut self,
        mut aggregator: Option<&mut Aggregator>,
        fates: &mut [Option<Fate>],
        update: &mut ShardUpdate,
    ) {
        let first = *self.first_arrival.get_or_insert(self.arrival);
        if let Some(shards) = self.on_demand.as_mut().and_then(|o| o.due(self.arrival)) {
            self.change_shards(
                Reshard::UpdateShardCount {
                    at: crate::model::duration::Duration::from_millis(self.arrival - first),
                    shards,
                },
                aggregator.as_deref_mut(),
                fates,
                update,
            );
        }
        while let Some(change) = self.schedule.front() {
            if first.saturating_add(change.at().as_millis()) > self.arrival {
                return;
            }
            let Some(change) = self.schedule.pop_front() else {
                return;
            };
            self.change_shards(change, aggregator.as_deref_mut(), fates, update);
        }
    }

    /// One resharding, now.
    fn change_shards(
        &mut self,
        change: Reshard,
        mut aggregator: Option<&mut Aggregator>,
        fates: &mut [Option<Fate>],
        update: &mut ShardUpdate,
    ) {
        if let Some(aggregator) = aggregator.as_mut() {
            let wait = aggregator.max_buffered_ms();
            for aggregate in aggregator.close_all() {
                self.send(aggregate, wait, fates, update);
            }
        }
        // The check played this schedule through the same map; a change it refused never gets
        // here, so a failure now only skips the change. On-demand scaling is the service's own
        // and may grow more than twofold.
        let opened = match change {
            Reshard::UpdateShardCount { shards, .. } if self.on_demand.is_some() => {
                self.map.scale_to(shards.min(MAX_SHARDS))
            }
            _ => match self.map.apply(&change, MAX_SHARDS) {
                Ok(opened) => opened,
                Err(_) => return,
            },
        };
        let count = self.map.shards().len();
        // Keys may route elsewhere now.
        self.hashes.clear();
        self.limits.grow(count);
        if let Some(kpl) = self.kpl.as_mut() {
            kpl.grow(count);
        }
        while self.shard_names.len() < count {
            self.shard_names
                .push(shard_id(self.shard_names.len() as u32));
        }
        self.second_counts.resize(count, ShardCounts::default());
        update.totals.resize(count, ShardCounts::default());
        if let Some(aggregator) = aggregator {
            aggregator.grow(count);
        }
        if let Some(reads) = self.reads.as_mut() {
            reads.reshard(&self.map);
        }
        let opened: Vec<_> = opened
            .iter()
            .filter_map(|&n| self.map.shards().get(n as usize))
            .collect();
        // The parents of what opened are what closed.
        let mut closed: Vec<u32> = opened
            .iter()
            .flat_map(|s| s.parents.iter().copied())
            .collect();
        closed.sort_unstable();
        closed.dedup();
        update.reshards.push(ReshardEvent {
            at: self.arrival,
            closed,
            opened: opened
                .iter()
                .map(|s| (self.shard_names[s.number as usize].clone(), s.range))
                .collect(),
        });
    }

    /// When the arrival time entered a new second, the counts of the one that ended go to the
    /// shard view.
    fn next_second(&mut self, update: &mut ShardUpdate) {
        let second = self.arrival.div_euclid(1000);
        match self.second {
            Some(current) if current == second => {}
            Some(current) => {
                let ended = std::mem::replace(
                    &mut self.second_counts,
                    vec![ShardCounts::default(); self.map.shards().len()],
                );
                if let Some(on_demand) = self.on_demand.as_mut() {
                    let tried: u64 = ended.iter().map(|c| c.records + c.throttled).sum();
                    let bytes: u64 = ended.iter().map(|c| c.bytes + c.throttled_bytes).sum();
                    on_demand.observe(current, tried, bytes);
                }
                update.finished_second = Some((current, ended));
                self.second = Some(second);
            }
            None => self.second = Some(second),
        }
    }

    /// Counts `records` Kinesis records written (with their bytes) or throttled on `shard` for
    /// the shard view.
    fn count(
        &mut self,
        update: &mut ShardUpdate,
        shard: usize,
        records: u64,
        bytes: usize,
        written: bool,
    ) {
        let (Some(total), Some(this_second)) = (
            update.totals.get_mut(shard),
            self.second_counts.get_mut(shard),
        ) else {
            return;
        };
        for counts in [total, this_second] {
            if written {
                counts.records += records;
                counts.bytes += bytes as u64;
            } else {
                counts.throttled += records;
                counts.throttled_bytes += bytes as u64;
            }
        }
    }

    /// Counts one user record towards its partition key on the key-space bar.
    /// Keys are told apart by their hash, which is cheaper to look up than their text.
    fn count_key(&mut self, update: &mut ShardUpdate, key: &str, hash: u128, shard: usize) {
        if let Some(entry) = update.keys.get_mut(&hash) {
            entry.2 += 1;
        } else if self.shown_keys.len() < KEYS_SHOWN || self.shown_keys.contains(&hash) {
            self.shown_keys.insert(hash);
            update.keys.insert(hash, (key.to_string(), shard, 1));
        } else {
            update.other_key_records += 1;
        }
    }

    /// Sends one KPL aggregate as a single Kinesis record; every user record in it shares its
    /// fate.
    fn send(
        &mut self,
        aggregate: Aggregate,
        wait: i64,
        fates: &mut [Option<Fate>],
        update: &mut ShardUpdate,
    ) {
        let at = aggregate.sent_at(self.arrival, wait);
        let shard = aggregate.shard;
        let fate = self.put_record(shard, aggregate.bytes, at, aggregate.first_arrival, update);
        for (sub, row) in aggregate.rows.into_iter().enumerate() {
            if let Some(slot) = fates.get_mut(row) {
                *slot = Some(match &fate {
                    Fate::Accepted { copies, .. } => Fate::Accepted {
                        shard,
                        copies: copies.clone(),
                        sub: sub as u64,
                    },
                    Fate::Throttled {
                        attempts, expired, ..
                    } => Fate::Throttled {
                        shard,
                        attempts: *attempts,
                        expired: *expired,
                    },
                    Fate::Refused(why) => Fate::Refused(why.clone()),
                });
            }
        }
    }

    /// Sends one PutRecords request now: each entry, in request order, is written or fails on
    /// its own (a partial failure leaves the others written).
    fn put_records(
        &mut self,
        request: &mut Vec<(usize, usize, usize)>,
        fates: &mut [Option<Fate>],
        entries: &mut [Option<(u64, u64)>],
        update: &mut ShardUpdate,
    ) {
        self.requests += 1;
        for (entry, (row, shard, bytes)) in request.drain(..).enumerate() {
            let fate = self.put_record(shard, bytes, self.arrival, self.arrival, update);
            if let Some(slot) = fates.get_mut(row) {
                *slot = Some(fate);
            }
            if let Some(slot) = entries.get_mut(row) {
                *slot = Some((self.requests, entry as u64));
            }
        }
    }

    /// Writes one Kinesis record of `bytes` to `shard`, first at arrival time `at`, then as the
    /// retries say: a throttled attempt is tried again after the backoff (doubling each time),
    /// and a write whose answer is lost is written again too, so the stream keeps a copy. The SDK
    /// makes at most `max_attempts`; the KPL (its user records put at `put_at`) sends within its
    /// rate limit and tries until its `RecordTtl` runs out, unless it fails if throttled.
    fn put_record(
        &mut self,
        shard: usize,
        bytes: usize,
        at: Timestamp,
        put_at: Timestamp,
        update: &mut ShardUpdate,
    ) -> Fate {
        let retries = &self.planned.retries;
        let (max_attempts, backoff, lost) = (
            retries.max_attempts.max(1),
            retries.backoff.as_millis().max(0),
            retries.lost_responses,
        );
        let deadline = self.kpl.as_ref().map(|k| put_at.saturating_add(k.ttl_ms));
        if let Some(kpl) = self.kpl.as_mut() {
            kpl.collect(bytes);
        }
        let mut copies: Option<Copies> = None;
        let mut attempt = 1;
        let mut when = at;
        let mut expired = false;
        loop {
            if let (Some(kpl), Some(deadline)) = (self.kpl.as_mut(), deadline) {
                match kpl.admit(shard, bytes, when, deadline, self.arrival) {
                    Some(admitted) => when = admitted,
                    None => {
                        expired = true;
                        attempt -= 1;
                        break;
                    }
                }
            }
            self.attempts += 1;
            self.produced.attempts += 1;
            let written = self.limits.write(shard, bytes, when, self.arrival);
            let last = match &self.kpl {
                // The KPL tries until the time to live runs out (the next admit says so).
                Some(kpl) => written.is_none() && kpl.fail_if_throttled,
                None => attempt >= max_attempts,
            };
            match written {
                Some(sequence) => {
                    match copies.as_mut() {
                        None => {
                            copies = Some(Copies {
                                first: (sequence, when),
                                more: Vec::new(),
                            })
                        }
                        Some(kept) => kept.more.push((sequence, when)),
                    }
                    self.produced.kinesis_records += 1;
                    self.count(update, shard, 1, bytes, true);
                    if last || !answer_lost(self.attempts, lost) {
                        break;
                    }
                }
                None => {
                    self.count(update, shard, 1, bytes, false);
                    if last {
                        break;
                    }
                }
            }
            // Attempt k + 1 waits backoff * 2^(k - 1) after attempt k.
            when = when.saturating_add(backoff.saturating_mul(1i64 << (attempt - 1).min(40)));
            attempt += 1;
        }
        match copies {
            None => {
                if expired {
                    self.produced.expired += 1;
                }
                Fate::Throttled {
                    shard,
                    attempts: attempt,
                    expired,
                }
            }
            Some(copies) => Fate::Accepted {
                shard,
                copies,
                sub: 0,
            },
        }
    }

    /// Whether row `row` may be written at all (its key, its explicit hash key, its size), and
    /// where it goes; the reason it is refused otherwise.
    fn validate<'k>(
        &mut self,
        row: usize,
        keys: &'k StringArray,
        explicit: Option<&StringArray>,
        data_bytes: usize,
    ) -> Result<Valid<'k>, String> {
        if !keys.is_valid(row) {
            return Err("the partition key is NULL".into());
        }
        let key = keys.value(row);
        if key.is_empty() {
            return Err("the partition key is empty".into());
        }
        // Counting characters only matters when the bytes could be too many.
        if key.len() > MAX_PARTITION_KEY_CHARS {
            let chars = key.chars().count();
            if chars > MAX_PARTITION_KEY_CHARS {
                return Err(format!(
                    "the partition key has {chars} characters; Kinesis takes 1 to {MAX_PARTITION_KEY_CHARS}"
                ));
            }
        }
        let (hash, shard) = match explicit.filter(|e| e.is_valid(row)) {
            Some(e) => {
                let hash = parse_explicit_hash_key(e.value(row))?;
                (hash, self.map.route(hash))
            }
            None => match self.hashes.get(key) {
                Some(known) => *known,
                None => {
                    let hash = hash_key(key);
                    let routed = (hash, self.map.route(hash));
                    if self.hashes.len() >= HASHES_KEPT {
                        self.hashes.clear();
                    }
                    self.hashes.insert(key.into(), routed);
                    routed
                }
            },
        };
        let bytes = data_bytes + key.len();
        if bytes > MAX_RECORD_BYTES {
            return Err(format!(
                "the record is {bytes} bytes (data and partition key); Kinesis takes at most {MAX_RECORD_BYTES}"
            ));
        }
        Ok(Valid {
            key,
            hash,
            shard: shard as usize,
            bytes,
        })
    }

    /// Sends the accepted, throttled and refused rows out of their ports; returns the accepted
    /// batch and what each of its rows is to the consumers, when the stream has any.
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        batch: &RecordBatch,
        keys: &StringArray,
        sizes: &[usize],
        arrivals: &[Timestamp],
        fates: &[Fate],
        entries: &[Option<(u64, u64)>],
        out: &mut Output,
    ) -> Result<Option<(RecordBatch, Vec<Written>)>, SendFailure> {
        let put_records = matches!(self.planned.producer, Producer::PutRecords { .. });
        // A PutRecords entry's request and place, as two columns for `rows`.
        let entry_columns = |rows: &[u32]| -> Vec<ArrayRef> {
            if !put_records {
                return Vec::new();
            }
            let (requests, places): (Vec<i64>, Vec<i64>) = rows
                .iter()
                .map(|&i| {
                    let (request, entry) = entries
                        .get(i as usize)
                        .copied()
                        .flatten()
                        .unwrap_or_default();
                    (request as i64, entry as i64)
                })
                .unzip();
            vec![
                Arc::new(arrow::array::Int64Array::from(requests)),
                Arc::new(arrow::array::Int64Array::from(places)),
            ]
        };
        let pick = |wanted: fn(&Fate) -> bool| -> Vec<u32> {
            (0..fates.len() as u32)
                .filter(|&i| wanted(&fates[i as usize]))
                .collect()
        };
        // A row written twice (a lost answer) leaves twice.
        let accepted: Vec<u32> = (0..fates.len() as u32)
            .flat_map(|i| {
                let copies = match &fates[i as usize] {
                    Fate::Accepted { copies, .. } => copies.len(),
                    _ => 0,
                };
                std::iter::repeat_n(i, copies)
            })
            .collect();
        let throttled = pick(|f| matches!(f, Fate::Throttled { .. }));
        let refused = pick(|f| matches!(f, Fate::Refused(_)));
        let mut for_consumers = None;
        if !accepted.is_empty() {
            let mut written = Vec::new();
            let mut shard_ids = StringBuilder::with_capacity(accepted.len(), accepted.len() * 20);
            let mut sequences = StringBuilder::with_capacity(accepted.len(), accepted.len() * 56);
            let mut subs = Vec::with_capacity(accepted.len());
            let mut arrived = Vec::with_capacity(accepted.len());
            let mut previous = None;
            let mut copy = 0;
            for &i in &accepted {
                copy = if previous == Some(i) { copy + 1 } else { 0 };
                previous = Some(i);
                if let Fate::Accepted { shard, copies, sub } = &fates[i as usize]
                    && let Some((sequence, at)) = copies.get(copy)
                {
                    shard_ids.append_value(&self.shard_names[*shard]);
                    if self.sequence_texts.len() <= *shard {
                        self.sequence_texts
                            .resize(*shard + 1, (u64::MAX, [b'0'; 56]));
                    }
                    let (last, text) = &mut self.sequence_texts[*shard];
                    next_sequence_text(text, last, *shard, *sequence);
                    sequences.append_value(std::str::from_utf8(text).unwrap_or_default());
                    subs.push(*sub as i64);
                    arrived.push(*at);
                    if self.reads.is_some() {
                        let key_bytes = if keys.is_valid(i as usize) {
                            keys.value(i as usize).len()
                        } else {
                            0
                        };
                        written.push(Written {
                            shard: *shard as u32,
                            arrival: *at,
                            bytes: (sizes.get(i as usize).copied().unwrap_or(0) + key_bytes) as u32,
                            starts_record: *sub == 0,
                        });
                    }
                }
            }
            let mut extra: Vec<ArrayRef> =
                vec![Arc::new(shard_ids.finish()), Arc::new(sequences.finish())];
            if matches!(self.planned.producer, Producer::Kpl { .. }) {
                extra.push(Arc::new(arrow::array::Int64Array::from(subs)));
            }
            extra.push(take_text(keys, &accepted)?);
            extra.push(Arc::new(TimestampMillisecondArray::from(arrived)));
            extra.extend(entry_columns(&accepted));
            let rows = with_columns(batch, &accepted, extra, &self.planned.accepted)?;
            if self.reads.is_some() {
                for_consumers = Some((rows.clone(), written));
            }
            out.emit(OUT_PORT, rows)?;
        }
        if !throttled.is_empty() {
            InstanceMetrics::add(&self.metrics.throttled_rows, throttled.len() as u64);
        }
        // Rows nobody reads are counted, not built.
        if !throttled.is_empty() && out.is_connected(THROTTLED_PORT) {
            let mut shard_ids = StringBuilder::new();
            let mut codes = StringBuilder::new();
            let mut messages = StringBuilder::new();
            for &i in &throttled {
                if let Fate::Throttled {
                    shard,
                    attempts,
                    expired,
                } = fates[i as usize]
                {
                    let id = shard_id(shard as u32);
                    let tries = if attempts > 1 {
                        format!(" ({attempts} attempts)")
                    } else {
                        String::new()
                    };
                    if expired {
                        // The KPL gives up once the record's time to live has passed.
                        codes.append_value("Expired");
                        messages.append_value(format!(
                            "Record has reached expiration: not written to {id} within its RecordTtl{tries}"
                        ));
                    } else {
                        codes.append_value("ProvisionedThroughputExceededException");
                        // The message Kinesis gives, with this node as the stream.
                        messages.append_value(format!(
                            "Rate exceeded for shard {id} in stream {} under account 000000000000.{tries}",
                            self.planned.stream_name
                        ));
                    }
                    shard_ids.append_value(id);
                }
            }
            let mut extra: Vec<ArrayRef> = vec![
                take_text(keys, &throttled)?,
                Arc::new(shard_ids.finish()),
                arrival_column(arrivals, &throttled),
                Arc::new(codes.finish()),
                Arc::new(messages.finish()),
            ];
            extra.extend(entry_columns(&throttled));
            out.emit_side(
                THROTTLED_PORT,
                with_columns(batch, &throttled, extra, &self.planned.throttled)?,
            )?;
        }
        if !refused.is_empty() {
            InstanceMetrics::add(&self.metrics.error_rows, refused.len() as u64);
        }
        if !refused.is_empty() && out.is_connected(ERRORS_PORT) {
            let reasons: StringArray = refused
                .iter()
                .map(|&i| match &fates[i as usize] {
                    Fate::Refused(why) => Some(why.as_str()),
                    _ => None,
                })
                .collect();
            out.emit_side(
                ERRORS_PORT,
                with_columns(
                    batch,
                    &refused,
                    vec![Arc::new(reasons)],
                    &self.planned.errors,
                )?,
            )?;
        }
        Ok(for_consumers)
    }
}

/// Whether the answer to write number `attempt` is lost, for a share `lost` of them: a fixed
/// scramble of the attempt's number, so every run loses the same answers.
fn answer_lost(attempt: u64, lost: f64) -> bool {
    if lost <= 0.0 {
        return false;
    }
    // splitmix64
    let mut z = attempt.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    ((z >> 11) as f64 / (1u64 << 53) as f64) < lost
}

/// A sequence number: 56 digits like the ones Kinesis gives (`49`, the shard in 12 digits, the
/// shard's count in 42), strictly increasing within a shard.
pub fn sequence_number(shard: usize, sequence: u64) -> String {
    let mut digits = [b'0'; 56];
    fill_sequence_number(&mut digits, shard, sequence);
    String::from_utf8_lossy(&digits).into_owned()
}

fn fill_sequence_number(digits: &mut [u8; 56], shard: usize, sequence: u64) {
    digits[0] = b'4';
    digits[1] = b'9';
    let mut write = |end: usize, width: usize, mut value: u64| {
        for place in (end - width..end).rev() {
            digits[place] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    write(14, 12, shard as u64);
    write(56, 42, sequence);
}

/// Makes `text` (the digits of sequence number `last` of `shard`) the digits of `sequence`: one
/// more is a carry through the last digits, anything else is written out.
fn next_sequence_text(text: &mut [u8; 56], last: &mut u64, shard: usize, sequence: u64) {
    if *last != u64::MAX && sequence == last.wrapping_add(1) {
        for digit in text.iter_mut().rev() {
            if *digit == b'9' {
                *digit = b'0';
            } else {
                *digit += 1;
                break;
            }
        }
    } else if sequence != *last {
        fill_sequence_number(text, shard, sequence);
    }
    *last = sequence;
}

fn as_text(array: ArrayRef) -> Result<StringArray, SendFailure> {
    let text = cast(&array, &DataType::Utf8).map_err(|e| fail(e.to_string()))?;
    text.as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| fail("a partition key is not text"))
}

fn take_text(keys: &StringArray, rows: &[u32]) -> Result<ArrayRef, SendFailure> {
    if rows.len() == keys.len() && rows.iter().enumerate().all(|(i, &r)| r as usize == i) {
        return Ok(Arc::new(keys.clone()));
    }
    take(keys, &UInt32Array::from(rows.to_vec()), None).map_err(|e| fail(e.to_string()))
}

fn arrival_column(arrivals: &[Timestamp], rows: &[u32]) -> ArrayRef {
    Arc::new(TimestampMillisecondArray::from(
        rows.iter()
            .map(|&i| arrivals[i as usize])
            .collect::<Vec<_>>(),
    ))
}

/// Rows `rows` of `batch` with `extra` columns after them, as `schema`.
fn with_columns(
    batch: &RecordBatch,
    rows: &[u32],
    extra: Vec<ArrayRef>,
    schema: &SchemaRef,
) -> Result<RecordBatch, SendFailure> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns() + extra.len());
    // Every row once, in order (nothing throttled or copied): the columns as they are.
    let whole =
        rows.len() == batch.num_rows() && rows.iter().enumerate().all(|(i, &r)| r as usize == i);
    if whole {
        columns.extend(batch.columns().iter().cloned());
    } else {
        let indices = UInt32Array::from(rows.to_vec());
        for column in batch.columns() {
            columns.push(take(column.as_ref(), &indices, None).map_err(|e| fail(e.to_string()))?);
        }
    }
    columns.extend(extra);
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::plan_expr;
    use crate::model::kinds::kinesis::{
        ARRIVAL, PARTITION_KEY, Producer, Retries, SEQUENCE_NUMBER, SHARD_ID,
    };
    use crate::runtime::contract::Captured;
    use arrow::array::{AsArray, TimestampMillisecondArray};
    use arrow::datatypes::{Field, Schema, TimeUnit};

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new("key", DataType::Utf8, true),
            Field::new("payload", DataType::Utf8, false),
        ]))
    }

    /// The stream as planned by its model, with `shards` shards.
    fn stream(shards: u32, key: &str) -> (Box<dyn Operator>, Arc<InstanceMetrics>) {
        stream_showing(shards, key, None)
    }

    fn stream_showing(
        shards: u32,
        key: &str,
        stats: Option<Arc<ShardStats>>,
    ) -> (Box<dyn Operator>, Arc<InstanceMetrics>) {
        stream_with(shards, key, stats, Producer::PutRecord)
    }

    fn stream_with(
        shards: u32,
        key: &str,
        stats: Option<Arc<ShardStats>>,
        producer: Producer,
    ) -> (Box<dyn Operator>, Arc<InstanceMetrics>) {
        stream_retrying(shards, key, stats, producer, Retries::default())
    }

    fn stream_retrying(
        shards: u32,
        key: &str,
        stats: Option<Arc<ShardStats>>,
        producer: Producer,
        retries: Retries,
    ) -> (Box<dyn Operator>, Arc<InstanceMetrics>) {
        let config = crate::model::kinds::kinesis::KinesisStream {
            capacity: crate::model::kinds::kinesis::Capacity::Provisioned { shards },
            partition_key: key.into(),
            explicit_hash_key: None,
            retention: crate::model::duration::Duration::from_secs(24 * 3600),
            producer,
            retries,
            resharding: Vec::new(),
            consumers: Vec::new(),
        };
        planned_stream(config, stats)
    }

    /// The stream `config` planned by its model over [`schema`], and built.
    fn planned_stream(
        config: crate::model::kinds::kinesis::KinesisStream,
        stats: Option<Arc<ShardStats>>,
    ) -> (Box<dyn Operator>, Arc<InstanceMetrics>) {
        let schema = schema();
        let key = config.partition_key.clone();
        let mut report = crate::model::kind::Report::new("trips_stream");
        {
            use crate::model::kind::KindModel;
            let ctx = crate::model::kind::CheckContext {
                base_dir: std::path::Path::new("."),
            };
            config.check(&ctx, &mut report);
            assert!(!report.has_errors(), "{:?}", report.into_problems());
            report = crate::model::kind::Report::new("trips_stream");
        }
        let input = crate::model::kind::PortInput {
            schema: Arc::clone(&schema),
            time: crate::model::time::TimeAttr::Event {
                column: "ts".into(),
                shift_ms: 0,
            },
        };
        let ctx = crate::model::kind::CheckContext {
            base_dir: std::path::Path::new("."),
        };
        use crate::model::kind::KindModel;
        let planned = config.plan(&[input], &ctx, &mut report).unwrap();
        let crate::model::kinds::PlannedKind::KinesisStream(planned) = planned.kind else {
            panic!("not a stream");
        };
        assert!(plan_expr(&key, &schema).is_ok());
        let metrics = Arc::new(InstanceMetrics::new(1));
        (build(&planned, &metrics, stats), metrics)
    }

    fn rows(times: &[i64], keys: &[Option<&str>], payload: &str) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(TimestampMillisecondArray::from(times.to_vec())),
                Arc::new(StringArray::from(keys.to_vec())),
                Arc::new(StringArray::from(vec![payload; times.len()])),
            ],
        )
        .unwrap()
    }

    fn count(captured: &Captured, port: usize) -> usize {
        captured.batches(port).iter().map(|b| b.num_rows()).sum()
    }

    fn column(captured: &Captured, port: usize, name: &str) -> Vec<String> {
        captured
            .batches(port)
            .iter()
            .flat_map(|b| {
                let c = b.column_by_name(name).unwrap().clone();
                (0..b.num_rows())
                    .map(move |r| crate::values::cell_text(c.as_ref(), r))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_shard_takes_a_thousand_records_a_second_and_throttles_the_rest() {
        // 2,000 records a second for 3 seconds, all on one key: each second the first 1,000
        // are accepted and the other 1,000 throttled.
        let (mut op, metrics) = stream(1, "key");
        let (mut out, captured) = Output::capturing(3);
        let times: Vec<i64> = (0..6_000).map(|i| i / 2).collect();
        let keys = vec![Some("k"); times.len()];
        // Batches cut anywhere give the same result.
        for (start, end) in [(0, 1_234), (1_234, 4_000), (4_000, 6_000)] {
            let batch = rows(&times[start..end], &keys[start..end], "x");
            op.on_batch(0, batch, &mut out).unwrap();
        }
        assert_eq!(count(&captured, OUT_PORT), 3_000);
        assert_eq!(count(&captured, THROTTLED_PORT), 3_000);
        assert_eq!(
            metrics
                .throttled_rows
                .load(std::sync::atomic::Ordering::Relaxed),
            3_000
        );
        let codes = column(&captured, THROTTLED_PORT, "error_code");
        assert!(
            codes
                .iter()
                .all(|c| c == "ProvisionedThroughputExceededException")
        );
        let message = &column(&captured, THROTTLED_PORT, "error_message")[0];
        assert_eq!(
            message,
            "Rate exceeded for shard shardId-000000000000 in stream trips_stream under account 000000000000."
        );
        // The accepted ones are the first 1,000 of each second.
        let accepted_times = column(&captured, OUT_PORT, "ts");
        assert_eq!(accepted_times[999], crate::values::iso_millis(499));
        assert_eq!(accepted_times[1_000], crate::values::iso_millis(1_000));
    }

    #[test]
    fn a_shard_takes_one_mebibyte_a_second_keys_included() {
        // Records of about 300,000 bytes: three fit in 1,048,576 bytes, a fourth does not,
        // whatever the few bytes of JSON around the payload.
        let (mut op, _) = stream(1, "key");
        let (mut out, captured) = Output::capturing(3);
        let payload = "x".repeat(300_000);
        let times: Vec<i64> = (0..20).map(|i| i * 200).collect(); // 5 a second for 4 seconds
        op.on_batch(0, rows(&times, &vec![Some("k"); 20], &payload), &mut out)
            .unwrap();
        assert_eq!(count(&captured, OUT_PORT), 4 * 3);
        assert_eq!(count(&captured, THROTTLED_PORT), 4 * 2);
    }

    #[test]
    fn bad_keys_and_oversized_records_are_refused_with_the_reason() {
        let (mut op, metrics) = stream(2, "key");
        let (mut out, captured) = Output::capturing(3);
        let long = "k".repeat(257);
        let longest = "k".repeat(256);
        op.on_batch(
            0,
            rows(
                &[1, 2, 3, 4],
                &[None, Some(""), Some(&long), Some(&longest)],
                "x",
            ),
            &mut out,
        )
        .unwrap();
        let reasons = column(&captured, ERRORS_PORT, "reason");
        assert_eq!(
            reasons,
            vec![
                "the partition key is NULL",
                "the partition key is empty",
                "the partition key has 257 characters; Kinesis takes 1 to 256",
            ]
        );
        assert_eq!(count(&captured, OUT_PORT), 1, "256 characters are fine");
        let big = "x".repeat(MAX_RECORD_BYTES);
        op.on_batch(0, rows(&[5], &[Some("k")], &big), &mut out)
            .unwrap();
        let reasons = column(&captured, ERRORS_PORT, "reason");
        assert!(
            reasons[3].contains("Kinesis takes at most 1048576"),
            "{}",
            reasons[3]
        );
        assert_eq!(
            metrics
                .error_rows
                .load(std::sync::atomic::Ordering::Relaxed),
            4
        );
    }

    #[test]
    fn records_carry_their_shard_a_rising_sequence_number_key_and_arrival() {
        let (mut op, _) = stream(2, "key");
        let (mut out, captured) = Output::capturing(3);
        // Out of order: the record at 500 arrives after the one at 900, so it arrives at 900.
        let times = [100, 900, 500, 1_200, 1_300, 1_400];
        let keys = [
            Some("trip-1"),
            Some("a"),
            Some("trip-1"),
            Some("a"),
            Some("b"),
            Some("trip-1"),
        ];
        op.on_batch(0, rows(&times, &keys, "x"), &mut out).unwrap();
        let shards = column(&captured, OUT_PORT, SHARD_ID);
        // trip-1 and b hash into shard 1 of 2, a into shard 0 (streaming-facts §1.2).
        assert_eq!(
            shards,
            vec![
                "shardId-000000000001",
                "shardId-000000000000",
                "shardId-000000000001",
                "shardId-000000000000",
                "shardId-000000000001",
                "shardId-000000000001",
            ]
        );
        let sequences = column(&captured, OUT_PORT, SEQUENCE_NUMBER);
        for shard in ["shardId-000000000000", "shardId-000000000001"] {
            let of_shard: Vec<&String> = shards
                .iter()
                .zip(&sequences)
                .filter(|(s, _)| *s == shard)
                .map(|(_, q)| q)
                .collect();
            assert!(of_shard.iter().all(|q| q.len() == 56));
            assert!(of_shard.windows(2).all(|w| w[0] < w[1]), "{of_shard:?}");
        }
        assert_eq!(
            column(&captured, OUT_PORT, PARTITION_KEY),
            keys.map(|k| k.unwrap().to_string())
        );
        let batch = &captured.batches(OUT_PORT)[0];
        let arrivals = batch
            .column_by_name(ARRIVAL)
            .unwrap()
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>();
        assert_eq!(
            arrivals.values().to_vec(),
            vec![100, 900, 900, 1_200, 1_300, 1_400]
        );
    }

    #[test]
    fn the_shard_view_counts_each_shard_and_places_each_key() {
        let stats = shard_stats(2);
        let (mut op, _) = stream_showing(2, "key", Some(Arc::clone(&stats)));
        let (mut out, _) = Output::capturing(3);
        // Second 0: 1,200 records on `trip-1` (shard 1) and 10 on `a` (shard 0); then one on
        // `b` (shard 1) at 1 s ends second 0.
        let mut times: Vec<i64> = (0..1_210).map(|i| i * 800 / 1_210).collect();
        times.push(1_000);
        let mut keys = vec![Some("trip-1"); 1_200];
        keys.extend(vec![Some("a"); 10]);
        keys.push(Some("b"));
        op.on_batch(0, rows(&times, &keys, "x"), &mut out).unwrap();
        let view = stats.view();
        assert_eq!(view.last_second, Some(0));
        assert_eq!(view.shards[0].last_second_records, 10);
        assert_eq!(view.shards[1].last_second_records, 1_000);
        assert_eq!(view.shards[1].last_second_throttled, 200);
        assert_eq!(
            view.shards[1].written, 1_001,
            "b went to shard 1 in second 1"
        );
        assert_eq!(view.shards[1].throttled, 200);
        assert_eq!(view.hot_shard(), Some(1));
        let trip = view.keys.iter().find(|k| k.key == "trip-1").unwrap();
        assert_eq!(
            (trip.hash, trip.shard, trip.records),
            (178844115181461242134333118005111025133, 1, 1_200)
        );
        assert_eq!(view.keys.len(), 3);
    }

    #[test]
    fn the_kpl_packs_a_hot_key_into_few_kinesis_records_and_nothing_is_throttled() {
        // The load PutRecord throttles by half: 2,000 records a second on one key, 3 seconds.
        let stats = shard_stats(1);
        let kpl = kpl_producer(51_200, 150, 30_000);
        let (mut op, _) = stream_with(1, "key", Some(Arc::clone(&stats)), kpl);
        let (mut out, captured) = Output::capturing(3);
        let times: Vec<i64> = (0..6_000).map(|i| i / 2).collect();
        let keys = vec![Some("k"); times.len()];
        op.on_batch(0, rows(&times, &keys, "x"), &mut out).unwrap();
        assert_eq!(count(&captured, THROTTLED_PORT), 0);
        assert_eq!(count(&captured, OUT_PORT), 6_000);
        // An aggregate goes out when its first record has waited 100 ms: 200 user records each
        // (far under 51,200 bytes), 10 Kinesis records a second, 30 in all.
        assert_eq!(stats.view().shards[0].written, 30);
        let sequences = column(&captured, OUT_PORT, SEQUENCE_NUMBER);
        let subs = column(&captured, OUT_PORT, "sub_sequence_number");
        assert_eq!(sequences[0], sequences[199]);
        assert_ne!(sequences[199], sequences[200]);
        assert_eq!(
            (subs[0].as_str(), subs[199].as_str(), subs[200].as_str()),
            ("0", "199", "0")
        );
    }

    /// The KPL with the given `AggregationMaxSize`, `RateLimit` and `RecordTtl`.
    fn kpl_producer(aggregation_max_size: u32, rate_limit: u32, ttl_ms: i64) -> Producer {
        Producer::Kpl {
            aggregation_max_size,
            record_max_buffered_time: crate::model::duration::Duration::from_millis(100),
            record_ttl: crate::model::duration::Duration::from_millis(ttl_ms),
            rate_limit,
            fail_if_throttled: false,
        }
    }

    /// Writes `per_second` records a second on one key for `seconds` through the KPL with
    /// records too large to aggregate (AggregationMaxSize 64), in batches of 200 ms.
    fn through_the_kpl(
        per_second: i64,
        seconds: i64,
        rate_limit: u32,
        ttl_ms: i64,
    ) -> (Captured, Arc<ShardStats>) {
        let stats = shard_stats(1);
        let (mut op, _) = stream_with(
            1,
            "key",
            Some(Arc::clone(&stats)),
            kpl_producer(64, rate_limit, ttl_ms),
        );
        let (mut out, captured) = Output::capturing(3);
        let total = per_second * seconds;
        let times: Vec<i64> = (0..total).map(|i| i * 1_000 / per_second).collect();
        for chunk in times.chunks((per_second / 5) as usize) {
            let keys = vec![Some("k"); chunk.len()];
            op.on_batch(
                0,
                rows(chunk, &keys, "a payload too large to aggregate"),
                &mut out,
            )
            .unwrap();
        }
        (captured, stats)
    }

    #[test]
    fn the_kpl_keeps_a_shard_under_its_rate_limit_and_the_rest_waits() {
        // RateLimit 100 %: the KPL sends 1,000 records a second and holds the other 1,000 a
        // second back; Kinesis throttles nothing, and the backlog drains a second at a time.
        let (captured, stats) = through_the_kpl(2_000, 10, 100, 30_000);
        assert_eq!(count(&captured, THROTTLED_PORT), 0);
        assert_eq!(count(&captured, OUT_PORT), 20_000);
        let mut per_second = std::collections::BTreeMap::new();
        for arrival in column(&captured, OUT_PORT, ARRIVAL) {
            *per_second.entry(arrival[..19].to_string()).or_insert(0) += 1;
        }
        assert_eq!(per_second.len(), 20);
        assert!(per_second.values().all(|&n| n == 1_000), "{per_second:?}");
        let view = stats.view();
        assert_eq!(view.shards[0].throttled, 0);
        assert_eq!(view.producer.kinesis_records, 20_000);
    }

    #[test]
    fn the_kpl_fails_a_record_whose_time_to_live_runs_out_as_expired() {
        // 2,000 a second for 60 s at RateLimit 100 % and RecordTtl 30 s: the backlog grows by
        // 1,000 a second until records wait over 30 s, then those expire.
        let (captured, stats) = through_the_kpl(2_000, 60, 100, 30_000);
        // The rule, played by hand: records go out in order, 1,000 a second, each in the first
        // second with room from its own on; one that would go later than 30 s after it was put
        // expires and takes no room.
        let mut used = vec![0u32; 200];
        let (mut written, mut expired) = (0, 0);
        for i in 0..120_000i64 {
            let put = i / 2;
            let mut second = (put / 1_000) as usize;
            while used[second] >= 1_000 {
                second += 1;
            }
            if (second as i64 * 1_000).max(put) > put + 30_000 {
                expired += 1;
            } else {
                used[second] += 1;
                written += 1;
            }
        }
        assert!(expired > 0);
        assert_eq!(count(&captured, OUT_PORT), written);
        assert_eq!(count(&captured, THROTTLED_PORT), expired);
        let codes = column(&captured, THROTTLED_PORT, "error_code");
        assert!(codes.iter().all(|c| c == "Expired"));
        assert_eq!(stats.view().producer.expired, expired as u64);
    }

    #[test]
    fn at_its_default_rate_limit_the_kpl_overdrives_a_shard_and_retries_the_throttled() {
        // RateLimit 150 %: 1,500 a second reach the shard, which takes 1,000; the throttled
        // half-thousand are tried again after the backoff and land in later seconds.
        let (captured, stats) = through_the_kpl(1_200, 10, 150, 30_000);
        assert_eq!(count(&captured, OUT_PORT), 12_000, "all written in the end");
        let view = stats.view();
        assert!(
            view.shards[0].throttled > 0,
            "Kinesis throttled some attempts"
        );
        assert_eq!(view.producer.attempts, 12_000 + view.shards[0].throttled);
    }

    fn retries(max_attempts: u32, backoff_ms: i64, lost_responses: f64) -> Retries {
        Retries {
            max_attempts,
            backoff: crate::model::duration::Duration::from_millis(backoff_ms),
            lost_responses,
        }
    }

    #[test]
    fn a_throttled_record_is_written_when_its_retry_lands_in_a_second_with_room() {
        // 1,500 records in the first 750 ms: 1,000 fit; the other 500 are tried again 1 s later,
        // in a second that is empty, and all fit there.
        let (mut op, metrics) =
            stream_retrying(1, "key", None, Producer::PutRecord, retries(2, 1_000, 0.0));
        let (mut out, captured) = Output::capturing(3);
        let times: Vec<i64> = (0..1_500).map(|i| i / 2).collect();
        op.on_batch(0, rows(&times, &vec![Some("k"); 1_500], "x"), &mut out)
            .unwrap();
        assert_eq!(count(&captured, OUT_PORT), 1_500);
        assert_eq!(count(&captured, THROTTLED_PORT), 0);
        assert_eq!(
            metrics
                .throttled_rows
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
        let arrivals = column(&captured, OUT_PORT, ARRIVAL);
        // Record 1,000 came at 500 ms, was throttled, and arrived on its retry at 1,500 ms.
        assert_eq!(arrivals[1_000], crate::values::iso_millis(1_500));
        assert_eq!(arrivals[999], crate::values::iso_millis(499));
    }

    #[test]
    fn a_record_throttled_on_every_attempt_says_how_many_there_were() {
        // 3 attempts 100 and 300 ms apart all land in the same full second.
        let (mut op, _) =
            stream_retrying(1, "key", None, Producer::PutRecord, retries(3, 100, 0.0));
        let (mut out, captured) = Output::capturing(3);
        let times: Vec<i64> = (0..1_200).map(|i| i / 2).collect();
        op.on_batch(0, rows(&times, &vec![Some("k"); 1_200], "x"), &mut out)
            .unwrap();
        assert_eq!(count(&captured, THROTTLED_PORT), 200);
        let message = &column(&captured, THROTTLED_PORT, "error_message")[0];
        assert!(message.ends_with("(3 attempts)"), "{message}");
    }

    #[test]
    fn a_lost_answer_makes_a_duplicate_with_a_new_sequence_number() {
        // Every answer lost and two attempts: each record is written twice, the copy one backoff
        // later, under a sequence number of its own.
        let (mut op, _) =
            stream_retrying(1, "key", None, Producer::PutRecord, retries(2, 250, 1.0));
        let (mut out, captured) = Output::capturing(3);
        op.on_batch(0, rows(&[10, 20], &[Some("a"), Some("b")], "x"), &mut out)
            .unwrap();
        assert_eq!(column(&captured, OUT_PORT, "key"), vec!["a", "a", "b", "b"]);
        let sequences = column(&captured, OUT_PORT, SEQUENCE_NUMBER);
        assert!(sequences[0] != sequences[1] && sequences[2] != sequences[3]);
        let arrivals = column(&captured, OUT_PORT, ARRIVAL);
        assert_eq!(arrivals[0], crate::values::iso_millis(10));
        assert_eq!(arrivals[1], crate::values::iso_millis(260));
        // No lost answers, no copies.
        let (mut op, _) =
            stream_retrying(1, "key", None, Producer::PutRecord, retries(3, 250, 0.0));
        let (mut out, captured) = Output::capturing(3);
        op.on_batch(0, rows(&[10, 20], &[Some("a"), Some("b")], "x"), &mut out)
            .unwrap();
        assert_eq!(count(&captured, OUT_PORT), 2);
    }

    #[test]
    fn about_the_given_share_of_answers_is_lost() {
        let lost = (0..100_000).filter(|&i| answer_lost(i, 0.05)).count();
        assert!((4_700..5_300).contains(&lost), "{lost}");
    }

    #[test]
    fn a_split_sends_new_writes_to_the_children_and_each_record_once() {
        // Two shards; after 1 s shard 1 splits at 3 * 2^126: keys from there up go to shard 3,
        // the rest of its range to shard 2. `trip-1` (178844…, above 2^127 and below 3 * 2^126)
        // moves from shard 1 to shard 2.
        let split_at = 3u128 << 126;
        let config = crate::model::kinds::kinesis::KinesisStream {
            capacity: crate::model::kinds::kinesis::Capacity::Provisioned { shards: 2 },
            partition_key: "key".into(),
            explicit_hash_key: None,
            retention: crate::model::duration::Duration::from_secs(24 * 3600),
            producer: Producer::PutRecord,
            retries: Retries::default(),
            resharding: vec![crate::model::kinds::kinesis::shard_map::Reshard::Split {
                at: crate::model::duration::Duration::from_secs(1),
                shard: 1,
                hash_key: split_at.to_string(),
            }],
            consumers: Vec::new(),
        };
        let stats = shard_stats(2);
        let (mut op, _) = planned_stream(config, Some(Arc::clone(&stats)));
        let (mut out, captured) = Output::capturing(3);
        let times: Vec<i64> = (0..20).map(|i| i * 100).collect();
        let keys = vec![Some("trip-1"); 20];
        op.on_batch(0, rows(&times, &keys, "x"), &mut out).unwrap();
        let shards = column(&captured, OUT_PORT, SHARD_ID);
        assert_eq!(shards.len(), 20, "each record once");
        // Before 1 s (records at 0 … 900 ms) in the parent, from 1 s on in the lower child.
        assert!(shards[..10].iter().all(|s| s == "shardId-000000000001"));
        assert!(shards[10..].iter().all(|s| s == "shardId-000000000002"));
        let view = stats.view();
        assert_eq!(view.shards.len(), 4);
        assert!(!view.shards[1].open && view.shards[2].open && view.shards[3].open);
        assert_eq!(view.reshards.len(), 1);
        assert_eq!(view.reshards[0].closed, vec![1]);
        assert_eq!(view.reshards[0].at, 1_000);
        assert_eq!(view.shards[2].written, 10);
    }

    #[test]
    fn an_on_demand_stream_scales_to_twice_its_peak_fifteen_minutes_later() {
        // 6,000 records in the first second on 4 starting shards: 2,000 throttled. The peak
        // brings shards for 12,000 a second at 1 s + 15 min; a second like it then fits.
        let config = crate::model::kinds::kinesis::KinesisStream {
            capacity: crate::model::kinds::kinesis::Capacity::OnDemand,
            partition_key: "key".into(),
            explicit_hash_key: None,
            retention: crate::model::duration::Duration::from_secs(24 * 3600),
            producer: Producer::PutRecord,
            retries: Retries::default(),
            resharding: Vec::new(),
            consumers: Vec::new(),
        };
        let stats = shard_stats(4);
        let (mut op, metrics) = planned_stream(config, Some(Arc::clone(&stats)));
        let (mut out, _) = Output::capturing(3);
        let keys: Vec<String> = (0..6_000).map(|i| format!("trip-{i}")).collect();
        let keys: Vec<Option<&str>> = keys.iter().map(|k| Some(k.as_str())).collect();
        let second = |start: i64| -> Vec<i64> { (0..6_000).map(|i| start + i / 6).collect() };
        op.on_batch(0, rows(&second(0), &keys, "x"), &mut out)
            .unwrap();
        let throttled = || {
            metrics
                .throttled_rows
                .load(std::sync::atomic::Ordering::Relaxed)
        };
        assert_eq!(throttled(), 2_000);
        // Just before the scale-up: still 4 shards, still throttling.
        op.on_batch(0, rows(&second(900_000), &keys, "x"), &mut out)
            .unwrap();
        assert_eq!(throttled(), 4_000);
        op.on_batch(0, rows(&second(901_000), &keys, "x"), &mut out)
            .unwrap();
        assert_eq!(throttled(), 4_000, "12 shards take 6,000 a second");
        let view = stats.view();
        assert_eq!(view.shards.iter().filter(|s| s.open).count(), 12);
        assert_eq!(view.reshards.len(), 1);
        assert_eq!(view.reshards[0].at, 901_000);
    }

    #[test]
    fn a_put_records_request_fails_in_part_and_in_request_order() {
        // 1,200 records in 600 ms for one shard, in requests of 300: requests 1-3 fit (900), and
        // request 4 has room for 100 more; its entries 100-299 fail, the first 100 do not.
        let producer = Producer::PutRecords {
            max_records: 300,
            max_bytes: 5 * 1024 * 1024,
        };
        let (mut op, _) = stream_with(1, "key", None, producer);
        let (mut out, captured) = Output::capturing(3);
        let times: Vec<i64> = (0..1_200).map(|i| i / 2).collect();
        op.on_batch(0, rows(&times, &vec![Some("k"); 1_200], "x"), &mut out)
            .unwrap();
        let written: Vec<(String, String)> = column(&captured, OUT_PORT, "request")
            .into_iter()
            .zip(column(&captured, OUT_PORT, "entry"))
            .collect();
        assert_eq!(written.len(), 1_000);
        assert_eq!(written[899], ("3".to_string(), "299".to_string()));
        assert_eq!(written[900], ("4".to_string(), "0".to_string()));
        assert_eq!(written[999], ("4".to_string(), "99".to_string()));
        let failed: Vec<(String, String)> = column(&captured, THROTTLED_PORT, "request")
            .into_iter()
            .zip(column(&captured, THROTTLED_PORT, "entry"))
            .collect();
        assert_eq!(failed.len(), 200);
        assert!(failed.iter().all(|(r, _)| r == "4"));
        let places: Vec<u32> = failed.iter().map(|(_, e)| e.parse().unwrap()).collect();
        assert_eq!(places, (100..300).collect::<Vec<u32>>());
    }

    #[test]
    fn a_put_records_request_holds_at_most_its_bytes() {
        // Records of about 300,000 bytes: a 1 MiB request holds 3, so 7 records make 3 requests.
        let producer = Producer::PutRecords {
            max_records: 500,
            max_bytes: 1024 * 1024,
        };
        let (mut op, _) = stream_with(4, "key", None, producer);
        let (mut out, captured) = Output::capturing(3);
        let keys = ["a", "b", "c", "d", "e", "f", "g"].map(Some);
        let payload = "x".repeat(300_000);
        op.on_batch(0, rows(&[0, 1, 2, 3, 4, 5, 6], &keys, &payload), &mut out)
            .unwrap();
        let mut requests: Vec<String> = column(&captured, OUT_PORT, "request");
        requests.extend(column(&captured, THROTTLED_PORT, "request"));
        requests.sort();
        assert_eq!(requests, vec!["1", "1", "1", "2", "2", "2", "3"]);
    }
}
