//! The JSON-lines file source: one object per line, streamed; lines that are not objects, or
//! whose values do not fit the columns, go to `errors` with their line number.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use arrow::datatypes::SchemaRef;

use super::columns::{Cell, ColumnKind};
use super::csv_source::ChunkAssembler;
use super::row_errors::RowErrors;
use crate::runtime::error::RunError;
use crate::runtime::source::{Source, SourceChunk};

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
    done: bool,
}

impl JsonLinesSource {
    pub fn open(
        path: &Path,
        schema: SchemaRef,
        time_column: Option<usize>,
    ) -> Result<Self, RunError> {
        let file = File::open(path)
            .map_err(|e| RunError::general(format!("cannot read {}: {e}", path.display())))?;
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
                .map_err(|e| {
                    RunError::general(format!("reading line {}: {e}", self.line_number + 1))
                })?;
            if read == 0 {
                self.done = true;
                continue;
            }
            self.line_number += 1;
            self.line.clear();
            match std::str::from_utf8(&self.bytes) {
                Ok(text) => self.line.push_str(text),
                Err(_) => {
                    let raw = String::from_utf8_lossy(&self.bytes).trim_end().to_string();
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
                        break;
                    }
                }
                Err(reason) => {
                    let raw = self.line.trim_end().to_string();
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
}
