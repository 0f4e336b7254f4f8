//! The bottom dock: problems, and while running the results, throughput, lags, taps, the
//! event-time view and the console.

use egui::Ui;

use super::EddyApp;
use crate::ui::canvas::Selection;
use crate::ui::live::LiveRun;
use crate::ui::live::charts::{lag_ui, throughput_ui};
use crate::ui::problems::problems_ui;

/// The tabs of the bottom dock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dock {
    Problems,
    /// The rows of a sample run, while no run is going.
    Preview,
    Results,
    Throughput,
    Lag,
    Tap,
    EventTime,
    /// The shards of a Kinesis stream node.
    Shards,
    /// The buffers and objects of a Firehose node.
    Firehose,
    /// The lanes of a Lambda consumer, the workers and leases of a KCL application.
    Applications,
    /// Checkpoint settings, history, crash and restore.
    Checkpoints,
    /// The pipeline as Flink SQL.
    FlinkSql,
    Console,
}

impl EddyApp {
    fn dock_tabs_ui(&mut self, ui: &mut Ui) {
        let run_active = self.live.as_ref().is_some_and(LiveRun::is_active);
        let has_kind = |kind: crate::model::KindId| {
            self.doc
                .pipeline()
                .nodes
                .iter()
                .any(|n| n.kind.kind_id() == kind)
        };
        let has_stream = has_kind(crate::model::KindId::KinesisStream);
        let has_firehose = has_kind(crate::model::KindId::Firehose);
        let has_application =
            has_kind(crate::model::KindId::Lambda) || has_kind(crate::model::KindId::Kcl);
        if run_active && self.dock == Dock::Preview {
            self.dock = Dock::Tap;
        }
        ui.horizontal(|ui| {
            let errors = self
                .doc
                .validation()
                .problems
                .iter()
                .filter(|p| p.is_error())
                .count();
            let problems_label = if errors > 0 {
                format!("Problems ({errors})")
            } else {
                "Problems".into()
            };
            for (tab, label, help) in [
                (
                    Dock::Problems,
                    problems_label.as_str(),
                    "Errors and warnings of the pipeline",
                ),
                (
                    Dock::Preview,
                    "Preview",
                    "The first rows the selected node produces on a sample, before you run",
                ),
                (
                    Dock::Results,
                    "Results",
                    "Live charts and tables of the Chart and Table sinks",
                ),
                (
                    Dock::Throughput,
                    "Throughput",
                    "Rows per second out of every node",
                ),
                (
                    Dock::Lag,
                    "Watermark lag",
                    "How far each watermark trails the newest event",
                ),
                (Dock::Tap, "Tap", "The rows flowing on the selected edge"),
                (
                    Dock::EventTime,
                    "Event time",
                    "How the selected window sees time: events, watermark, windows, late events",
                ),
                (
                    Dock::Shards,
                    "Shards",
                    "A Kinesis stream's shards: key space, load against the limits, throttling",
                ),
                (
                    Dock::Firehose,
                    "Firehose",
                    "A Firehose delivery stream's buffers against their hints, and the objects it delivered",
                ),
                (
                    Dock::Applications,
                    "Lambda / KCL",
                    "The applications reading a stream: a Lambda's lanes and iterator age, a KCL application's workers and lease table",
                ),
                (
                    Dock::Checkpoints,
                    "Checkpoints",
                    "Take checkpoints, see their history and sizes, crash the run and restore it",
                ),
                (
                    Dock::FlinkSql,
                    "Flink SQL",
                    "The pipeline as Flink SQL (what eddy export writes): the selected node's part, or all of it, and what does not translate",
                ),
                (Dock::Console, "Console output", "What Console sinks print"),
            ] {
                // The preview stands in for the live views while nothing runs.
                if tab == Dock::Preview && run_active {
                    continue;
                }
                // Only a pipeline with a stream has shards to show.
                if tab == Dock::Shards && !has_stream {
                    continue;
                }
                if tab == Dock::Firehose && !has_firehose {
                    continue;
                }
                if tab == Dock::Applications && !has_application {
                    continue;
                }
                ui.selectable_value(&mut self.dock, tab, label)
                    .on_hover_text(help);
            }
            if let Some(live) = &mut self.live {
                ui.separator();
                let mut frozen = live.frozen.is_some();
                if ui
                    .checkbox(&mut frozen, "freeze charts")
                    .on_hover_text(
                        "Hold the charts and tables still to look closely; the run goes on",
                    )
                    .changed()
                {
                    live.toggle_frozen();
                }
            }
        });
    }

    pub(super) fn dock_ui(&mut self, ui: &mut Ui) {
        // egui sizes a panel by what it holds: claiming the whole height keeps the size the user
        // dragged to, instead of snapping back to the content.
        ui.set_min_size(ui.available_size());
        self.dock_tabs_ui(ui);
        ui.separator();
        // Every tab fills the height the user gave the dock and no more (lists scroll, plots take
        // what is there), so the dock and its tab bar stay where they are as tabs and rows change.
        match (self.dock, &self.live) {
            (Dock::Problems, _) => {
                let (pipeline, validation) = self.doc.checked();
                if let Some(id) = problems_ui(ui, &validation.problems, &pipeline.edges) {
                    self.selection = Selection::only(&id);
                    self.canvas.frame_node = Some(id);
                }
            }
            (Dock::Preview, _) => self.preview.dock_ui(ui, &self.doc, &self.selection),
            (Dock::Checkpoints, live) => {
                if let Some(action) = self.checkpoints.ui(ui, live.as_ref()) {
                    self.pending_checkpoint_action = Some(action);
                }
            }
            (Dock::FlinkSql, _) => {
                let selected = (self.selection.nodes.len() == 1)
                    .then(|| self.selection.nodes.iter().next().cloned())
                    .flatten();
                self.flink_sql.ui(ui, &mut self.doc, selected.as_deref());
            }
            (_, None) => {
                ui.label("Press Run to start the pipeline here and watch it.");
            }
            (Dock::Results, Some(live)) => self.results.ui(ui, live),
            (Dock::Throughput, Some(live)) => throughput_ui(ui, live),
            (Dock::Lag, Some(live)) => lag_ui(ui, live),
            (Dock::Tap, Some(live)) => {
                let single_node = (self.selection.nodes.len() == 1)
                    .then(|| self.selection.nodes.iter().next().cloned())
                    .flatten();
                match (&self.selection.edge, single_node) {
                    (Some(edge), _) => self.taps.edge_ui(ui, live, edge),
                    (None, Some(node)) => self.taps.node_ui(ui, live, &live.started_from, &node),
                    (None, None) => {
                        ui.label("Click an edge to see the rows flowing on it, or a node to compare what goes in and what comes out.");
                    }
                }
            }
            (Dock::EventTime, Some(live)) => {
                let selected = self.selection.nodes.iter().next().cloned();
                self.event_time
                    .ui(ui, live, &live.started_from, selected.as_deref());
            }
            (Dock::Shards, Some(live)) => self.shards.ui(ui, live),
            (Dock::Firehose, Some(live)) => self.firehose.ui(ui, live),
            (Dock::Applications, Some(live)) => self.applications.ui(ui, live),
            (Dock::Console, Some(live)) => {
                let lines: Vec<String> = live
                    .console
                    .lock()
                    .map(|l| l.iter().cloned().collect())
                    .unwrap_or_default();
                egui::ScrollArea::vertical()
                    .stick_to_bottom(true)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        for line in lines.iter().rev().take(400).rev() {
                            ui.label(egui::RichText::new(line).monospace());
                        }
                    });
            }
        }
    }
}
