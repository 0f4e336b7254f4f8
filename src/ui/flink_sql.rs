//! The Flink SQL tab: the pipeline as Flink SQL beside the graph, for learning the correspondence —
//! the selected node's own tables, views and `INSERT`, or the whole script, with what the report
//! says does not translate. Exported again only when the pipeline changes.

use egui::{FontId, RichText, Ui};

use super::document::EditorDocument;
use super::sql_highlight::highlight;
use crate::export::flink_sql::{ExportOptions, FlinkExport, export};
use crate::export::report::ReportEntry;

/// The tab's state: the export of the document version it was made from.
#[derive(Default)]
pub struct FlinkSqlTab {
    cached: Option<(u64, Option<FlinkExport>)>,
}

impl FlinkSqlTab {
    /// The export of the document as it is now (none while it has errors).
    fn current(&mut self, doc: &mut EditorDocument) -> Option<&FlinkExport> {
        let version = doc.version();
        if self.cached.as_ref().map(|(v, _)| *v) != Some(version) {
            // Generators are shown over the files `eddy export` would write for them.
            let options = ExportOptions {
                unwritten_generators: Some(doc.base_dir().join("flink-rows")),
                ..ExportOptions::default()
            };
            let exported = doc
                .validation()
                .plan
                .as_ref()
                .map(|plan| export(plan, &options));
            self.cached = Some((version, exported));
        }
        self.cached.as_ref().and_then(|(_, e)| e.as_ref())
    }

    pub fn ui(&mut self, ui: &mut Ui, doc: &mut EditorDocument, selected: Option<&str>) {
        let dark = ui.visuals().dark_mode;
        let Some(exported) = self.current(doc) else {
            ui.label("Fix the pipeline's errors (see Problems) to see it as Flink SQL.");
            return;
        };
        let (title, statements, entries): (String, Vec<String>, Vec<&ReportEntry>) = match selected
        {
            Some(id) => (
                format!("Flink SQL of `{id}`"),
                exported
                    .by_node
                    .iter()
                    .find(|(node, _)| node == id)
                    .map(|(_, s)| s.clone())
                    .unwrap_or_default(),
                exported
                    .report
                    .iter()
                    .filter(|e| e.node == id || e.node.starts_with(&format!("{id}.")))
                    .collect(),
            ),
            None => (
                "Flink SQL of the whole pipeline (select a node to see its part)".into(),
                exported.statements.clone(),
                exported.report.iter().collect(),
            ),
        };
        let script: String = statements
            .iter()
            .map(|s| format!("{s};\n"))
            .collect::<Vec<_>>()
            .join("\n");
        ui.horizontal(|ui| {
            ui.strong(title);
            if ui
                .button("Copy")
                .on_hover_text("Copy this SQL to the clipboard")
                .clicked()
            {
                ui.ctx().copy_text(script.clone());
            }
            ui.label(
                RichText::new(
                    "eddy export FILE --materialize-generators DIR writes it with the generators' rows",
                )
                .weak(),
            );
        });
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                if script.is_empty() {
                    ui.label("This node has no Flink SQL of its own.");
                } else {
                    ui.label(highlight(&script, dark, FontId::monospace(12.0)));
                }
                if !entries.is_empty() {
                    ui.separator();
                    ui.strong("What does not translate, or differs");
                }
                for entry in &entries {
                    let state = if entry.exported {
                        "differs"
                    } else {
                        "not exported"
                    };
                    ui.label(
                        RichText::new(format!("{} ({state}): {}", entry.node, entry.what))
                            .color(ui.visuals().warn_fg_color),
                    )
                    .on_hover_text(format!("Closest in Flink: {}", entry.closest));
                }
            });
    }
}
