//! The Lambda consumer (streaming-facts §3): records from a Kinesis stream wait in their lane
//! (their shard, or shard and partition-key group with a parallelization factor); the event
//! source mapping polls every lane once a second of arrival time and invokes the function on a
//! batch from the lane's head, again and again while it has records and succeeds. The function
//! runs record by record: its output for the records before the one it throws on is emitted
//! (the side effects a failed invocation still had), so a retried batch emits them again — the
//! duplicates at-least-once delivery makes, counted by `attempt`. What the lanes decide
//! (retries, bisecting, checkpoints, giving up) is in `lambda_lanes`.
//!
//! The watermark out of the node waits until every record that came before it is done or given
//! up on, so the function's late output is never late in event time. At the end of the input the
//! polls go on until every lane is empty.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use rustc_hash::FxHashMap;

use super::lambda_lanes::{Lane, Outcome, Policy, Settled, Span, Waiting};
use super::map::map_batch;
use crate::model::kinds::kinesis::consumers::PlannedStart;
use crate::model::kinds::lambda::{PlannedLambda, invocations_schema, on_failure_schema};
use crate::runtime::contract::evaluate::predicate_mask;
use crate::runtime::contract::{
    InstanceMetrics, InstanceOf, MAX_WATERMARK, MIN_WATERMARK, OpResult, Operator, Output,
    RunError, SendFailure, StateReader, StateWriter, Timestamp, fail,
};
use crate::runtime::lambda_stats::{LambdaStats, LambdaView, LaneLine};
use crate::runtime::window::accumulate::{Acc, Aggregates};
use crate::runtime::window::saved::{AccReader, AccWriter};

const OUT_PORT: usize = 0;
const ON_FAILURE_PORT: usize = 1;
const INVOCATIONS_PORT: usize = 2;
const WINDOWS_PORT: usize = 3;
/// The event source mapping polls each shard once a second.
const POLL_MS: i64 = 1_000;

pub struct LambdaOperator {
    p: PlannedLambda,
    policy: Policy,
    lanes: Vec<Lane>,
    lane_of: FxHashMap<(String, usize), usize>,
    /// Input batches some lane still refers to, with how many of their records it does.
    batches: VecDeque<(RecordBatch, usize)>,
    first_batch: u64,
    written: u64,
    now: Timestamp,
    /// The next poll, once the first record came.
    next_poll: Option<Timestamp>,
    start_at: Option<Timestamp>,
    pending: VecDeque<(u64, Timestamp)>,
    sent_watermark: Timestamp,
    invocations: u64,
    aggregates: Option<Aggregates>,
    /// Tumbling windows by (shard, window start): their state.
    windows: BTreeMap<(String, Timestamp), Vec<Acc>>,
    metrics: Arc<InstanceMetrics>,
    stats: Arc<LambdaStats>,
    view: LambdaView,
}

pub fn build(
    planned: &PlannedLambda,
    metrics: &Arc<InstanceMetrics>,
    stats: Arc<LambdaStats>,
) -> Box<dyn Operator> {
    Box::new(LambdaOperator {
        policy: Policy {
            batch_size: planned.batch_size.max(1),
            batching_window_ms: planned.batching_window_ms,
            maximum_retry_attempts: planned.maximum_retry_attempts,
            maximum_record_age_ms: planned.maximum_record_age_ms,
            bisect: planned.bisect,
            report_item_failures: planned.report_item_failures,
        },
        aggregates: planned
            .tumbling
            .as_ref()
            .map(|(_, specs)| Aggregates::new(specs)),
        p: planned.clone(),
        lanes: Vec::new(),
        lane_of: FxHashMap::default(),
        batches: VecDeque::new(),
        first_batch: 0,
        written: 0,
        now: MIN_WATERMARK,
        next_poll: None,
        start_at: None,
        pending: VecDeque::new(),
        sent_watermark: MIN_WATERMARK,
        invocations: 0,
        windows: BTreeMap::new(),
        metrics: Arc::clone(metrics),
        stats,
        view: LambdaView::default(),
    })
}

impl Operator for LambdaOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let shards = text_column(&batch, self.p.shard_column)?;
        let keys = text_column(&batch, self.p.key_column)?;
        let arrivals = batch
            .column(self.p.arrival_column)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .cloned()
            .ok_or_else(|| fail("the arrival column is not a timestamp"))?;
        let id = self.first_batch + self.batches.len() as u64;
        let mut kept = 0;
        for row in 0..batch.num_rows() {
            let arrival = if arrivals.is_valid(row) {
                arrivals.value(row)
            } else {
                self.now
            };
            let start = *self.start_at.get_or_insert(arrival);
            let skip = match self.p.start {
                PlannedStart::TrimHorizon => false,
                PlannedStart::Latest => arrival < start,
                PlannedStart::AtTimestamp(at) => arrival < at,
            };
            if skip {
                self.view.skipped += 1;
                continue;
            }
            let shard = if shards.is_valid(row) {
                shards.value(row)
            } else {
                ""
            };
            let key = if keys.is_valid(row) {
                keys.value(row)
            } else {
                ""
            };
            // Records of one partition key stay together, in order.
            let sub = if self.p.parallelization > 1 {
                (fnv(key) % self.p.parallelization as u64) as usize
            } else {
                0
            };
            let lane = match self.lane_of.get(&(shard.to_string(), sub)) {
                Some(&i) => i,
                None => {
                    self.lanes.push(Lane::new(shard.to_string()));
                    self.lane_of
                        .insert((shard.to_string(), sub), self.lanes.len() - 1);
                    self.lanes.len() - 1
                }
            };
            self.lanes[lane].push(Waiting {
                batch: id,
                row: row as u32,
                arrival,
                written: self.written,
                deliveries: 0,
            });
            self.written += 1;
            self.now = self.now.max(arrival);
            self.next_poll
                .get_or_insert(arrival.div_euclid(POLL_MS) * POLL_MS);
            kept += 1;
        }
        let _ = kept;
        self.batches.push_back((batch, 0));
        self.run_until(self.now, out)?;
        self.send_watermark(out)?;
        self.publish();
        Ok(())
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
        Some(POLL_MS)
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        self.now = self.now.max(now);
        self.run_until(self.now, out)?;
        self.send_watermark(out)?;
        self.publish();
        Ok(())
    }

    /// Version 1: `u8(1)`, the mapping's bookkeeping as JSON (its lanes with their waiting
    /// records, spans to retry and blocked time; the held watermarks; the counters), the input
    /// rows the lanes still refer to as Arrow IPC, then the open tumbling windows' accumulators
    /// (`u64(n)`, per window `str(shard) i64(start)` and its accumulators).
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        let lane_of: Vec<(&(String, usize), &usize)> = self.lane_of.iter().collect();
        let v = &self.view;
        w.json(&(
            (&self.lanes, lane_of, self.first_batch, self.written),
            (self.now, self.next_poll, self.start_at, &self.pending),
            (self.sent_watermark, self.invocations),
            (v.invocations, v.errors, v.duplicates, v.output),
            (v.given_up_batches, v.given_up_records, v.skipped),
        ))
        .map_err(SendFailure::Failed)?;
        let batches: Vec<RecordBatch> = self.batches.iter().map(|(b, _)| b.clone()).collect();
        w.batches(&batches).map_err(SendFailure::Failed)?;
        match &self.aggregates {
            Some(aggregates) => {
                let mut windows = AccWriter::new(aggregates);
                windows.body.u64(self.windows.len() as u64);
                for ((shard, start), accs) in &self.windows {
                    windows.body.str(shard);
                    windows.body.i64(*start);
                    windows.accs(accs);
                }
                w.bytes(&windows.finish().map_err(SendFailure::Failed)?);
            }
            None => w.bytes(&[]),
        }
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], _me: InstanceOf) -> Result<(), RunError> {
        let Some(mut r) = StateReader::single(saved, 1, "Lambda consumer")? else {
            return Ok(());
        };
        type Saved = (
            (Vec<Lane>, Vec<((String, usize), usize)>, u64, u64),
            (
                Timestamp,
                Option<Timestamp>,
                Option<Timestamp>,
                VecDeque<(u64, Timestamp)>,
            ),
            (Timestamp, u64),
            (u64, u64, u64, u64),
            (u64, u64, u64),
        );
        let (
            (lanes, lane_of, first_batch, written),
            (now, next_poll, start_at, pending),
            (sent_watermark, invocations),
            (v_invocations, errors, duplicates, output),
            (given_up_batches, given_up_records, skipped),
        ): Saved = r.json()?;
        if lane_of.iter().any(|(_, lane)| *lane >= lanes.len()) {
            return Err(RunError::data(
                "the saved Lambda consumer names a lane it does not have",
            ));
        }
        let batches = r.batches()?;
        let windows = r.bytes()?;
        r.end()?;
        if let Some(aggregates) = &self.aggregates {
            let mut reader = AccReader::new(windows, aggregates)?;
            let n = reader.body.count(17)?;
            for _ in 0..n {
                let shard = reader.body.str()?.to_string();
                let start = reader.body.i64()?;
                let accs = reader.accs(aggregates)?;
                self.windows.insert((shard, start), accs);
            }
            reader.body.end()?;
        } else if !windows.is_empty() {
            return Err(RunError::data(
                "the saved Lambda consumer kept tumbling windows this one does not",
            ));
        }
        self.lanes = lanes;
        self.lane_of = lane_of.into_iter().collect();
        self.batches = batches.into_iter().map(|b| (b, 0)).collect();
        self.first_batch = first_batch;
        self.written = written;
        self.now = now;
        self.next_poll = next_poll;
        self.start_at = start_at;
        self.pending = pending;
        self.sent_watermark = sent_watermark;
        self.invocations = invocations;
        self.view = LambdaView {
            invocations: v_invocations,
            errors,
            duplicates,
            output,
            given_up_batches,
            given_up_records,
            skipped,
            lanes: Vec::new(),
        };
        self.publish();
        Ok(())
    }

    fn on_end(&mut self, out: &mut Output) -> OpResult {
        // Nothing more comes: the mapping polls on until every lane is done or given up.
        while self.lanes.iter().any(|l| !l.is_empty()) {
            let next = self.next_poll.unwrap_or(self.now);
            self.now = self.now.max(next);
            self.run_until(next, out)?;
        }
        self.close_windows(MAX_WATERMARK, out)?;
        self.pending.clear();
        self.sent_watermark = MAX_WATERMARK;
        out.watermark(MAX_WATERMARK)?;
        self.publish();
        Ok(())
    }
}

impl LambdaOperator {
    /// Every poll due by `now`, lane by lane.
    fn run_until(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        while let Some(poll) = self.next_poll.filter(|&p| p <= now) {
            for lane in 0..self.lanes.len() {
                self.poll_lane(lane, poll, out)?;
            }
            self.close_windows(poll, out)?;
            self.next_poll = Some(poll + POLL_MS);
        }
        self.forget_done();
        Ok(())
    }

    /// One poll of a lane at `poll`: batches back to back while they succeed and the second
    /// lasts; a failure waits for the next poll.
    fn poll_lane(&mut self, lane: usize, poll: Timestamp, out: &mut Output) -> OpResult {
        let mut at = poll.max(self.lanes[lane].busy_until);
        while at < poll + POLL_MS {
            if let Some(span) = self.lanes[lane].expired(at, &self.policy) {
                self.give_up(lane, span, "RecordAgeExceeded", out)?;
                continue;
            }
            let Some(span) = self.lanes[lane].next_span(at, &self.policy) else {
                break;
            };
            let outcome = self.invoke(lane, span, at, out)?;
            let finished = at + self.p.duration_ms;
            self.lanes[lane].busy_until = finished;
            let policy = self.policy;
            for settled in self.lanes[lane].settle(span, outcome, at, &policy) {
                match settled {
                    Settled::Committed(done) => {
                        self.add_to_windows(lane, done)?;
                        self.lanes[lane].remove(done);
                    }
                    Settled::Discarded(given_up, condition) => {
                        self.give_up(lane, given_up, condition, out)?;
                    }
                    Settled::Again => {}
                }
            }
            if matches!(outcome, Outcome::FailedAt(_)) {
                // Retried at the next poll.
                self.lanes[lane].busy_until = finished.max(poll + POLL_MS);
                break;
            }
            at = finished.max(at + 1);
        }
        Ok(())
    }

    /// Invokes the function on `span` at `at`: emits the output of what it processed (all of it,
    /// or the records before the one it threw on) and a row for the invocation.
    fn invoke(
        &mut self,
        lane: usize,
        span: Span,
        at: Timestamp,
        out: &mut Output,
    ) -> Result<Outcome, SendFailure> {
        self.invocations += 1;
        self.view.invocations += 1;
        let records = self.gather(lane, span)?;
        let failing = match &self.p.fails_when {
            Some(p) => {
                let mask = predicate_mask(p, &records)?;
                (0..records.num_rows()).find(|&i| mask.value(i))
            }
            None => None,
        };
        let processed = failing.unwrap_or(records.num_rows());
        let outcome = match failing {
            Some(i) => {
                self.view.errors += 1;
                Outcome::FailedAt(span.start + i as u64)
            }
            None => Outcome::Succeeded,
        };
        if processed > 0 {
            let attempts: Vec<i64> = (span.start..span.start + processed as u64)
                .map(|at| {
                    let record = self.lanes[lane].get_mut(at);
                    let deliveries = record.map_or(1, |r| {
                        r.deliveries += 1;
                        r.deliveries
                    });
                    if deliveries > 1 {
                        self.view.duplicates += 1;
                    }
                    i64::from(deliveries)
                })
                .collect();
            self.emit_output(&records.slice(0, processed), attempts, out)?;
        }
        let last = self.lanes[lane].get(span.end - 1).map_or(at, |w| w.arrival);
        let finished = at + self.p.duration_ms;
        self.emit_invocation(
            lane,
            span,
            &records,
            if failing.is_some() { "error" } else { "ok" },
            at,
            finished - last,
            out,
        )?;
        Ok(outcome)
    }

    /// The records of `span`, in order, as one batch of the input's columns.
    fn gather(&self, lane: usize, span: Span) -> Result<RecordBatch, SendFailure> {
        let mut indices = Vec::with_capacity(span.len() as usize);
        for at in span.start..span.end {
            let record = self.lanes[lane]
                .get(at)
                .ok_or_else(|| fail("a batch reaches past its lane"))?;
            let offset = record
                .batch
                .checked_sub(self.first_batch)
                .ok_or_else(|| fail("a record's batch was already let go"))?;
            indices.push((offset as usize, record.row as usize));
        }
        let first = indices.iter().map(|i| i.0).min().unwrap_or(0);
        let last = indices.iter().map(|i| i.0).max().unwrap_or(0);
        let batches: Vec<&RecordBatch> = self
            .batches
            .iter()
            .skip(first)
            .take(last - first + 1)
            .map(|(b, _)| b)
            .collect();
        let indices: Vec<(usize, usize)> =
            indices.into_iter().map(|(b, r)| (b - first, r)).collect();
        interleave_record_batch(&batches, &indices).map_err(|e| fail(e.to_string()))
    }

    /// The function's output for `records`: its columns, the records it outputs, and which
    /// delivery of each this is.
    fn emit_output(
        &mut self,
        records: &RecordBatch,
        attempts: Vec<i64>,
        out: &mut Output,
    ) -> OpResult {
        let mapped = map_batch(
            &self.p.handler.items,
            &self.p.handler.columns,
            &self.p.handler_schema,
            records,
        )?;
        let invocation = vec![self.invocations as i64; records.num_rows()];
        let mut columns: Vec<ArrayRef> = mapped.columns().to_vec();
        columns.push(Arc::new(Int64Array::from(attempts)));
        columns.push(Arc::new(Int64Array::from(invocation)));
        let mut rows = RecordBatch::try_new(Arc::clone(&self.p.out), columns)
            .map_err(|e| fail(e.to_string()))?;
        if let Some(keep) = &self.p.output_when {
            let mask = predicate_mask(keep, records)?;
            rows = filter_record_batch(&rows, &mask).map_err(|e| fail(e.to_string()))?;
        }
        self.view.output += rows.num_rows() as u64;
        out.emit(OUT_PORT, rows)
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_invocation(
        &mut self,
        lane: usize,
        span: Span,
        records: &RecordBatch,
        outcome: &str,
        at: Timestamp,
        iterator_age_ms: i64,
        out: &mut Output,
    ) -> OpResult {
        if !out.is_connected(INVOCATIONS_PORT) {
            return Ok(());
        }
        let sequences = text_column(records, self.p.sequence_column)?;
        let n = records.num_rows();
        let row = RecordBatch::try_new(
            invocations_schema(),
            vec![
                Arc::new(Int64Array::from(vec![self.invocations as i64])),
                Arc::new(StringArray::from(vec![self.lanes[lane].shard.clone()])),
                Arc::new(StringArray::from(vec![sequences.value(0).to_string()])),
                Arc::new(StringArray::from(vec![
                    sequences.value(n.saturating_sub(1)).to_string(),
                ])),
                Arc::new(Int64Array::from(vec![n as i64])),
                Arc::new(Int64Array::from(vec![i64::from(span.retries) + 1])),
                Arc::new(StringArray::from(vec![outcome.to_string()])),
                Arc::new(TimestampMillisecondArray::from(vec![at])),
                Arc::new(Int64Array::from(vec![iterator_age_ms])),
            ],
        )
        .map_err(|e| fail(e.to_string()))?;
        out.emit_side(INVOCATIONS_PORT, row)
    }

    /// Gives up on `span`: its metadata to the on-failure destination, its records off the lane.
    fn give_up(&mut self, lane: usize, span: Span, condition: &str, out: &mut Output) -> OpResult {
        let records = self.gather(lane, span)?;
        let removed = self.lanes[lane].remove(span);
        self.view.given_up_batches += 1;
        self.view.given_up_records += removed.len() as u64;
        InstanceMetrics::add(&self.metrics.dropped_rows, removed.len() as u64);
        if !out.is_connected(ON_FAILURE_PORT) || removed.is_empty() {
            return Ok(());
        }
        let sequences = text_column(&records, self.p.sequence_column)?;
        let n = records.num_rows();
        let row = RecordBatch::try_new(
            on_failure_schema(),
            vec![
                Arc::new(StringArray::from(vec![self.lanes[lane].shard.clone()])),
                Arc::new(StringArray::from(vec![sequences.value(0).to_string()])),
                Arc::new(StringArray::from(vec![
                    sequences.value(n.saturating_sub(1)).to_string(),
                ])),
                Arc::new(TimestampMillisecondArray::from(vec![removed[0].arrival])),
                Arc::new(TimestampMillisecondArray::from(vec![
                    removed[removed.len() - 1].arrival,
                ])),
                Arc::new(Int64Array::from(vec![n as i64])),
                Arc::new(StringArray::from(vec![condition.to_string()])),
                // Every failed invocation of the span counted one: its attempts.
                Arc::new(Int64Array::from(vec![i64::from(span.retries)])),
            ],
        )
        .map_err(|e| fail(e.to_string()))?;
        out.emit_side(ON_FAILURE_PORT, row)
    }

    /// The function's state per shard and tumbling window (by arrival time) takes the records
    /// it finished.
    fn add_to_windows(&mut self, lane: usize, done: Span) -> OpResult {
        let (Some(aggregates), Some((size, _))) = (&self.aggregates, &self.p.tumbling) else {
            return Ok(());
        };
        let size = *size;
        let records = self.gather(lane, done)?;
        let prepared = aggregates.prepare(&records).map_err(SendFailure::Failed)?;
        let arrivals = records
            .column(self.p.arrival_column)
            .as_any()
            .downcast_ref::<TimestampMillisecondArray>()
            .cloned()
            .ok_or_else(|| fail("the arrival column is not a timestamp"))?;
        let shard = self.lanes[lane].shard.clone();
        for row in 0..records.num_rows() {
            let arrival = arrivals.value(row);
            let start = arrival - arrival.rem_euclid(size);
            let states = self
                .windows
                .entry((shard.clone(), start))
                .or_insert_with(|| aggregates.new_states());
            aggregates.update(states, &prepared, row, arrival);
        }
        Ok(())
    }

    /// Every window whose end the polls passed: its final state, out of `windows`.
    fn close_windows(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        let (Some(aggregates), Some((size, _))) = (&self.aggregates, &self.p.tumbling) else {
            return Ok(());
        };
        let size = *size;
        let due: Vec<(String, Timestamp)> = self
            .windows
            .keys()
            .filter(|(_, start)| start.saturating_add(size) <= now)
            .cloned()
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        let mut shards = Vec::new();
        let mut starts = Vec::new();
        let mut states = Vec::new();
        for key in &due {
            if let Some(state) = self.windows.remove(key) {
                shards.push(key.0.clone());
                starts.push(key.1);
                states.push(state);
            }
        }
        let refs: Vec<&[Acc]> = states.iter().map(Vec::as_slice).collect();
        let values = aggregates.finish(&refs).map_err(fail)?;
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(shards)),
            Arc::new(TimestampMillisecondArray::from(starts.clone())),
            Arc::new(TimestampMillisecondArray::from(
                starts.iter().map(|s| s + size).collect::<Vec<_>>(),
            )),
        ];
        columns.extend(values);
        let batch = RecordBatch::try_new(Arc::clone(&self.p.windows), columns)
            .map_err(|e| fail(e.to_string()))?;
        out.emit_side(WINDOWS_PORT, batch)
    }

    /// Lets go of input batches no lane refers to any more: a lane holds its records in the
    /// order they came, so the oldest batch any lane still needs is at one of their heads.
    fn forget_done(&mut self) {
        let oldest = self
            .lanes
            .iter()
            .filter_map(Lane::first_batch)
            .min()
            .unwrap_or(self.first_batch + self.batches.len() as u64);
        while self.first_batch < oldest && self.batches.pop_front().is_some() {
            self.first_batch += 1;
        }
    }

    /// The watermark every record before which is done.
    fn send_watermark(&mut self, out: &mut Output) -> OpResult {
        let first_unresolved = self
            .lanes
            .iter()
            .filter_map(Lane::first_unresolved)
            .min()
            .unwrap_or(self.written);
        let mut release = None;
        while let Some(&(count, watermark)) = self.pending.front() {
            if count > first_unresolved {
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
        let now = self.now;
        self.view.lanes = self
            .lanes
            .iter()
            .map(|lane| LaneLine {
                shard: lane.shard.clone(),
                waiting: lane.len() as u64,
                behind_ms: lane.behind_ms(now),
                failing_for_ms: lane.failing_since.map(|s| now - s),
            })
            .collect();
        self.stats.publish(self.view.clone());
    }
}

fn text_column(batch: &RecordBatch, column: usize) -> Result<StringArray, SendFailure> {
    let array = arrow::compute::cast(batch.column(column), &DataType::Utf8)
        .map_err(|e| fail(e.to_string()))?;
    array
        .as_any()
        .downcast_ref::<StringArray>()
        .cloned()
        .ok_or_else(|| fail("not text"))
}

/// A stable hash of a partition key, to keep its records in one lane.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
