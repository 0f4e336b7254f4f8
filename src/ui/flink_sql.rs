//! The Flink SQL tab: the pipeline as Flink SQL beside the graph, for learning the correspondence —
//! the selected node's own tables, views and `INSERT`, or the whole script, with what the report
//! says does not translate. Exported again only when the pipeline changes.

use egui::{FontId, RichText, Ui};

use super::document::EditorDocument;
use super::flink_run::FlinkRun;
use super::sql_highlight::highlight;
use crate::export::flink_sql::{ExportOptions, FlinkExport, export};
use crate::export::report::ReportEntry;

/// The tab's state: the export of the document version it was made from.
#[derive(Default)]
pub struct FlinkSqlTab {
    cached: Option<(u64, Option<FlinkExport>)>,
    /// The pipeline running on Flink, or the last run and its messages.
    run: Option<FlinkRun>,
    run_error: Option<String>,
    /// A session cluster's REST address to run on; empty: an in-process mini-cluster.
    jobmanager: String,
}

impl FlinkSqlTab {
    /// The Flink run's job state and records per node, for the canvas.
    pub fn progress(&self) -> Option<crate::export::flink_progress::FlinkProgress> {
        self.run.as_ref().and_then(FlinkRun::progress)
    }

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

    /// "Run on Flink", and while it runs (or after) what it says.
    fn run_ui(&mut self, ui: &mut Ui, doc: &mut EditorDocument) {
        let lines = self.run.as_mut().map(FlinkRun::poll).unwrap_or_default();
        let running = self.run.as_ref().is_some_and(|r| r.outcome.is_none());
        if running {
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(500));
        }
        ui.horizontal(|ui| {
            if running {
                if ui
                    .button("Cancel the Flink run")
                    .on_hover_text("Sends Ctrl-C: the job is cancelled")
                    .clicked()
                    && let Some(run) = self.run.as_mut()
                {
                    run.cancel();
                }
            } else if ui
                .button("Run on Flink")
                .on_hover_text(
                    "Export the pipeline as it is here and run it on Flink (eddy flink run; \
                     needs Python with apache-flink and Java): on an in-process mini-cluster, \
                     or on the session cluster whose JobManager address is given. The job's \
                     state and the records each source and sink read and wrote show under their \
                     cards. File sinks write into NAME.flink/ folders beside their files.",
                )
                .clicked()
            {
                self.run = None;
                let jobmanager = Some(self.jobmanager.trim()).filter(|j| !j.is_empty());
                match FlinkRun::start(doc.pipeline(), &doc.base_dir(), jobmanager) {
                    Ok(run) => {
                        self.run = Some(run);
                        self.run_error = None;
                    }
                    Err(e) => self.run_error = Some(e),
                }
            }
            if !running {
                let name = ui.label("JobManager");
                ui.add(
                    egui::TextEdit::singleline(&mut self.jobmanager)
                        .hint_text("empty: a mini-cluster here")
                        .desired_width(200.0),
                )
                .labelled_by(name.id)
                .on_hover_text("A session cluster's REST address, e.g. http://127.0.0.1:8081");
            }
            if let Some(run) = &self.run {
                let seconds = run.started.elapsed().as_secs();
                if let Some(p) = run.progress() {
                    ui.label(format!("job {}", p.state));
                }
                ui.label(match run.outcome {
                    None => format!("running on Flink for {seconds} s…"),
                    Some(true) => "the Flink job finished".to_string(),
                    Some(false) => "the Flink run failed (see its messages)".to_string(),
                });
            }
            if let Some(error) = &self.run_error {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
        });
        if self.run.is_some() {
            egui::CollapsingHeader::new(format!("Flink run messages ({})", lines.len()))
                .default_open(true)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("flink_run_messages")
                        .max_height(140.0)
                        .stick_to_bottom(true)
                        .show(ui, |ui| {
                            for line in lines.iter().rev().take(200).rev() {
                                ui.label(RichText::new(line).monospace().small());
                            }
                        });
                });
            ui.separator();
        }
    }

    pub fn ui(&mut self, ui: &mut Ui, doc: &mut EditorDocument, selected: Option<&str>) {
        let dark = ui.visuals().dark_mode;
        if self.current(doc).is_none() {
            ui.label("Fix the pipeline's errors (see Problems) to see it as Flink SQL.");
            return;
        }
        egui::ScrollArea::vertical()
            .id_salt("flink_sql_tab")
            .auto_shrink([false, false])
            .show(ui, |ui| self.contents_ui(ui, doc, selected, dark));
    }

    /// Everything the tab shows, in one scrolling column so the dock keeps its height.
    fn contents_ui(
        &mut self,
        ui: &mut Ui,
        doc: &mut EditorDocument,
        selected: Option<&str>,
        dark: bool,
    ) {
        self.run_ui(ui, doc);
        let Some(exported) = self.current(doc) else {
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
    }
}
