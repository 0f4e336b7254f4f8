//! Console sink: rows printed on the terminal (`eddy run`) or in the app's console panel.

use serde::{Deserialize, Serialize};

use super::output_file::sink_ports;
use super::{KindId, NodeKind, PlannedKind, SinkKind};
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// How the console prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsoleFormat {
    Table,
    JsonLines,
}

crate::plain_choice!(ConsoleFormat { Table, JsonLines });

/// Prints rows on the terminal (headless runs) or the app's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSink {
    pub format: ConsoleFormat,
    /// Stop printing after this many rows (the run goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Console",
    family: Family::Sink,
    id_stem: "console",
    explanation: "Prints rows on the terminal (eddy run) or the app's log.",
    keywords: "print log terminal stdout debug output",
    default: || {
        NodeKind::Sink(SinkKind::Console(ConsoleSink {
            format: ConsoleFormat::Table,
            max_rows: Some(100),
        }))
    },
};

impl KindModel for ConsoleSink {
    fn kind_id(&self) -> KindId {
        KindId::Console
    }

    fn ports(&self) -> Ports {
        sink_ports()
    }

    fn check(&self, _: &CheckContext, _: &mut Report) {}

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, _: &mut Report) -> Option<Planned> {
        inputs.first()?;
        Some(Planned::new(
            PlannedKind::Console(self.clone()),
            1,
            Vec::new(),
        ))
    }

    fn summary(&self) -> String {
        format!("{:?}", self.format)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "format",
                "A table per batch, or one JSON object per row",
                FieldValue::Choice(&mut self.format),
            ),
            Field::new(
                "max rows",
                "Stop printing after this many rows (the run goes on); none prints all",
                FieldValue::OptionalCount(&mut self.max_rows),
            ),
        ]
    }
}
