//! The Firehose delivery stream to S3 (streaming-facts §4), simulated on the records' arrival
//! time (their `approximate_arrival_timestamp` when they come from a Kinesis stream, else the
//! newest event time seen, as for Direct PUT), so runs at any speed deliver the same objects.
//!
//! Records of more than 1,000 KiB are refused (`errors`). With a transformation, records first
//! wait in its buffer (size or interval, whichever first); each invocation maps the records and
//! gives each a result: `Dropped` (counted), `ProcessingFailed` (written as Firehose's error
//! document under the error prefix, `processing-failed`), or `Ok` (on to delivery). Delivery
//! buffers (one per dynamic partition) deliver an object when their size hint is reached (at that
//! record's arrival) or their oldest record has waited the interval, named
//! `<prefix><stream>-1-<YYYY-MM-dd-HH-mm-ss>-<uuid>` from the oldest record's arrival. A record
//! that would open a partition past the limit goes under the error prefix
//! (`activePartitionExceeded`); a NULL partition key or a prefix over 512 characters goes to
//! `errors`. The end of the input delivers what is left when its interval would have run out.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, BooleanArray, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::compute::{concat_batches, filter_record_batch, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use base64::Engine;

use super::json_size::json_sizes;
use super::map::map_batch;
use crate::model::kinds::firehose::prefix::{Values, name_time};
use crate::model::kinds::firehose::{MAX_RECORD_BYTES, PlannedFirehose, objects_schema};
use crate::runtime::contract::evaluate::{evaluate, predicate_mask};
use crate::runtime::contract::{
    InstanceMetrics, InstanceOf, MIN_WATERMARK, ObjectBucket, OpResult, Operator, Output, RunError,
    SendFailure, StateReader, StateWriter, Timestamp, fail,
};
use crate::runtime::firehose_stats::{BufferLine, FirehoseStats, FirehoseView, ObjectLine};
use crate::runtime::row_times::row_times;
use crate::values::json_rows::JsonRows;

const OBJECTS_PORT: usize = 0;
const ERRORS_PORT: usize = 1;

/// Records waiting in a buffer, with each one's arrival time and size.
#[derive(Default)]
struct Pending {
    batches: Vec<RecordBatch>,
    arrivals: Vec<Timestamp>,
    sizes: Vec<u64>,
    bytes: u64,
    /// When its first record entered: the interval counts from there.
    since: Timestamp,
}

impl Pending {
    /// `batches u64(n) i64(arrival)... u64(n) u64(size)... u64(bytes) i64(since)`.
    fn save(&self, w: &mut StateWriter) -> Result<(), RunError> {
        w.batches(&self.batches)?;
        w.u64(self.arrivals.len() as u64);
        for &a in &self.arrivals {
            w.i64(a);
        }
        w.u64(self.sizes.len() as u64);
        for &size in &self.sizes {
            w.u64(size);
        }
        w.u64(self.bytes);
        w.i64(self.since);
        Ok(())
    }

    fn restore(r: &mut StateReader) -> Result<Self, RunError> {
        let batches = r.batches()?;
        let n = r.count(8)?;
        let mut arrivals = Vec::with_capacity(n);
        for _ in 0..n {
            arrivals.push(r.i64()?);
        }
        let n = r.count(8)?;
        let mut sizes = Vec::with_capacity(n);
        for _ in 0..n {
            sizes.push(r.u64()?);
        }
        Ok(Self {
            batches,
            arrivals,
            sizes,
            bytes: r.u64()?,
            since: r.i64()?,
        })
    }

    fn is_empty(&self) -> bool {
        self.arrivals.is_empty()
    }

    fn push(&mut self, batch: RecordBatch, arrivals: &[Timestamp], sizes: &[u64], at: Timestamp) {
        if self.is_empty() {
            self.since = at;
        }
        self.bytes += sizes.iter().sum::<u64>();
        self.arrivals.extend_from_slice(arrivals);
        self.sizes.extend_from_slice(sizes);
        self.batches.push(batch);
    }

    fn oldest_arrival(&self) -> Timestamp {
        self.arrivals.iter().copied().min().unwrap_or(self.since)
    }
}

/// Error documents waiting to be written under the error prefix.
#[derive(Default)]
struct ErrorPending {
    lines: Vec<u8>,
    arrivals: Vec<Timestamp>,
    since: Timestamp,
}

pub struct FirehoseOperator {
    p: PlannedFirehose,
    bucket: Box<dyn ObjectBucket>,
    metrics: Arc<InstanceMetrics>,
    stats: Arc<FirehoseStats>,
    /// The delivery's clock: the newest arrival (or tick) so far.
    now: Timestamp,
    newest_event: Timestamp,
    /// Records waiting for the transformation.
    waiting: Pending,
    /// Delivery buffers by partition key values (one, keyed by nothing, without partitioning).
    buffers: BTreeMap<Vec<String>, Pending>,
    /// Error documents waiting, by error output type: they buffer as records do.
    errors: BTreeMap<String, ErrorPending>,
    random: u64,
    view: FirehoseView,
    new_objects: Vec<ObjectLine>,
}

pub fn build(
    planned: &PlannedFirehose,
    bucket: Box<dyn ObjectBucket>,
    metrics: &Arc<InstanceMetrics>,
    stats: Arc<FirehoseStats>,
) -> Box<dyn Operator> {
    // The same objects in every run: their random parts come from the stream's name.
    let seed = planned.name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    Box::new(FirehoseOperator {
        p: planned.clone(),
        bucket,
        metrics: Arc::clone(metrics),
        stats,
        now: MIN_WATERMARK,
        newest_event: MIN_WATERMARK,
        waiting: Pending::default(),
        buffers: BTreeMap::new(),
        errors: BTreeMap::new(),
        random: seed,
        view: FirehoseView::default(),
        new_objects: Vec::new(),
    })
}

impl Operator for FirehoseOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, out: &mut Output) -> OpResult {
        let arrivals = self.arrivals(&batch)?;
        self.view.records_in += batch.num_rows() as u64;
        // What a producer sends is the row as JSON, one per line in the object.
        let sizes: Vec<u64> = json_sizes(&batch).iter().map(|&s| s as u64 + 1).collect();
        let (fits, too_big): (Vec<u32>, Vec<u32>) = (0..batch.num_rows() as u32)
            .partition(|&i| sizes[i as usize] <= MAX_RECORD_BYTES as u64);
        if !too_big.is_empty() {
            let reasons = too_big
                .iter()
                .map(|&i| {
                    format!(
                        "the record is {} bytes; Firehose takes at most 1,000 KiB ({MAX_RECORD_BYTES} bytes)",
                        sizes[i as usize] - 1
                    )
                })
                .collect();
            self.refuse(&take(&batch, &too_big)?, reasons, out)?;
        }
        let batch = if too_big.is_empty() {
            batch
        } else {
            take(&batch, &fits)?
        };
        let arrivals: Vec<Timestamp> = fits.iter().map(|&i| arrivals[i as usize]).collect();
        let sizes: Vec<u64> = fits.iter().map(|&i| sizes[i as usize]).collect();
        // Buffers whose interval ran out before these records came are delivered first.
        let first = arrivals.iter().copied().min().unwrap_or(self.now);
        self.flush_due(first, out)?;
        if batch.num_rows() > 0 {
            if self.p.transformation.is_some() {
                self.wait_for_transformation(batch, &arrivals, &sizes, out)?;
            } else {
                self.deliver_later(batch, &arrivals, out)?;
            }
        }
        self.flush_due(self.now, out)?;
        self.publish();
        Ok(())
    }

    fn tick_interval_ms(&self) -> Option<i64> {
        Some(1_000)
    }

    /// Version 1: `u8(1) i64(now) i64(newest event) u64(random state)`, the transformation's
    /// buffer, `u64(n)` delivery buffers (`u64(parts) str(part)...` and the buffer), `u64(n)`
    /// error buffers (`str(type) bytes(lines) u64(n) i64(arrival)... i64(since)`), then the
    /// counters `records_in delivered dropped failed invocations objects`. Objects delivered after
    /// the checkpoint are delivered again after a restore under the same keys and with the same
    /// contents (names and random parts come from this state): writing them again replaces them.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let mut w = StateWriter::new();
        w.u8(1);
        w.i64(self.now);
        w.i64(self.newest_event);
        w.u64(self.random);
        self.waiting.save(&mut w).map_err(SendFailure::Failed)?;
        w.u64(self.buffers.len() as u64);
        for (key, pending) in &self.buffers {
            w.u64(key.len() as u64);
            for part in key {
                w.str(part);
            }
            pending.save(&mut w).map_err(SendFailure::Failed)?;
        }
        w.u64(self.errors.len() as u64);
        for (kind, pending) in &self.errors {
            w.str(kind);
            w.bytes(&pending.lines);
            w.u64(pending.arrivals.len() as u64);
            for &a in &pending.arrivals {
                w.i64(a);
            }
            w.i64(pending.since);
        }
        let v = &self.view;
        for n in [
            v.records_in,
            v.delivered,
            v.dropped,
            v.failed,
            v.invocations,
            v.objects_total,
        ] {
            w.u64(n);
        }
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], _me: InstanceOf) -> Result<(), RunError> {
        let Some(mut r) = StateReader::single(saved, 1, "Firehose state")? else {
            return Ok(());
        };
        self.now = r.i64()?;
        self.newest_event = r.i64()?;
        self.random = r.u64()?;
        self.waiting = Pending::restore(&mut r)?;
        let n = r.count(16)?;
        for _ in 0..n {
            let parts = r.count(8)?;
            let mut key = Vec::with_capacity(parts);
            for _ in 0..parts {
                key.push(r.str()?.to_string());
            }
            self.buffers.insert(key, Pending::restore(&mut r)?);
        }
        let n = r.count(24)?;
        for _ in 0..n {
            let kind = r.str()?.to_string();
            let lines = r.bytes()?.to_vec();
            let count = r.count(8)?;
            let mut arrivals = Vec::with_capacity(count);
            for _ in 0..count {
                arrivals.push(r.i64()?);
            }
            let since = r.i64()?;
            self.errors.insert(
                kind,
                ErrorPending {
                    lines,
                    arrivals,
                    since,
                },
            );
        }
        let v = &mut self.view;
        for slot in [
            &mut v.records_in,
            &mut v.delivered,
            &mut v.dropped,
            &mut v.failed,
            &mut v.invocations,
            &mut v.objects_total,
        ] {
            *slot = r.u64()?;
        }
        r.end()?;
        self.publish();
        Ok(())
    }

    fn on_tick(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        self.now = self.now.max(now);
        self.flush_due(self.now, out)?;
        self.publish();
        Ok(())
    }

    fn on_end(&mut self, out: &mut Output) -> OpResult {
        // No more records: each buffer goes once its interval has run out.
        if !self.waiting.is_empty() {
            let at = self.transform_deadline().max(self.now);
            self.now = at;
            self.invoke(at, out)?;
        }
        let keys: Vec<Vec<String>> = self.buffers.keys().cloned().collect();
        for key in keys {
            if let Some(pending) = self.buffers.remove(&key) {
                let at = pending
                    .since
                    .saturating_add(self.p.interval_ms)
                    .max(self.now);
                self.deliver(&key, pending, at, out)?;
            }
        }
        let kinds: Vec<String> = self.errors.keys().cloned().collect();
        for kind in kinds {
            if let Some(pending) = self.errors.remove(&kind) {
                let at = pending
                    .since
                    .saturating_add(self.p.interval_ms)
                    .max(self.now);
                self.write_errors(&kind, pending, at, out)?;
            }
        }
        self.publish();
        Ok(())
    }
}

impl FirehoseOperator {
    /// Each row's arrival: its Kinesis arrival time, or the newest event time so far.
    fn arrivals(&mut self, batch: &RecordBatch) -> Result<Vec<Timestamp>, SendFailure> {
        let arrivals: Vec<Timestamp> = match self.p.arrival_column {
            Some(column) => {
                let values = batch
                    .column(column)
                    .as_any()
                    .downcast_ref::<TimestampMillisecondArray>()
                    .ok_or_else(|| fail("the arrival column is not a timestamp"))?;
                (0..batch.num_rows())
                    .map(|i| {
                        if values.is_valid(i) {
                            values.value(i)
                        } else {
                            self.now
                        }
                    })
                    .collect()
            }
            None => row_times(self.p.time, batch)?
                .into_iter()
                .map(|t| {
                    if let Some(t) = t {
                        self.newest_event = self.newest_event.max(t);
                    }
                    self.newest_event.max(self.now)
                })
                .collect(),
        };
        if let Some(newest) = arrivals.iter().copied().max() {
            self.now = self.now.max(newest);
        }
        Ok(arrivals)
    }

    fn transform_deadline(&self) -> Timestamp {
        let interval = self.p.transformation.as_ref().map_or(0, |t| t.interval_ms);
        self.waiting.since.saturating_add(interval)
    }

    /// Delivers (and invokes) whatever's interval ran out by `now`, oldest first.
    fn flush_due(&mut self, now: Timestamp, out: &mut Output) -> OpResult {
        if !self.waiting.is_empty() && self.transform_deadline() <= now {
            let at = self.transform_deadline();
            self.invoke(at, out)?;
        }
        let due: Vec<Vec<String>> = self
            .buffers
            .iter()
            .filter(|(_, p)| p.since.saturating_add(self.p.interval_ms) <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            if let Some(pending) = self.buffers.remove(&key) {
                let at = pending.since.saturating_add(self.p.interval_ms);
                self.deliver(&key, pending, at, out)?;
            }
        }
        let due: Vec<String> = self
            .errors
            .iter()
            .filter(|(_, e)| e.since.saturating_add(self.p.interval_ms) <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for kind in due {
            if let Some(pending) = self.errors.remove(&kind) {
                let at = pending.since.saturating_add(self.p.interval_ms);
                self.write_errors(&kind, pending, at, out)?;
            }
        }
        Ok(())
    }

    /// Records into the transformation's buffer; a full buffer invokes at once.
    fn wait_for_transformation(
        &mut self,
        batch: RecordBatch,
        arrivals: &[Timestamp],
        sizes: &[u64],
        out: &mut Output,
    ) -> OpResult {
        let limit = self
            .p
            .transformation
            .as_ref()
            .map_or(u64::MAX, |t| t.size_bytes);
        let mut start = 0;
        let mut filled = self.waiting.bytes;
        for row in 0..batch.num_rows() {
            filled += sizes[row];
            if filled >= limit {
                let at = arrivals[row];
                self.waiting.push(
                    batch.slice(start, row + 1 - start),
                    &arrivals[start..=row],
                    &sizes[start..=row],
                    at,
                );
                self.invoke(at, out)?;
                start = row + 1;
                filled = 0;
            }
        }
        if start < batch.num_rows() {
            let at = arrivals[start];
            self.waiting.push(
                batch.slice(start, batch.num_rows() - start),
                &arrivals[start..],
                &sizes[start..],
                at,
            );
        }
        Ok(())
    }

    /// One invocation of the transformation on everything waiting, at `at`.
    fn invoke(&mut self, at: Timestamp, out: &mut Output) -> OpResult {
        let pending = std::mem::take(&mut self.waiting);
        let Some(t) = self.p.transformation.clone() else {
            return Ok(());
        };
        let Some(first) = pending.batches.first() else {
            return Ok(());
        };
        let batch =
            concat_batches(&first.schema(), &pending.batches).map_err(|e| fail(e.to_string()))?;
        self.view.invocations += 1;
        let rows = batch.num_rows();
        let failed = match &t.failed_when {
            Some(p) => predicate_mask(p, &batch)?,
            None => BooleanArray::from(vec![false; rows]),
        };
        let dropped = match &t.dropped_when {
            Some(p) => predicate_mask(p, &batch)?,
            None => BooleanArray::from(vec![false; rows]),
        };
        let failed_rows: Vec<u32> = (0..rows as u32)
            .filter(|&i| failed.value(i as usize))
            .collect();
        let dropped_rows = (0..rows)
            .filter(|&i| dropped.value(i) && !failed.value(i))
            .count();
        self.view.dropped += dropped_rows as u64;
        self.view.failed += failed_rows.len() as u64;
        if !failed_rows.is_empty() {
            let failures = take(&batch, &failed_rows)?;
            let arrivals: Vec<Timestamp> = failed_rows
                .iter()
                .map(|&i| pending.arrivals[i as usize])
                .collect();
            let message = format!(
                "The transformation returned ProcessingFailed for the record (failed_when: {})",
                t.failed_when.as_ref().map_or("", |p| p.text.as_str())
            );
            self.buffer_errors(
                &failures,
                &arrivals,
                "processing-failed",
                "Lambda.ProcessingFailed",
                &message,
                at,
                out,
            )?;
        }
        let keep = BooleanArray::from(
            (0..rows)
                .map(|i| !failed.value(i) && !dropped.value(i))
                .collect::<Vec<_>>(),
        );
        let ok = filter_record_batch(&batch, &keep).map_err(|e| fail(e.to_string()))?;
        if ok.num_rows() == 0 {
            return Ok(());
        }
        let arrivals: Vec<Timestamp> = (0..rows)
            .filter(|&i| keep.value(i))
            .map(|i| pending.arrivals[i])
            .collect();
        match map_batch(&t.map.items, &t.map.columns, &self.p.delivered, &ok) {
            Ok(mapped) => self.deliver_later_at(mapped, &arrivals, Some(&ok), at, out),
            // The function failed on some record: those come back ProcessingFailed with the
            // error, the others go on, as Firehose treats the records a Lambda could not handle.
            Err(_) => self.map_row_by_row(&ok, &arrivals, at, out),
        }
    }

    /// The transformation one record at a time, after it failed on a whole invocation.
    fn map_row_by_row(
        &mut self,
        ok: &RecordBatch,
        arrivals: &[Timestamp],
        at: Timestamp,
        out: &mut Output,
    ) -> OpResult {
        let Some(t) = self.p.transformation.clone() else {
            return Ok(());
        };
        let mut mapped = Vec::new();
        let mut mapped_rows = Vec::new();
        let mut failures: Vec<(u32, String)> = Vec::new();
        for row in 0..ok.num_rows() {
            let one = ok.slice(row, 1);
            match map_batch(&t.map.items, &t.map.columns, &self.p.delivered, &one) {
                Ok(batch) => {
                    mapped.push(batch);
                    mapped_rows.push(row as u32);
                }
                Err(SendFailure::Failed(error)) => failures.push((row as u32, error.message)),
                Err(other) => return Err(other),
            }
        }
        for (row, message) in &failures {
            let record = ok.slice(*row as usize, 1);
            self.view.failed += 1;
            self.buffer_errors(
                &record,
                &[arrivals[*row as usize]],
                "processing-failed",
                "Lambda.FunctionError",
                message,
                at,
                out,
            )?;
        }
        if mapped.is_empty() {
            return Ok(());
        }
        let batch = concat_batches(&self.p.delivered, &mapped).map_err(|e| fail(e.to_string()))?;
        let inputs = take(ok, &mapped_rows)?;
        let times: Vec<Timestamp> = mapped_rows.iter().map(|&r| arrivals[r as usize]).collect();
        self.deliver_later_at(batch, &times, Some(&inputs), at, out)
    }

    /// Records into their delivery buffers as they arrive.
    fn deliver_later(
        &mut self,
        batch: RecordBatch,
        arrivals: &[Timestamp],
        out: &mut Output,
    ) -> OpResult {
        // Each record enters at its own arrival; a batch is close enough to one instant.
        let at = arrivals.iter().copied().min().unwrap_or(self.now);
        self.deliver_later_at(batch, arrivals, None, at, out)
    }

    /// Records (as delivered; `inputs` are the same records as they came, when a transformation
    /// changed them) into the buffers of their partitions, entering at `at`; a buffer that
    /// reaches its size hint goes at the arrival of the record that filled it.
    fn deliver_later_at(
        &mut self,
        batch: RecordBatch,
        arrivals: &[Timestamp],
        inputs: Option<&RecordBatch>,
        at: Timestamp,
        out: &mut Output,
    ) -> OpResult {
        let sizes: Vec<u64> = json_sizes(&batch).iter().map(|&s| s as u64 + 1).collect();
        let partitions = self.partitions(&batch)?;
        // Rows refused before buffering: a NULL key or a prefix too long.
        let mut refused: Vec<(u32, String)> = Vec::new();
        let mut over_limit: Vec<u32> = Vec::new();
        let mut groups: BTreeMap<Vec<String>, Vec<u32>> = BTreeMap::new();
        let mut opened = 0;
        for (row, partition) in partitions.into_iter().enumerate() {
            match partition {
                Err(why) => refused.push((row as u32, why)),
                Ok(key) => {
                    let known = self.buffers.contains_key(&key) || groups.contains_key(&key);
                    if !known {
                        if self.buffers.len() + opened >= self.p.max_active_partitions as usize {
                            over_limit.push(row as u32);
                            continue;
                        }
                        opened += 1;
                    }
                    groups.entry(key).or_default().push(row as u32);
                }
            }
        }
        if !refused.is_empty() {
            let source = inputs.unwrap_or(&batch);
            let rows: Vec<u32> = refused.iter().map(|(r, _)| *r).collect();
            let reasons = refused.into_iter().map(|(_, why)| why).collect();
            self.refuse(&take(source, &rows)?, reasons, out)?;
        }
        if !over_limit.is_empty() {
            let source = inputs.unwrap_or(&batch);
            let records = take(source, &over_limit)?;
            let times: Vec<Timestamp> = over_limit.iter().map(|&r| arrivals[r as usize]).collect();
            let message = format!(
                "The record would open more than {} active partitions",
                self.p.max_active_partitions
            );
            self.buffer_errors(
                &records,
                &times,
                "activePartitionExceeded",
                "DynamicPartitioning.ActivePartitionsLimitExceeded",
                &message,
                at,
                out,
            )?;
        }
        let limit = self.p.size_bytes;
        for (key, members) in groups {
            let part = take(&batch, &members)?;
            let part_arrivals: Vec<Timestamp> =
                members.iter().map(|&r| arrivals[r as usize]).collect();
            let part_sizes: Vec<u64> = members.iter().map(|&r| sizes[r as usize]).collect();
            let mut start = 0;
            let mut filled = self.buffers.get(&key).map_or(0, |p| p.bytes);
            for row in 0..part.num_rows() {
                filled += part_sizes[row];
                if filled >= limit {
                    let pending = self.buffers.entry(key.clone()).or_default();
                    pending.push(
                        part.slice(start, row + 1 - start),
                        &part_arrivals[start..=row],
                        &part_sizes[start..=row],
                        at,
                    );
                    if let Some(full) = self.buffers.remove(&key) {
                        let when = part_arrivals[row].max(at);
                        self.deliver(&key, full, when, out)?;
                    }
                    start = row + 1;
                    filled = 0;
                }
            }
            if start < part.num_rows() {
                self.buffers.entry(key).or_default().push(
                    part.slice(start, part.num_rows() - start),
                    &part_arrivals[start..],
                    &part_sizes[start..],
                    at,
                );
            }
        }
        Ok(())
    }

    /// Each row's partition key values (none without dynamic partitioning), or why it has none.
    fn partitions(
        &self,
        batch: &RecordBatch,
    ) -> Result<Vec<Result<Vec<String>, String>>, SendFailure> {
        let rows = batch.num_rows();
        if self.p.partition_keys.is_empty() {
            return Ok(vec![Ok(Vec::new()); rows]);
        }
        let mut columns = Vec::new();
        for (name, expr) in &self.p.partition_keys {
            let values = evaluate(expr, batch)?;
            let text = arrow::compute::cast(&values, &arrow::datatypes::DataType::Utf8)
                .map_err(|e| fail(e.to_string()))?;
            let text = text
                .as_any()
                .downcast_ref::<StringArray>()
                .cloned()
                .ok_or_else(|| fail("a partition key is not text"))?;
            columns.push((name.clone(), text));
        }
        Ok((0..rows)
            .map(|row| {
                let mut values = Vec::with_capacity(columns.len());
                for (name, column) in &columns {
                    if !column.is_valid(row) {
                        return Err(format!("the partition key `{name}` is NULL"));
                    }
                    values.push(column.value(row).to_string());
                }
                // The prefix must fit with these values, whatever the time.
                let named: Vec<(String, String)> = self
                    .p
                    .partition_keys
                    .iter()
                    .map(|(n, _)| n.clone())
                    .zip(values.iter().cloned())
                    .collect();
                let prefix = self.p.prefix.evaluate(&Values {
                    oldest_arrival_ms: 0,
                    random_string: "xxxxxxxxxxx",
                    error_output_type: None,
                    partition_keys: &named,
                })?;
                // A key is a path in a folder bucket: it may not climb out of it.
                if prefix.split('/').any(|part| part == "..") || prefix.starts_with('/') {
                    return Err(format!(
                        "the partition keys make the prefix `{prefix}`, which climbs out of the bucket"
                    ));
                }
                Ok(values)
            })
            .collect())
    }

    /// Writes one buffer as an object, delivered at `at`.
    fn deliver(
        &mut self,
        key: &[String],
        pending: Pending,
        at: Timestamp,
        out: &mut Output,
    ) -> OpResult {
        if pending.is_empty() {
            return Ok(());
        }
        let oldest = pending.oldest_arrival();
        let named: Vec<(String, String)> = self
            .p
            .partition_keys
            .iter()
            .map(|(n, _)| n.clone())
            .zip(key.iter().cloned())
            .collect();
        let random = self.random_string();
        let prefix = self
            .p
            .prefix
            .evaluate(&Values {
                oldest_arrival_ms: oldest,
                random_string: &random,
                error_output_type: None,
                partition_keys: &named,
            })
            .map_err(fail)?;
        let uuid = self.uuid();
        let object = format!(
            "{prefix}{}-1-{}-{uuid}{}",
            self.p.name,
            name_time(oldest),
            self.bucket.extension()
        );
        let records = pending.arrivals.len() as u64;
        let bytes = self
            .bucket
            .put_rows(&object, &pending.batches)
            .map_err(SendFailure::Failed)?;
        self.view.delivered += records;
        self.delivered(object, "data", records, bytes, oldest, at, out)
    }

    /// Failed records as Firehose's error documents, into the buffer of their error output
    /// type; a full buffer goes at once.
    #[allow(clippy::too_many_arguments)]
    fn buffer_errors(
        &mut self,
        records: &RecordBatch,
        arrivals: &[Timestamp],
        kind: &str,
        code: &str,
        message: &str,
        at: Timestamp,
        out: &mut Output,
    ) -> OpResult {
        let lambda = format!(
            "arn:aws:lambda:us-east-1:000000000000:function:{}-transformation:$LATEST",
            self.p.name
        );
        let pending = self.errors.entry(kind.to_string()).or_default();
        if pending.arrivals.is_empty() {
            pending.since = at;
        }
        let json = JsonRows::new(records);
        for (row, arrival) in arrivals.iter().enumerate() {
            let mut data = Vec::new();
            json.write(row, &mut data);
            let document = serde_json::json!({
                "attemptsMade": 1,
                "arrivalTimestamp": arrival,
                "errorCode": code,
                "errorMessage": message,
                "attemptEndingTimestamp": at,
                "rawData": base64::engine::general_purpose::STANDARD.encode(&data),
                "lambdaArn": lambda,
            });
            serde_json::to_writer(&mut pending.lines, &document)
                .map_err(|e| fail(e.to_string()))?;
            pending.lines.push(b'\n');
            pending.arrivals.push(*arrival);
        }
        if pending.lines.len() as u64 >= self.p.size_bytes
            && let Some(full) = self.errors.remove(kind)
        {
            self.write_errors(kind, full, at, out)?;
        }
        Ok(())
    }

    /// One object of error documents under the error prefix.
    fn write_errors(
        &mut self,
        kind: &str,
        pending: ErrorPending,
        at: Timestamp,
        out: &mut Output,
    ) -> OpResult {
        let oldest = pending.arrivals.iter().copied().min().unwrap_or(at);
        let random = self.random_string();
        let prefix = self
            .p
            .error_prefix
            .evaluate(&Values {
                oldest_arrival_ms: oldest,
                random_string: &random,
                error_output_type: Some(kind),
                partition_keys: &[],
            })
            .map_err(fail)?;
        let uuid = self.uuid();
        let object = format!("{prefix}{}-1-{}-{uuid}", self.p.name, name_time(oldest));
        let records = pending.arrivals.len() as u64;
        let size = self
            .bucket
            .put_bytes(&object, pending.lines)
            .map_err(SendFailure::Failed)?;
        self.delivered(object, kind, records, size, oldest, at, out)
    }

    /// Says an object was delivered: out of `objects`, and to the view.
    #[allow(clippy::too_many_arguments)]
    fn delivered(
        &mut self,
        key: String,
        kind: &str,
        records: u64,
        bytes: u64,
        oldest: Timestamp,
        at: Timestamp,
        out: &mut Output,
    ) -> OpResult {
        self.view.objects_total += 1;
        self.new_objects.push(ObjectLine {
            key: key.clone(),
            kind: kind.to_string(),
            records,
            bytes,
            oldest_arrival: oldest,
            delivered_at: at,
        });
        if !out.is_connected(OBJECTS_PORT) {
            // Counted as the node's output all the same: its objects are what it makes.
            InstanceMetrics::add(&self.metrics.rows_out, 1);
            return Ok(());
        }
        let row = RecordBatch::try_new(
            objects_schema(),
            vec![
                Arc::new(StringArray::from(vec![key])),
                Arc::new(StringArray::from(vec![kind.to_string()])),
                Arc::new(Int64Array::from(vec![records as i64])),
                Arc::new(Int64Array::from(vec![bytes as i64])),
                Arc::new(TimestampMillisecondArray::from(vec![oldest])),
                Arc::new(TimestampMillisecondArray::from(vec![at])),
                Arc::new(Int64Array::from(vec![at - oldest])),
            ],
        )
        .map_err(|e| fail(e.to_string()))?;
        out.emit(OBJECTS_PORT, row)
    }

    /// Rows to `errors` with their reasons.
    fn refuse(&mut self, rows: &RecordBatch, reasons: Vec<String>, out: &mut Output) -> OpResult {
        InstanceMetrics::add(&self.metrics.error_rows, rows.num_rows() as u64);
        if !out.is_connected(ERRORS_PORT) {
            return Ok(());
        }
        let mut columns = rows.columns().to_vec();
        columns.push(Arc::new(StringArray::from(reasons)));
        let schema: SchemaRef = {
            let mut fields: Vec<_> = rows
                .schema()
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect();
            fields.push(arrow::datatypes::Field::new(
                "reason",
                arrow::datatypes::DataType::Utf8,
                false,
            ));
            Arc::new(arrow::datatypes::Schema::new(fields))
        };
        let batch = RecordBatch::try_new(schema, columns).map_err(|e| fail(e.to_string()))?;
        out.emit_side(ERRORS_PORT, batch)
    }

    fn next_random(&mut self) -> u64 {
        // splitmix64
        self.random = self.random.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.random;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// `!{firehose:random-string}`: 11 characters.
    fn random_string(&mut self) -> String {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut bits = self.next_random();
        (0..11)
            .map(|_| {
                let c = ALPHABET[(bits % ALPHABET.len() as u64) as usize] as char;
                bits /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    /// The random end of an object's name, shaped as a UUID (version 4).
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next_random(), self.next_random());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:x}{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            8 + (b >> 62),
            (b >> 48) & 0xfff,
            b & 0xffff_ffff_ffff
        )
    }

    fn publish(&mut self) {
        let mut view = self.view.clone();
        view.buffers.clear();
        if !self.waiting.is_empty()
            && let Some(t) = &self.p.transformation
        {
            view.buffers.push(BufferLine {
                name: "transformation".into(),
                records: self.waiting.arrivals.len() as u64,
                bytes: self.waiting.bytes,
                size_hint: t.size_bytes,
                age_ms: self.now - self.waiting.since,
                interval_ms: t.interval_ms,
            });
        }
        for (key, pending) in &self.buffers {
            view.buffers.push(BufferLine {
                name: if key.is_empty() {
                    "delivery".into()
                } else {
                    key.join("/")
                },
                records: pending.arrivals.len() as u64,
                bytes: pending.bytes,
                size_hint: self.p.size_bytes,
                age_ms: self.now - pending.since,
                interval_ms: self.p.interval_ms,
            });
        }
        for (kind, pending) in &self.errors {
            view.buffers.push(BufferLine {
                name: format!("errors: {kind}"),
                records: pending.arrivals.len() as u64,
                bytes: pending.lines.len() as u64,
                size_hint: self.p.size_bytes,
                age_ms: self.now - pending.since,
                interval_ms: self.p.interval_ms,
            });
        }
        self.stats
            .publish(view, std::mem::take(&mut self.new_objects));
    }
}

fn take(batch: &RecordBatch, rows: &[u32]) -> Result<RecordBatch, SendFailure> {
    take_record_batch(batch, &arrow::array::UInt32Array::from(rows.to_vec()))
        .map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kind::{CheckContext, KindModel, PortInput, Report};
    use crate::model::kinds::PlannedKind;
    use crate::model::kinds::firehose::{
        Buffering, Compression, Destination, FirehoseDelivery, PartitionKey, RecordFormat,
        Transformation,
    };
    use crate::model::time::TimeAttr;
    use crate::runtime::contract::RunError;
    use arrow::array::AsArray;
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Mutex;

    /// 2024-01-15T13:00:00Z
    const START: i64 = 1_705_323_600_000;

    /// A bucket that keeps each object's rows (or bytes) in memory.
    #[derive(Clone, Default)]
    struct Memory {
        objects: Arc<Mutex<Vec<StoredObject>>>,
    }

    /// An object's key, its rows (when put as rows) and its bytes (when put as bytes).
    type StoredObject = (String, Vec<RecordBatch>, Vec<u8>);

    impl ObjectBucket for Memory {
        fn put_rows(&mut self, key: &str, rows: &[RecordBatch]) -> Result<u64, RunError> {
            let size = rows.iter().map(|b| b.num_rows() as u64).sum();
            self.objects
                .lock()
                .unwrap()
                .push((key.to_string(), rows.to_vec(), Vec::new()));
            Ok(size)
        }
        fn put_bytes(&mut self, key: &str, bytes: Vec<u8>) -> Result<u64, RunError> {
            let size = bytes.len() as u64;
            self.objects
                .lock()
                .unwrap()
                .push((key.to_string(), Vec::new(), bytes));
            Ok(size)
        }
        fn extension(&self) -> &str {
            ""
        }
    }

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(
                "ts",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new("zone", DataType::Int64, true),
            Field::new("payload", DataType::Utf8, false),
        ]))
    }

    fn delivery(buffering: Buffering) -> FirehoseDelivery {
        FirehoseDelivery {
            buffering,
            transformation: None,
            destination: Destination::Folder {
                path: "bucket".into(),
                allow_outside: false,
            },
            format: RecordFormat::JsonLines,
            compression: Compression::Uncompressed,
            prefix: String::new(),
            error_prefix: None,
            partition_keys: Vec::new(),
            max_active_partitions: 500,
        }
    }

    fn operator(config: &FirehoseDelivery) -> (Box<dyn Operator>, Memory, Arc<FirehoseStats>) {
        let ctx = CheckContext {
            base_dir: std::path::Path::new("."),
        };
        let mut report = Report::new("fh");
        config.check(&ctx, &mut report);
        assert!(!report.has_errors(), "{:?}", report.into_problems());
        let mut report = Report::new("fh");
        let input = PortInput {
            schema: schema(),
            time: TimeAttr::Event {
                column: "ts".into(),
                shift_ms: 0,
            },
        };
        let planned = config.plan(&[input], &ctx, &mut report);
        let Some(planned) = planned else {
            panic!("{:?}", report.into_problems());
        };
        let PlannedKind::Firehose(planned) = planned.kind else {
            panic!("not a Firehose");
        };
        let memory = Memory::default();
        let stats = Arc::new(FirehoseStats::default());
        let metrics = Arc::new(InstanceMetrics::new(1));
        (
            build(
                &planned,
                Box::new(memory.clone()),
                &metrics,
                Arc::clone(&stats),
            ),
            memory,
            stats,
        )
    }

    /// `n` rows from `first`, `every` ms apart, with a payload of `payload` bytes.
    fn rows(first: i64, n: usize, every: i64, payload: usize, zone: Option<i64>) -> RecordBatch {
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(TimestampMillisecondArray::from(
                    (0..n as i64)
                        .map(|i| START + (first + i) * every)
                        .collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(vec![zone; n])),
                Arc::new(StringArray::from(vec!["x".repeat(payload); n])),
            ],
        )
        .unwrap()
    }

    /// Each object's key and number of rows.
    fn objects(memory: &Memory) -> Vec<(String, usize)> {
        memory
            .objects
            .lock()
            .unwrap()
            .iter()
            .map(|(k, rows, bytes)| {
                let n = if rows.is_empty() {
                    bytes.iter().filter(|&&b| b == b'\n').count()
                } else {
                    rows.iter().map(|b| b.num_rows()).sum()
                };
                (k.clone(), n)
            })
            .collect()
    }

    /// The part of a key before its random end (a UUID, 36 characters).
    fn without_uuid(key: &str) -> &str {
        &key[..key.len() - 37]
    }

    #[test]
    fn the_size_hint_delivers_when_a_record_fills_the_buffer() {
        // {"ts":"…26…","zone":null,"payload":"x…"} plus a newline: 58 + payload bytes; with a
        // payload of 966 each record is 1,024 bytes, so 1 MiB is 1,024 records.
        let (mut op, memory, _) = operator(&delivery(Buffering {
            size_mib: 1,
            interval: crate::model::duration::Duration::from_secs(900),
        }));
        let (mut out, captured) = Output::capturing(2);
        // 10 records a second, 100 ms apart, in batches of 100.
        for b in 0..12 {
            op.on_batch(0, rows(b * 100, 100, 100, 966, None), &mut out)
                .unwrap();
        }
        let found = objects(&memory);
        assert_eq!(found.len(), 1, "{found:?}");
        // The 1,024th record arrives at 102.3 s; the oldest at 13:00:00.
        assert_eq!(
            without_uuid(&found[0].0),
            "2024/01/15/13/fh-1-2024-01-15-13-00-00"
        );
        assert_eq!(found[0].1, 1_024);
        let delivered = captured.batches(OBJECTS_PORT);
        let at = delivered[0]
            .column_by_name("delivered_at")
            .unwrap()
            .as_primitive::<arrow::datatypes::TimestampMillisecondType>()
            .value(0);
        assert_eq!(at, START + 102_300);
        // The rest delivers at the end, once its interval would have run out.
        op.on_end(&mut out).unwrap();
        let found = objects(&memory);
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].1, 1_200 - 1_024);
        assert_eq!(
            without_uuid(&found[1].0),
            "2024/01/15/13/fh-1-2024-01-15-13-01-42"
        );
    }

    #[test]
    fn the_interval_delivers_when_the_oldest_record_has_waited_it() {
        let (mut op, memory, _) = operator(&delivery(Buffering {
            size_mib: 5,
            interval: crate::model::duration::Duration::from_secs(60),
        }));
        let (mut out, captured) = Output::capturing(2);
        // 10 small records a second for 150 s, a batch a second.
        for second in 0..150 {
            op.on_batch(0, rows(second * 10, 10, 100, 10, None), &mut out)
                .unwrap();
        }
        op.on_end(&mut out).unwrap();
        let found = objects(&memory);
        let keys: Vec<&str> = found.iter().map(|(k, _)| without_uuid(k)).collect();
        assert_eq!(
            keys,
            [
                "2024/01/15/13/fh-1-2024-01-15-13-00-00",
                "2024/01/15/13/fh-1-2024-01-15-13-01-00",
                "2024/01/15/13/fh-1-2024-01-15-13-02-00"
            ]
        );
        assert_eq!(
            found.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
            [600, 600, 300]
        );
        let latency: Vec<i64> = captured
            .batches(OBJECTS_PORT)
            .iter()
            .map(|b| {
                b.column_by_name("latency_ms")
                    .unwrap()
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .value(0)
            })
            .collect();
        assert_eq!(latency, [60_000, 60_000, 60_000]);
    }

    #[test]
    fn a_transformation_drops_some_records_and_fails_others_under_the_error_prefix() {
        let mut config = delivery(Buffering {
            size_mib: 5,
            interval: crate::model::duration::Duration::from_secs(60),
        });
        config.prefix = "trips/year=!{timestamp:yyyy}/".into();
        config.error_prefix = Some("errors/!{firehose:error-output-type}/".into());
        config.transformation = Some(Transformation {
            columns: vec!["upper(payload) AS shout".into()],
            keep_input_columns: false,
            dropped_when: Some("zone = 0".into()),
            failed_when: Some("zone IS NULL".into()),
            buffer_kib: 1_024,
            buffer_interval: crate::model::duration::Duration::from_secs(10),
        });
        let (mut op, memory, stats) = operator(&config);
        let (mut out, _) = Output::capturing(2);
        op.on_batch(0, rows(0, 5, 1_000, 3, Some(7)), &mut out)
            .unwrap();
        op.on_batch(0, rows(5, 3, 1_000, 3, Some(0)), &mut out)
            .unwrap();
        op.on_batch(0, rows(8, 2, 1_000, 3, None), &mut out)
            .unwrap();
        op.on_end(&mut out).unwrap();
        let view = stats.view();
        assert_eq!(
            (view.invocations, view.dropped, view.failed, view.delivered),
            (1, 3, 2, 5)
        );
        let all = memory.objects.lock().unwrap().clone();
        let (error_key, _, error_bytes) =
            all.iter().find(|(k, ..)| k.starts_with("errors/")).unwrap();
        assert!(error_key.starts_with("errors/processing-failed/fh-1-2024-01-15-13-00-08-"));
        let lines: Vec<serde_json::Value> = error_bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        for field in [
            "attemptsMade",
            "arrivalTimestamp",
            "errorCode",
            "errorMessage",
            "attemptEndingTimestamp",
            "rawData",
            "lambdaArn",
        ] {
            assert!(lines[0].get(field).is_some(), "{field} in {}", lines[0]);
        }
        let raw = base64::engine::general_purpose::STANDARD
            .decode(lines[0]["rawData"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            String::from_utf8(raw).unwrap(),
            r#"{"ts":"2024-01-15T13:00:08.000Z","zone":null,"payload":"xxx"}"#
        );
        assert_eq!(lines[0]["arrivalTimestamp"], START + 8_000);
        let (data_key, data, _) = all.iter().find(|(k, ..)| k.starts_with("trips/")).unwrap();
        assert!(data_key.starts_with("trips/year=2024/fh-1-2024-01-15-13-00-00-"));
        assert_eq!(data[0].schema().field(0).name(), "shout");
        assert_eq!(data[0].column(0).as_string::<i32>().value(0), "XXX");
    }

    #[test]
    fn dynamic_partitions_buffer_apart_and_a_null_key_or_one_too_many_is_refused() {
        let mut config = delivery(Buffering {
            size_mib: 5,
            interval: crate::model::duration::Duration::from_secs(60),
        });
        config.prefix = "by_zone/zone=!{partitionKeyFromQuery:zone}/".into();
        config.error_prefix = Some("errors/!{firehose:error-output-type}/".into());
        config.partition_keys = vec![PartitionKey {
            name: "zone".into(),
            sql: "CAST(zone AS VARCHAR)".into(),
        }];
        config.max_active_partitions = 2;
        let (mut op, memory, _) = operator(&config);
        let (mut out, captured) = Output::capturing(2);
        op.on_batch(0, rows(0, 3, 100, 3, Some(1)), &mut out)
            .unwrap();
        op.on_batch(0, rows(3, 2, 100, 3, Some(2)), &mut out)
            .unwrap();
        op.on_batch(0, rows(5, 4, 100, 3, Some(3)), &mut out)
            .unwrap();
        op.on_batch(0, rows(9, 1, 100, 3, None), &mut out).unwrap();
        op.on_end(&mut out).unwrap();
        let mut found: Vec<(String, usize)> = objects(&memory)
            .into_iter()
            .map(|(k, n)| (without_uuid(&k).to_string(), n))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                // No timestamp in the prefix: Firehose adds the UTC path.
                (
                    "by_zone/zone=1/2024/01/15/13/fh-1-2024-01-15-13-00-00".to_string(),
                    3
                ),
                (
                    "by_zone/zone=2/2024/01/15/13/fh-1-2024-01-15-13-00-00".to_string(),
                    2
                ),
                (
                    "errors/activePartitionExceeded/fh-1-2024-01-15-13-00-00".to_string(),
                    4
                ),
            ]
        );
        let refused = captured.batches(ERRORS_PORT);
        assert_eq!(refused.len(), 1);
        let reason = refused[0]
            .column_by_name("reason")
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .to_string();
        assert_eq!(reason, "the partition key `zone` is NULL");
    }

    #[test]
    fn a_record_the_transformation_fails_on_comes_back_processing_failed_with_the_error() {
        let mut config = delivery(Buffering {
            size_mib: 5,
            interval: crate::model::duration::Duration::from_secs(60),
        });
        config.transformation = Some(Transformation {
            columns: vec!["100 / zone AS per_zone".into()],
            keep_input_columns: true,
            dropped_when: None,
            failed_when: None,
            buffer_kib: 1_024,
            buffer_interval: crate::model::duration::Duration::from_secs(10),
        });
        let (mut op, memory, stats) = operator(&config);
        let (mut out, _) = Output::capturing(2);
        op.on_batch(0, rows(0, 2, 1_000, 3, Some(4)), &mut out)
            .unwrap();
        op.on_batch(0, rows(2, 1, 1_000, 3, Some(0)), &mut out)
            .unwrap();
        op.on_batch(0, rows(3, 2, 1_000, 3, Some(5)), &mut out)
            .unwrap();
        op.on_end(&mut out).unwrap();
        let view = stats.view();
        assert_eq!((view.failed, view.delivered), (1, 4));
        let all = memory.objects.lock().unwrap().clone();
        let (_, _, errors) = all
            .iter()
            .find(|(k, ..)| k.contains("processing-failed"))
            .unwrap();
        let document: serde_json::Value =
            serde_json::from_slice(errors.split(|&b| b == b'\n').next().unwrap()).unwrap();
        assert_eq!(document["errorCode"], "Lambda.FunctionError");
        assert!(
            document["errorMessage"]
                .as_str()
                .unwrap()
                .contains("Divide by zero"),
            "{document}"
        );
    }

    #[test]
    fn a_record_over_a_thousand_kibibytes_is_refused_with_its_size() {
        let (mut op, memory, _) = operator(&delivery(Buffering::default()));
        let (mut out, captured) = Output::capturing(2);
        op.on_batch(0, rows(0, 1, 100, 1_024_000, None), &mut out)
            .unwrap();
        op.on_end(&mut out).unwrap();
        assert!(objects(&memory).is_empty());
        let refused = captured.batches(ERRORS_PORT);
        let reason = refused[0]
            .column_by_name("reason")
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .to_string();
        assert!(reason.contains("1,000 KiB"), "{reason}");
    }
}
