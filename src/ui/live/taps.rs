//! Tap views: the rows flowing on an edge, or into and out of a node, with pause and a SQL filter.

use arrow::compute::{concat_batches, filter_record_batch};
use arrow::record_batch::RecordBatch;
use egui::{RichText, Ui};

use super::LiveRun;
use super::rows_table::TableText;
use crate::expr::plan_predicate;
use crate::model::{Edge, Pipeline};
use crate::runtime::contract::evaluate::predicate_mask;
use crate::ui::theme;

/// How many rows a tap keeps.
pub const TAP_ROWS: usize = 200;

/// What the user set on the tap panel.
#[derive(Default)]
pub struct TapPanel {
    pub filter: String,
    /// Rows frozen by Pause, per edge.
    paused: Vec<(Edge, RecordBatch)>,
    pub is_paused: bool,
}

fn current_rows(live: &LiveRun, edge: &Edge) -> Option<RecordBatch> {
    let tap = live.handle.tap(edge)?;
    if !tap.is_enabled() {
        tap.enable(TAP_ROWS);
    }
    let batches = tap.rows();
    let first = batches.first()?;
    concat_batches(&first.schema(), &batches).ok()
}

impl TapPanel {
    fn rows(&self, live: &LiveRun, edge: &Edge) -> Option<RecordBatch> {
        if self.is_paused {
            return self
                .paused
                .iter()
                .find(|(e, _)| e == edge)
                .map(|(_, b)| b.clone());
        }
        current_rows(live, edge)
    }

    fn controls_ui(&mut self, ui: &mut Ui, live: &LiveRun, edges: &[Edge]) {
        ui.horizontal(|ui| {
            let label = if self.is_paused { "Resume" } else { "Pause" };
            if ui
                .button(label)
                .on_hover_text("Freeze the rows shown (the pipeline keeps running)")
                .clicked()
            {
                self.is_paused = !self.is_paused;
                self.paused = if self.is_paused {
                    edges
                        .iter()
                        .filter_map(|e| current_rows(live, e).map(|b| (e.clone(), b)))
                        .collect()
                } else {
                    Vec::new()
                };
            }
            ui.label("filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter)
                    .hint_text("SQL condition, e.g. temperature > 30")
                    .desired_width(260.0),
            )
            .on_hover_text("Only rows for which this condition is true are shown");
        });
    }

    fn table_ui(&self, ui: &mut Ui, title: &str, rows: Option<RecordBatch>) {
        ui.label(RichText::new(title).strong());
        let Some(rows) = rows else {
            ui.label("no rows have crossed here since the tap opened");
            return;
        };
        let shown = if self.filter.trim().is_empty() {
            rows
        } else {
            match plan_predicate(&self.filter, &rows.schema())
                .map_err(|e| e.to_string())
                .and_then(|p| predicate_mask(&p, &rows).map_err(|e| e.to_string()))
                .and_then(|mask| filter_record_batch(&rows, &mask).map_err(|e| e.to_string()))
            {
                Ok(filtered) => filtered,
                Err(e) => {
                    ui.label(RichText::new(format!("filter: {e}")).color(theme::ERROR));
                    rows
                }
            }
        };
        ui.label(
            RichText::new(format!("{} rows", shown.num_rows()))
                .small()
                .weak(),
        );
        TableText::new(&shown).ui(ui, title);
    }

    /// The rows on one edge.
    pub fn edge_ui(&mut self, ui: &mut Ui, live: &LiveRun, edge: &Edge) {
        if live.handle.tap(edge).is_none() {
            ui.label("This edge is not part of the running pipeline (restart to include it).");
            return;
        }
        self.controls_ui(ui, live, std::slice::from_ref(edge));
        let rows = self.rows(live, edge);
        self.table_ui(ui, &format!("Rows on {edge} (the last {TAP_ROWS})"), rows);
    }

    /// The rows going into a node beside the rows coming out of it.
    pub fn node_ui(&mut self, ui: &mut Ui, live: &LiveRun, pipeline: &Pipeline, node: &str) {
        let incoming: Option<Edge> = pipeline.edges.iter().find(|e| e.to.node == node).cloned();
        let outgoing: Option<Edge> = pipeline.edges.iter().find(|e| e.from.node == node).cloned();
        let edges: Vec<Edge> = incoming.iter().chain(outgoing.iter()).cloned().collect();
        if edges.is_empty() {
            ui.label("This node has no edges to tap.");
            return;
        }
        self.controls_ui(ui, live, &edges);
        let half = ui.available_width() / 2.0 - 6.0;
        ui.horizontal_top(|ui| {
            for (edge, side) in [(incoming, "in"), (outgoing, "out")] {
                ui.allocate_ui(egui::vec2(half, ui.available_height()), |ui| {
                    ui.vertical(|ui| match edge {
                        Some(edge) => {
                            let rows = self.rows(live, &edge);
                            self.table_ui(ui, &format!("{side}: {edge}"), rows);
                        }
                        None => {
                            ui.label(format!("{side}: nothing"));
                        }
                    });
                });
            }
        });
    }
}
