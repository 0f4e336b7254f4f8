//! The run's own numbers over time: throughput per node, watermark lag per node and end-to-end lag
//! per sink.

use std::collections::BTreeMap;

use egui::{RichText, Ui};
use egui_plot::{HoverPosition, Legend, Line, Plot, PlotPoints};

use super::LiveRun;
use super::axes::point_label;

/// Hover labels with rounded numbers (x is seconds since the run started).
fn rounded_label(hover: &HoverPosition<'_>) -> Option<String> {
    Some(match hover {
        HoverPosition::NearDataPoint {
            plot_name,
            position,
            ..
        } => point_label(plot_name, position.x, position.y, false),
        HoverPosition::Elsewhere { position } => point_label("", position.x, position.y, false),
    })
}

/// Rows/s out of every node, over the run.
pub fn throughput_ui(ui: &mut Ui, live: &LiveRun) {
    let mut series: BTreeMap<&str, Vec<[f64; 2]>> = BTreeMap::new();
    for point in &live.history {
        for (node, rate) in &point.out_per_sec {
            series.entry(node).or_default().push([point.seconds, *rate]);
        }
    }
    Plot::new("throughput")
        .legend(Legend::default())
        .height(ui.available_height().max(60.0))
        .label_formatter(rounded_label)
        .y_axis_label("rows/s")
        .x_axis_label("seconds")
        .show(ui, |plot| {
            for (node, points) in series {
                plot.line(Line::new(node, PlotPoints::from(points)));
            }
        });
}

/// How far each node's watermark trails the newest event it has seen, and, per sink, how far
/// behind the sources' newest event its results are final (end to end, in event time).
pub fn lag_ui(ui: &mut Ui, live: &LiveRun) {
    let half = ui.available_width() / 2.0 - 6.0;
    ui.horizontal_top(|ui| {
        ui.allocate_ui(egui::vec2(half, ui.available_height()), |ui| {
            ui.vertical(|ui| {
                ui.label(RichText::new("Watermark lag per node").strong())
                    .on_hover_text("The newest event a node has seen minus its watermark");
                series_plot(ui, "watermark_lag", live, |p| &p.lag_ms);
            });
        });
        ui.allocate_ui(egui::vec2(half, ui.available_height()), |ui| {
            ui.vertical(|ui| {
                ui.label(RichText::new("End-to-end lag per sink").strong()).on_hover_text(
                    "The sources' newest event time minus the sink's watermark: how long after an event its results are final",
                );
                series_plot(ui, "end_to_end", live, |p| &p.end_to_end_ms);
            });
        });
    });
}

fn series_plot(
    ui: &mut Ui,
    id: &str,
    live: &LiveRun,
    pick: impl Fn(&super::HistoryPoint) -> &BTreeMap<String, f64>,
) {
    let mut series: BTreeMap<&str, Vec<[f64; 2]>> = BTreeMap::new();
    for point in &live.history {
        for (node, lag) in pick(point) {
            series
                .entry(node)
                .or_default()
                .push([point.seconds, *lag / 1000.0]);
        }
    }
    Plot::new(id)
        .legend(Legend::default())
        .height(ui.available_height().max(60.0))
        .label_formatter(rounded_label)
        .y_axis_label("lag (s)")
        .x_axis_label("seconds")
        .show(ui, |plot| {
            for (node, points) in series {
                plot.line(Line::new(node, PlotPoints::from(points)));
            }
        });
}
