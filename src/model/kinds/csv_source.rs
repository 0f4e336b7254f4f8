//! CSV file source: a file read as a stream, row by row, with declared or inferred columns; rows
//! that cannot be read go to `errors` with their line.

use std::path::PathBuf;

use arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};

use super::source_time::{Time, source_outputs, source_ports, time_field};
use super::{KindId, NodeKind, PlannedKind, SourceKind};
use crate::model::columns::ColumnDecl;
use crate::model::form::{Field, FieldValue};
use crate::model::infer::{check_input_file, infer_csv};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// A CSV file read as a stream, row by row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvFileSource {
    /// Relative to the pipeline file.
    pub path: String,
    #[serde(default = "yes")]
    pub header: bool,
    #[serde(default = "comma")]
    pub delimiter: char,
    /// The columns; when absent they are inferred from the first rows of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnDecl>>,
    pub time: Time,
}

/// The runnable form of a CSV source.
#[derive(Debug, Clone)]
pub struct PlannedCsvSource {
    /// The file, resolved against the pipeline's folder.
    pub path: PathBuf,
    pub header: bool,
    pub delimiter: u8,
    pub time: Time,
}

fn yes() -> bool {
    true
}

fn comma() -> char {
    ','
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "CSV file source",
    family: Family::Source,
    id_stem: "csv_in",
    explanation: "Reads a CSV file row by row, as if it were a stream. Columns are inferred from the first rows or declared. Rows that cannot be read go to the `errors` port with their line number.",
    keywords: "file csv read input replay errors bad rows",
    default: || {
        NodeKind::Source(SourceKind::CsvFile(CsvFileSource {
            path: "data/events.csv".into(),
            header: true,
            delimiter: ',',
            schema: None,
            time: Time::event("event_time"),
        }))
    },
};

impl KindModel for CsvFileSource {
    fn kind_id(&self) -> KindId {
        KindId::CsvFileSource
    }

    fn ports(&self) -> Ports {
        source_ports()
    }

    fn check(&self, ctx: &CheckContext, report: &mut Report) {
        self.time.check(report);
        if !self.delimiter.is_ascii() {
            report.error(
                "delimiter",
                format!(
                    "the delimiter `{}` must be a single ASCII character",
                    self.delimiter
                ),
            );
        }
        check_input_file(&self.path, ctx.base_dir, report);
    }

    fn plan(&self, _: &[PortInput], ctx: &CheckContext, report: &mut Report) -> Option<Planned> {
        let path = ctx.base_dir.join(&self.path);
        let delimiter = u8::try_from(self.delimiter).ok().filter(u8::is_ascii)?;
        let raw = match &self.schema {
            Some(columns) => Ok(Schema::new(
                columns.iter().map(ColumnDecl::field).collect::<Vec<_>>(),
            )),
            None => infer_csv(&path, self.header, self.delimiter),
        };
        let raw = match raw {
            Ok(schema) => schema,
            Err(message) => {
                // A missing file is reported by the check; say only what inference adds.
                if path.is_file() {
                    report.error("schema", message);
                }
                return None;
            }
        };
        let outputs = source_outputs(raw, &self.time, report)?;
        let planned = PlannedCsvSource {
            path,
            header: self.header,
            delimiter,
            time: self.time.clone(),
        };
        Some(Planned::new(PlannedKind::CsvSource(planned), 0, outputs))
    }

    fn summary(&self) -> String {
        format!("{}; {}", self.path, self.time.summary())
    }

    fn files(&self) -> Vec<FileUse> {
        vec![FileUse::Reads(self.path.clone())]
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "file",
                "Relative to the pipeline file",
                FieldValue::Path(&mut self.path),
            ),
            Field::new(
                "header row",
                "The first line names the columns",
                FieldValue::Bool(&mut self.header),
            ),
            Field::new(
                "delimiter",
                "The character between fields (one ASCII character)",
                FieldValue::Char(&mut self.delimiter),
            ),
            Field::new(
                "columns",
                "Declared columns; with none, they are inferred from the first rows",
                FieldValue::List(&mut self.schema),
            ),
            time_field(&mut self.time),
        ]
    }
}
