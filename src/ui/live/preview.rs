//! Previews while editing: with no run going, the pipeline runs on a sample in the background
//! after each edit (a moment after the typing stops), and the inspector shows the first rows each
//! node would produce, as a no-code stream editor's data preview does.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;
use egui::{RichText, Ui};

use super::rows_table::TableText;
use crate::model::{Family, PortRef};
use crate::runtime::preview::{Preview, PreviewSize, preview};
use crate::ui::canvas::Selection;
use crate::ui::document::EditorDocument;
use crate::ui::theme;

/// How long after the last edit the preview runs again.
const SETTLE: Duration = Duration::from_millis(400);

/// The preview of one version of the document.
struct Shown {
    version: u64,
    /// `None` when the pipeline had errors, so nothing could run.
    preview: Option<Preview>,
    tables: BTreeMap<PortRef, TableText>,
}

#[derive(Default)]
pub struct PreviewView {
    /// The version waiting to be previewed, and since when.
    waiting: Option<(u64, Instant)>,
    running: Option<(u64, Receiver<Preview>)>,
    shown: Option<Shown>,
}

impl PreviewView {
    /// Takes in a finished preview and starts the next one when the document has settled.
    /// Nothing happens while a run is going (the live views show the real rows then).
    pub fn update(&mut self, ctx: &egui::Context, doc: &mut EditorDocument, run_active: bool) {
        if let Some((version, rx)) = &self.running
            && let Ok(preview) = rx.try_recv()
        {
            let pipeline = doc.pipeline();
            let tables = preview
                .outputs
                .iter()
                .map(|(port, batch)| {
                    // The columns the node adds come first: they are what an edit changes.
                    let input: Vec<String> = pipeline
                        .edges
                        .iter()
                        .filter(|e| e.to.node == port.node)
                        .filter_map(|e| preview.outputs.get(&e.from))
                        .flat_map(|b| {
                            b.schema()
                                .fields()
                                .iter()
                                .map(|f| f.name().clone())
                                .collect::<Vec<_>>()
                        })
                        .collect();
                    (port.clone(), TableText::new(&added_first(batch, &input)))
                })
                .collect();
            self.shown = Some(Shown {
                version: *version,
                preview: Some(preview),
                tables,
            });
            self.running = None;
        }
        let version = doc.version();
        if run_active || self.running.is_some() || self.shown_version() == Some(version) {
            return;
        }
        let since = match self.waiting {
            Some((v, since)) if v == version => since,
            _ => {
                let now = Instant::now();
                self.waiting = Some((version, now));
                now
            }
        };
        let waited = since.elapsed();
        if waited < SETTLE {
            ctx.request_repaint_after(SETTLE - waited);
            return;
        }
        self.waiting = None;
        let Some(plan) = doc.validation().plan.clone() else {
            self.shown = Some(Shown {
                version,
                preview: None,
                tables: BTreeMap::new(),
            });
            return;
        };
        let (tx, rx) = channel();
        let repaint = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name("eddy-preview".into())
            .spawn(move || {
                let _ = tx.send(preview(&plan, PreviewSize::default()));
                repaint.request_repaint();
            });
        if spawned.is_ok() {
            self.running = Some((version, rx));
        }
    }

    fn shown_version(&self) -> Option<u64> {
        self.shown.as_ref().map(|s| s.version)
    }

    /// Whether a preview of the document as it is now is on screen.
    pub fn is_current(&self, doc: &EditorDocument) -> bool {
        self.shown_version() == Some(doc.version())
    }

    /// The rows of port `at` in the preview on screen.
    pub fn rows(&self, at: &PortRef) -> Option<usize> {
        let shown = self.shown.as_ref()?;
        shown.tables.get(at).map(TableText::rows)
    }

    /// The ports whose rows a node's preview shows: its outputs, or for a sink the ports that
    /// feed it.
    fn ports_of(doc: &EditorDocument, id: &str) -> Vec<PortRef> {
        let pipeline = doc.pipeline();
        let Some(node) = pipeline.node(id) else {
            return Vec::new();
        };
        if node.kind.family() == Family::Sink {
            node.kind
                .input_ports()
                .iter()
                .flat_map(|port| {
                    pipeline
                        .edges
                        .iter()
                        .filter(move |e| e.to.node == id && &e.to.port == port)
                        .map(|e| e.from.clone())
                })
                .collect()
        } else {
            node.kind
                .output_ports()
                .iter()
                .map(|port| PortRef::new(id, port))
                .collect()
        }
    }

    /// One line per port for the inspector of node `id`, and a button to the Preview tab.
    /// Returns whether the button was clicked.
    pub fn inspector_ui(&self, ui: &mut Ui, doc: &EditorDocument, id: &str) -> bool {
        ui.separator();
        let mut open = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new("Preview").strong())
                .on_hover_text(ABOUT);
            if self.running.is_some() || !self.is_current(doc) {
                ui.spinner();
            }
            open = ui
                .small_button("show rows")
                .on_hover_text("Open the Preview tab of the dock")
                .clicked();
        });
        let Some(shown) = &self.shown else {
            return open;
        };
        let Some(preview) = &shown.preview else {
            ui.label(RichText::new(HAS_ERRORS).color(theme::WARNING));
            return open;
        };
        if let Some(failure) = &preview.failure {
            ui.label(
                RichText::new(format!("The sample run failed: {failure}")).color(theme::ERROR),
            );
        }
        for port in Self::ports_of(doc, id) {
            let rows = shown.tables.get(&port).map_or(0, TableText::rows);
            ui.label(RichText::new(format!("{port}: {}", rows_text(rows))).weak());
        }
        open
    }

    /// The Preview tab: the first rows of each port of the selected node (or edge).
    pub fn dock_ui(&self, ui: &mut Ui, doc: &EditorDocument, selection: &Selection) {
        let ports = match (&selection.edge, selection.nodes.len()) {
            (Some(edge), _) => vec![edge.from.clone()],
            (None, 1) => selection
                .nodes
                .iter()
                .next()
                .map(|id| Self::ports_of(doc, id))
                .unwrap_or_default(),
            _ => {
                ui.label("Select a node (or an edge) to see the first rows it produces on a sample of the input, before you run.")
                    .on_hover_text(ABOUT);
                return;
            }
        };
        let stale = self.running.is_some() || !self.is_current(doc);
        let Some(shown) = &self.shown else {
            ui.spinner();
            return;
        };
        let Some(preview) = &shown.preview else {
            ui.label(RichText::new(HAS_ERRORS).color(theme::WARNING));
            return;
        };
        ui.horizontal(|ui| {
            ui.label(
                RichText::new("On a sample: the first 1,000 rows of each source, nothing written.")
                    .weak(),
            )
            .on_hover_text(ABOUT);
            if stale {
                ui.spinner();
                ui.label(RichText::new("updating after your edit").weak());
            }
        });
        if let Some(failure) = &preview.failure {
            ui.label(
                RichText::new(format!("The sample run failed: {failure}")).color(theme::ERROR),
            );
        }
        if preview.cut_short {
            ui.label(RichText::new("The sample took longer than 3 seconds and was cut short; these are the rows so far.").weak());
        }
        // The ports share the height; each table scrolls on its own.
        let share = ui.available_height() / ports.len().max(1) as f32;
        for port in ports {
            let table = shown.tables.get(&port);
            ui.label(
                RichText::new(format!(
                    "{port}: {}",
                    rows_text(table.map_or(0, TableText::rows))
                ))
                .strong(),
            );
            if let Some(table) = table {
                let height = (share - 24.0).max(60.0);
                ui.allocate_ui(egui::vec2(ui.available_width(), height), |ui| {
                    table.ui(ui, &format!("preview {port}"));
                });
            }
        }
    }
}

const ABOUT: &str = "The rows each node produces when the pipeline runs on a sample: the first 1,000 rows of its sources, which then end as if complete, so open windows fire. Nothing is written anywhere. It runs again a moment after each edit while no run is going.";

const HAS_ERRORS: &str = "The pipeline has errors (see Problems); fix them to see its rows.";

/// When `batch` is its node's input with columns added (a Map that keeps its input, a stream),
/// the added columns move to the front, in their own order; otherwise it is as it is.
fn added_first(batch: &RecordBatch, input: &[String]) -> RecordBatch {
    let schema = batch.schema();
    let keeps_input = input.iter().all(|name| schema.index_of(name).is_ok());
    let (added, kept): (Vec<usize>, Vec<usize>) =
        (0..schema.fields().len()).partition(|&i| !input.contains(schema.field(i).name()));
    if input.is_empty() || added.is_empty() || !keeps_input {
        return batch.clone();
    }
    let order: Vec<usize> = added.into_iter().chain(kept).collect();
    batch.project(&order).unwrap_or_else(|_| batch.clone())
}

fn rows_text(rows: usize) -> String {
    match rows {
        0 => "no rows in the sample".into(),
        1 => "the first row".into(),
        n => format!("the first {n} rows"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};
    use std::sync::Arc;

    fn batch(names: &[&str]) -> RecordBatch {
        RecordBatch::try_from_iter(
            names
                .iter()
                .map(|n| (*n, Arc::new(Int64Array::from(vec![1])) as ArrayRef)),
        )
        .unwrap()
    }

    fn names(batch: &RecordBatch) -> Vec<String> {
        batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    }

    #[test]
    fn added_columns_come_first_only_when_the_input_is_kept() {
        let input = vec!["a".to_string(), "b".to_string()];
        // A stream or a Map that keeps its input: what it adds first.
        assert_eq!(
            names(&added_first(&batch(&["a", "b", "shard", "seq"]), &input)),
            vec!["shard", "seq", "a", "b"]
        );
        // A window keeps only its key: as it is.
        assert_eq!(
            names(&added_first(&batch(&["a", "window_end", "n"]), &input)),
            vec!["a", "window_end", "n"]
        );
    }
}
