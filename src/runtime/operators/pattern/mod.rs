//! The pattern operator (MATCH_RECOGNIZE): rows wait, per key, until the watermark passes them
//! (a row at or behind the watermark when it arrives is late, and dropped as Flink's CEP drops
//! it), then are matched in event-time order (arrival order among equal times). Conditions that
//! read only the row are evaluated for all released rows at once; those that read the match are
//! evaluated per row for every run that tries it, with the navigations filled from the run.

mod java_heap;
mod navigate;
mod nfa;
mod partitions;
mod saved;
mod tracing;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray, UInt32Array};
use arrow::compute::{interleave, take};
use arrow::datatypes::{Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion_common::ScalarValue;
use rustc_hash::FxHashMap;

use crate::expr::navigation::{Navigation, PatternExpr, navigation_column};
use crate::model::kinds::pattern::PlannedPattern;
use crate::model::kinds::pattern::syntax::Step;
use crate::model::time::RowTime;
use crate::runtime::contract::{InstanceMetrics, OpResult, Operator, Output, RunError, Timestamp};
use crate::runtime::contract::{InstanceOf, MIN_WATERMARK, SendFailure};
use crate::runtime::keys::KeyEncoder;
use crate::runtime::pattern_stats::{PartialLine, PatternStats, PatternView, SHOWN_KEYS};
use crate::runtime::row_times::row_times;
use crate::runtime::trace::EventTrace;
use java_heap::JavaHeap;
use navigate::{Mapped, MatchedRow, navigate};
use nfa::{Run, TakenRev, completes, pruned, pruning, steps_to_try, takes};
use partitions::Partitions;
use tracing::PatternTracer;

const OUT_PORT: usize = 0;
const TIMEOUT_PORT: usize = 1;

/// How a step's condition is evaluated.
enum Condition {
    /// No condition: every row.
    Always,
    /// Reads only the row: evaluated for all released rows at once.
    RowOnly(PatternExpr, SchemaRef),
    /// Reads the match: evaluated per run.
    Iterative(PatternExpr, SchemaRef),
}

/// The matching state of one key.
struct Partition {
    key: Vec<ScalarValue>,
    runs: Vec<Run>,
    /// Complete matches waiting for an earlier-started partial match to end, in Flink's order.
    pending: JavaHeap<Run>,
    matches: u64,
    /// The event time of the key's newest row.
    last_ts: Timestamp,
}

/// Rows released by a watermark, in order, with each row's time and match-order number, and
/// when each arrived (wall seconds, for the trace).
type Released = (RecordBatch, Vec<(Timestamp, u64)>, Vec<f64>);

/// What Flink orders matches by: their first row.
fn start_of(run: &Run) -> u64 {
    run.start_seq
}

impl Partition {
    /// A placeholder while the partition is worked on outside the map.
    fn empty() -> Self {
        Self {
            key: Vec::new(),
            runs: Vec::new(),
            pending: JavaHeap::new(start_of),
            matches: 0,
            last_ts: MIN_WATERMARK,
        }
    }
}

/// A match or timed-out partial match to turn into an output row.
struct Finished {
    key: Vec<ScalarValue>,
    run: Run,
    number: u64,
    /// The released row it was found at (`usize::MAX`: at the watermark), so matches of keys
    /// matched in waves come out in the order of the rows that made them.
    order: usize,
}

/// The watermark's own pass, after every released row.
const AT_WATERMARK: usize = usize::MAX;

/// A released row being matched. Its partition is taken out of the map while the row's wave is
/// worked on: a wave holds at most one row per key, so no partition is out twice.
struct Flight {
    row: usize,
    slot: usize,
    at: (Timestamp, u64),
    partition: Partition,
    current: Arc<MatchedRow>,
    /// The (run, step, whether the row meets it) of each step whose condition reads the match,
    /// for each run (a fresh start is run `runs.len()`) that could take the row there; the
    /// answers are filled in when the wave is evaluated.
    tries: Vec<(usize, usize, bool)>,
}

pub struct PatternOperator {
    steps: Vec<Step>,
    conditions: Vec<Condition>,
    /// Whether any condition reads the match (and so is evaluated per run).
    any_iterative: bool,
    /// Whether a measure is MATCH_NUMBER(), so a key's match count outlives its matches.
    numbers_matches: bool,
    measures: Vec<PatternExpr>,
    /// The schema each measure's navigations are planned over.
    measure_schemas: Vec<SchemaRef>,
    after_match: crate::model::kinds::pattern::AfterMatch,
    skip_step: Option<usize>,
    within_ms: Option<i64>,
    time: RowTime,
    input: SchemaRef,
    output: SchemaRef,
    timeout: SchemaRef,
    keys: KeyEncoder,
    /// Columns any navigation reads: only these are kept with a row taken into a match.
    kept_columns: Vec<bool>,
    /// Rows waiting for the watermark, in (time, arrival) order: (batch, row).
    waiting: BTreeMap<(Timestamp, u64), (u32, u32)>,
    /// The batches waiting rows are in: the batch, how many of its rows wait, when it arrived
    /// (wall seconds while traced, NaN otherwise).
    batches: FxHashMap<u32, (RecordBatch, u32, f64)>,
    next_batch: u32,
    /// Arrival numbers, to keep rows of equal time in arrival order while they wait.
    next_seq: u64,
    /// Match-order numbers of released rows.
    next_order: u64,
    next_run: u64,
    partitions: Partitions,
    watermark: Timestamp,
    metrics: Arc<InstanceMetrics>,
    stats: Arc<PatternStats>,
    part: u64,
    tracer: PatternTracer,
    /// Whether timed-out partial matches become rows (`timeout` is connected, or the trace is
    /// on); set at each watermark.
    keep_timeouts: bool,
    /// The ways a run takes a row, reused from row to row.
    ways: Vec<nfa::Take>,
}

/// The schema a pattern expression was planned over: the input's columns (in DEFINE), then one
/// column per navigation.
fn expr_schema(input: &Schema, expr: &PatternExpr, with_input: bool) -> SchemaRef {
    let mut fields: Vec<Field> = if with_input {
        input
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_nullable(true))
            .collect()
    } else {
        Vec::new()
    };
    for (i, n) in expr.navigations.iter().enumerate() {
        fields.push(Field::new(navigation_column(i), n.data_type.clone(), true));
    }
    Arc::new(Schema::new(fields))
}

pub fn build(
    planned: &PlannedPattern,
    input: &SchemaRef,
    metrics: &Arc<InstanceMetrics>,
    stats: Arc<PatternStats>,
    trace: Option<Arc<EventTrace>>,
) -> Result<Box<dyn Operator>, RunError> {
    let mut kept_columns = vec![false; input.fields().len()];
    let mut mark = |navs: &[Navigation]| {
        for n in navs {
            if let Some(c) = n.column
                && let Some(k) = kept_columns.get_mut(c)
            {
                *k = true;
            }
        }
    };
    let conditions: Vec<Condition> = planned
        .steps
        .iter()
        .map(|s| match &s.condition {
            None => Condition::Always,
            Some(c) => {
                mark(&c.navigations);
                let schema = expr_schema(input, c, true);
                if c.navigations.is_empty() {
                    Condition::RowOnly(c.clone(), schema)
                } else {
                    Condition::Iterative(c.clone(), schema)
                }
            }
        })
        .collect();
    let measures: Vec<PatternExpr> = planned.measures.iter().map(|(_, e)| e.clone()).collect();
    for m in &measures {
        mark(&m.navigations);
    }
    let measure_schemas = measures
        .iter()
        .map(|m| expr_schema(input, m, false))
        .collect();
    let keys = KeyEncoder::new(input, &planned.partition_by)?;
    Ok(Box::new(PatternOperator {
        steps: planned.steps.iter().map(|s| s.step.clone()).collect(),
        numbers_matches: measures.iter().any(|m| {
            m.navigations
                .iter()
                .any(|n| n.function == crate::expr::navigation::NavFunction::MatchNumber)
        }),
        any_iterative: conditions
            .iter()
            .any(|c| matches!(c, Condition::Iterative(..))),
        conditions,
        measures,
        measure_schemas,
        after_match: planned.after_match.clone(),
        skip_step: planned.skip_step,
        within_ms: planned.within_ms,
        time: planned.time,
        input: Arc::clone(input),
        output: Arc::clone(&planned.output),
        timeout: Arc::clone(&planned.timeout),
        keys,
        kept_columns,
        waiting: BTreeMap::new(),
        batches: FxHashMap::default(),
        next_batch: 0,
        next_seq: 0,
        next_order: 0,
        next_run: 0,
        partitions: Partitions::default(),
        watermark: MIN_WATERMARK,
        metrics: Arc::clone(metrics),
        part: stats.part(),
        stats,
        tracer: PatternTracer::new(trace, planned.within_ms.unwrap_or(60_000)),
        keep_timeouts: true,
        ways: Vec::new(),
    }))
}

fn arrow_err(e: impl std::fmt::Display) -> RunError {
    RunError::internal(e.to_string())
}

impl PatternOperator {
    /// The rows at or before `watermark`, in order, as one batch with their times and arrival
    /// order; their batches are let go when no waiting row is in them.
    fn release(&mut self, watermark: Timestamp) -> Result<Option<Released>, RunError> {
        let later = match watermark.checked_add(1) {
            Some(w) => self.waiting.split_off(&(w, 0)),
            None => BTreeMap::new(),
        };
        let ready = std::mem::replace(&mut self.waiting, later);
        if ready.is_empty() {
            return Ok(None);
        }
        let mut slots: FxHashMap<u32, usize> = FxHashMap::default();
        let mut order: Vec<u32> = Vec::new();
        let mut indices = Vec::with_capacity(ready.len());
        let mut times = Vec::with_capacity(ready.len());
        for (&(ts, _arrival), &(batch, row)) in &ready {
            let slot = *slots.entry(batch).or_insert_with(|| {
                order.push(batch);
                order.len() - 1
            });
            indices.push((slot, row as usize));
            // Rows are numbered in the order they are matched (time, then arrival): the
            // after-match strategies compare these numbers.
            times.push((ts, self.next_order));
            self.next_order += 1;
        }
        // When each row arrived is its batch's: looked up once per batch.
        let batch_arrivals: Vec<f64> = order
            .iter()
            .map(|b| self.batches.get(b).map_or(f64::NAN, |held| held.2))
            .collect();
        let arrivals: Vec<f64> = indices
            .iter()
            .map(|&(slot, _)| batch_arrivals.get(slot).copied().unwrap_or(f64::NAN))
            .collect();
        let held: Vec<&RecordBatch> = order
            .iter()
            .map(|b| self.batches.get(b).map(|(batch, ..)| batch))
            .collect::<Option<_>>()
            .ok_or_else(|| RunError::internal("a waiting row's batch was let go"))?;
        let mut columns = Vec::with_capacity(self.input.fields().len());
        for c in 0..self.input.fields().len() {
            let arrays: Vec<&dyn Array> = held.iter().map(|b| b.column(c).as_ref()).collect();
            columns.push(interleave(&arrays, &indices).map_err(arrow_err)?);
        }
        let released = RecordBatch::try_new(Arc::clone(&self.input), columns).map_err(arrow_err)?;
        for &(batch, _) in ready.values() {
            if let Some((_, live, _)) = self.batches.get_mut(&batch) {
                *live = live.saturating_sub(1);
            }
        }
        self.batches.retain(|_, (_, live, _)| *live > 0);
        Ok(Some((released, times, arrivals)))
    }

    /// Each row-only condition over all released rows.
    fn row_only(&self, released: &RecordBatch) -> Result<Vec<Option<BooleanArray>>, RunError> {
        self.conditions
            .iter()
            .map(|c| match c {
                Condition::RowOnly(expr, schema) => {
                    let batch =
                        RecordBatch::try_new(Arc::clone(schema), released.columns().to_vec())
                            .map_err(arrow_err)?;
                    let result = expr.planned.evaluate(&batch).map_err(arrow_err)?;
                    let result = result
                        .as_any()
                        .downcast_ref::<BooleanArray>()
                        .cloned()
                        .unwrap_or_else(|| BooleanArray::from(vec![None; released.num_rows()]));
                    Ok(Some(result))
                }
                _ => Ok(None),
            })
            .collect()
    }

    /// The row's values that navigations read.
    fn matched_row(
        &self,
        released: &RecordBatch,
        row: usize,
        ts: Timestamp,
        seq: u64,
        arrived: f64,
    ) -> Result<Arc<MatchedRow>, RunError> {
        let values = self
            .kept_columns
            .iter()
            .enumerate()
            .map(|(c, &keep)| {
                if keep {
                    ScalarValue::try_from_array(released.column(c), row).map_err(arrow_err)
                } else {
                    Ok(ScalarValue::Null)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(MatchedRow {
            ts,
            seq,
            values,
            arrived,
        }))
    }

    /// Takes a released row's partition out and gets the row ready to be matched: partial
    /// matches it comes too late for are ended, and the steps each run could take it at listed.
    fn begin_row(
        &mut self,
        slot: usize,
        released: &RecordBatch,
        row: usize,
        (ts, seq): (Timestamp, u64),
        arrived: f64,
        timed_out: &mut Vec<Finished>,
    ) -> Result<Flight, RunError> {
        // Taken out and put back in place: no key is copied per row.
        let Some(mut partition) = self.partitions.take(slot) else {
            return Err(RunError::internal("a released row has no partition"));
        };
        partition.last_ts = partition.last_ts.max(ts);
        self.time_out(&mut partition, ts, timed_out, row);
        let current = self.matched_row(released, row, ts, seq, arrived)?;
        let mut tries = Vec::new();
        if self.any_iterative {
            let runs = partition.runs.iter().map(Some).chain([None]);
            for (index, run) in runs.enumerate() {
                steps_to_try(&self.steps, run, &mut |step| {
                    if matches!(self.conditions.get(step), Some(Condition::Iterative(..))) {
                        tries.push((index, step, false));
                    }
                });
            }
        }
        Ok(Flight {
            row,
            slot,
            at: (ts, seq),
            partition,
            current,
            tries,
        })
    }

    /// Whether each row of a wave meets each iterative condition for each run that tries it:
    /// one evaluation per step over every (row, run) pair of the wave.
    fn iterative(&self, released: &RecordBatch, wave: &mut [Flight]) -> Result<(), RunError> {
        for (step, condition) in self.conditions.iter().enumerate() {
            let Condition::Iterative(expr, schema) = condition else {
                continue;
            };
            // (flight, its try) for every row of the wave and run that tries this step.
            let pairs: Vec<(usize, usize)> = wave
                .iter()
                .enumerate()
                .flat_map(|(f, flight)| {
                    flight
                        .tries
                        .iter()
                        .enumerate()
                        .filter(|(_, t)| t.1 == step)
                        .map(move |(k, _)| (f, k))
                })
                .collect();
            if pairs.is_empty() {
                continue;
            }
            let rows =
                UInt32Array::from_iter_values(pairs.iter().map(|&(f, _)| wave[f].row as u32));
            let mut columns: Vec<ArrayRef> = released
                .columns()
                .iter()
                .map(|c| take(c.as_ref(), &rows, None).map_err(arrow_err))
                .collect::<Result<_, _>>()?;
            for nav in &expr.navigations {
                let values = pairs.iter().map(|&(f, k)| {
                    let flight = &wave[f];
                    let taken = flight
                        .partition
                        .runs
                        .get(flight.tries[k].0)
                        .map_or(TakenRev::none(), Run::taken_rev);
                    navigate(nav, taken, Some((&flight.current, step)), 0)
                });
                columns.push(ScalarValue::iter_to_array(values).map_err(arrow_err)?);
            }
            let batch = RecordBatch::try_new(Arc::clone(schema), columns).map_err(arrow_err)?;
            let result = expr.planned.evaluate(&batch).map_err(arrow_err)?;
            let result = result.as_any().downcast_ref::<BooleanArray>();
            for (p, &(f, k)) in pairs.iter().enumerate() {
                let holds = result.is_some_and(|r| r.is_valid(p) && r.value(p));
                if let Some(answer) = wave[f].tries.get_mut(k) {
                    answer.2 = holds;
                }
            }
        }
        Ok(())
    }

    /// Matches a row in its partition and puts the partition back; matches found go to `found`.
    fn finish_row(
        &mut self,
        flight: Flight,
        row_only: &[Option<BooleanArray>],
        found: &mut Vec<Finished>,
    ) -> Result<(), RunError> {
        let Flight {
            row,
            slot,
            at: (ts, seq),
            mut partition,
            current,
            tries,
            ..
        } = flight;
        let holds = |run: usize, step: usize| match &self.conditions[step] {
            Condition::Always => true,
            Condition::RowOnly(..) => row_only[step]
                .as_ref()
                .is_some_and(|r| r.is_valid(row) && r.value(row)),
            Condition::Iterative(..) => tries
                .iter()
                .find(|t| (t.0, t.1) == (run, step))
                .is_some_and(|t| t.2),
        };
        let fresh = partition.runs.len();
        let mut ways = std::mem::take(&mut self.ways);
        let mut next_runs = Vec::new();
        let mut complete = Vec::new();
        for index in 0..=fresh {
            let run = partition.runs.get(index);
            takes(&self.steps, run, &|step| holds(index, step), &mut ways);
            for &t in &ways {
                let tail = Arc::new(nfa::Link {
                    row: Arc::clone(&current),
                    step: t.step,
                    prev: run.map(|r| Arc::clone(&r.tail)),
                });
                let extended = Run {
                    id: self.next_run,
                    start_seq: run.map_or(seq, |r| r.start_seq),
                    start_ts: run.map_or(ts, |r| r.start_ts),
                    step: t.step,
                    count: t.count,
                    tail,
                };
                self.next_run += 1;
                if completes(&self.steps, t) {
                    complete.push(extended);
                } else {
                    next_runs.push(extended);
                }
            }
        }
        self.ways = ways;
        partition.runs = next_runs;
        // Flink gathers a row's completed matches in a heap of their own, then adds them to the
        // waiting ones in that heap's order.
        let mut potential = JavaHeap::new(start_of);
        for m in complete {
            potential.offer(m);
        }
        for m in potential.into_items() {
            partition.pending.offer(m);
        }
        self.emit_ready(&mut partition, found, row)?;
        self.partitions.put(slot, partition);
        Ok(())
    }

    /// Matches the released rows: row by row, or — when conditions read the match — in waves
    /// of at most one row per key, each row's runs tried together with the other keys' in one
    /// evaluation per step. A key's rows keep their order; the rows' output keeps theirs.
    fn match_released(
        &mut self,
        (released, times, arrivals): &Released,
        found: &mut Vec<Finished>,
        timed_out: &mut Vec<Finished>,
    ) -> Result<(), RunError> {
        let row_only = self.row_only(released)?;
        let keys = self.keys.encode(released)?;
        let mut slots = Vec::with_capacity(times.len());
        for (row, &(ts, _)) in times.iter().enumerate() {
            let key: &[u8] = keys.as_ref().map_or(&[], |k| k.row(row).data());
            let columns = self.keys.columns();
            slots.push(self.partitions.slot_of(key, || {
                let values = columns
                    .iter()
                    .map(|&c| {
                        ScalarValue::try_from_array(released.column(c), row).map_err(arrow_err)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok::<_, RunError>(Partition {
                    key: values,
                    runs: Vec::new(),
                    pending: JavaHeap::new(start_of),
                    matches: 0,
                    last_ts: ts,
                })
            })?);
        }
        let arrived = |row: usize| arrivals.get(row).copied().unwrap_or(f64::NAN);
        if !self.any_iterative {
            for (row, &at) in times.iter().enumerate() {
                let flight =
                    self.begin_row(slots[row], released, row, at, arrived(row), timed_out)?;
                self.finish_row(flight, &row_only, found)?;
            }
            return Ok(());
        }
        for wave in waves(&slots) {
            let mut flights = Vec::with_capacity(wave.len());
            for row in wave {
                flights.push(self.begin_row(
                    slots[row],
                    released,
                    row,
                    times[row],
                    arrived(row),
                    timed_out,
                )?);
            }
            self.iterative(released, &mut flights)?;
            for flight in flights {
                self.finish_row(flight, &row_only, found)?;
            }
        }
        // Waves found matches out of the rows' order: put them back in it.
        found.sort_by_key(|f| f.order);
        timed_out.sort_by_key(|f| f.order);
        Ok(())
    }

    /// Emits the pending matches no earlier-started partial match can overtake, earliest first,
    /// pruning what the after-match strategy skips.
    fn emit_ready(
        &self,
        partition: &mut Partition,
        found: &mut Vec<Finished>,
        order: usize,
    ) -> Result<(), RunError> {
        while let Some(first) = partition.pending.peek() {
            let blocked = partition.runs.iter().any(|r| r.start_seq < first.start_seq);
            if blocked {
                break;
            }
            let Some(done) = partition.pending.poll() else {
                break;
            };
            let Some(cut) = pruning(&self.after_match, self.skip_step, &done) else {
                return Err(RunError::data(format!(
                    "a match took no row at the step its after-match strategy skips to ({}); as in Flink, matching cannot go on",
                    self.after_match.sql()
                )));
            };
            partition.runs.retain(|r| !pruned(r.start_seq, cut));
            partition.pending.remove_where(|r| pruned(r.start_seq, cut));
            partition.matches += 1;
            found.push(Finished {
                key: partition.key.clone(),
                run: done,
                number: partition.matches,
                order,
            });
        }
        Ok(())
    }

    /// Ends the partial matches `now` has carried past `within` (they go to `timeout`).
    fn time_out(
        &self,
        partition: &mut Partition,
        now: Timestamp,
        timed_out: &mut Vec<Finished>,
        order: usize,
    ) {
        let Some(within) = self.within_ms else {
            return;
        };
        let expired = |r: &Run| now.saturating_sub(r.start_ts) >= within;
        // Most rows and watermarks end nothing: nothing is moved then.
        if !partition.runs.iter().any(expired) {
            return;
        }
        if !self.keep_timeouts {
            // Nobody reads them: counted, not made into rows.
            let before = partition.runs.len();
            partition.runs.retain(|r| !expired(r));
            InstanceMetrics::add(
                &self.metrics.dropped_rows,
                (before - partition.runs.len()) as u64,
            );
            return;
        }
        let (expired, live): (Vec<Run>, Vec<Run>) = std::mem::take(&mut partition.runs)
            .into_iter()
            .partition(expired);
        partition.runs = live;
        timed_out.extend(expired.into_iter().map(|run| Finished {
            key: partition.key.clone(),
            run,
            number: 0,
            order,
        }));
    }

    /// The output rows of finished matches: the key columns, then each measure; with the step
    /// reached, for timed-out ones.
    fn rows_of(&self, finished: &[Finished], timeout: bool) -> Result<RecordBatch, RunError> {
        let mut columns: Vec<ArrayRef> = Vec::new();
        for (k, _) in self.keys.columns().iter().enumerate() {
            let values = finished
                .iter()
                .map(|f| f.key.get(k).cloned().unwrap_or(ScalarValue::Null));
            columns.push(ScalarValue::iter_to_array(values).map_err(arrow_err)?);
        }
        let mapped: Vec<Vec<Mapped>> = finished.iter().map(|f| f.run.mapped()).collect();
        for (measure, schema) in self.measures.iter().zip(&self.measure_schemas) {
            let mut navs: Vec<ArrayRef> = Vec::new();
            for nav in &measure.navigations {
                let values = finished.iter().zip(&mapped).map(|(f, rows)| {
                    let taken_rev = rows.iter().rev().map(|(row, step)| (row.as_ref(), *step));
                    navigate(nav, taken_rev, None, f.number)
                });
                navs.push(ScalarValue::iter_to_array(values).map_err(arrow_err)?);
            }
            let batch = if navs.is_empty() {
                RecordBatch::try_new_with_options(
                    Arc::clone(schema),
                    navs,
                    &arrow::record_batch::RecordBatchOptions::new()
                        .with_row_count(Some(finished.len())),
                )
            } else {
                RecordBatch::try_new(Arc::clone(schema), navs)
            }
            .map_err(arrow_err)?;
            columns.push(measure.planned.evaluate(&batch).map_err(arrow_err)?);
        }
        let schema = if timeout {
            let reached = finished
                .iter()
                .map(|f| self.steps.get(f.run.step).map(|s| s.name.clone()));
            columns.push(Arc::new(StringArray::from_iter(reached)));
            Arc::clone(&self.timeout)
        } else {
            Arc::clone(&self.output)
        };
        // Key columns come back with the input's types; measures with their planned ones.
        let columns = columns
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() {
                    Ok(c)
                } else {
                    arrow::compute::cast(&c, f.data_type()).map_err(arrow_err)
                }
            })
            .collect::<Result<Vec<_>, _>>()?;
        RecordBatch::try_new(schema, columns).map_err(arrow_err)
    }

    fn publish(&self) {
        let runs: usize = self
            .partitions
            .values()
            .map(|p| p.runs.len() + p.pending.len())
            .sum();
        self.metrics.open_windows.store(runs as u64, Relaxed);
        self.metrics
            .keys
            .store(self.partitions.len() as u64, Relaxed);
        self.metrics
            .waiting_rows
            .store(self.waiting.len() as u64, Relaxed);
    }

    /// The partial matches per step, and the keys furthest along, for the app.
    fn publish_view(&self) {
        let mut at_step: Vec<(String, u64)> =
            self.steps.iter().map(|s| (s.name.clone(), 0)).collect();
        let mut furthest: Vec<(&Partition, &Run)> = Vec::new();
        let mut pending = 0;
        for p in self.partitions.values() {
            pending += p.pending.len() as u64;
            let mut best: Option<&Run> = None;
            for run in &p.runs {
                if let Some(slot) = at_step.get_mut(run.step) {
                    slot.1 += 1;
                }
                if best.is_none_or(|f| (run.step, run.count) > (f.step, f.count)) {
                    best = Some(run);
                }
            }
            if let Some(run) = best {
                furthest.push((p, run));
            }
        }
        // Only the keys shown are described (a key's text costs an allocation).
        // Only the few shown are put in order, not every key with a partial match.
        let rank = |(_, r): &(&Partition, &Run)| std::cmp::Reverse((r.step, r.count));
        if furthest.len() > SHOWN_KEYS {
            furthest.select_nth_unstable_by_key(SHOWN_KEYS, rank);
            furthest.truncate(SHOWN_KEYS);
        }
        furthest.sort_by_key(rank);
        let mut keys: Vec<PartialLine> = furthest
            .into_iter()
            .map(|(p, run)| PartialLine {
                key: p
                    .key
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                step: self
                    .steps
                    .get(run.step)
                    .map(|s| s.name.clone())
                    .unwrap_or_default(),
                rows: run.mapped().len(),
                started: run.start_ts,
            })
            .collect();
        keys.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.key.cmp(&b.key)));
        self.stats.publish(
            self.part,
            PatternView {
                at_step,
                pending,
                waiting: self.waiting.len() as u64,
                keys,
            },
        );
    }
}

impl Operator for PatternOperator {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        let times = row_times(self.time, &batch)?;
        if self.tracer.is_on() {
            self.tracer
                .events(&batch, self.keys.columns(), &times, self.watermark);
        }
        let id = self.next_batch;
        self.next_batch = self.next_batch.wrapping_add(1);
        let mut live = 0u32;
        let mut late = 0u64;
        for (row, ts) in times.iter().enumerate() {
            match ts {
                Some(ts) if *ts > self.watermark => {
                    self.metrics.see_event_time(*ts);
                    self.waiting.insert((*ts, self.next_seq), (id, row as u32));
                    self.next_seq += 1;
                    live += 1;
                }
                // Behind the watermark (or without a time): it cannot be put in order any more.
                _ => late += 1,
            }
        }
        InstanceMetrics::add(&self.metrics.late_rows, late);
        if live > 0 {
            let arrived = self.tracer.now_secs();
            self.batches.insert(id, (batch, live, arrived));
        }
        self.publish();
        Ok(())
    }

    fn on_watermark(&mut self, watermark: Timestamp, out: &mut Output) -> OpResult {
        self.watermark = watermark;
        let connected = out.is_connected(TIMEOUT_PORT);
        self.keep_timeouts = connected || self.tracer.is_on();
        let mut found = Vec::new();
        let mut timed_out = Vec::new();
        if let Some(released) = self.release(watermark)? {
            self.match_released(&released, &mut found, &mut timed_out)?;
        }
        // The watermark ends partial matches that can no longer finish in time, in every key.
        // A key with nothing in progress is let go once no row came for it for `within` (a
        // minute without one), so keys that are ever new keep no state and busy keys are not
        // made again and again; when a measure numbers the matches, a key that matched keeps
        // its count.
        let keep_counts = self.numbers_matches;
        let linger = self.within_ms.unwrap_or(60_000);
        let mut partitions = std::mem::take(&mut self.partitions);
        let mut failed = None;
        partitions.retain(|p| {
            if !p.runs.is_empty() || !p.pending.is_empty() {
                self.time_out(p, watermark, &mut timed_out, AT_WATERMARK);
                if let Err(e) = self.emit_ready(p, &mut found, AT_WATERMARK) {
                    failed = Some(e);
                }
            }
            let idle = p.runs.is_empty() && p.pending.is_empty();
            let stale = watermark.saturating_sub(p.last_ts) > linger;
            !idle || !stale || (keep_counts && p.matches > 0)
        });
        self.partitions = partitions;
        if let Some(e) = failed {
            return Err(e.into());
        }
        self.tracer.watermark(watermark);
        if !found.is_empty() {
            let rows = self.rows_of(&found, false)?;
            self.tracer.matches(&found, false, &rows);
            out.emit(OUT_PORT, rows)?;
        }
        self.publish_view();
        if !timed_out.is_empty() {
            let rows = self.rows_of(&timed_out, true)?;
            self.tracer.matches(&timed_out, true, &rows);
            if connected {
                out.emit_side(TIMEOUT_PORT, rows)?;
            }
        }
        if !connected {
            InstanceMetrics::add(&self.metrics.dropped_rows, timed_out.len() as u64);
        }
        self.publish();
        Ok(())
    }

    /// See `saved.rs` for the encoding.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        self.save().map(Some).map_err(SendFailure::Failed)
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], me: InstanceOf) -> Result<(), RunError> {
        self.restore(saved, me)
    }
}

/// The released rows (by their partitions' slots) in waves: a row goes in the wave after the one
/// holding its key's previous row, so each wave has a key at most once and a key's rows come in
/// order.
fn waves(slots: &[usize]) -> Vec<Vec<usize>> {
    let mut seen = vec![0usize; slots.iter().max().map_or(0, |m| m + 1)];
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (row, &slot) in slots.iter().enumerate() {
        let count = &mut seen[slot];
        match waves.get_mut(*count) {
            Some(wave) => wave.push(row),
            None => waves.push(vec![row]),
        }
        *count += 1;
    }
    waves
}

#[cfg(test)]
mod tests;
