//! The Checkpoints tab, like Flink's web UI: whether the next run takes checkpoints (how often,
//! which mode), the history of the running one (id, trigger time, duration, alignment, size per
//! node, status), the restore it started from, and the lab's two buttons — crash the run, and
//! restore from the last checkpoint — with what the restore replays.

use std::collections::BTreeMap;

use egui::{RichText, Ui};

use super::LiveRun;
use crate::model::Family;
use crate::runtime::checkpoint::{CheckpointMode, CheckpointStatus, LoadedCheckpoint};
use crate::runtime::source_loop::saved_rows_sent;
use crate::ui::theme;

/// What the user asked for in the tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointAction {
    Crash,
    Restore,
}

/// The tab's settings and what it remembers between runs.
pub struct CheckpointsTab {
    /// The next run takes checkpoints.
    pub enabled: bool,
    pub every_ms: u64,
    pub mode: CheckpointMode,
    /// Rows each source had read when the run crashed, to show what a restore reads again.
    pub crashed_reads: Option<BTreeMap<String, u64>>,
}

impl Default for CheckpointsTab {
    fn default() -> Self {
        Self {
            enabled: false,
            every_ms: 2_000,
            mode: CheckpointMode::ExactlyOnce,
            crashed_reads: None,
        }
    }
}

fn time_of_day(ms: i64) -> String {
    let day = ms.rem_euclid(86_400_000);
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3_600_000,
        day / 60_000 % 60,
        day / 1000 % 60,
        day % 1000
    )
}

impl CheckpointsTab {
    pub fn ui(&mut self, ui: &mut Ui, live: Option<&LiveRun>) -> Option<CheckpointAction> {
        let mut action = None;
        let active = live.is_some_and(LiveRun::is_active);
        ui.horizontal(|ui| {
            ui.add_enabled_ui(!active, |ui| {
                ui.checkbox(&mut self.enabled, "take checkpoints")
                    .on_hover_text("Applies to the next run: every interval the sources inject a barrier, every node saves its state when the barrier passes, and the checkpoint is written to the pipeline's .eddy-checkpoints folder");
                let mut seconds = self.every_ms as f64 / 1000.0;
                ui.add(
                    egui::DragValue::new(&mut seconds)
                        .range(0.2..=60.0)
                        .speed(0.1)
                        .suffix(" s"),
                );
                self.every_ms = (seconds * 1000.0).round() as u64;
                ui.selectable_value(&mut self.mode, CheckpointMode::ExactlyOnce, "exactly-once")
                    .on_hover_text("Barriers align; after a restore every row is in the outputs once");
                ui.selectable_value(&mut self.mode, CheckpointMode::AtLeastOnce, "at-least-once")
                    .on_hover_text("No alignment, and the file sinks keep what they wrote after the checkpoint: a restore writes those rows again");
            });
            ui.separator();
            let takes = live.is_some_and(|l| l.checkpoints.is_some());
            if ui
                .add_enabled(active && takes, egui::Button::new("Crash the run"))
                .on_hover_text("Stops the run as a crash would: nothing after the last complete checkpoint is kept")
                .clicked()
            {
                action = Some(CheckpointAction::Crash);
            }
            let can_restore = !active && takes && live.is_some_and(|l| !l.status_finished());
            if ui
                .add_enabled(can_restore, egui::Button::new("Restore from the last checkpoint"))
                .on_hover_text("Starts the run again from the newest complete checkpoint: sources go back to their saved positions, every node gets its saved state")
                .clicked()
            {
                action = Some(CheckpointAction::Restore);
            }
        });
        let Some(live) = live else {
            ui.label("Tick \"take checkpoints\" and press Run; then crash the run and restore it.");
            return action;
        };
        let Some(settings) = &live.checkpoints else {
            ui.label("This run takes no checkpoints. Tick \"take checkpoints\" and run again.");
            return action;
        };
        if live.crashed {
            ui.label(
                RichText::new("The run crashed: restore it from its last complete checkpoint.")
                    .color(theme::ERROR),
            );
        }
        if let Some(restored) = &settings.restore {
            self.restore_ui(ui, live, restored);
        }
        if let Ok(notes) = settings.notes.lock() {
            for note in notes.iter() {
                ui.label(RichText::new(note).color(theme::WARNING));
            }
        }
        let history = live.handle.checkpoint_history();
        let completed = history
            .iter()
            .filter(|r| r.status == CheckpointStatus::Completed)
            .count();
        ui.label(
            RichText::new(format!(
                "{completed} completed of {} triggered, {}, every {:.1} s, in {}",
                history.len(),
                settings.mode.name(),
                settings.every.as_secs_f64(),
                settings.dir.display()
            ))
            .small(),
        );
        egui::ScrollArea::vertical()
            .id_salt("checkpoint history")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("checkpoints")
                    .striped(true)
                    .num_columns(7)
                    .show(ui, |ui| {
                        for title in [
                            "id",
                            "triggered",
                            "duration",
                            "alignment",
                            "size",
                            "per node",
                            "status",
                        ] {
                            ui.label(RichText::new(title).strong());
                        }
                        ui.end_row();
                        for r in history.iter().rev().take(200) {
                            let id = if r.savepoint {
                                format!("{} (savepoint)", r.id)
                            } else {
                                r.id.to_string()
                            };
                            ui.label(id);
                            ui.label(time_of_day(r.triggered_at_ms));
                            ui.label(format!("{} ms", r.duration.as_millis()));
                            ui.label(format!("{} ms", r.alignment.as_millis()));
                            ui.label(human_bytes(r.size()));
                            let per_node: Vec<String> = r
                                .sizes
                                .iter()
                                .filter(|(_, b)| **b > 0)
                                .map(|(n, b)| format!("{n} {}", human_bytes(*b)))
                                .collect();
                            ui.label(RichText::new(per_node.join(", ")).small());
                            match &r.status {
                                CheckpointStatus::Completed => {
                                    ui.label(RichText::new("completed").color(theme::OK));
                                }
                                CheckpointStatus::InProgress => {
                                    ui.label("in progress");
                                }
                                CheckpointStatus::Failed(why) => {
                                    ui.label(
                                        RichText::new(format!("failed: {why}")).color(theme::ERROR),
                                    );
                                }
                            }
                            ui.end_row();
                        }
                    });
            });
        action
    }

    /// What the run was restored from, and what each source reads again.
    fn restore_ui(&self, ui: &mut Ui, live: &LiveRun, restored: &LoadedCheckpoint) {
        ui.label(
            RichText::new(format!(
                "Restored from checkpoint {} (taken at {})",
                restored.id,
                time_of_day(restored.metadata.triggered_at_ms)
            ))
            .strong(),
        );
        for warning in &restored.warnings {
            ui.label(RichText::new(warning).color(theme::WARNING));
        }
        for node in &live.started_from.nodes {
            if node.kind.family() != Family::Source {
                continue;
            }
            let Some(at) = restored
                .nodes
                .get(&node.id)
                .and_then(|n| n.blobs.first())
                .and_then(|b| saved_rows_sent(b))
            else {
                continue;
            };
            let mut line = format!("{}: went back to row {at}", node.id);
            if let Some(read) = self.crashed_reads.as_ref().and_then(|r| r.get(&node.id)) {
                line.push_str(&format!(
                    "; it had read {read} before the crash, so {} rows are read again",
                    read.saturating_sub(at)
                ));
            }
            ui.label(line);
        }
    }
}

/// `1234567` -> `1.2 MB`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
