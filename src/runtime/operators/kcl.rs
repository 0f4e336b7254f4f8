//! A KCL application (streaming-facts §2.2), simulated on the records' arrival time: a lease per
//! shard, taken by the live worker with the fewest leases; every `poll_every` each worker
//! processes the records of its shards that have arrived (its output, with `worker` and
//! `attempt`) and checkpoints a shard after so many records or so long. A dead worker renews
//! nothing: `failover_time` later its leases are taken by the others, who start after the last
//! checkpoint, so what the dead worker processed after it comes out again (`attempt` 2). A child
//! shard waits until its parents are read to their end and checkpointed at `SHARD_END`.
//!
//! The watermark waits until every record before it is checkpointed: until then a record may
//! still come out again, and a copy must not be late.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;

use crate::model::kinds::kcl::{PlannedKcl, leases_schema};
use serde::{Deserialize, Serialize};

use crate::runtime::contract::{
    InstanceMetrics, InstanceOf, MAX_WATERMARK, MIN_WATERMARK, OpResult, Operator, Output,
    RunError, SendFailure, StateReader, StateWriter, Timestamp, fail,
};
use crate::runtime::kcl_stats::{KclStats, KclView, LeaseLine};

const OUT_PORT: usize = 0;
const LEASES_PORT: usize = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    batch: u64,
    row: u32,
    arrival: Timestamp,
    written: u64,
    deliveries: u32,
}

/// A shard and its lease.
#[derive(Debug, Serialize, Deserialize)]
struct Shard {
    /// Records from the checkpoint on; `base` is the position of the first.
    queue: VecDeque<Record>,
    base: u64,
    /// The position after the last record processed.
    processed_to: u64,
    last_checkpoint_at: Timestamp,
    /// The checkpoint's sequence number as the lease table shows it.
    checkpoint_text: String,
    owner: Option<usize>,
    lease_counter: u64,
    renewed_at: Timestamp,
    parents: Vec<String>,
    /// When the lease appeared: the arrival of the shard's first record.
    created_at: Timestamp,
    /// Read to its end and checkpointed at `SHARD_END`.
    ended: bool,
}

impl Shard {
    fn end(&self) -> u64 {
        self.base + self.queue.len() as u64
    }
}

struct Worker {
    alive: bool,
    dies_at: Option<Timestamp>,
}

pub struct KclOperator {
    p: PlannedKcl,
    shards: BTreeMap<String, Shard>,
    workers: Vec<Worker>,
    batches: VecDeque<RecordBatch>,
    first_batch: u64,
    written: u64,
    now: Timestamp,
    first_arrival: Option<Timestamp>,
    next_poll: Option<Timestamp>,
    pending: VecDeque<(u64, Timestamp)>,
    sent_watermark: Timestamp,
    stats: Arc<KclStats>,
    metrics: Arc<InstanceMetrics>,
    view: KclView,
    /// Lease changes not yet sent: the lease table's row as it was right after each.
    events: Vec<LeaseEvent>,
}

/// A change of a lease, and its row right after it.
struct LeaseEvent {
    at: Timestamp,
    row: LeaseLine,
    what: &'static str,
}

pub fn build(
    planned: &PlannedKcl,
    metrics: &Arc<InstanceMetrics>,
    stats: Arc<KclStats>,
) -> Box<dyn Operator> {
    Box::new(KclOperator {
        workers: (0..planned.workers)
            .map(|w| Worker {
                alive: true,
                dies_at: planned
                    .failures
                    .iter()
                    .filter(|(worker, _)| *worker == w)
                    .map(|(_, at)| *at)
                    .min(),
            })
            .collect(),
        p: planned.clone(),
        shards: BTreeMap::new(),
        batches: VecDeque::new(),
        first_batch: 0,
        written: 0,
        now: MIN_WATERMARK,
        first_arrival: None,
        next_poll: None,
        pending: VecDeque::new(),
        sent_watermark: MIN_WATERMARK,
        stats,
        metrics: Arc::clone(metrics),
        view: KclView::default(),
        events: Vec::new(),
    })
}

impl Operator for KclOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let shards = text(&batch, self.p.shard_column)?;
        let arrivals = batch
            .column(self.p.arrival_column)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .cloned()
            .ok_or_else(|| fail("the arrival column is not a timestamp"))?;
        let id = self.first_batch + self.batches.len() as u64;
        for row in 0..batch.num_rows() {
            let arrival = if arrivals.is_valid(row) {
                arrivals.value(row)
            } else {
                self.now
            };
            let first = *self.first_arrival.get_or_insert(arrival);
            self.next_poll.get_or_insert(first);
            let shard_id = shards.value(row).to_string();
            if !self.shards.contains_key(&shard_id) {
                let parents = self
                    .p
                    .parents
                    .iter()
                    .find(|(child, _)| *child == shard_id)
                    .map(|(_, parents)| parents.clone())
                    .unwrap_or_default();
                self.shards.insert(
                    shard_id.clone(),
                    Shard {
                        queue: VecDeque::new(),
                        base: 0,
                        processed_to: 0,
                        last_checkpoint_at: arrival,
                        checkpoint_text: "TRIM_HORIZON".into(),
                        owner: None,
                        lease_counter: 0,
                        renewed_at: arrival,
                        parents,
                        created_at: arrival,
                        ended: false,
                    },
                );
                self.record_event(arrival, &shard_id, "created");
            }
            if let Some(shard) = self.shards.get_mut(&shard_id) {
                shard.queue.push_back(Record {
                    batch: id,
                    row: row as u32,
                    arrival,
                    written: self.written,
                    deliveries: 0,
                });
            }
            self.written += 1;
            self.now = self.now.max(arrival);
        }
        self.batches.push_back(batch);
        self.run_until(self.now, out)?;
        self.finish_round(out)
    }

    fn sends_own_watermark(&self, _port: usize) -> bool {
        true
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        match self.pending.back_mut() {
            Some((count, w)) if *count == self.written => *w = (*w).max(watermark),
            _ => self.pending.push_back((self.written, watermark)),
        }
        self.send_watermark(out)
    }

    fn tick_interval_ms(&self) -> Option<i64> {
        Some(self.p.poll_ms)
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        self.now = self.now.max(now);
        self.run_until(self.now, out)?;
        self.finish_round(out)
    }

    /// Version 1: `u8(1)`, the application's bookkeeping as JSON (every shard's lease: owner,
    /// counter, checkpoint and the records from it on; the workers, alive or not and when they
    /// are to die; the held watermarks; the counters), then the input rows the shards still refer
    /// to as Arrow IPC. Lease changes are sent at the end of every round, so none is pending.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        let workers: Vec<(bool, Option<Timestamp>)> =
            self.workers.iter().map(|w| (w.alive, w.dies_at)).collect();
        w.json(&(
            (&self.shards, workers, self.first_batch, self.written),
            (self.now, self.first_arrival, self.next_poll, &self.pending),
            (
                self.sent_watermark,
                self.view.processed,
                self.view.duplicates,
            ),
        ))
        .map_err(SendFailure::Failed)?;
        let batches: Vec<RecordBatch> = self.batches.iter().cloned().collect();
        w.batches(&batches).map_err(SendFailure::Failed)?;
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], _me: InstanceOf) -> Result<(), RunError> {
        let Some(mut r) = StateReader::single(saved, 1, "KCL application")? else {
            return Ok(());
        };
        type Saved = (
            (
                BTreeMap<String, Shard>,
                Vec<(bool, Option<Timestamp>)>,
                u64,
                u64,
            ),
            (
                Timestamp,
                Option<Timestamp>,
                Option<Timestamp>,
                VecDeque<(u64, Timestamp)>,
            ),
            (Timestamp, u64, u64),
        );
        let (
            (shards, workers, first_batch, written),
            (now, first_arrival, next_poll, pending),
            (sent_watermark, processed, duplicates),
        ): Saved = r.json()?;
        if workers.len() != self.workers.len() {
            return Err(RunError::data(format!(
                "the saved KCL application had {} workers, this one has {}",
                workers.len(),
                self.workers.len()
            )));
        }
        if shards
            .values()
            .any(|s| s.owner.is_some_and(|o| o >= workers.len()))
        {
            return Err(RunError::data(
                "the saved KCL application names a worker it does not have",
            ));
        }
        self.batches = r.batches()?.into();
        r.end()?;
        self.shards = shards;
        self.workers = workers
            .into_iter()
            .map(|(alive, dies_at)| Worker { alive, dies_at })
            .collect();
        self.first_batch = first_batch;
        self.written = written;
        self.now = now;
        self.first_arrival = first_arrival;
        self.next_poll = next_poll;
        self.pending = pending;
        self.sent_watermark = sent_watermark;
        self.view.processed = processed;
        self.view.duplicates = duplicates;
        self.publish();
        Ok(())
    }

    fn on_end(&mut self, out: &mut Output) -> OpResult {
        // The workers go on until every record is checkpointed, as long as one is alive.
        let mut rounds = 0u64;
        while self.shards.values().any(|s| !s.queue.is_empty())
            && self.workers.iter().any(|w| w.alive)
        {
            let next = self.next_poll.unwrap_or(self.now);
            self.now = self.now.max(next);
            self.run_until(next, out)?;
            rounds += 1;
            // Failover and a time-based checkpoint each take a bounded number of polls.
            let bound =
                (self.p.failover_ms + self.p.checkpoint_every_ms.max(0)) / self.p.poll_ms + 1_000;
            if rounds > bound as u64 * 4 + 100_000 {
                break;
            }
        }
        // With every worker dead the records left were never processed: they stay in the
        // stream, counted as dropped here.
        let unprocessed: u64 = self.shards.values().map(|s| s.end() - s.processed_to).sum();
        InstanceMetrics::add(&self.metrics.dropped_rows, unprocessed);
        self.view.unprocessed = unprocessed;
        self.pending.clear();
        self.sent_watermark = MAX_WATERMARK;
        out.watermark(MAX_WATERMARK)?;
        self.emit_events(out)?;
        self.publish();
        Ok(())
    }
}

impl KclOperator {
    fn run_until(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        while let Some(poll) = self.next_poll.filter(|&p| p <= now) {
            self.poll(poll, out)?;
            self.next_poll = Some(poll + self.p.poll_ms);
        }
        Ok(())
    }

    /// One round of the workers at `at`: deaths, lease renewals and takeovers, records
    /// processed, checkpoints.
    fn poll(&mut self, at: Timestamp, out: &mut Output) -> OpResult {
        let first = self.first_arrival.unwrap_or(at);
        for worker in self.stats.take_kills() {
            if let Some(w) = self.workers.get_mut(worker.saturating_sub(1) as usize) {
                w.dies_at = Some(w.dies_at.map_or(at - first, |d| d.min(at - first)));
            }
        }
        let mut died = Vec::new();
        for (w, worker) in self.workers.iter_mut().enumerate() {
            if worker.alive && worker.dies_at.is_some_and(|d| first + d <= at) {
                worker.alive = false;
                died.push(w);
            }
        }
        let orphaned: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, s)| s.owner.is_some_and(|w| died.contains(&w)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in orphaned {
            self.record_event(at, &id, "owner died, not renewed");
        }
        // Live owners renew their leases every third of the failover time (the KCL's renewer
        // period), raising the lease counter; a lease not renewed for the failover time is free.
        let renew_every = (self.p.failover_ms / 3).max(1);
        for shard in self.shards.values_mut() {
            match shard.owner {
                Some(w) if self.workers[w].alive && at - shard.renewed_at >= renew_every => {
                    shard.renewed_at = at;
                    shard.lease_counter += 1;
                }
                _ => {}
            }
        }
        let free: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, s)| !s.ended && s.created_at <= at)
            .filter(|(_, s)| match s.owner {
                None => true,
                Some(w) => !self.workers[w].alive && at - s.renewed_at >= self.p.failover_ms,
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in free {
            let Some(worker) = self.least_loaded() else {
                break;
            };
            let Some(shard) = self.shards.get_mut(&id) else {
                continue;
            };
            let taken = shard.owner.is_some();
            shard.owner = Some(worker);
            shard.lease_counter += 1;
            shard.renewed_at = at;
            // A new owner starts after the last checkpoint.
            shard.processed_to = shard.base;
            self.record_event(at, &id, if taken { "taken after expiry" } else { "taken" });
        }
        let ids: Vec<String> = self.shards.keys().cloned().collect();
        for id in &ids {
            self.process(id, at, out)?;
        }
        Ok(())
    }

    /// The live worker with the fewest leases.
    fn least_loaded(&self) -> Option<usize> {
        (0..self.workers.len())
            .filter(|&w| self.workers[w].alive)
            .min_by_key(|&w| {
                self.shards
                    .values()
                    .filter(|s| s.owner == Some(w) && !s.ended)
                    .count()
            })
    }

    /// Whether every parent of `id` is finished (read to its end, checkpointed at SHARD_END).
    fn parents_done(&self, id: &str) -> bool {
        self.shards.get(id).is_none_or(|shard| {
            shard
                .parents
                .iter()
                .all(|p| self.shards.get(p).is_none_or(|parent| parent.ended))
        })
    }

    /// Whether `id` has a child that has records: it was closed, and all of its records came.
    fn closed(&self, id: &str) -> bool {
        self.p.parents.iter().any(|(child, parents)| {
            parents.iter().any(|p| p == id) && self.shards.contains_key(child)
        })
    }

    /// The owner of shard `id` processes what arrived by `at`, and checkpoints when it is time.
    fn process(&mut self, id: &str, at: Timestamp, out: &mut Output) -> OpResult {
        let owner = match self.shards.get(id).and_then(|s| s.owner) {
            Some(w) if self.workers[w].alive => w,
            _ => return Ok(()),
        };
        if !self.parents_done(id) {
            return Ok(());
        }
        let closed = self.closed(id);
        let (from, to) = {
            let Some(shard) = self.shards.get(id) else {
                return Ok(());
            };
            let ready = shard
                .queue
                .iter()
                .skip((shard.processed_to - shard.base) as usize)
                .take_while(|r| r.arrival <= at)
                .count() as u64;
            (shard.processed_to, shard.processed_to + ready)
        };
        if to > from {
            self.emit(id, from, to, owner, out)?;
        }
        let every_records = self.p.checkpoint_every_records;
        let every_ms = self.p.checkpoint_every_ms;
        let Some(shard) = self.shards.get_mut(id) else {
            return Ok(());
        };
        shard.processed_to = to;
        let since = shard.processed_to - shard.base;
        let due = (every_records > 0 && since >= every_records)
            || (every_ms > 0 && since > 0 && at - shard.last_checkpoint_at >= every_ms);
        let at_end = closed && shard.processed_to == shard.end();
        if due || at_end {
            let last = shard
                .queue
                .get((since as usize).saturating_sub(1))
                .map(|r| (r.batch, r.row));
            let text = match (at_end, last) {
                (true, _) => "SHARD_END".to_string(),
                (false, Some((batch, row))) => self.sequence_of(batch, row)?,
                (false, None) => shard.checkpoint_text.clone(),
            };
            let Some(shard) = self.shards.get_mut(id) else {
                return Ok(());
            };
            for _ in 0..since {
                shard.queue.pop_front();
            }
            shard.base = shard.processed_to;
            shard.last_checkpoint_at = at;
            shard.checkpoint_text = text;
            if at_end {
                shard.ended = true;
                shard.owner = None;
            }
            self.record_event(at, id, if at_end { "shard end" } else { "checkpoint" });
        }
        Ok(())
    }

    /// Emits the records `from..to` of shard `id` as processed by `worker`.
    fn emit(&mut self, id: &str, from: u64, to: u64, worker: usize, out: &mut Output) -> OpResult {
        let first_batch = self.first_batch;
        let Some(shard) = self.shards.get_mut(id) else {
            return Ok(());
        };
        let mut indices = Vec::new();
        let mut attempts = Vec::new();
        for position in from..to {
            let Some(record) = shard.queue.get_mut((position - shard.base) as usize) else {
                break;
            };
            record.deliveries += 1;
            if record.deliveries > 1 {
                self.view.duplicates += 1;
            }
            attempts.push(i64::from(record.deliveries));
            let batch = record
                .batch
                .checked_sub(first_batch)
                .ok_or_else(|| fail("a record's batch was already let go"))?;
            indices.push((batch as usize, record.row as usize));
        }
        self.view.processed += attempts.len() as u64;
        let batches: Vec<&RecordBatch> = self.batches.iter().collect();
        let rows = interleave_record_batch(&batches, &indices).map_err(|e| fail(e.to_string()))?;
        let mut columns: Vec<ArrayRef> = rows.columns().to_vec();
        columns.push(Arc::new(StringArray::from(vec![
            format!(
                "worker-{}",
                worker + 1
            );
            attempts.len()
        ])));
        columns.push(Arc::new(Int64Array::from(attempts)));
        let batch = RecordBatch::try_new(Arc::clone(&self.p.out), columns)
            .map_err(|e| fail(e.to_string()))?;
        out.emit(OUT_PORT, batch)
    }

    fn sequence_of(&self, batch: u64, row: u32) -> Result<String, SendFailure> {
        let batch = batch
            .checked_sub(self.first_batch)
            .and_then(|i| self.batches.get(i as usize))
            .ok_or_else(|| fail("a record's batch was already let go"))?;
        Ok(text(batch, self.p.sequence_column)?
            .value(row as usize)
            .to_string())
    }

    /// After a round: lease changes out, batches nothing needs let go, the watermark, the view.
    fn finish_round(&mut self, out: &mut Output) -> OpResult {
        self.emit_events(out)?;
        let oldest = self
            .shards
            .values()
            .filter_map(|s| s.queue.front().map(|r| r.batch))
            .min()
            .unwrap_or(self.first_batch + self.batches.len() as u64);
        while self.first_batch < oldest && self.batches.pop_front().is_some() {
            self.first_batch += 1;
        }
        self.send_watermark(out)?;
        self.publish();
        Ok(())
    }

    /// Notes a change of lease `id` with its row as it is now.
    fn record_event(&mut self, at: Timestamp, id: &str, what: &'static str) {
        if let Some(shard) = self.shards.get(id) {
            let row = lease_line(id, shard);
            self.events.push(LeaseEvent { at, row, what });
        }
    }

    fn emit_events(&mut self, out: &mut Output) -> OpResult {
        let events = std::mem::take(&mut self.events);
        if events.is_empty() || !out.is_connected(LEASES_PORT) {
            return Ok(());
        }
        let column = |f: &dyn Fn(&LeaseEvent) -> Option<String>| -> ArrayRef {
            Arc::new(events.iter().map(f).collect::<StringArray>())
        };
        let columns: Vec<ArrayRef> = vec![
            Arc::new(TimestampMillisecondArray::from(
                events.iter().map(|e| e.at).collect::<Vec<_>>(),
            )),
            column(&|e| Some(e.row.lease_key.clone())),
            column(&|e| e.row.owner.clone()),
            column(&|e| Some(e.row.checkpoint.clone())),
            Arc::new(Int64Array::from(
                events
                    .iter()
                    .map(|e| e.row.lease_counter as i64)
                    .collect::<Vec<_>>(),
            )),
            column(&|e| e.row.parent.clone()),
            column(&|e| Some(e.what.to_string())),
        ];
        let batch =
            RecordBatch::try_new(leases_schema(), columns).map_err(|e| fail(e.to_string()))?;
        out.emit_side(LEASES_PORT, batch)
    }

    /// The watermark every record before which is checkpointed.
    fn send_watermark(&mut self, out: &mut Output) -> OpResult {
        let first_open = self
            .shards
            .values()
            .filter_map(|s| s.queue.front().map(|r| r.written))
            .min()
            .unwrap_or(self.written);
        let mut release = None;
        while let Some(&(count, watermark)) = self.pending.front() {
            if count > first_open {
                break;
            }
            release = Some(watermark);
            self.pending.pop_front();
        }
        if let Some(watermark) = release
            && watermark > self.sent_watermark
        {
            self.sent_watermark = watermark;
            out.watermark(watermark)?;
        }
        Ok(())
    }

    fn publish(&mut self) {
        self.view.workers = self.workers.iter().map(|w| w.alive).collect();
        self.view.leases = self
            .shards
            .iter()
            .map(|(id, s)| lease_line(id, s))
            .collect();
        self.stats.publish(self.view.clone());
    }
}

/// The lease table's row of shard `id`.
fn lease_line(id: &str, shard: &Shard) -> LeaseLine {
    LeaseLine {
        lease_key: id.to_string(),
        owner: shard.owner.map(|w| format!("worker-{}", w + 1)),
        checkpoint: shard.checkpoint_text.clone(),
        lease_counter: shard.lease_counter,
        parent: shard.parents.first().cloned(),
        uncheckpointed: shard.processed_to - shard.base,
    }
}

fn text(batch: &RecordBatch, column: usize) -> Result<StringArray, SendFailure> {
    let array = arrow::compute::cast(batch.column(column), &DataType::Utf8)
        .map_err(|e| fail(e.to_string()))?;
    array
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| fail("not text"))
}
