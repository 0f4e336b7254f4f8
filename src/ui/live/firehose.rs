//! The Firehose tab: a delivery stream's buffers (the transformation's and one per partition)
//! filling against their size and interval hints, the records it took, delivered, dropped and
//! failed, and the objects it delivered, newest first, with their delivery latency; click an
//! object of a folder bucket to read its rows.

use egui::{RichText, Ui};

use super::LiveRun;
use crate::connectors::firehose_bucket::read_object;
use crate::model::KindId;
use crate::runtime::firehose_stats::FirehoseView;
use crate::ui::theme;
use crate::values::show_time;

/// Rows of an opened object shown.
const ROWS_SHOWN: usize = 200;

#[derive(Default)]
pub struct FirehoseTab {
    node: Option<String>,
    /// The object opened, and its rows (or why they could not be read).
    opened: Option<(String, ObjectRows)>,
}

/// An opened object's rows as text, or why they could not be read.
type ObjectRows = Result<Vec<Vec<String>>, String>;

impl FirehoseTab {
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveRun) {
        let nodes: Vec<String> = live
            .started_from
            .nodes
            .iter()
            .filter(|n| n.kind.kind_id() == KindId::Firehose)
            .map(|n| n.id.clone())
            .collect();
        let Some(first) = nodes.first() else {
            ui.label("This pipeline has no Firehose node.");
            return;
        };
        if self.node.as_ref().is_none_or(|n| !nodes.contains(n)) {
            self.node = Some(first.clone());
        }
        let mut chosen = self.node.clone().unwrap_or_default();
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("delivery stream")
                .selected_text(chosen.clone())
                .show_ui(ui, |ui| {
                    for id in &nodes {
                        ui.selectable_value(&mut chosen, id.clone(), id.as_str());
                    }
                });
        });
        if self.node.as_deref() != Some(chosen.as_str()) {
            self.opened = None;
        }
        self.node = Some(chosen.clone());
        let Some(stats) = live.handle.firehose_stats(&chosen) else {
            return;
        };
        let view = stats.view();
        counts_ui(ui, &view);
        buffers_ui(ui, &view);
        ui.separator();
        ui.columns(2, |columns| {
            self.objects_ui(&mut columns[0], &view);
            self.opened_ui(&mut columns[1]);
        });
    }

    fn objects_ui(&mut self, ui: &mut Ui, view: &FirehoseView) {
        ui.label(
            RichText::new(format!(
                "{} objects delivered (newest first; click one to read it)",
                view.objects_total
            ))
            .small(),
        );
        egui::ScrollArea::vertical()
            .id_salt("firehose objects")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for object in view.objects.iter().rev() {
                    let text = format!(
                        "{}  {} records, {} bytes, delivered {} ({:.1} s after its oldest record)",
                        object.key,
                        object.records,
                        object.bytes,
                        show_time(object.delivered_at),
                        (object.delivered_at - object.oldest_arrival) as f64 / 1000.0
                    );
                    let label = if object.kind == "data" {
                        RichText::new(text).small()
                    } else {
                        RichText::new(format!("[{}] {text}", object.kind))
                            .small()
                            .color(theme::ERROR)
                    };
                    if ui.selectable_label(false, label).clicked() {
                        let rows = match &view.folder {
                            Some(folder) => read_object(&folder.join(&object.key), ROWS_SHOWN),
                            None => {
                                Err("objects in S3 are read with the AWS console or CLI".into())
                            }
                        };
                        self.opened = Some((object.key.clone(), rows));
                    }
                }
            });
    }

    fn opened_ui(&self, ui: &mut Ui) {
        let Some((key, rows)) = &self.opened else {
            ui.label(RichText::new("Click an object to see its rows.").weak());
            return;
        };
        ui.label(RichText::new(key).small().strong());
        match rows {
            Err(why) => {
                ui.colored_label(theme::ERROR, why);
            }
            Ok(rows) => {
                egui::ScrollArea::both()
                    .id_salt("firehose object rows")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        egui::Grid::new("firehose object grid")
                            .striped(true)
                            .show(ui, |ui| {
                                for (i, row) in rows.iter().enumerate() {
                                    for cell in row {
                                        let text = RichText::new(cell).small().monospace();
                                        ui.label(if i == 0 { text.strong() } else { text });
                                    }
                                    ui.end_row();
                                }
                            });
                    });
            }
        }
    }
}

fn counts_ui(ui: &mut Ui, view: &FirehoseView) {
    let mut text = format!(
        "{} records in, {} delivered",
        view.records_in, view.delivered
    );
    if view.invocations > 0 {
        text.push_str(&format!(
            "; the transformation ran {} times: {} dropped, {} failed (under the error prefix)",
            view.invocations, view.dropped, view.failed
        ));
    }
    ui.label(RichText::new(text).small());
}

/// Each buffer's fill and age against its hints: whichever reaches its end first delivers.
fn buffers_ui(ui: &mut Ui, view: &FirehoseView) {
    if view.buffers.is_empty() {
        ui.label(
            RichText::new("No records waiting in a buffer.")
                .small()
                .weak(),
        );
        return;
    }
    egui::Grid::new("firehose buffers")
        .num_columns(4)
        .striped(true)
        .show(ui, |ui| {
            for header in [
                "buffer",
                "records",
                "size (of the hint)",
                "age (of the interval)",
            ] {
                ui.label(RichText::new(header).strong());
            }
            ui.end_row();
            for buffer in &view.buffers {
                ui.label(&buffer.name);
                ui.label(buffer.records.to_string());
                let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
                ui.add(
                    egui::ProgressBar::new(
                        (buffer.bytes as f32 / buffer.size_hint.max(1) as f32).min(1.0),
                    )
                    .desired_width(160.0)
                    .text(format!(
                        "{:.2} of {:.1} MiB",
                        mib(buffer.bytes),
                        mib(buffer.size_hint)
                    )),
                );
                let age = buffer.age_ms.max(0) as f32 / buffer.interval_ms.max(1) as f32;
                ui.add(
                    egui::ProgressBar::new(age.min(1.0))
                        .desired_width(160.0)
                        .text(format!(
                            "{:.0} of {:.0} s",
                            buffer.age_ms.max(0) as f64 / 1000.0,
                            buffer.interval_ms as f64 / 1000.0
                        )),
                );
                ui.end_row();
            }
        });
}
