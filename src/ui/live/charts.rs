//! The bottom dock while running: throughput and watermark lag over time, the results of Chart and
//! Table sinks, the rows on a tapped edge, and the console.

use std::collections::BTreeMap;

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use egui::{RichText, Ui};
use egui_plot::{Bar, BarChart, Legend, Line, Plot, PlotPoints};

use super::LiveRun;
use crate::connectors::collector::table_view;
use crate::model::kinds::chart::{ChartSink, ChartStyle};
use crate::model::kinds::table::TableSink;
use crate::model::kinds::{NodeKind, SinkKind};
use crate::runtime::contract::Collected;
use crate::values::cell_text;

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
        .height(ui.available_height().clamp(120.0, 320.0))
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
        .height(ui.available_height().clamp(120.0, 320.0))
        .y_axis_label("lag (s)")
        .x_axis_label("seconds")
        .show(ui, |plot| {
            for (node, points) in series {
                plot.line(Line::new(node, PlotPoints::from(points)));
            }
        });
}

fn numbers(batch: &RecordBatch, column: &str) -> Option<Vec<Option<f64>>> {
    let array = batch.column(batch.schema().index_of(column).ok()?);
    let array = match array.data_type() {
        DataType::Timestamp(..) => {
            let ts = array.as_any().downcast_ref::<TimestampMillisecondArray>()?;
            return Some(
                (0..ts.len())
                    .map(|i| ts.is_valid(i).then(|| ts.value(i) as f64 / 1000.0))
                    .collect(),
            );
        }
        _ => cast(array, &DataType::Float64).ok()?,
    };
    let values = array
        .as_any()
        .downcast_ref::<arrow::array::Float64Array>()?;
    Some(
        (0..values.len())
            .map(|i| values.is_valid(i).then(|| values.value(i)))
            .collect(),
    )
}

/// What a chart draws, derived from one version of its sink's rows.
struct ChartPoints {
    /// (series, x in ms) -> (y, how many results had that x): a window that fires again (a late
    /// firing) replaces its point and is drawn as a ring.
    points: BTreeMap<String, BTreeMap<i64, (f64, u32)>>,
    /// The busiest series, drawn.
    ranked: Vec<String>,
}

fn chart_points(chart: &ChartSink, collected: &Collected) -> Option<ChartPoints> {
    let y_column = chart.y.first()?;
    let mut points: BTreeMap<String, BTreeMap<i64, (f64, u32)>> = BTreeMap::new();
    for batch in &collected.batches {
        let (Some(xs), Some(ys)) = (numbers(batch, &chart.x), numbers(batch, y_column)) else {
            continue;
        };
        let series_column = chart
            .series_by
            .as_ref()
            .and_then(|c| batch.schema().index_of(c).ok());
        for row in 0..batch.num_rows() {
            let (Some(x), Some(y)) = (xs[row], ys[row]) else {
                continue;
            };
            let series = series_column.map_or_else(
                || y_column.clone(),
                |c| cell_text(batch.column(c).as_ref(), row),
            );
            let entry = points
                .entry(series)
                .or_default()
                .entry((x * 1000.0) as i64)
                .or_insert((y, 0));
            entry.1 += 1;
            entry.0 = y;
        }
    }
    let mut ranked: Vec<(String, f64)> = points
        .iter()
        .map(|(s, p)| (s.clone(), p.values().map(|(y, _)| y.abs()).sum()))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(chart.top_series.max(1) as usize);
    Some(ChartPoints {
        points,
        ranked: ranked.into_iter().map(|(s, _)| s).collect(),
    })
}

/// One Chart sink: a line per series (the busiest ones) or bars of the latest window.
fn chart_ui(ui: &mut Ui, id: &str, chart: &ChartSink, data: &ChartPoints) {
    let Some(y_column) = chart.y.first() else {
        return;
    };
    let (points, ranked) = (&data.points, &data.ranked);
    ui.label(RichText::new(format!("{id}: {y_column} by {}", chart.x)).strong());
    // Bars are placed by rank, lines by time.
    let time_axis = chart.style == ChartStyle::Lines
        && matches!(chart.x.as_str(), "window_end" | "window_start");
    Plot::new(format!("chart_{id}"))
        .legend(Legend::default())
        .x_axis_formatter(move |mark, _range| {
            if time_axis {
                chrono::DateTime::from_timestamp_millis((mark.value * 1000.0) as i64)
                    .map(|t| t.format("%H:%M:%S").to_string())
                    .unwrap_or_default()
            } else {
                format!("{}", mark.value)
            }
        })
        .height((ui.available_height() - 4.0).clamp(120.0, 320.0))
        .show(ui, |plot| match chart.style {
            ChartStyle::Lines => {
                for series in ranked {
                    let p = &points[series];
                    let line: Vec<[f64; 2]> = p
                        .iter()
                        .map(|(x, (y, _))| [*x as f64 / 1000.0, *y])
                        .collect();
                    plot.line(Line::new(series.clone(), PlotPoints::from(line)));
                    let updated: Vec<[f64; 2]> = p
                        .iter()
                        .filter(|(_, (_, n))| *n > 1)
                        .map(|(x, (y, _))| [*x as f64 / 1000.0, *y])
                        .collect();
                    if !updated.is_empty() {
                        plot.points(
                            egui_plot::Points::new(
                                format!("{series} (updated)"),
                                PlotPoints::from(updated),
                            )
                            .radius(4.0)
                            .filled(false),
                        );
                    }
                }
            }
            ChartStyle::Bars => {
                for (i, series) in ranked.iter().enumerate() {
                    if let Some((x, (y, _))) = points[series].iter().next_back() {
                        let bar = Bar::new(i as f64, *y)
                            .name(format!("{series} @ {}", *x as f64 / 1000.0));
                        plot.bar_chart(BarChart::new(series.clone(), vec![bar]));
                    }
                }
            }
        });
}

/// A table of rows, newest last, with the schema's columns.
pub fn rows_table_ui(ui: &mut Ui, id: &str, batch: &RecordBatch) {
    egui::ScrollArea::both().id_salt(id).show(ui, |ui| {
        egui::Grid::new(id).striped(true).show(ui, |ui| {
            for field in batch.schema().fields() {
                ui.label(RichText::new(field.name()).strong());
            }
            ui.end_row();
            for row in 0..batch.num_rows().min(500) {
                for column in batch.columns() {
                    ui.label(RichText::new(cell_text(column.as_ref(), row)).monospace());
                }
                ui.end_row();
            }
        });
    });
}

/// What one sink shows, derived from one version of its rows and kept until the rows change.
enum Derived {
    Chart(Option<ChartPoints>),
    Table(Result<Option<RecordBatch>, String>),
}

/// The Results tab: every Chart and Table sink of the running pipeline. What each shows is worked
/// out once per version of its rows, not every frame.
#[derive(Default)]
pub struct ResultsView {
    derived: BTreeMap<String, (u64, Derived)>,
}

impl ResultsView {
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveRun) {
        let sinks: Vec<(&str, &SinkKind)> = live
            .started_from
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Sink(s @ (SinkKind::Chart(_) | SinkKind::Table(_))) => {
                    Some((n.id.as_str(), s))
                }
                _ => None,
            })
            .collect();
        if sinks.is_empty() {
            ui.label("This pipeline has no Chart or Table sink; add one to see results here.");
            return;
        }
        let width = ui.available_width() / sinks.len() as f32;
        ui.horizontal_top(|ui| {
            for (id, sink) in sinks {
                let Some(collected) = live.collected(id) else {
                    continue;
                };
                let derived = self.derive(id, sink, &collected);
                ui.allocate_ui(egui::vec2(width - 8.0, ui.available_height()), |ui| {
                    ui.vertical(|ui| match (sink, derived) {
                        (SinkKind::Chart(chart), Derived::Chart(Some(points))) => {
                            chart_ui(ui, id, chart, points)
                        }
                        (SinkKind::Chart(_), Derived::Chart(None)) => {
                            ui.label(RichText::new(id).strong());
                        }
                        (SinkKind::Table(_), Derived::Table(table)) => {
                            ui.label(RichText::new(id).strong());
                            match table {
                                Ok(Some(batch)) => rows_table_ui(ui, id, batch),
                                Ok(None) => {
                                    ui.label("no rows yet");
                                }
                                Err(e) => {
                                    ui.label(e.as_str());
                                }
                            }
                        }
                        _ => {}
                    });
                });
            }
        });
    }

    fn derive(&mut self, id: &str, sink: &SinkKind, collected: &Collected) -> &Derived {
        let stale = self
            .derived
            .get(id)
            .is_none_or(|(version, _)| *version != collected.version);
        if stale {
            let derived = match sink {
                SinkKind::Chart(chart) => Derived::Chart(chart_points(chart, collected)),
                SinkKind::Table(TableSink { view }) => Derived::Table(table_view(collected, view)),
                _ => Derived::Table(Ok(None)),
            };
            self.derived
                .insert(id.to_string(), (collected.version, derived));
        }
        &self.derived[id].1
    }
}
