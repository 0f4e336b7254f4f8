//! CSV file sink: rows written to a CSV file that appears whole when the run completes.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::output_file::{check_output_path, sink_ports};
use super::{KindId, NodeKind, PlannedKind, SinkKind};
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// Writes rows to a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvFileSink {
    /// Relative to the pipeline file.
    pub path: String,
    #[serde(default = "yes")]
    pub header: bool,
    /// Must be set to write outside the pipeline's folder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_outside: bool,
}

/// The runnable form of a CSV sink.
#[derive(Debug, Clone)]
pub struct PlannedCsvSink {
    /// The file, resolved against the pipeline's folder.
    pub path: PathBuf,
    pub header: bool,
}

fn yes() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !*value
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "CSV file sink",
    family: Family::Sink,
    id_stem: "csv_out",
    explanation: "Writes rows to a CSV file. The file appears whole when the run completes.",
    keywords: "file csv write output save export results",
    default: || {
        NodeKind::Sink(SinkKind::CsvFile(CsvFileSink {
            path: "out/results.csv".into(),
            header: true,
            allow_outside: false,
        }))
    },
};

impl KindModel for CsvFileSink {
    fn kind_id(&self) -> KindId {
        KindId::CsvFileSink
    }

    fn ports(&self) -> Ports {
        sink_ports()
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        check_output_path(&self.path, report);
    }

    fn plan(&self, inputs: &[PortInput], ctx: &CheckContext, _: &mut Report) -> Option<Planned> {
        inputs.first()?;
        let planned = PlannedCsvSink {
            path: ctx.base_dir.join(&self.path),
            header: self.header,
        };
        Some(Planned::new(PlannedKind::CsvSink(planned), 1, Vec::new()))
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
                "header row",
                "Write the column names first",
                FieldValue::Bool(&mut self.header),
            ),
            Field::new(
                "allow outside",
                "Allow a path outside the pipeline's folder",
                FieldValue::Bool(&mut self.allow_outside),
            ),
        ]
    }
}
