//! JSON-lines file source: one JSON object per line (what Firehose delivers to S3), streamed;
//! lines that are not objects, or whose values do not fit the columns, go to `errors`.

use std::path::PathBuf;

use arrow::datatypes::Schema;
use serde::{Deserialize, Serialize};

use super::source_time::{Time, source_outputs, source_ports, time_field};
use super::{KindId, NodeKind, PlannedKind, SourceKind};
use crate::model::columns::ColumnDecl;
use crate::model::form::{Field, FieldValue};
use crate::model::infer::{check_input_file, infer_json_lines};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// A file with one JSON object per line, read as a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesFileSource {
    /// Relative to the pipeline file.
    pub path: String,
    /// The fields; when absent they are inferred from the first lines of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnDecl>>,
    pub time: Time,
}

/// The runnable form of a JSON-lines source.
#[derive(Debug, Clone)]
pub struct PlannedJsonLinesSource {
    /// The file, resolved against the pipeline's folder.
    pub path: PathBuf,
    pub time: Time,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "JSON-lines file source",
    family: Family::Source,
    id_stem: "json_in",
    explanation: "Reads a file with one JSON object per line (what Firehose delivers to S3), as a stream. Bad lines go to `errors`.",
    keywords: "file json jsonl ndjson read input firehose s3 logs errors bad lines",
    default: || {
        NodeKind::Source(SourceKind::JsonLinesFile(JsonLinesFileSource {
            path: "data/events.jsonl".into(),
            schema: None,
            time: Time::event("event_time"),
        }))
    },
};

impl KindModel for JsonLinesFileSource {
    fn kind_id(&self) -> KindId {
        KindId::JsonLinesFileSource
    }

    fn ports(&self) -> Ports {
        source_ports()
    }

    fn check(&self, ctx: &CheckContext, report: &mut Report) {
        self.time.check(report);
        check_input_file(&self.path, ctx.base_dir, report);
    }

    fn plan(&self, _: &[PortInput], ctx: &CheckContext, report: &mut Report) -> Option<Planned> {
        let path = ctx.base_dir.join(&self.path);
        let raw = match &self.schema {
            Some(columns) => Ok(Schema::new(
                columns.iter().map(ColumnDecl::field).collect::<Vec<_>>(),
            )),
            None => infer_json_lines(&path),
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
        let planned = PlannedJsonLinesSource {
            path,
            time: self.time.clone(),
        };
        Some(Planned::new(
            PlannedKind::JsonLinesSource(planned),
            0,
            outputs,
        ))
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
                "fields",
                "Declared fields; with none, they are inferred from the first lines",
                FieldValue::List(&mut self.schema),
            ),
            time_field(&mut self.time),
        ]
    }
}
