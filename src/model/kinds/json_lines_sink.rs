//! JSON-lines file sink: one JSON object per row, in a file that appears whole when the run
//! completes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::output_file::{check_output_path, sink_ports};
use super::{KindId, NodeKind, PlannedKind, SinkKind};
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// Writes rows to a file, one JSON object per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesFileSink {
    /// Relative to the pipeline file.
    pub path: String,
    /// Must be set to write outside the pipeline's folder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_outside: bool,
}

/// The runnable form of a JSON-lines sink.
#[derive(Debug, Clone)]
pub struct PlannedJsonLinesSink {
    /// The file, resolved against the pipeline's folder.
    pub path: PathBuf,
}

fn is_false(value: &bool) -> bool {
    !*value
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "JSON-lines file sink",
    family: Family::Sink,
    id_stem: "json_out",
    explanation: "Writes rows to a file, one JSON object per line.",
    keywords: "file json jsonl ndjson write output save export results",
    default: || {
        NodeKind::Sink(SinkKind::JsonLinesFile(JsonLinesFileSink {
            path: "out/results.jsonl".into(),
            allow_outside: false,
        }))
    },
};

impl KindModel for JsonLinesFileSink {
    fn kind_id(&self) -> KindId {
        KindId::JsonLinesFileSink
    }

    fn ports(&self) -> Ports {
        sink_ports()
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        check_output_path(&self.path, report);
    }

    fn plan(&self, inputs: &[PortInput], ctx: &CheckContext, _: &mut Report) -> Option<Planned> {
        inputs.first()?;
        let planned = PlannedJsonLinesSink {
            path: ctx.base_dir.join(&self.path),
        };
        Some(Planned::new(
            PlannedKind::JsonLinesSink(planned),
            1,
            Vec::new(),
        ))
    }

    fn summary(&self) -> String {
        self.path.clone()
    }

    fn files(&self) -> Vec<FileUse> {
        vec![FileUse::Writes {
            path: self.path.clone(),
            allow_outside: self.allow_outside,
        }]
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "file",
                "Relative to the pipeline file; written whole when the run completes",
                FieldValue::Path(&mut self.path),
            ),
            Field::new(
                "allow outside",
                "Allow a path outside the pipeline's folder",
                FieldValue::Bool(&mut self.allow_outside),
            ),
        ]
    }
}
