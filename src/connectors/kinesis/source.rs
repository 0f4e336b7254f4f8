//! The Kinesis source: lists the stream's shards, reads every open one with `GetRecords` from its
//! starting position, a closed parent to its end before its children (`ChildShards` at the end
//! of a parent, as streaming-facts §1.5 says), and turns each record's JSON data into a row with
//! the record's shard, sequence number, partition key and arrival time. Records that are not a
//! JSON object with fitting fields go to `errors`. Throttled calls wait and try again; an expired
//! iterator is renewed after the last record read. Its checkpointed position is the sequence
//! number of the last record read from each shard, as Flink's Kinesis source keeps: a restored
//! run reads on just after it (`AFTER_SEQUENCE_NUMBER`).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration as StdDuration;

use arrow::datatypes::SchemaRef;
use aws_sdk_kinesis::primitives::DateTime;
use aws_sdk_kinesis::types::ShardIteratorType;

use super::Connection;
use crate::connectors::columns::{BatchBuilder, Cell, ColumnKind};
use crate::connectors::row_errors::RowErrors;
use crate::model::kinds::kinesis::consumers::PlannedStart;
use crate::model::kinds::kinesis::source::{PlannedKinesisSource, ReadUntil};
use crate::runtime::contract::{RunError, ShardPosition, Source, SourceChunk, SourcePosition};

/// Records a `GetRecords` call asks for (the most it may).
const RECORDS_PER_CALL: i32 = 10_000;
/// The columns the source adds after the record's fields.
const METADATA_COLUMNS: usize = 4;
/// Kinesis recommends waiting a second after a throttled call.
const THROTTLED_WAIT: StdDuration = StdDuration::from_secs(1);

/// One shard as the source knows it.
#[derive(Debug)]
struct ShardState {
    parents: Vec<String>,
    /// Where the next call reads; `None` before the shard was opened.
    iterator: Option<String>,
    last_sequence: Option<String>,
    /// Read to its end (its iterator came back empty): its children may be read.
    finished: bool,
    /// `MillisBehindLatest` of its last answer, and whether that answer had records.
    behind_ms: Option<i64>,
    last_was_empty: bool,
    /// When its iterator was opened (epoch ms), for a position with nothing read yet.
    opened_at: Option<i64>,
}

pub struct KinesisSource {
    connection: Connection,
    planned: PlannedKinesisSource,
    kinds: Vec<ColumnKind>,
    names: Vec<String>,
    time_column: Option<usize>,
    rows: BatchBuilder,
    cells: Vec<Cell>,
    /// Every shard seen, by id (ids sort in the order Kinesis numbers them).
    shards: BTreeMap<String, ShardState>,
    listed: bool,
    /// Records read so far (bad ones included): the `line` of a bad record.
    records: u64,
    done: bool,
}

/// The reader of a planned Kinesis source node; `schema` is its `out` port's.
pub fn build(
    planned: &PlannedKinesisSource,
    schema: SchemaRef,
    time_column: Option<usize>,
) -> Result<KinesisSource, RunError> {
    let connection = Connection::open(
        &planned.stream,
        &planned.region,
        planned.endpoint.as_deref(),
    )?;
    let fields = schema.fields().len().saturating_sub(METADATA_COLUMNS);
    Ok(KinesisSource {
        connection,
        planned: planned.clone(),
        kinds: schema
            .fields()
            .iter()
            .take(fields)
            .map(|f| ColumnKind::of(f.data_type()))
            .collect(),
        names: schema
            .fields()
            .iter()
            .take(fields)
            .map(|f| f.name().clone())
            .collect(),
        time_column,
        rows: BatchBuilder::new(schema),
        cells: Vec::new(),
        shards: BTreeMap::new(),
        listed: false,
        records: 0,
        done: false,
    })
}

impl KinesisSource {
    /// Lists every shard of the stream (pages of `ListShards`).
    fn list_shards(&mut self) -> Result<(), RunError> {
        let mut token: Option<String> = None;
        loop {
            let request = match &token {
                Some(t) => self.connection.client().list_shards().next_token(t),
                None => self
                    .connection
                    .client()
                    .list_shards()
                    .stream_name(&self.planned.stream),
            };
            let answer = self
                .connection
                .call(request.send())
                .map_err(|e| self.connection.explain("listing the shards of", &e))?;
            for shard in answer.shards() {
                let parents = [shard.parent_shard_id(), shard.adjacent_parent_shard_id()]
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect();
                self.shards
                    .entry(shard.shard_id().to_string())
                    .or_insert_with(|| ShardState::new(parents));
            }
            token = answer.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        // A parent that is no longer listed has expired: nothing of it is left to read first.
        let known: BTreeSet<String> = self.shards.keys().cloned().collect();
        for state in self.shards.values_mut() {
            state.parents.retain(|p| known.contains(p));
        }
        self.listed = true;
        Ok(())
    }

    /// Opens every shard whose parents were read to their end.
    fn open_ready_shards(&mut self) -> Result<(), RunError> {
        let finished: BTreeSet<String> = self
            .shards
            .iter()
            .filter(|(_, s)| s.finished)
            .map(|(id, _)| id.clone())
            .collect();
        let ready: Vec<(String, bool)> = self
            .shards
            .iter()
            .filter(|(_, s)| s.iterator.is_none() && !s.finished)
            .filter(|(_, s)| s.parents.iter().all(|p| finished.contains(p)))
            .map(|(id, s)| (id.clone(), s.parents.is_empty()))
            .collect();
        for (id, first_generation) in ready {
            let (after, opened_at) = self
                .shards
                .get(&id)
                .map(|s| (s.last_sequence.clone(), s.opened_at))
                .unwrap_or_default();
            // A child continues its parents: it is read from its beginning. A shard a restored
            // run had opened without reading anything is read from when it was opened.
            let start = match (first_generation, opened_at) {
                (false, _) => PlannedStart::TrimHorizon,
                (true, Some(at)) if self.planned.start == PlannedStart::Latest => {
                    PlannedStart::AtTimestamp(at)
                }
                (true, _) => self.planned.start,
            };
            let iterator = self.iterator(&id, start, after.as_deref())?;
            let now = chrono::Utc::now().timestamp_millis();
            if let Some(state) = self.shards.get_mut(&id) {
                state.opened_at.get_or_insert(now);
                state.iterator = iterator;
                if state.iterator.is_none() {
                    state.finished = true;
                }
            }
        }
        Ok(())
    }

    /// A shard iterator for `shard` at `start`, or just after `after` when given.
    fn iterator(
        &self,
        shard: &str,
        start: PlannedStart,
        after: Option<&str>,
    ) -> Result<Option<String>, RunError> {
        let mut request = self
            .connection
            .client()
            .get_shard_iterator()
            .stream_name(&self.planned.stream)
            .shard_id(shard);
        request = match (after, start) {
            (Some(sequence), _) => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .starting_sequence_number(sequence),
            (None, PlannedStart::TrimHorizon) => {
                request.shard_iterator_type(ShardIteratorType::TrimHorizon)
            }
            (None, PlannedStart::Latest) => request.shard_iterator_type(ShardIteratorType::Latest),
            (None, PlannedStart::AtTimestamp(ms)) => request
                .shard_iterator_type(ShardIteratorType::AtTimestamp)
                .timestamp(DateTime::from_millis(ms)),
        };
        let answer = self
            .connection
            .call(request.send())
            .map_err(|e| self.connection.explain("opening a shard iterator on", &e))?;
        Ok(answer.shard_iterator().map(str::to_string))
    }

    /// One `GetRecords` call on `shard`: its records go into the chunk being built.
    fn read_shard(&mut self, shard: &str, errors: &mut RowErrors) -> Result<usize, RunError> {
        let Some(iterator) = self.shards.get(shard).and_then(|s| s.iterator.clone()) else {
            return Ok(0);
        };
        let call = self
            .connection
            .client()
            .get_records()
            .shard_iterator(iterator)
            .limit(RECORDS_PER_CALL)
            .send();
        let answer = match self.connection.call(call) {
            Ok(answer) => answer,
            Err(error) => {
                let service = error.as_service_error();
                if service.is_some_and(|e| e.is_provisioned_throughput_exceeded_exception()) {
                    // Over the shard's 5 calls or 2 MiB a second: wait, as Kinesis advises.
                    std::thread::sleep(THROTTLED_WAIT);
                    return Ok(0);
                }
                if service.is_some_and(|e| e.is_expired_iterator_exception()) {
                    let after = self.shards.get(shard).and_then(|s| s.last_sequence.clone());
                    let iterator = self.iterator(shard, self.planned.start, after.as_deref())?;
                    if let Some(state) = self.shards.get_mut(shard) {
                        state.iterator = iterator;
                    }
                    return Ok(0);
                }
                return Err(self.connection.explain("reading", &error));
            }
        };
        let mut read = 0;
        for record in answer.records() {
            self.records += 1;
            read += 1;
            let data = record.data().as_ref();
            match self.parse(data) {
                Ok(()) => {
                    self.cells.push(Cell::Text(shard.to_string()));
                    self.cells
                        .push(Cell::Text(record.sequence_number().to_string()));
                    self.cells.push(Cell::Text(
                        record.partition_key().unwrap_or_default().to_string(),
                    ));
                    let arrival = record
                        .approximate_arrival_timestamp()
                        .and_then(|t| t.to_millis().ok());
                    self.cells.push(arrival.map_or(Cell::Null, Cell::Time));
                    self.rows.append(&self.cells);
                }
                Err(reason) => errors.push(
                    self.records,
                    String::from_utf8_lossy(data).into_owned(),
                    format!(
                        "{shard}, sequence number {}: {reason}",
                        record.sequence_number()
                    ),
                ),
            }
        }
        let children: Vec<(String, Vec<String>)> = answer
            .child_shards()
            .iter()
            .map(|c| (c.shard_id().to_string(), c.parent_shards().to_vec()))
            .collect();
        if let Some(state) = self.shards.get_mut(shard) {
            if let Some(last) = answer.records().last() {
                state.last_sequence = Some(last.sequence_number().to_string());
            }
            state.iterator = answer.next_shard_iterator().map(str::to_string);
            state.behind_ms = answer.millis_behind_latest();
            state.last_was_empty = answer.records().is_empty();
            // The end of a closed shard: no next iterator, and its children named.
            if state.iterator.is_none() {
                state.finished = true;
            }
        }
        for (child, parents) in children {
            self.shards
                .entry(child)
                .or_insert_with(|| ShardState::new(parents));
        }
        Ok(read)
    }

    /// Parses one record's data into `cells` (the declared fields).
    fn parse(&mut self, data: &[u8]) -> Result<(), String> {
        let text = std::str::from_utf8(data).map_err(|_| "the data is not UTF-8 text")?;
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("the data is not valid JSON: {e}"))?;
        let serde_json::Value::Object(object) = value else {
            return Err("the data is JSON but not an object".into());
        };
        self.cells.clear();
        for (i, (name, kind)) in self.names.iter().zip(&self.kinds).enumerate() {
            let cell = match object.get(name) {
                Some(v) => kind
                    .parse_json(v)
                    .map_err(|reason| format!("field `{name}`: {reason}"))?,
                None => Cell::Null,
            };
            if Some(i) == self.time_column && cell == Cell::Null {
                return Err(format!("the event-time field `{name}` is missing or null"));
            }
            self.cells.push(cell);
        }
        Ok(())
    }

    /// Whether every shard has been read to its newest record.
    fn caught_up(&self) -> bool {
        self.shards.values().all(|s| {
            s.finished || (s.iterator.is_some() && s.last_was_empty && s.behind_ms == Some(0))
        })
    }
}

impl ShardState {
    fn new(parents: Vec<String>) -> Self {
        Self {
            parents,
            iterator: None,
            last_sequence: None,
            finished: false,
            behind_ms: None,
            last_was_empty: false,
            opened_at: None,
        }
    }
}

impl Source for KinesisSource {
    fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError> {
        if self.done {
            return Ok(None);
        }
        if !self.listed {
            self.list_shards()?;
        }
        self.open_ready_shards()?;
        let mut errors = RowErrors::default();
        let ids: Vec<String> = self
            .shards
            .iter()
            .filter(|(_, s)| s.iterator.is_some() && !s.finished)
            .map(|(id, _)| id.clone())
            .collect();
        let mut read = 0;
        for id in &ids {
            read += self.read_shard(id, &mut errors)?;
        }
        self.open_ready_shards()?;
        match self.planned.until {
            ReadUntil::Records(n) if self.records >= n => self.done = true,
            ReadUntil::CaughtUp if read == 0 && self.caught_up() => self.done = true,
            _ => {}
        }
        if read == 0 && !self.done {
            // Nothing new: wait before asking again. The empty chunk lets the run check
            // whether it was stopped meanwhile.
            std::thread::sleep(StdDuration::from_millis(
                self.planned.poll_every_ms.max(0) as u64
            ));
        }
        let rows = self
            .rows
            .finish()
            .map_err(|e| RunError::internal(format!("building rows: {e}")))?;
        Ok(Some(SourceChunk {
            rows,
            errors: errors.take_batch(),
        }))
    }

    /// Per shard, the last sequence number read (and whether it was read to its end).
    fn position(&self) -> SourcePosition {
        SourcePosition::Shards {
            records: self.records,
            shards: self
                .shards
                .iter()
                .map(|(id, s)| ShardPosition {
                    id: id.clone(),
                    parents: s.parents.clone(),
                    after: s.last_sequence.clone(),
                    opened_at: s.opened_at.filter(|_| s.iterator.is_some() || s.finished),
                    finished: s.finished,
                })
                .collect(),
        }
    }

    /// Goes back to the shards' positions: each is opened again just after its last record
    /// read once its parents are finished; shards created since are found by listing.
    fn seek(&mut self, position: &SourcePosition) -> Result<(), RunError> {
        let SourcePosition::Shards { records, shards } = position else {
            return Err(RunError::data(format!(
                "a Kinesis source cannot go back to {position:?}"
            )));
        };
        self.records = *records;
        self.shards = shards
            .iter()
            .map(|p| {
                let mut state = ShardState::new(p.parents.clone());
                state.last_sequence = p.after.clone();
                state.opened_at = p.opened_at;
                state.finished = p.finished;
                (p.id.clone(), state)
            })
            .collect();
        self.listed = false;
        self.done = false;
        Ok(())
    }
}
