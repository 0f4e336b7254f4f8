//! The CSV file source: streams a file record by record (never the whole file), parses each row
//! completely before keeping it, and sends rows that do not fit to `errors` with their line.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use csv::ByteRecord;

use super::columns::{BatchBuilder, Cell, ColumnKind};
use super::row_errors::RowErrors;
use crate::model::kinds::csv_source::PlannedCsvSource;
use crate::runtime::contract::{RunError, Source, SourceChunk, SourcePosition};

/// A chunk ends after this many rows...
pub const CHUNK_ROWS: usize = 4096;
/// ...or once it spans this much event time, so watermarks advance in small, data-defined steps.
pub const CHUNK_SPAN_MS: i64 = 200;

/// Cuts a stream of rows into chunks: at most `CHUNK_ROWS` rows, none more than `CHUNK_SPAN_MS`
/// of event time after the chunk's first row. A row that does not fit starts the next chunk.
#[derive(Default)]
pub struct ChunkCutter {
    first_ts: Option<i64>,
    rows: usize,
}

impl ChunkCutter {
    /// Whether a row with event time `ts` still fits the current chunk (and counts it if so).
    pub fn admit(&mut self, ts: Option<i64>) -> bool {
        if self.rows >= CHUNK_ROWS {
            return false;
        }
        if let Some(ts) = ts {
            match self.first_ts {
                // Only moving forward ends a chunk: an out-of-order (older) row stays in it.
                Some(first) if ts - first >= CHUNK_SPAN_MS => return false,
                Some(_) => {}
                None => self.first_ts = Some(ts),
            }
        }
        self.rows += 1;
        true
    }

    pub fn reset(&mut self) {
        self.first_ts = None;
        self.rows = 0;
    }
}

pub struct CsvSource {
    reader: csv::Reader<File>,
    kinds: Vec<ColumnKind>,
    names: Vec<String>,
    time_column: Option<usize>,
    chunk: ChunkAssembler,
    cells: Vec<Cell>,
    record: ByteRecord,
    done: bool,
    /// Where the row held back for the next chunk starts in the file.
    pending_at: Option<csv::Position>,
    /// A second handle on the file, to copy a bad row's bytes exactly as written.
    raw: File,
    /// Whether lines end with CR LF: the CSV reader then places a row at the LF before it, one
    /// line early.
    crlf: bool,
}

/// The most bytes of a bad row kept in `errors` (a runaway line is cut, with a note).
const RAW_BYTES: u64 = 64 * 1024;

/// The reader of a planned CSV source node.
pub fn build(
    planned: &PlannedCsvSource,
    schema: SchemaRef,
    time_column: Option<usize>,
) -> Result<CsvSource, RunError> {
    CsvSource::open(
        &planned.path,
        planned.header,
        char::from(planned.delimiter),
        schema,
        time_column,
    )
}

/// Builds one chunk at a time from parsed rows, holding back the row that starts the next chunk.
pub struct ChunkAssembler {
    builder: BatchBuilder,
    cutter: ChunkCutter,
    pending: Option<Vec<Cell>>,
    time_column: Option<usize>,
}

impl ChunkAssembler {
    pub fn new(schema: SchemaRef, time_column: Option<usize>) -> Self {
        Self {
            builder: BatchBuilder::new(schema),
            cutter: ChunkCutter::default(),
            pending: None,
            time_column,
        }
    }

    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Forgets the held-back row (the source moved elsewhere).
    pub fn clear_pending(&mut self) {
        self.pending = None;
    }

    /// Starts a chunk with the row the previous one held back.
    pub fn start(&mut self) {
        self.cutter.reset();
        if let Some(cells) = self.pending.take() {
            self.cutter.admit(row_time(&cells, self.time_column));
            self.builder.append(&cells);
        }
    }

    /// Adds a row; false when it belongs to the next chunk (it is kept for then).
    pub fn offer(&mut self, cells: &[Cell]) -> bool {
        if !self.cutter.admit(row_time(cells, self.time_column)) {
            self.pending = Some(cells.to_vec());
            return false;
        }
        self.builder.append(cells);
        true
    }

    pub fn finish(&mut self) -> Result<RecordBatch, RunError> {
        self.builder.finish().map_err(RunError::internal)
    }
}

/// The event time in a parsed row.
pub fn row_time(cells: &[Cell], time_column: Option<usize>) -> Option<i64> {
    time_column.and_then(|i| match cells.get(i) {
        Some(Cell::Time(t)) => Some(*t),
        _ => None,
    })
}

/// Whether the file's first line ends with CR LF.
fn ends_lines_with_crlf(file: &mut File) -> std::io::Result<bool> {
    let mut head = vec![0; 64 * 1024];
    let read = file.read(&mut head)?;
    Ok(head[..read]
        .iter()
        .position(|&b| b == b'\n')
        .is_some_and(|at| at > 0 && head[at - 1] == b'\r'))
}

impl CsvSource {
    /// Opens `path`; `schema` is the source's output schema (time column already TIMESTAMP).
    pub fn open(
        path: &Path,
        header: bool,
        delimiter: char,
        schema: SchemaRef,
        time_column: Option<usize>,
    ) -> Result<Self, RunError> {
        let delimiter = u8::try_from(delimiter).map_err(|_| {
            RunError::config(format!("the delimiter `{delimiter}` is not a single byte"))
        })?;
        let open = || {
            File::open(path)
                .map_err(|e| RunError::io(format!("cannot read {}: {e}", path.display())))
        };
        let file = open()?;
        let mut raw = open()?;
        let crlf = ends_lines_with_crlf(&mut raw)
            .map_err(|e| RunError::io(format!("reading {}: {e}", path.display())))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(header)
            .delimiter(delimiter)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(file);
        if header {
            // Read the header now, so every position handed out lies after it.
            reader
                .byte_headers()
                .map_err(|e| RunError::io(format!("reading {}: {e}", path.display())))?;
        }
        let kinds = schema
            .fields()
            .iter()
            .map(|f| ColumnKind::of(f.data_type()))
            .collect();
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        Ok(Self {
            reader,
            kinds,
            names,
            time_column,
            chunk: ChunkAssembler::new(schema, time_column),
            cells: Vec::new(),
            record: ByteRecord::new(),
            done: false,
            pending_at: None,
            raw,
            crlf,
        })
    }

    /// The line a position of the CSV reader is on (see `crlf`).
    fn line_of(&self, at: &csv::Position) -> u64 {
        at.line() + u64::from(self.crlf && at.byte() > 0)
    }

    /// The bytes of the file from `start` to `end`, as written, without the line's end.
    fn raw_text(&mut self, start: u64, end: u64) -> String {
        let wanted = end.saturating_sub(start);
        let mut bytes = vec![0; wanted.min(RAW_BYTES) as usize];
        let read = self
            .raw
            .seek(SeekFrom::Start(start))
            .and_then(|_| self.raw.read_exact(&mut bytes));
        if read.is_err() {
            return String::new();
        }
        let mut text: &[u8] = &bytes;
        while let [b'\r' | b'\n', rest @ ..] = text {
            text = rest;
        }
        while let [rest @ .., b'\r' | b'\n'] = text {
            text = rest;
        }
        let mut raw = String::from_utf8_lossy(text).into_owned();
        if wanted > RAW_BYTES {
            raw.push_str(&format!("… ({wanted} bytes in all)"));
        }
        raw
    }

    /// Parses the current record into `self.cells`, or says why it cannot be read.
    fn parse_record(&mut self) -> Result<(), String> {
        if self.record.len() != self.kinds.len() {
            return Err(format!(
                "expected {} fields, found {}",
                self.kinds.len(),
                self.record.len()
            ));
        }
        self.cells.clear();
        for (i, (field, kind)) in self.record.iter().zip(&self.kinds).enumerate() {
            let text = std::str::from_utf8(field)
                .map_err(|_| format!("column `{}` is not valid UTF-8", self.names[i]))?;
            let cell = kind
                .parse_text(text)
                .map_err(|reason| format!("column `{}`: {reason}", self.names[i]))?;
            if Some(i) == self.time_column && cell == Cell::Null {
                return Err(format!(
                    "the event-time column `{}` is empty",
                    self.names[i]
                ));
            }
            self.cells.push(cell);
        }
        Ok(())
    }
}

impl Source for CsvSource {
    fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError> {
        if self.done && !self.chunk.has_pending() {
            return Ok(None);
        }
        let mut errors = RowErrors::default();
        self.chunk.start();
        while !self.done {
            let before = self.reader.position().clone();
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => self.done = true,
                Ok(true) => {
                    let at = self.record.position().cloned().unwrap_or(before);
                    match self.parse_record() {
                        Ok(()) => {
                            if !self.chunk.offer(&self.cells) {
                                self.pending_at = Some(at);
                                break;
                            }
                        }
                        Err(reason) => {
                            let end = self.reader.position().byte();
                            let raw = self.raw_text(at.byte(), end);
                            errors.push(self.line_of(&at), raw, reason);
                        }
                    }
                }
                Err(e) if e.is_io_error() => {
                    return Err(RunError::io(format!("reading the file: {e}")));
                }
                Err(e) => {
                    // A record the CSV reader itself rejects: report it and carry on.
                    let end = self.reader.position().byte();
                    let raw = self.raw_text(before.byte(), end);
                    errors.push(self.line_of(&before), raw, e.to_string());
                }
            }
            if errors.is_large() {
                break;
            }
        }
        let rows = self.chunk.finish()?;
        Ok(Some(SourceChunk {
            rows,
            errors: errors.take_batch(),
        }))
    }

    fn position(&self) -> SourcePosition {
        let at = match (&self.pending_at, self.chunk.has_pending()) {
            (Some(held_back), true) => held_back,
            _ => self.reader.position(),
        };
        SourcePosition::File {
            byte_offset: at.byte(),
            line: self.line_of(at),
        }
    }

    fn seek(&mut self, position: &SourcePosition) -> Result<(), RunError> {
        let SourcePosition::File { byte_offset, line } = *position else {
            return Err(RunError::internal(format!(
                "a CSV file cannot go to {position:?}"
            )));
        };
        let mut at = csv::Position::new();
        let correction = u64::from(self.crlf && byte_offset > 0);
        at.set_byte(byte_offset)
            .set_line(line.saturating_sub(correction));
        self.reader
            .seek(at)
            .map_err(|e| RunError::io(format!("moving in the file: {e}")))?;
        self.chunk.clear_pending();
        self.pending_at = None;
        self.done = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    /// The `errors` rows of reading `text` as `ts,k,v` (declared) in one go: (line, raw, reason).
    fn bad_rows(name: &str, text: &str) -> Vec<(String, String, String)> {
        let dir = std::env::temp_dir().join(format!("eddy-csv-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.csv");
        std::fs::write(&path, text).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("ts", crate::model::columns::timestamp_type(), true),
            Field::new("k", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
        ]));
        let mut source = CsvSource::open(&path, true, ',', schema, Some(0)).unwrap();
        let mut found = Vec::new();
        while let Some(chunk) = source.next_chunk().unwrap() {
            let Some(errors) = chunk.errors else { continue };
            for row in 0..errors.num_rows() {
                let cell = |c: usize| crate::values::cell_text(errors.column(c).as_ref(), row);
                found.push((cell(0), cell(1), cell(2)));
            }
        }
        std::fs::remove_dir_all(dir).unwrap();
        found
    }

    #[test]
    fn a_bad_row_is_kept_exactly_as_written_on_its_line_with_lf_or_crlf() {
        for (ending, name) in [("\n", "lf"), ("\r\n", "crlf")] {
            let text = ["ts,k,v", "1000,a,1", "2000,\"b,c\",x", "3000,c,3", "4000,d"].join(ending)
                + ending;
            let bad = bad_rows(name, &text);
            assert_eq!(
                bad,
                vec![
                    (
                        "3".to_string(),
                        "2000,\"b,c\",x".to_string(),
                        "column `v`: `x` is not a whole number (BIGINT)".to_string()
                    ),
                    (
                        "5".to_string(),
                        "4000,d".to_string(),
                        "expected 3 fields, found 2".to_string()
                    ),
                ],
                "{name}"
            );
        }
    }

    #[test]
    fn seeking_to_a_position_reads_the_same_rows_again_with_their_lines() {
        let dir = std::env::temp_dir().join(format!("eddy-csv-seek-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.csv");
        // Rows 150 ms apart: chunks hold two rows (200 ms of event time each); one row is bad.
        let mut text = String::from("ts,v\n");
        for i in 0..10 {
            if i == 6 {
                text.push_str("oops,1\n");
            }
            text.push_str(&format!("{},{i}\n", i * 150));
        }
        std::fs::write(&path, text).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("ts", crate::model::columns::timestamp_type(), true),
            Field::new("v", DataType::Int64, true),
        ]));
        let mut source = CsvSource::open(&path, true, ',', schema, Some(0)).unwrap();
        source.next_chunk().unwrap();
        let at = source.position();
        assert_eq!(
            at,
            SourcePosition::File {
                byte_offset: 15,
                line: 4
            },
            "the third row (held back for the next chunk) starts on line 4"
        );
        let read = |s: &mut CsvSource| {
            let mut seen = Vec::new();
            while let Some(chunk) = s.next_chunk().unwrap() {
                seen.push(chunk.rows.num_rows());
                if let Some(errors) = chunk.errors {
                    seen.push(
                        1000 + crate::values::cell_text(errors.column(0).as_ref(), 0)
                            .parse::<usize>()
                            .unwrap(),
                    );
                }
            }
            seen
        };
        let first = read(&mut source);
        source.seek(&at).unwrap();
        let again = read(&mut source);
        assert_eq!(first, again);
        assert!(first.contains(&1008), "the bad row is on line 8: {first:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
