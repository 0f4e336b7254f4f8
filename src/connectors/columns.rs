//! Building Arrow columns from text and JSON values, one row at a time, all-or-nothing per row:
//! a row is parsed completely before any column grows, so a bad row leaves no trace.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::model::infer::parse_timestamp_millis;

/// A parsed cell waiting to be appended.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Time(i64),
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Bool,
    Int32,
    Int64,
    Float64,
    Text,
    Timestamp,
}

impl ColumnKind {
    pub fn of(data_type: &DataType) -> ColumnKind {
        match data_type {
            DataType::Boolean => ColumnKind::Bool,
            DataType::Int32 => ColumnKind::Int32,
            DataType::Int64 => ColumnKind::Int64,
            DataType::Float64 => ColumnKind::Float64,
            DataType::Timestamp(..) => ColumnKind::Timestamp,
            _ => ColumnKind::Text,
        }
    }

    /// Parses text for this column; empty text is null except in text columns.
    pub fn parse_text(self, text: &str) -> Result<Cell, String> {
        let t = text.trim();
        if t.is_empty() && self != ColumnKind::Text {
            return Ok(Cell::Null);
        }
        match self {
            ColumnKind::Text => Ok(Cell::Text(text.to_string())),
            ColumnKind::Bool => match t.to_ascii_lowercase().as_str() {
                "true" | "t" | "1" | "yes" => Ok(Cell::Bool(true)),
                "false" | "f" | "0" | "no" => Ok(Cell::Bool(false)),
                _ => Err(format!("`{t}` is not true or false")),
            },
            ColumnKind::Int32 => t
                .parse::<i32>()
                .map(|v| Cell::Int(v as i64))
                .map_err(|_| format!("`{t}` is not a whole number (INT)")),
            ColumnKind::Int64 => t
                .parse::<i64>()
                .map(Cell::Int)
                .map_err(|_| format!("`{t}` is not a whole number (BIGINT)")),
            ColumnKind::Float64 => t
                .parse::<f64>()
                .map(Cell::Float)
                .map_err(|_| format!("`{t}` is not a number")),
            ColumnKind::Timestamp => match t.parse::<i64>() {
                Ok(ms) => Ok(Cell::Time(ms)),
                Err(_) => parse_timestamp_millis(t)
                    .map(Cell::Time)
                    .ok_or_else(|| format!("`{t}` is not a time (ISO-8601 or epoch milliseconds)")),
            },
        }
    }

    /// Converts a JSON value for this column.
    pub fn parse_json(self, value: &serde_json::Value) -> Result<Cell, String> {
        use serde_json::Value;
        match (self, value) {
            (_, Value::Null) => Ok(Cell::Null),
            (ColumnKind::Text, Value::String(s)) => Ok(Cell::Text(s.clone())),
            (ColumnKind::Text, other) => Ok(Cell::Text(other.to_string())),
            (ColumnKind::Bool, Value::Bool(b)) => Ok(Cell::Bool(*b)),
            (ColumnKind::Int32 | ColumnKind::Int64, Value::Number(n)) => n
                .as_i64()
                .filter(|v| self == ColumnKind::Int64 || i32::try_from(*v).is_ok())
                .map(Cell::Int)
                .ok_or_else(|| format!("{n} is not a whole number that fits")),
            (ColumnKind::Float64, Value::Number(n)) => n
                .as_f64()
                .map(Cell::Float)
                .ok_or_else(|| format!("{n} is not a number")),
            (ColumnKind::Timestamp, Value::Number(n)) => n
                .as_i64()
                .map(Cell::Time)
                .ok_or_else(|| format!("{n} is not epoch milliseconds")),
            (ColumnKind::Timestamp, Value::String(s)) => self.parse_text(s),
            (kind, other) => Err(format!("{other} does not fit a {kind:?} column")),
        }
    }
}

enum Builder {
    Bool(BooleanBuilder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    Float64(Float64Builder),
    Text(StringBuilder),
    Timestamp(TimestampMillisecondBuilder),
}

/// Columns under construction for one schema.
pub struct BatchBuilder {
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
}

impl BatchBuilder {
    pub fn new(schema: SchemaRef) -> Self {
        let builders = schema
            .fields()
            .iter()
            .map(|f| match ColumnKind::of(f.data_type()) {
                ColumnKind::Bool => Builder::Bool(BooleanBuilder::new()),
                ColumnKind::Int32 => Builder::Int32(Int32Builder::new()),
                ColumnKind::Int64 => Builder::Int64(Int64Builder::new()),
                ColumnKind::Float64 => Builder::Float64(Float64Builder::new()),
                ColumnKind::Text => Builder::Text(StringBuilder::new()),
                ColumnKind::Timestamp => Builder::Timestamp(TimestampMillisecondBuilder::new()),
            })
            .collect();
        Self {
            schema,
            builders,
            rows: 0,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Appends one fully parsed row (one cell per column, in schema order).
    pub fn append(&mut self, cells: &[Cell]) {
        for (builder, cell) in self.builders.iter_mut().zip(cells) {
            match (builder, cell) {
                (Builder::Bool(b), Cell::Bool(v)) => b.append_value(*v),
                (Builder::Int32(b), Cell::Int(v)) => b.append_value(*v as i32),
                (Builder::Int64(b), Cell::Int(v)) => b.append_value(*v),
                (Builder::Float64(b), Cell::Float(v)) => b.append_value(*v),
                (Builder::Float64(b), Cell::Int(v)) => b.append_value(*v as f64),
                (Builder::Text(b), Cell::Text(v)) => b.append_value(v),
                (Builder::Timestamp(b), Cell::Time(v)) => b.append_value(*v),
                (Builder::Bool(b), _) => b.append_null(),
                (Builder::Int32(b), _) => b.append_null(),
                (Builder::Int64(b), _) => b.append_null(),
                (Builder::Float64(b), _) => b.append_null(),
                (Builder::Text(b), _) => b.append_null(),
                (Builder::Timestamp(b), _) => b.append_null(),
            }
        }
        self.rows += 1;
    }

    /// The rows so far as a batch; the builder starts empty again.
    pub fn finish(&mut self) -> Result<RecordBatch, String> {
        let columns: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::Bool(b) => Arc::new(b.finish()),
                    Builder::Int32(b) => Arc::new(b.finish()),
                    Builder::Int64(b) => Arc::new(b.finish()),
                    Builder::Float64(b) => Arc::new(b.finish()),
                    Builder::Text(b) => Arc::new(b.finish()),
                    Builder::Timestamp(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| e.to_string())
    }
}
