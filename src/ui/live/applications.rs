//! The Lambda / KCL tab: the applications that read a stream. For a Lambda consumer, its lanes
//! (one per shard, or per shard and key group with a parallelization factor): records waiting,
//! iterator age, how long the head batch has been failing. For a KCL application, its workers
//! (each with a button to kill it, as a crash would) and its lease table: owner, checkpoint,
//! lease counter, parent, records processed since the checkpoint (the ones a failover repeats).

use egui::{RichText, Ui};

use super::LiveRun;
use crate::model::KindId;
use crate::runtime::kcl_stats::{KclStats, KclView};
use crate::runtime::lambda_stats::LambdaView;
use crate::ui::theme;

/// An iterator age past this shows as a warning.
const BEHIND_WARNING_MS: i64 = 5_000;

#[derive(Default)]
pub struct ApplicationsTab {
    node: Option<String>,
}

impl ApplicationsTab {
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveRun) {
        let nodes: Vec<(String, KindId)> = live
            .started_from
            .nodes
            .iter()
            .map(|n| (n.id.clone(), n.kind.kind_id()))
            .filter(|(_, kind)| matches!(kind, KindId::Lambda | KindId::Kcl))
            .collect();
        let Some((first, _)) = nodes.first() else {
            ui.label("This pipeline has no Lambda consumer or KCL application.");
            return;
        };
        if self
            .node
            .as_ref()
            .is_none_or(|n| !nodes.iter().any(|(id, _)| id == n))
        {
            self.node = Some(first.clone());
        }
        let mut chosen = self.node.clone().unwrap_or_default();
        egui::ComboBox::from_label("application")
            .selected_text(chosen.clone())
            .show_ui(ui, |ui| {
                for (id, _) in &nodes {
                    ui.selectable_value(&mut chosen, id.clone(), id.as_str());
                }
            });
        self.node = Some(chosen.clone());
        if let Some(stats) = live.handle.lambda_stats(&chosen) {
            lambda_ui(ui, &stats.view());
        } else if let Some(stats) = live.handle.kcl_stats(&chosen) {
            kcl_ui(ui, &stats, live.is_active());
        }
    }
}

fn lambda_ui(ui: &mut Ui, view: &LambdaView) {
    let mut counts = format!(
        "{} invocations, {} failed; {} records out, {} of them again (retries)",
        view.invocations, view.errors, view.output, view.duplicates
    );
    if view.given_up_batches > 0 {
        counts.push_str(&format!(
            "; {} batches ({} records) given up, to on_failure",
            view.given_up_batches, view.given_up_records
        ));
    }
    if view.skipped > 0 {
        counts.push_str(&format!(
            "; {} records before the starting position",
            view.skipped
        ));
    }
    ui.label(RichText::new(counts).small());
    egui::ScrollArea::vertical()
        .id_salt("lambda lanes")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("lambda lanes grid")
                .num_columns(4)
                .striped(true)
                .show(ui, |ui| {
                    for header in ["lane (shard)", "records waiting", "iterator age", "head"] {
                        ui.label(RichText::new(header).strong());
                    }
                    ui.end_row();
                    for lane in &view.lanes {
                        ui.label(RichText::new(&lane.shard).monospace());
                        ui.label(lane.waiting.to_string());
                        let age = format!("{:.1} s", lane.behind_ms as f64 / 1000.0);
                        if lane.behind_ms > BEHIND_WARNING_MS {
                            ui.colored_label(theme::WARNING, age);
                        } else {
                            ui.label(age);
                        }
                        match lane.failing_for_ms {
                            Some(ms) => ui.colored_label(
                                theme::ERROR,
                                format!("failing for {:.0} s, retried", ms as f64 / 1000.0),
                            ),
                            None => ui.label(RichText::new("ok").weak()),
                        };
                        ui.end_row();
                    }
                });
        });
}

fn kcl_ui(ui: &mut Ui, stats: &KclStats, running: bool) {
    let view = stats.view();
    ui.horizontal_wrapped(|ui| {
        for (i, alive) in view.workers.iter().enumerate() {
            let worker = i as u32 + 1;
            let leases = leases_of(&view, worker);
            if *alive {
                ui.label(format!("worker-{worker}: {leases} leases"));
                let kill = ui
                    .add_enabled(running, egui::Button::new("kill").small())
                    .on_hover_text(
                        "Stop this worker as a crash would: it stops processing and renewing; after the failover time the others take its leases and start again from their checkpoints",
                    );
                if kill.clicked() {
                    stats.kill(worker);
                }
            } else {
                ui.colored_label(theme::ERROR, format!("worker-{worker}: dead"));
            }
            ui.separator();
        }
    });
    let mut counts = format!(
        "{} records processed, {} of them again after a failover",
        view.processed, view.duplicates
    );
    if view.unprocessed > 0 {
        counts.push_str(&format!(
            "; {} left in the stream with no worker alive",
            view.unprocessed
        ));
    }
    ui.label(RichText::new(counts).small());
    egui::ScrollArea::vertical()
        .id_salt("kcl leases")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            egui::Grid::new("kcl lease grid")
                .num_columns(6)
                .striped(true)
                .show(ui, |ui| {
                    for header in [
                        "leaseKey",
                        "leaseOwner",
                        "checkpoint",
                        "leaseCounter",
                        "parentShardId",
                        "processed since checkpoint",
                    ] {
                        ui.label(RichText::new(header).strong());
                    }
                    ui.end_row();
                    for lease in &view.leases {
                        ui.label(RichText::new(&lease.lease_key).monospace());
                        let owner_alive = lease
                            .owner
                            .as_deref()
                            .and_then(|o| o.strip_prefix("worker-"))
                            .and_then(|n| n.parse::<usize>().ok())
                            .and_then(|n| view.workers.get(n.saturating_sub(1)).copied());
                        match (&lease.owner, owner_alive) {
                            (Some(owner), Some(false)) => {
                                ui.colored_label(theme::ERROR, format!("{owner} (dead, expiring)"))
                            }
                            (Some(owner), _) => ui.label(owner),
                            (None, _) => ui.label(RichText::new("none").weak()),
                        };
                        ui.label(RichText::new(&lease.checkpoint).monospace().small());
                        ui.label(lease.lease_counter.to_string());
                        ui.label(lease.parent.as_deref().unwrap_or(""));
                        ui.label(lease.uncheckpointed.to_string());
                        ui.end_row();
                    }
                });
        });
}

/// How many open leases worker `worker` (from 1) holds.
fn leases_of(view: &KclView, worker: u32) -> usize {
    let name = format!("worker-{worker}");
    view.leases
        .iter()
        .filter(|l| l.owner.as_deref() == Some(name.as_str()))
        .count()
}
