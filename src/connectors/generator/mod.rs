//! The generator source: deterministic synthetic events for a preset, with the disorder real
//! streams have: out-of-order arrival, late events, duplicates, skewed (hot) keys and idle keys.

mod random;
mod rows;

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use self::random::{Rng, Zipf};
use self::rows::RowMaker;
use super::columns::{BatchBuilder, Cell};
use super::csv_source::{CHUNK_ROWS, CHUNK_SPAN_MS};
use crate::model::kinds::generator::{GeneratorSource, PlannedGenerator, StopAfter};
use crate::model::kinds::source_time::Time;
use crate::runtime::contract::{RunError, Source, SourceChunk, SourcePosition};

/// Idle keys send events only during this first stretch of event time.
const IDLE_KEYS_ACTIVE_MS: i64 = 60_000;

/// An event generated but not yet delivered (it arrives later than it happened).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct InFlight {
    arrival: i64,
    seq: u64,
    cells: Vec<CellKey>,
}

/// `Cell` with a total order so in-flight events can sit in a heap (floats by their bits).
#[derive(PartialEq, Eq, PartialOrd, Ord, Clone)]
enum CellKey {
    Null,
    Bool(bool),
    Int(i64),
    Float(u64),
    Text(String),
    Time(i64),
}

impl From<Cell> for CellKey {
    fn from(c: Cell) -> Self {
        match c {
            Cell::Null => CellKey::Null,
            Cell::Bool(b) => CellKey::Bool(b),
            Cell::Int(i) => CellKey::Int(i),
            Cell::Float(f) => CellKey::Float(f.to_bits()),
            Cell::Text(s) => CellKey::Text(s),
            Cell::Time(t) => CellKey::Time(t),
        }
    }
}

impl From<&CellKey> for Cell {
    fn from(c: &CellKey) -> Self {
        match c {
            CellKey::Null => Cell::Null,
            CellKey::Bool(b) => Cell::Bool(*b),
            CellKey::Int(i) => Cell::Int(*i),
            CellKey::Float(f) => Cell::Float(f64::from_bits(*f)),
            CellKey::Text(s) => Cell::Text(s.clone()),
            CellKey::Time(t) => Cell::Time(*t),
        }
    }
}

pub struct GeneratorSourceReader {
    config: GeneratorSource,
    schema: SchemaRef,
    /// Chunks handed out so far: the generator's position (it replays to a position on seek).
    delivered: u64,
    rng: Rng,
    keys: Zipf,
    maker: RowMaker,
    builder: BatchBuilder,
    in_flight: BinaryHeap<Reverse<InFlight>>,
    start_ms: i64,
    next_seq: u64,
    generated: u64,
    exhausted: bool,
    cells: Vec<Cell>,
    /// An arrived event that did not fit the previous chunk.
    pending: Option<(i64, Vec<Cell>)>,
}

/// The reader of a planned generator node.
pub fn build(planned: &PlannedGenerator, schema: SchemaRef) -> GeneratorSourceReader {
    GeneratorSourceReader::new(&planned.config, planned.start_ms, schema)
}

impl GeneratorSourceReader {
    pub fn new(config: &GeneratorSource, start_ms: i64, schema: SchemaRef) -> Self {
        let time_column = match &config.time {
            Time::EventTime(t) => Some(t.column.clone()),
            Time::ProcessingTime => None,
        };
        Self {
            rng: Rng::new(config.seed),
            keys: Zipf::new(config.keys.max(1) as usize, config.key_skew),
            maker: RowMaker::new(config.preset, &schema, time_column, config.seed),
            builder: BatchBuilder::new(schema.clone()),
            config: config.clone(),
            schema,
            delivered: 0,
            in_flight: BinaryHeap::new(),
            start_ms,
            next_seq: 0,
            generated: 0,
            exhausted: false,
            cells: Vec::new(),
            pending: None,
        }
    }

    fn event_time_of(&self, seq: u64) -> i64 {
        let rate = self.config.events_per_sec.max(1) as i64;
        self.start_ms + (seq as i64 * 1000) / rate
    }

    fn finished_generating(&self, next_time: i64) -> bool {
        match &self.config.stop_after {
            StopAfter::Events(n) => self.generated >= *n,
            StopAfter::EventTime(d) => next_time >= self.start_ms + d.as_millis(),
            StopAfter::Never => false,
        }
    }

    fn pick_key(&mut self, t: i64) -> usize {
        let keys = self.config.keys.max(1) as usize;
        let idle_from = keys - (self.config.idle_keys as usize).min(keys);
        for _ in 0..16 {
            let key = self.keys.sample(&mut self.rng);
            let idle = key >= idle_from && t >= self.start_ms + IDLE_KEYS_ACTIVE_MS;
            if !idle && self.maker.key_is_active(key, t) {
                return key;
            }
        }
        // Fall back to the most popular key that is not idle.
        0
    }

    /// Generates the next event and puts it (and maybe a duplicate) in flight.
    fn generate_one(&mut self) -> i64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        let t = self.event_time_of(seq);
        let key = self.pick_key(t);
        let disorder = self.config.disorder.as_millis().max(0);
        let mut delay = if disorder > 0 {
            self.rng.below(disorder as u64 + 1) as i64
        } else {
            0
        };
        if self.config.late_share > 0.0 && self.rng.chance(self.config.late_share) {
            delay += self.config.late_by.as_millis().max(0);
        }
        self.maker.make(seq, t, key, &mut self.rng, &mut self.cells);
        let cells: Vec<CellKey> = self.cells.drain(..).map(CellKey::from).collect();
        if self.config.duplicate_share > 0.0 && self.rng.chance(self.config.duplicate_share) {
            let again = 1 + self.rng.below(500) as i64;
            self.in_flight.push(Reverse(InFlight {
                arrival: t + delay + again,
                seq,
                cells: cells.clone(),
            }));
        }
        self.in_flight.push(Reverse(InFlight {
            arrival: t + delay,
            seq,
            cells,
        }));
        self.generated += 1;
        t
    }
}

impl Source for GeneratorSourceReader {
    fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError> {
        let chunk = self.generate_chunk()?;
        self.delivered += u64::from(chunk.is_some());
        Ok(chunk)
    }

    fn position(&self) -> SourcePosition {
        SourcePosition::Chunks {
            delivered: self.delivered,
        }
    }

    fn seek(&mut self, position: &SourcePosition) -> Result<(), RunError> {
        let SourcePosition::Chunks { delivered } = *position else {
            return Err(RunError::internal(format!(
                "a generator cannot go to {position:?}"
            )));
        };
        // The same seed gives the same events: start over and replay to the position.
        *self = Self::new(&self.config, self.start_ms, Arc::clone(&self.schema));
        while self.delivered < delivered {
            if self.next_chunk()?.is_none() {
                break;
            }
        }
        Ok(())
    }
}

impl GeneratorSourceReader {
    fn generate_chunk(&mut self) -> Result<Option<SourceChunk>, RunError> {
        let mut first_arrival: Option<i64> = None;
        if let Some((arrival, cells)) = self.pending.take() {
            first_arrival = Some(arrival);
            self.builder.append(&cells);
        }
        loop {
            // Deliver everything that has arrived by the time the newest event happened.
            let now = if self.exhausted {
                i64::MAX
            } else {
                let next_time = self.event_time_of(self.next_seq);
                if self.finished_generating(next_time) {
                    self.exhausted = true;
                    continue;
                }
                self.generate_one()
            };
            while let Some(Reverse(next)) = self.in_flight.peek() {
                if next.arrival > now {
                    break;
                }
                let Some(Reverse(event)) = self.in_flight.pop() else {
                    break;
                };
                let first = *first_arrival.get_or_insert(event.arrival);
                let cells: Vec<Cell> = event.cells.iter().map(Cell::from).collect();
                // A chunk holds events that arrived within CHUNK_SPAN_MS, at most CHUNK_ROWS;
                // the event that does not fit starts the next chunk.
                if self.builder.rows() >= CHUNK_ROWS || event.arrival - first >= CHUNK_SPAN_MS {
                    self.pending = Some((event.arrival, cells));
                    let rows = self.builder.finish().map_err(RunError::internal)?;
                    return Ok(Some(SourceChunk { rows, errors: None }));
                }
                self.builder.append(&cells);
            }
            if self.exhausted && self.in_flight.is_empty() && self.pending.is_none() {
                if self.builder.rows() > 0 {
                    let rows = self.builder.finish().map_err(RunError::internal)?;
                    return Ok(Some(SourceChunk { rows, errors: None }));
                }
                return Ok(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::file::parse;
    use crate::model::infer::parse_timestamp_millis;
    use crate::model::kinds::{NodeKind, SourceKind};

    fn generator(ron_knobs: &str) -> GeneratorSourceReader {
        let text = format!(
            r#"(format_version: 1, name: "g", nodes: [(id: "g", kind: Source(Generator({ron_knobs},
                start_time: "2024-03-01T12:00:00Z", time: EventTime(column: "event_time", max_out_of_orderness: "1s"))))])"#
        );
        let pipeline = parse(&text).unwrap();
        let NodeKind::Source(SourceKind::Generator(config)) = &pipeline.nodes[0].kind else {
            panic!("not a generator")
        };
        let schema = std::sync::Arc::new(config.preset.info().schema);
        let start = parse_timestamp_millis(&config.start_time).unwrap();
        GeneratorSourceReader::new(config, start, schema)
    }

    #[test]
    fn seeking_back_replays_the_same_chunks() {
        let mut g = generator(
            r#"preset: Payments, events_per_sec: 500, keys: 10, seed: 9, disorder: "1s", duplicate_share: 0.1, stop_after: Events(3000)"#,
        );
        g.next_chunk().unwrap();
        let at = g.position();
        let ahead: Vec<_> = std::iter::from_fn(|| g.next_chunk().unwrap())
            .map(|c| c.rows)
            .collect();
        g.seek(&at).unwrap();
        assert_eq!(g.position(), at);
        let again: Vec<_> = std::iter::from_fn(|| g.next_chunk().unwrap())
            .map(|c| c.rows)
            .collect();
        assert!(!ahead.is_empty());
        assert_eq!(ahead, again);
    }

    #[test]
    fn chunks_hold_under_200ms_of_arrivals_and_all_events_arrive() {
        let mut g = generator(
            r#"preset: IotSensors, events_per_sec: 1000, keys: 10, seed: 3, stop_after: Events(1000)"#,
        );
        let mut sizes = Vec::new();
        while let Some(chunk) = g.next_chunk().unwrap() {
            sizes.push(chunk.rows.num_rows());
        }
        assert_eq!(sizes, vec![200; 5]);
    }

    #[test]
    fn disorder_late_events_and_duplicates_follow_the_knobs() {
        let mut g = generator(
            r#"preset: IotSensors, events_per_sec: 1000, keys: 10, seed: 3, disorder: "2s", late_share: 0.05, late_by: "30s", duplicate_share: 0.02, stop_after: Events(20000)"#,
        );
        let mut times = Vec::new();
        while let Some(chunk) = g.next_chunk().unwrap() {
            let column = chunk
                .rows
                .column(2)
                .as_any()
                .downcast_ref::<arrow::array::TimestampMillisecondArray>()
                .unwrap();
            times.extend(column.values().iter().copied());
        }
        let duplicates = times.len() - 20_000;
        assert!(
            (300..500).contains(&duplicates),
            "about 2% duplicates, got {duplicates}"
        );
        // How far each event arrives behind the newest event before it.
        let mut newest = i64::MIN;
        let (mut within_disorder, mut very_late) = (0, 0);
        for t in &times {
            let behind = if newest == i64::MIN { 0 } else { newest - t };
            newest = newest.max(*t);
            if behind > 2_000 {
                very_late += 1;
                assert!(
                    behind <= 32_000,
                    "no event is later than late_by + disorder: {behind}"
                );
            } else if behind > 0 {
                within_disorder += 1;
            }
        }
        assert!(within_disorder > 5_000, "{within_disorder}");
        assert!(
            (700..1_300).contains(&very_late),
            "about 5% late events, got {very_late}"
        );
    }
}
