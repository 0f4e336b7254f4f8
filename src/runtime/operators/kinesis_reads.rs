//! The consumers of a simulated Kinesis stream reading its shards (streaming-facts §1.1, §1.5,
//! §1.6), each out of its own port of the stream node.
//!
//! A polling consumer calls `GetRecords` on each shard every `poll_every` of arrival time and gets
//! up to `max_records` Kinesis records and 10 MiB that arrived by then. Every polling consumer of
//! the stream shares each shard's 5 calls a second and its 2 MiB a second: a call that returns
//! B bytes keeps the shard's shared pipe busy for B / 2 MiB/s, so a 10 MiB answer throttles the
//! calls of the next 5 seconds, as AWS documents. Consumers poll in turns spread over the wait
//! (their order rotates every round, so none is always the one over the limit). An enhanced
//! fan-out consumer is pushed each record once it arrived and its own 2 MiB/s pipe is free.
//!
//! A consumer starts `starts_after` the stream's first record, at its starting position (the
//! trim horizon, the newest record, or a time); records older than the retention expire unread
//! and are counted; a shard opened by resharding is read only once its parents were read to their
//! end. The watermark out of a consumer's port waits until the consumer has read every record
//! written before it, so nothing it delivers late is late in event time. The end of the input
//! lets the consumers read on (the clock runs past the last record) until nothing is left.

use std::collections::VecDeque;

use arrow::compute::interleave_record_batch;
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::model::kinds::kinesis::consumers::{PlannedConsumer, PlannedStart};
use crate::model::kinds::kinesis::shard_map::ShardMap;
use crate::runtime::contract::{
    MAX_WATERMARK, MIN_WATERMARK, OpResult, Output, RunError, SendFailure, StateReader,
    StateWriter, Timestamp, fail,
};
use crate::runtime::shard_stats::{ConsumerShardView, ConsumerView, SharedReads};

/// Per shard, for the polling consumers together: 5 `GetRecords` calls a second...
pub const CALLS_PER_SECOND: u32 = 5;
/// ...and 2 MiB a second (also each enhanced fan-out consumer's own rate per shard).
pub const READ_BYTES_PER_SECOND: u64 = 2 * 1024 * 1024;
/// The most one `GetRecords` call returns.
pub const CALL_MAX_BYTES: u64 = 10 * 1024 * 1024;
/// Unread records the simulation keeps for a stream's consumers; past it the run stops rather than
/// grow without bound.
pub const MAX_HELD_RECORDS: usize = 20_000_000;
/// Rounds of the clock at the end without a record read or expired before the clock jumps to the
/// retention's end (a consumer that cannot make progress is not waited for forever).
const STALLED_ROUNDS: u32 = 100_000;

/// What the stream knows of one record it accepted, for its consumers.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    pub shard: u32,
    pub arrival: Timestamp,
    /// Its size as read: data and partition key.
    pub bytes: u32,
    /// Whether it starts a Kinesis record (a plain record, or a KPL aggregate's first user
    /// record): what `GetRecords`' limit on records counts.
    pub starts_record: bool,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Entry {
    batch: u64,
    row: u32,
    arrival: Timestamp,
    bytes: u32,
    /// Its number among all records written to the stream: what a held watermark waits for.
    written: u64,
    starts_record: bool,
}

/// One shard's records still needed by a consumer.
#[derive(Debug, Serialize, Deserialize)]
struct ShardLog {
    /// The place (counted from the shard's first record) of `entries[0]`.
    base: u64,
    entries: VecDeque<Entry>,
    open: bool,
    parents: Vec<u32>,
    newest_arrival: Timestamp,
    /// The polling consumers' shared limits: calls in `second`, and when the pipe is free.
    second: i64,
    calls: u32,
    free_at: Timestamp,
    /// The last whole second's shared calls and bytes read, for the shard view.
    counts: SecondCounts,
}

impl ShardLog {
    fn new(parents: Vec<u32>) -> Self {
        Self {
            base: 0,
            entries: VecDeque::new(),
            open: true,
            parents,
            newest_arrival: MIN_WATERMARK,
            second: i64::MIN,
            calls: 0,
            free_at: MIN_WATERMARK,
            counts: SecondCounts::default(),
        }
    }

    fn end(&self) -> u64 {
        self.base + self.entries.len() as u64
    }

    fn get(&self, place: u64) -> Option<&Entry> {
        place
            .checked_sub(self.base)
            .and_then(|i| self.entries.get(i as usize))
    }
}

/// Counts of one second of arrival time, kept until the next one ends.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct SecondCounts {
    second: i64,
    calls: u32,
    throttled: u32,
    records: u64,
    bytes: u64,
    /// The last whole second's figures.
    last: (u32, u32, u64, u64),
}

impl SecondCounts {
    fn at(&mut self, t: Timestamp) -> &mut Self {
        let second = t.div_euclid(1000);
        if second != self.second {
            self.last = if second == self.second + 1 {
                (self.calls, self.throttled, self.records, self.bytes)
            } else {
                (0, 0, 0, 0)
            };
            *self = Self {
                second,
                last: self.last,
                ..Self::default()
            };
        }
        self
    }
}

/// One consumer's progress in one shard.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Cursor {
    /// The place of the next record to read.
    position: u64,
    /// Its enhanced fan-out pipe is free from then.
    free_at: Timestamp,
    /// Closed and read to its end: its children may be read.
    finished: bool,
    read: u64,
    bytes: u64,
    calls: u64,
    throttled: u64,
    /// `MillisBehindLatest` after its last read.
    behind_ms: i64,
    counts: SecondCounts,
}

#[derive(Debug)]
struct ConsumerReads {
    planned: PlannedConsumer,
    port: usize,
    /// Its place among the polling consumers, and how many there are: its turn in a round.
    slot: u64,
    polling_consumers: u64,
    start_at: Option<Timestamp>,
    started: bool,
    /// The round of its next poll.
    round: u64,
    cursors: Vec<Cursor>,
    /// Watermarks received, each with the count of records written before it.
    pending: VecDeque<(u64, Timestamp)>,
    sent_watermark: Timestamp,
    /// Records read and not yet sent: (stored batch, row).
    rows: Vec<(u64, u32)>,
    expired: u64,
    skipped: u64,
    /// The most it has been behind any shard's newest record.
    peak_behind_ms: i64,
}

impl ConsumerReads {
    fn poll_every(&self) -> Option<i64> {
        self.planned.polling.map(|(every, _)| every.max(1))
    }

    /// When round `round` polls, on a grid from `anchor`: one wait per round, this consumer's
    /// turn placed `slot` of `n` turns into it, the turns rotating each round.
    fn poll_time(&self, anchor: Timestamp, round: u64) -> Option<Timestamp> {
        let every = self.poll_every()?;
        let n = self.polling_consumers.max(1);
        let turn = (self.slot + round) % n;
        Some(
            anchor
                .saturating_add(every.saturating_mul(round as i64))
                .saturating_add(every.saturating_mul(turn as i64) / n as i64),
        )
    }
}

/// Every consumer of one stream.
pub struct Reads {
    consumers: Vec<ConsumerReads>,
    logs: Vec<ShardLog>,
    /// Accepted batches some log still refers to, with how many of their rows it does.
    batches: VecDeque<(RecordBatch, usize)>,
    first_batch: u64,
    written: u64,
    retention_ms: i64,
    first_arrival: Option<Timestamp>,
    now: Timestamp,
    held: usize,
    /// Records read or expired: what tells the end's clock that it makes progress.
    progress: u64,
}

impl Reads {
    /// The consumers `consumers`, whose ports start at `first_port`, of a stream shaped as `map`.
    pub fn new(
        consumers: &[PlannedConsumer],
        first_port: usize,
        map: &ShardMap,
        retention_ms: i64,
    ) -> Self {
        let polling = consumers.iter().filter(|c| c.polling.is_some()).count() as u64;
        let mut slot = 0;
        let consumers = consumers
            .iter()
            .enumerate()
            .map(|(i, planned)| {
                let this_slot = slot;
                if planned.polling.is_some() {
                    slot += 1;
                }
                ConsumerReads {
                    planned: planned.clone(),
                    port: first_port + i,
                    slot: this_slot,
                    polling_consumers: polling,
                    start_at: None,
                    started: false,
                    round: 0,
                    cursors: Vec::new(),
                    pending: VecDeque::new(),
                    sent_watermark: MIN_WATERMARK,
                    rows: Vec::new(),
                    expired: 0,
                    skipped: 0,
                    peak_behind_ms: 0,
                }
            })
            .collect();
        let mut reads = Self {
            consumers,
            logs: Vec::new(),
            batches: VecDeque::new(),
            first_batch: 0,
            written: 0,
            retention_ms: retention_ms.max(1),
            first_arrival: None,
            now: MIN_WATERMARK,
            held: 0,
            progress: 0,
        };
        reads.reshard(map);
        reads
    }

    /// Saves every shard's unread records and every consumer's progress: the bookkeeping as JSON
    /// (logs, cursors, held watermarks), then the records' rows as Arrow IPC (a batch no log
    /// refers to any more is saved empty, so the batch numbers stay as they were).
    pub fn save(&self, w: &mut StateWriter) -> Result<(), RunError> {
        let consumers: Vec<_> = self
            .consumers
            .iter()
            .map(|c| {
                (
                    (c.start_at, c.started, c.round, &c.cursors, &c.pending),
                    (c.sent_watermark, &c.rows, c.expired, c.skipped),
                    c.peak_behind_ms,
                )
            })
            .collect();
        let lives: Vec<usize> = self.batches.iter().map(|(_, live)| *live).collect();
        w.json(&(
            &self.logs,
            (self.first_batch, self.written, self.first_arrival, self.now),
            (self.held, self.progress),
            consumers,
            lives,
        ))?;
        let batches: Vec<RecordBatch> = self
            .batches
            .iter()
            .map(|(b, live)| if *live == 0 { b.slice(0, 0) } else { b.clone() })
            .collect();
        w.batches(&batches)
    }

    /// Restores what [`Reads::save`] saved, into consumers planned as they were.
    pub fn restore(&mut self, r: &mut StateReader) -> Result<(), RunError> {
        type SavedConsumer = (
            (
                Option<Timestamp>,
                bool,
                u64,
                Vec<Cursor>,
                VecDeque<(u64, Timestamp)>,
            ),
            (Timestamp, Vec<(u64, u32)>, u64, u64),
            i64,
        );
        type Saved = (
            Vec<ShardLog>,
            (u64, u64, Option<Timestamp>, Timestamp),
            (usize, u64),
            Vec<SavedConsumer>,
            Vec<usize>,
        );
        let (logs, (first_batch, written, first_arrival, now), (held, progress), consumers, lives): Saved =
            r.json()?;
        let batches = r.batches()?;
        if consumers.len() != self.consumers.len() || batches.len() != lives.len() {
            return Err(RunError::data(
                "the saved consumers or records do not match the stream's consumers",
            ));
        }
        for (consumer, saved) in self.consumers.iter_mut().zip(consumers) {
            let (
                (start_at, started, round, cursors, pending),
                (sent, rows, expired, skipped),
                peak,
            ) = saved;
            consumer.start_at = start_at;
            consumer.started = started;
            consumer.round = round;
            consumer.cursors = cursors;
            consumer.pending = pending;
            consumer.sent_watermark = sent;
            consumer.rows = rows;
            consumer.expired = expired;
            consumer.skipped = skipped;
            consumer.peak_behind_ms = peak;
        }
        self.logs = logs;
        self.batches = batches.into_iter().zip(lives).collect();
        self.first_batch = first_batch;
        self.written = written;
        self.first_arrival = first_arrival;
        self.now = now;
        self.held = held;
        self.progress = progress;
        Ok(())
    }

    /// The ports the consumers send out of.
    pub fn ports(&self) -> impl Iterator<Item = usize> + '_ {
        self.consumers.iter().map(|c| c.port)
    }

    /// Follows the shards through resharding: new shards get a log (and their parents), closed
    /// ones take no more records.
    pub fn reshard(&mut self, map: &ShardMap) {
        for shard in map.shards() {
            let number = shard.number as usize;
            if number >= self.logs.len() {
                self.logs
                    .resize_with(number + 1, || ShardLog::new(Vec::new()));
                self.logs[number] = ShardLog::new(shard.parents.clone());
            }
            if let Some(log) = self.logs.get_mut(number) {
                log.open = shard.open;
            }
        }
        for consumer in &mut self.consumers {
            consumer
                .cursors
                .resize_with(self.logs.len(), Cursor::default);
        }
    }

    /// Takes in the records of `batch` (the stream's `out` rows), described row by row.
    pub fn append(&mut self, batch: RecordBatch, rows: &[Written]) -> Result<(), SendFailure> {
        if rows.is_empty() {
            return Ok(());
        }
        let id = self.first_batch + self.batches.len() as u64;
        if self.first_arrival.is_none() {
            let first = rows.iter().map(|r| r.arrival).min().unwrap_or(0);
            self.first_arrival = Some(first);
            for consumer in &mut self.consumers {
                consumer.start_at = Some(first.saturating_add(consumer.planned.starts_after_ms));
            }
        }
        for (row, written) in rows.iter().enumerate() {
            let shard = written.shard as usize;
            let Some(log) = self.logs.get_mut(shard) else {
                return Err(fail(format!(
                    "a record for shard {shard}, which has no log"
                )));
            };
            let place = log.end();
            log.newest_arrival = log.newest_arrival.max(written.arrival);
            log.entries.push_back(Entry {
                batch: id,
                row: row as u32,
                arrival: written.arrival,
                bytes: written.bytes,
                written: self.written,
                starts_record: written.starts_record,
            });
            self.written += 1;
            // A consumer that has not started skips what it will never read, so nothing is kept
            // for it: what arrived before it starts when it begins at the newest record (LATEST),
            // what arrived before its time when it begins at a time.
            for consumer in &mut self.consumers {
                if consumer.started {
                    continue;
                }
                let skips = match consumer.planned.start {
                    PlannedStart::TrimHorizon => false,
                    PlannedStart::Latest => consumer.start_at.is_some_and(|s| written.arrival < s),
                    PlannedStart::AtTimestamp(at) => written.arrival < at,
                };
                if let Some(cursor) = consumer.cursors.get_mut(shard)
                    && skips
                    && cursor.position == place
                {
                    cursor.position += 1;
                    consumer.skipped += 1;
                }
            }
        }
        self.held += rows.len();
        if self.held > MAX_HELD_RECORDS {
            let behind = self
                .consumers
                .iter()
                .max_by_key(|c| self.unread(c))
                .map(|c| c.planned.name.clone())
                .unwrap_or_default();
            return Err(SendFailure::Failed(RunError::internal(format!(
                "the consumer `{behind}` is more than {MAX_HELD_RECORDS} records behind; the simulation keeps no more unread records per stream (let it poll more often, use enhanced fan-out, or start it sooner)"
            ))));
        }
        self.batches.push_back((batch, rows.len()));
        Ok(())
    }

    /// Records written and not yet read (or skipped, or expired) by `consumer`.
    fn unread(&self, consumer: &ConsumerReads) -> u64 {
        self.logs
            .iter()
            .zip(&consumer.cursors)
            .map(|(log, cursor)| log.end().saturating_sub(cursor.position))
            .sum()
    }

    /// A watermark reached the stream after every record written so far.
    pub fn watermark(&mut self, watermark: Timestamp) {
        for consumer in &mut self.consumers {
            match consumer.pending.back_mut() {
                Some((count, w)) if *count == self.written => *w = (*w).max(watermark),
                _ => consumer.pending.push_back((self.written, watermark)),
            }
        }
    }

    /// Lets the consumers read until arrival time `now`, then sends what they read and the
    /// watermarks that may follow it.
    pub fn advance(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        self.run_until(now);
        self.send(out)
    }

    /// The input ended: the consumers read on, the clock running past the last record, until
    /// each has read (or lost to the retention) every record; then the last watermarks.
    pub fn drain(&mut self, out: &mut Output) -> OpResult {
        let mut stalled = 0u32;
        while let Some(next) = self.next_moment() {
            let before = self.progress;
            self.run_until(next);
            self.send(out)?;
            if self.progress == before {
                stalled += 1;
                if stalled >= STALLED_ROUNDS {
                    let expiry = self.expiry_of_everything();
                    self.run_until(expiry);
                    self.send(out)?;
                    stalled = 0;
                }
            } else {
                stalled = 0;
            }
        }
        for consumer in &mut self.consumers {
            consumer.pending.clear();
            if consumer.sent_watermark < MAX_WATERMARK {
                consumer.sent_watermark = MAX_WATERMARK;
                out.watermark_on(consumer.port, MAX_WATERMARK)?;
            }
        }
        Ok(())
    }

    /// When something can happen next for a consumer that has records left, if any has.
    fn next_moment(&self) -> Option<Timestamp> {
        let anchor = self.first_arrival?;
        let mut next: Option<Timestamp> = None;
        for consumer in &self.consumers {
            if self.unread(consumer) == 0 {
                continue;
            }
            let start = consumer.start_at.unwrap_or(anchor);
            let moment = if !consumer.started {
                start.max(self.now.saturating_add(1))
            } else if consumer.poll_every().is_some() {
                consumer.poll_time(anchor, consumer.round)?
            } else {
                // Enhanced fan-out: when its pipe frees up on a shard with records waiting.
                self.logs
                    .iter()
                    .zip(&consumer.cursors)
                    .filter_map(|(log, cursor)| {
                        let entry = log.get(cursor.position)?;
                        Some(
                            entry
                                .arrival
                                .max(cursor.free_at)
                                .saturating_add(transfer_ms(u64::from(entry.bytes))),
                        )
                    })
                    .min()
                    .unwrap_or(self.now)
                    .max(self.now.saturating_add(1))
            };
            next = Some(next.map_or(moment, |n| n.min(moment)));
        }
        next
    }

    /// The time at which every record held has expired.
    fn expiry_of_everything(&self) -> Timestamp {
        let newest = self
            .logs
            .iter()
            .map(|l| l.newest_arrival)
            .max()
            .unwrap_or(self.now);
        newest
            .max(self.now)
            .saturating_add(self.retention_ms)
            .saturating_add(1)
    }

    /// Plays every poll and push due by `now`, in time order.
    fn run_until(&mut self, now: Timestamp) {
        let Some(anchor) = self.first_arrival else {
            return;
        };
        loop {
            // The earliest poll due, ties to the consumer listed first.
            let due = self
                .consumers
                .iter()
                .enumerate()
                .filter_map(|(i, c)| {
                    let at = c.poll_time(anchor, c.round)?;
                    (at <= now).then_some((at, i))
                })
                .min();
            let Some((at, index)) = due else {
                break;
            };
            self.now = self.now.max(at);
            self.expire(at);
            self.start_when_due(at);
            self.consumers[index].round += 1;
            if self.consumers[index].started {
                self.poll(index, at);
            }
        }
        self.now = self.now.max(now);
        self.expire(now);
        self.start_when_due(now);
        for index in 0..self.consumers.len() {
            if self.consumers[index].started && self.consumers[index].poll_every().is_none() {
                self.push(index, now);
            }
        }
    }

    /// Starts every consumer whose time came, at its starting position.
    fn start_when_due(&mut self, now: Timestamp) {
        for consumer in &mut self.consumers {
            if consumer.started || consumer.start_at.is_none_or(|s| s > now) {
                continue;
            }
            // Its starting position was kept as records came (see `append`).
            consumer.started = true;
        }
    }

    /// Records older than the retention leave the shards; a consumer that had not read them
    /// lost them.
    fn expire(&mut self, now: Timestamp) {
        let horizon = now.saturating_sub(self.retention_ms);
        for (shard, log) in self.logs.iter_mut().enumerate() {
            let mut dropped = 0u64;
            while log.entries.front().is_some_and(|e| e.arrival <= horizon) {
                if let Some(entry) = log.entries.pop_front() {
                    release(&mut self.batches, self.first_batch, entry.batch);
                    dropped += 1;
                }
            }
            if dropped == 0 {
                continue;
            }
            log.base += dropped;
            self.held = self.held.saturating_sub(dropped as usize);
            for consumer in &mut self.consumers {
                if let Some(cursor) = consumer.cursors.get_mut(shard)
                    && cursor.position < log.base
                {
                    let lost = log.base - cursor.position;
                    consumer.expired += lost;
                    self.progress += lost;
                    cursor.position = log.base;
                }
            }
        }
    }

    /// Whether `consumer` may read `shard`: its parents were read to their end.
    fn readable(&self, consumer: &ConsumerReads, shard: usize) -> bool {
        self.logs[shard]
            .parents
            .iter()
            .all(|&p| consumer.cursors.get(p as usize).is_some_and(|c| c.finished))
    }

    /// One round of `GetRecords` calls by consumer `index` at `at`, shard by shard.
    fn poll(&mut self, index: usize, at: Timestamp) {
        let Some((_, max_records)) = self.consumers[index].planned.polling else {
            return;
        };
        for shard in 0..self.logs.len() {
            let consumer = &self.consumers[index];
            if consumer.cursors[shard].finished || !self.readable(consumer, shard) {
                continue;
            }
            let log = &mut self.logs[shard];
            let second = at.div_euclid(1000);
            if log.second != second {
                log.second = second;
                log.calls = 0;
            }
            let consumer = &mut self.consumers[index];
            let cursor = &mut consumer.cursors[shard];
            if log.calls >= CALLS_PER_SECOND || at < log.free_at {
                // No answer, but the consumer falls further behind all the same.
                cursor.behind_ms = behind(log, cursor);
                consumer.peak_behind_ms = consumer.peak_behind_ms.max(cursor.behind_ms);
                let shared = log.counts.at(at);
                cursor.throttled += 1;
                cursor.counts.at(at).throttled += 1;
                shared.throttled += 1;
                continue;
            }
            log.calls += 1;
            cursor.calls += 1;
            cursor.counts.at(at).calls += 1;
            log.counts.at(at).calls += 1;
            let (records, bytes) = read(log, cursor, &mut consumer.rows, at, max_records);
            consumer.peak_behind_ms = consumer.peak_behind_ms.max(cursor.behind_ms);
            self.progress += records;
            let shared = log.counts.at(at);
            shared.records += records;
            shared.bytes += bytes;
            // The shared pipe rests while the bytes just read pass at 2 MiB/s.
            log.free_at = log.free_at.max(at).saturating_add(transfer_ms(bytes));
        }
    }

    /// Enhanced fan-out: consumer `index` is pushed, shard by shard, every record that arrived
    /// by `now` while its own pipe keeps up.
    fn push(&mut self, index: usize, now: Timestamp) {
        for shard in 0..self.logs.len() {
            let consumer = &self.consumers[index];
            if consumer.cursors[shard].finished || !self.readable(consumer, shard) {
                continue;
            }
            let log = &self.logs[shard];
            let consumer = &mut self.consumers[index];
            let cursor = &mut consumer.cursors[shard];
            let mut pushed = 0;
            while let Some(entry) = log.get(cursor.position) {
                // A record is there once it has passed through the pipe.
                let at = entry
                    .arrival
                    .max(cursor.free_at)
                    .saturating_add(transfer_ms(u64::from(entry.bytes)));
                if at > now {
                    break;
                }
                consumer.rows.push((entry.batch, entry.row));
                cursor.position += 1;
                cursor.read += 1;
                cursor.bytes += u64::from(entry.bytes);
                let counts = cursor.counts.at(at);
                counts.records += 1;
                counts.bytes += u64::from(entry.bytes);
                cursor.free_at = at;
                pushed += 1;
            }
            self.progress += pushed;
            cursor.behind_ms = behind(log, cursor);
            consumer.peak_behind_ms = consumer.peak_behind_ms.max(cursor.behind_ms);
            if !log.open && cursor.position >= log.end() {
                cursor.finished = true;
            }
        }
    }

    /// Drops what every consumer has read (or skipped), and the batches nothing refers to.
    fn forget_read(&mut self) {
        for (shard, log) in self.logs.iter_mut().enumerate() {
            let oldest = self
                .consumers
                .iter()
                .map(|c| c.cursors.get(shard).map_or(0, |cursor| cursor.position))
                .min()
                .unwrap_or(u64::MAX);
            while log.base < oldest {
                let Some(entry) = log.entries.pop_front() else {
                    break;
                };
                release(&mut self.batches, self.first_batch, entry.batch);
                log.base += 1;
                self.held = self.held.saturating_sub(1);
            }
        }
        self.free_batches();
    }

    fn free_batches(&mut self) {
        while self.batches.front().is_some_and(|(_, live)| *live == 0) {
            self.batches.pop_front();
            self.first_batch += 1;
        }
    }

    /// Sends what each consumer read since the last time, then the watermarks every record
    /// before which it has now read; then forgets what no consumer needs any more (not before:
    /// the rows just read point into the batches kept).
    fn send(&mut self, out: &mut Output) -> OpResult {
        self.send_reads(out)?;
        self.forget_read();
        Ok(())
    }

    fn send_reads(&mut self, out: &mut Output) -> OpResult {
        for index in 0..self.consumers.len() {
            let rows = std::mem::take(&mut self.consumers[index].rows);
            if !rows.is_empty() {
                let batch = self.gather(&rows)?;
                // Read, not written again: the stream's own output counts each record once.
                out.emit_side(self.consumers[index].port, batch)?;
            }
            let first_unread = self
                .logs
                .iter()
                .zip(&self.consumers[index].cursors)
                .filter_map(|(log, cursor)| log.get(cursor.position).map(|e| e.written))
                .min()
                .unwrap_or(self.written);
            let consumer = &mut self.consumers[index];
            let mut release = None;
            while let Some(&(count, watermark)) = consumer.pending.front() {
                if count > first_unread {
                    break;
                }
                release = Some(watermark);
                consumer.pending.pop_front();
            }
            if let Some(watermark) = release
                && watermark > consumer.sent_watermark
            {
                consumer.sent_watermark = watermark;
                out.watermark_on(consumer.port, watermark)?;
            }
        }
        Ok(())
    }

    /// The rows `rows` (stored batch, row) as one batch, in that order.
    fn gather(&self, rows: &[(u64, u32)]) -> Result<RecordBatch, SendFailure> {
        let first = rows.iter().map(|r| r.0).min().unwrap_or(self.first_batch);
        let last = rows.iter().map(|r| r.0).max().unwrap_or(first);
        if first < self.first_batch {
            return Err(fail("a consumer read a record that was already forgotten"));
        }
        let offset = (first - self.first_batch) as usize;
        let span = (last - first) as usize + 1;
        let batches: Vec<&RecordBatch> = self
            .batches
            .iter()
            .skip(offset)
            .take(span)
            .map(|(b, _)| b)
            .collect();
        if batches.len() != span {
            return Err(fail("a consumer read a record of a batch not kept"));
        }
        let indices: Vec<(usize, usize)> = rows
            .iter()
            .map(|&(batch, row)| ((batch - first) as usize, row as usize))
            .collect();
        interleave_record_batch(&batches, &indices).map_err(|e| fail(e.to_string()))
    }

    /// What each consumer has done, for the shard view.
    pub fn view(&self) -> Vec<ConsumerView> {
        self.consumers
            .iter()
            .map(|c| ConsumerView {
                name: c.planned.name.clone(),
                enhanced_fan_out: c.planned.polling.is_none(),
                started: c.started,
                read: c.cursors.iter().map(|s| s.read).sum(),
                expired: c.expired,
                skipped: c.skipped,
                throttled_calls: c.cursors.iter().map(|s| s.throttled).sum(),
                behind_ms: c.cursors.iter().map(|s| s.behind_ms).max().unwrap_or(0),
                peak_behind_ms: c.peak_behind_ms,
                shards: c
                    .cursors
                    .iter()
                    .map(|s| ConsumerShardView {
                        read: s.read,
                        bytes: s.bytes,
                        calls: s.calls,
                        throttled: s.throttled,
                        behind_ms: s.behind_ms,
                        finished: s.finished,
                        last_second: shown_second(s.counts, self.now),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The polling consumers' shared calls and reads per shard in the last whole second.
    pub fn shared_last_second(&self) -> Vec<SharedReads> {
        self.logs
            .iter()
            .map(|l| {
                let (calls, throttled, records, bytes) = shown_second(l.counts, self.now);
                SharedReads {
                    calls,
                    throttled,
                    records,
                    bytes,
                }
            })
            .collect()
    }
}

/// The last whole second's figures as of `now`.
fn shown_second(counts: SecondCounts, now: Timestamp) -> (u32, u32, u64, u64) {
    let second = now.div_euclid(1000);
    if counts.second == second {
        counts.last
    } else if counts.second == second - 1 {
        (counts.calls, counts.throttled, counts.records, counts.bytes)
    } else {
        (0, 0, 0, 0)
    }
}

/// One `GetRecords` call at `at`: the records that arrived by then from the cursor on, up to
/// `max_records` Kinesis records and 10 MiB; returns the user records and bytes read.
fn read(
    log: &ShardLog,
    cursor: &mut Cursor,
    rows: &mut Vec<(u64, u32)>,
    at: Timestamp,
    max_records: u32,
) -> (u64, u64) {
    let mut records = 0u32;
    let mut user_records = 0u64;
    let mut bytes = 0u64;
    while let Some(entry) = log.get(cursor.position) {
        if entry.arrival > at {
            break;
        }
        let starts = entry.starts_record || user_records == 0;
        if starts && (records >= max_records || bytes + u64::from(entry.bytes) > CALL_MAX_BYTES) {
            break;
        }
        if starts {
            records += 1;
        }
        rows.push((entry.batch, entry.row));
        bytes += u64::from(entry.bytes);
        user_records += 1;
        cursor.position += 1;
    }
    cursor.read += user_records;
    cursor.bytes += bytes;
    let counts = cursor.counts.at(at);
    counts.records += user_records;
    counts.bytes += bytes;
    cursor.behind_ms = behind(log, cursor);
    // The end of a closed shard: `NextShardIterator` is null and its children may be read.
    if !log.open && cursor.position >= log.end() {
        cursor.finished = true;
    }
    (user_records, bytes)
}

/// `MillisBehindLatest`: how far the oldest record not yet read is behind the shard's newest.
fn behind(log: &ShardLog, cursor: &Cursor) -> i64 {
    match log.get(cursor.position) {
        Some(entry) => log.newest_arrival.saturating_sub(entry.arrival),
        None => 0,
    }
}

/// How long `bytes` take at 2 MiB a second, in whole milliseconds (rounded up).
fn transfer_ms(bytes: u64) -> i64 {
    (bytes * 1000).div_ceil(READ_BYTES_PER_SECOND) as i64
}

fn release(batches: &mut VecDeque<(RecordBatch, usize)>, first: u64, batch: u64) {
    if let Some(index) = batch.checked_sub(first)
        && let Some((_, live)) = batches.get_mut(index as usize)
    {
        *live = live.saturating_sub(1);
    }
}

/// The consumers of a stream planned with `consumers`, if it has any.
pub fn reads_of(
    consumers: &[PlannedConsumer],
    first_port: usize,
    map: &ShardMap,
    retention_ms: i64,
) -> Option<Reads> {
    (!consumers.is_empty()).then(|| Reads::new(consumers, first_port, map, retention_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kinds::kinesis::shard_map::Reshard;
    use crate::runtime::contract::{Captured, Message};
    use arrow::array::{AsArray, Int64Array};
    use arrow::datatypes::Int64Type;
    use std::sync::Arc;

    const HOUR: i64 = 3_600_000;

    fn polling(name: &str, every_ms: i64, max_records: u32) -> PlannedConsumer {
        PlannedConsumer {
            name: name.into(),
            polling: Some((every_ms, max_records)),
            start: PlannedStart::TrimHorizon,
            starts_after_ms: 0,
        }
    }

    fn fan_out(name: &str) -> PlannedConsumer {
        PlannedConsumer {
            polling: None,
            ..polling(name, 1_000, 10_000)
        }
    }

    /// Rows numbered from `first`, one column `n`.
    fn numbered(first: i64, n: usize) -> RecordBatch {
        let values: Vec<i64> = (first..first + n as i64).collect();
        RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(Int64Array::from(values)) as arrow::array::ArrayRef,
        )])
        .unwrap()
    }

    /// A test stream: `reads` over `shards` shards and an output with a port per consumer.
    struct Harness {
        reads: Reads,
        out: Output,
        captured: Captured,
        next: i64,
    }

    impl Harness {
        fn new(consumers: &[PlannedConsumer], map: &ShardMap, retention_ms: i64) -> Self {
            let (out, captured) = Output::capturing(3 + consumers.len());
            Self {
                reads: Reads::new(consumers, 3, map, retention_ms),
                out,
                captured,
                next: 0,
            }
        }

        /// Writes one record of `bytes` to `shard` arriving at `at`, numbered in order.
        fn write(&mut self, shard: u32, at: i64, bytes: u32) {
            let written = Written {
                shard,
                arrival: at,
                bytes,
                starts_record: true,
            };
            self.reads
                .append(numbered(self.next, 1), &[written])
                .unwrap();
            self.next += 1;
        }

        fn advance(&mut self, now: i64) {
            self.reads.advance(now, &mut self.out).unwrap();
        }

        /// The numbers read by consumer `i`, in order.
        fn read(&self, i: usize) -> Vec<i64> {
            self.captured
                .batches(3 + i)
                .iter()
                .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
                .collect()
        }

        fn watermarks(&self, i: usize) -> Vec<i64> {
            self.captured
                .messages()
                .into_iter()
                .filter_map(|(p, m)| match m {
                    Message::Watermark(w) if p == 3 + i => Some(w),
                    _ => None,
                })
                .collect()
        }
    }

    #[test]
    fn a_consumer_polling_once_a_second_reads_every_record_in_order() {
        let mut h = Harness::new(
            &[polling("app", 1_000, 10_000)],
            &ShardMap::new(1),
            24 * HOUR,
        );
        for i in 0..1_000 {
            h.write(0, i * 10, 100);
            if i % 100 == 99 {
                h.advance(i * 10);
            }
        }
        h.reads.drain(&mut h.out).unwrap();
        assert_eq!(h.read(0), (0..1_000).collect::<Vec<_>>());
        // Polls at 0, 1 s, ..., 9 s while records arrive, and one at 10 s for the last ones.
        let view = &h.reads.view()[0];
        assert_eq!(view.shards[0].calls, 11);
        assert_eq!(view.throttled_calls, 0);
    }

    #[test]
    fn polling_consumers_share_five_calls_a_second_per_shard() {
        // Three consumers polling every 200 ms call a shard 15 times a second: 5 pass.
        let consumers = [
            polling("a", 200, 10_000),
            polling("b", 200, 10_000),
            polling("c", 200, 10_000),
        ];
        let mut h = Harness::new(&consumers, &ShardMap::new(1), 24 * HOUR);
        h.write(0, 0, 10);
        h.advance(9_999);
        let views = h.reads.view();
        let calls: u64 = views.iter().map(|v| v.shards[0].calls).sum();
        let throttled: u64 = views.iter().map(|v| v.throttled_calls).sum();
        assert_eq!((calls, throttled), (50, 100));
        // The turns rotate, so every consumer gets its calls.
        for view in &views {
            assert!(view.shards[0].calls >= 15, "{view:?}");
        }
        assert_eq!(h.read(0), vec![0]);
        assert_eq!(h.read(2), vec![0]);
    }

    #[test]
    fn an_answer_of_ten_mebibytes_throttles_the_calls_of_the_next_five_seconds() {
        // 20 records of 512 KiB wait for a consumer that starts after a minute.
        let mut late = polling("late", 1_000, 10_000);
        late.starts_after_ms = 60_000;
        let mut h = Harness::new(&[late], &ShardMap::new(1), 24 * HOUR);
        for i in 0..20 {
            h.write(0, i, 512 * 1024);
        }
        h.advance(70_000);
        let view = &h.reads.view()[0];
        // The call at 60 s returns all 10 MiB; those at 61-64 s are throttled; 65 s passes.
        assert_eq!(view.read, 20);
        assert_eq!(view.throttled_calls, 4);
        assert_eq!(view.shards[0].calls, 7);
    }

    #[test]
    fn a_call_returns_at_most_its_record_limit() {
        let mut h = Harness::new(
            &[polling("small", 1_000, 100)],
            &ShardMap::new(1),
            24 * HOUR,
        );
        for i in 0..1_000 {
            h.write(0, 0, 10);
            let _ = i;
        }
        h.advance(4_500);
        assert_eq!(h.read(0).len(), 500, "five calls of 100");
        assert_eq!(h.reads.view()[0].behind_ms, 0, "all arrived at once");
    }

    #[test]
    fn enhanced_fan_out_pushes_two_mebibytes_a_second_per_consumer() {
        let consumers = [fan_out("one"), fan_out("two")];
        let mut h = Harness::new(&consumers, &ShardMap::new(1), 24 * HOUR);
        // 4 MiB arrive at once: each consumer has them all after 2 seconds, not before.
        for _ in 0..8 {
            h.write(0, 0, 512 * 1024);
        }
        // Each 512 KiB record takes 250 ms to pass: they are there at 250, 500, ... 2,000 ms.
        h.advance(1_499);
        assert_eq!(h.read(0).len(), 5);
        h.advance(1_999);
        assert_eq!(h.read(0).len(), 7);
        h.advance(2_000);
        assert_eq!(h.read(0).len(), 8);
        assert_eq!(h.read(1).len(), 8, "its own pipe");
        assert_eq!(h.reads.view()[0].throttled_calls, 0);
    }

    #[test]
    fn starting_positions_pick_the_first_record_read() {
        let mut latest = polling("latest", 1_000, 10_000);
        latest.start = PlannedStart::Latest;
        latest.starts_after_ms = 5_000;
        let mut at = polling("at", 1_000, 10_000);
        at.start = PlannedStart::AtTimestamp(3_000);
        at.starts_after_ms = 5_000;
        let mut horizon = polling("horizon", 1_000, 10_000);
        horizon.starts_after_ms = 5_000;
        let mut h = Harness::new(&[latest, at, horizon], &ShardMap::new(1), 24 * HOUR);
        // One record a second, 0 s to 9 s; the consumers start at 5 s.
        for second in 0..10 {
            h.write(0, second * 1_000, 10);
            h.advance(second * 1_000);
        }
        h.reads.drain(&mut h.out).unwrap();
        assert_eq!(
            h.read(0),
            vec![5, 6, 7, 8, 9],
            "after the newest at its start"
        );
        assert_eq!(h.read(1), vec![3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(h.read(2), (0..10).collect::<Vec<_>>());
        let views = h.reads.view();
        assert_eq!((views[0].skipped, views[1].skipped), (5, 3));
    }

    #[test]
    fn records_older_than_the_retention_expire_unread_and_are_counted() {
        // A consumer deployed 30 hours after the first record, with 24 hours of retention.
        let mut late = polling("late", 1_000, 10_000);
        late.starts_after_ms = 30 * HOUR;
        let mut h = Harness::new(&[late], &ShardMap::new(2), 24 * HOUR);
        // One record a minute on each shard for 40 hours.
        for minute in 0..40 * 60 {
            h.write((minute % 2) as u32, minute * 60_000, 100);
            h.advance(minute * 60_000);
        }
        h.reads.drain(&mut h.out).unwrap();
        let view = &h.reads.view()[0];
        // At 30 h the records that arrived at or before 6 h are gone: minutes 0..=360.
        assert_eq!(view.expired, 361);
        assert_eq!(view.read, 40 * 60 - 361);
        // The shards are read in turn, so the oldest record read is the smallest number.
        assert_eq!(h.read(0).iter().min(), Some(&361));
    }

    #[test]
    fn after_a_split_the_parent_is_read_to_its_end_before_its_children() {
        let mut map = ShardMap::new(1);
        // A slow consumer: 10 records a call.
        let mut h = Harness::new(&[polling("app", 1_000, 10)], &map, 24 * HOUR);
        for i in 0..100 {
            h.write(0, i, 10);
        }
        let opened = map
            .apply(
                &Reshard::Split {
                    at: crate::model::duration::Duration::from_secs(1),
                    shard: 0,
                    hash_key: (1u128 << 127).to_string(),
                },
                10,
            )
            .unwrap();
        h.reads.reshard(&map);
        for i in 0..100 {
            h.write(opened[(i % 2) as usize], 1_000 + i, 10);
        }
        h.advance(2_000);
        h.reads.drain(&mut h.out).unwrap();
        let read = h.read(0);
        assert_eq!(read.len(), 200, "every record exactly once");
        let mut sorted = read.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..200).collect::<Vec<_>>());
        assert_eq!(
            &read[..100],
            &(0..100).collect::<Vec<_>>()[..],
            "the parent first"
        );
        let view = &h.reads.view()[0];
        assert!(view.shards[0].finished);
    }

    #[test]
    fn a_merge_waits_for_both_parents() {
        let mut map = ShardMap::new(2);
        let mut h = Harness::new(&[polling("app", 1_000, 10)], &map, 24 * HOUR);
        // Shard 0 has a long backlog, shard 1 a short one.
        for i in 0..50 {
            h.write(0, i, 10);
        }
        for i in 50..55 {
            h.write(1, i, 10);
        }
        let opened = map
            .apply(
                &Reshard::Merge {
                    at: crate::model::duration::Duration::from_secs(1),
                    shard: 0,
                    adjacent: 1,
                },
                10,
            )
            .unwrap();
        h.reads.reshard(&map);
        for i in 55..60 {
            h.write(opened[0], 1_000 + i, 10);
        }
        h.reads.drain(&mut h.out).unwrap();
        let read = h.read(0);
        let child_first = read.iter().position(|&n| n >= 55).unwrap();
        assert_eq!(
            child_first, 55,
            "both parents done before the child: {read:?}"
        );
    }

    #[test]
    fn the_watermark_waits_for_what_the_consumer_has_not_read() {
        let mut late = polling("late", 1_000, 10_000);
        late.starts_after_ms = 10_000;
        let mut h = Harness::new(&[late], &ShardMap::new(1), 24 * HOUR);
        h.write(0, 0, 10);
        h.reads.watermark(500);
        h.advance(5_000);
        assert!(h.watermarks(0).is_empty(), "record 0 is unread");
        h.advance(10_000);
        assert_eq!(h.read(0), vec![0]);
        assert_eq!(h.watermarks(0), vec![500]);
        // Nothing unread: a new watermark passes at once.
        h.reads.watermark(9_000);
        h.advance(10_100);
        assert_eq!(h.watermarks(0), vec![500, 9_000]);
        h.reads.drain(&mut h.out).unwrap();
        assert_eq!(h.watermarks(0).last(), Some(&MAX_WATERMARK));
    }
}
