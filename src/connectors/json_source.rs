//! The JSON-lines file source: one object per line, streamed; lines that are not objects, or
//! whose values do not fit the columns, go to `errors` with their line number.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use arrow::datatypes::SchemaRef;

use super::columns::{Cell, ColumnKind};
use super::csv_source::ChunkAssembler;
use super::row_errors::RowErrors;
use crate::model::kinds::json_lines_source::PlannedJsonLinesSource;
use crate::runtime::contract::{RunError, Source, SourceChunk, SourcePosition};

pub struct JsonLinesSource {
    reader: BufReader<File>,
    kinds: Vec<ColumnKind>,
    names: Vec<String>,
    time_column: Option<usize>,
    chunk: ChunkAssembler,
    cells: Vec<Cell>,
    line: String,
    bytes: Vec<u8>,
    line_number: u64,
    /// Bytes of the file read so far.
    offset: u64,
    /// Where the line held back for the next chunk starts: its byte offset and line number.
    pending_at: Option<(u64, u64)>,
    done: bool,
}

/// A line's bytes without its `\n` or `\r\n`: the raw text of a bad line is exactly what was written.
fn without_line_end(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes.strip_suffix(b"\r").unwrap_or(bytes)
}

/// The reader of a planned JSON-lines source node.
pub fn build(
    planned: &PlannedJsonLinesSource,
    schema: SchemaRef,
    time_column: Option<usize>,
) -> Result<JsonLinesSource, RunError> {
    JsonLinesSource::open(&planned.path, schema, time_column)
}

impl JsonLinesSource {
    pub fn open(
        path: &Path,
        schema: SchemaRef,
        time_column: Option<usize>,
    ) -> Result<Self, RunError> {
        let file = File::open(path)
            .map_err(|e| RunError::io(format!("cannot read {}: {e}", path.display())))?;
        let kinds = schema
            .fields()
            .iter()
            .map(|f| ColumnKind::of(f.data_type()))
            .collect();
        let names = schema.fields().iter().map(|f| f.name().clone()).collect();
        Ok(Self {
            reader: BufReader::with_capacity(1 << 16, file),
            kinds,
            names,
            time_column,
            chunk: ChunkAssembler::new(schema, time_column),
            cells: Vec::new(),
            line: String::new(),
            bytes: Vec::new(),
            line_number: 0,
            offset: 0,
            pending_at: None,
            done: false,
        })
    }

    fn parse_line(&mut self) -> Result<(), String> {
        let value: serde_json::Value = serde_json::from_str(self.line.trim_end())
            .map_err(|e| format!("not valid JSON: {e}"))?;
        let serde_json::Value::Object(object) = value else {
            return Err("the line is JSON but not an object".to_string());
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
}

impl Source for JsonLinesSource {
    fn next_chunk(&mut self) -> Result<Option<SourceChunk>, RunError> {
        if self.done && !self.chunk.has_pending() {
            return Ok(None);
        }
        let mut errors = RowErrors::default();
        self.chunk.start();
        while !self.done {
            self.bytes.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut self.bytes)
                .map_err(|e| RunError::io(format!("reading line {}: {e}", self.line_number + 1)))?;
            if read == 0 {
                self.done = true;
                continue;
            }
            let line_start = self.offset;
            self.offset += read as u64;
            self.line_number += 1;
            self.line.clear();
            match std::str::from_utf8(&self.bytes) {
                Ok(text) => self.line.push_str(text),
                Err(_) => {
                    let raw = String::from_utf8_lossy(without_line_end(&self.bytes)).into_owned();
                    errors.push(self.line_number, raw, "the line is not valid UTF-8".into());
                    continue;
                }
            }
            if self.line.trim().is_empty() {
                continue;
            }
            match self.parse_line() {
                Ok(()) => {
                    if !self.chunk.offer(&self.cells) {
                        self.pending_at = Some((line_start, self.line_number));
                        break;
                    }
                }
                Err(reason) => {
                    let raw = String::from_utf8_lossy(without_line_end(&self.bytes)).into_owned();
                    errors.push(self.line_number, raw, reason);
                    if errors.is_large() {
                        break;
                    }
                }
            }
        }
        let rows = self.chunk.finish()?;
        Ok(Some(SourceChunk {
            rows,
            errors: errors.take_batch(),
        }))
    }

    fn position(&self) -> SourcePosition {
        let (byte_offset, line) = match self.pending_at {
            Some(held_back) if self.chunk.has_pending() => held_back,
            _ => (self.offset, self.line_number + 1),
        };
        SourcePosition::File { byte_offset, line }
    }

    fn seek(&mut self, position: &SourcePosition) -> Result<(), RunError> {
        let SourcePosition::File { byte_offset, line } = *position else {
            return Err(RunError::internal(format!(
                "a JSON-lines file cannot go to {position:?}"
            )));
        };
        self.reader
            .seek(SeekFrom::Start(byte_offset))
            .map_err(|e| RunError::io(format!("moving in the file: {e}")))?;
        self.offset = byte_offset;
        self.line_number = line.saturating_sub(1);
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

    #[test]
    fn seeking_to_a_position_reads_the_same_lines_again() {
        let dir = std::env::temp_dir().join(format!("eddy-json-seek-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.jsonl");
        let text: String = (0..9)
            .map(|i| format!("{{\"ts\": {}, \"v\": {i}}}\n", i * 150))
            .collect();
        std::fs::write(&path, text).unwrap();
        let schema = Arc::new(Schema::new(vec![
            Field::new("ts", crate::model::columns::timestamp_type(), true),
            Field::new("v", DataType::Int64, true),
        ]));
        let mut source = JsonLinesSource::open(&path, schema, Some(0)).unwrap();
        source.next_chunk().unwrap();
        let at = source.position();
        let line_length = "{\"ts\": 0, \"v\": 0}\n".len() as u64;
        assert_eq!(
            at,
            SourcePosition::File {
                byte_offset: line_length + "{\"ts\": 150, \"v\": 1}\n".len() as u64,
                line: 3
            }
        );
        let rows = |s: &mut JsonLinesSource| {
            std::iter::from_fn(|| s.next_chunk().unwrap())
                .map(|c| c.rows)
                .collect::<Vec<_>>()
        };
        let first = rows(&mut source);
        source.seek(&at).unwrap();
        assert_eq!(rows(&mut source), first);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
