//! The Results tab: every Chart and Table sink of the running pipeline. What each shows is worked
//! out once per version of its rows, not every frame; a series keeps its colour for the run.

use std::collections::BTreeMap;

use arrow::array::{Array, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use egui::{RichText, Ui};
use egui_plot::{Bar, BarChart, GridMark, Legend, Line, Plot, PlotPoints, Points};

use super::LiveRun;
use super::axes::{point_label, time_label, time_marks};
use super::rows_table::TableText;
use super::series_colours::SeriesColours;
use crate::connectors::collector::table_view;
use crate::model::kinds::chart::{ChartSink, ChartStyle};
use crate::model::kinds::table::TableSink;
use crate::model::kinds::{NodeKind, SinkKind};
use crate::runtime::contract::Collected;
use crate::values::{cell_text, number_text};

/// A column's values as numbers (times as seconds since the epoch), or `None` if it has no such
/// column or it cannot be read as numbers.
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
    /// The series drawn: for lines the busiest over the run, for bars the largest in the latest
    /// window, largest first.
    ranked: Vec<String>,
    x_is_time: bool,
}

/// The legend name of a series: the column's value, said with the column.
fn series_name(chart: &ChartSink, value: &str) -> String {
    match &chart.series_by {
        Some(column) => format!("{column} = {value}"),
        None => value.to_string(),
    }
}

fn chart_points(chart: &ChartSink, collected: &Collected) -> Option<ChartPoints> {
    chart.y.first()?;
    let mut points: BTreeMap<String, BTreeMap<i64, (f64, u32)>> = BTreeMap::new();
    let mut x_is_time = false;
    for batch in &collected.batches {
        let Some(xs) = numbers(batch, &chart.x) else {
            continue;
        };
        x_is_time = batch
            .schema()
            .field_with_name(&chart.x)
            .is_ok_and(|f| matches!(f.data_type(), DataType::Timestamp(..)));
        let series_column = chart
            .series_by
            .as_ref()
            .and_then(|c| batch.schema().index_of(c).ok());
        // Every y column is drawn; with more than one, each series says which it is.
        for y_column in &chart.y {
            let Some(ys) = numbers(batch, y_column) else {
                continue;
            };
            for row in 0..batch.num_rows() {
                let (Some(x), Some(y)) = (xs[row], ys[row]) else {
                    continue;
                };
                let series = match series_column {
                    None => y_column.clone(),
                    Some(c) => {
                        let name = series_name(chart, &cell_text(batch.column(c).as_ref(), row));
                        if chart.y.len() > 1 {
                            format!("{y_column}, {name}")
                        } else {
                            name
                        }
                    }
                };
                let entry = points
                    .entry(series)
                    .or_default()
                    .entry((x * 1000.0).round() as i64)
                    .or_insert((y, 0));
                entry.1 += 1;
                entry.0 = y;
            }
        }
    }
    let top = chart.top_series.max(1) as usize;
    let mut ranked: Vec<(String, f64)> = match chart.style {
        ChartStyle::Lines => points
            .iter()
            .map(|(s, p)| (s.clone(), p.values().map(|(y, _)| y.abs()).sum()))
            .collect(),
        ChartStyle::Bars => {
            // A leaderboard: the latest window's values, largest first.
            let latest = points.values().filter_map(|p| p.keys().next_back()).max();
            points
                .iter()
                .filter_map(|(s, p)| Some((s.clone(), p.get(latest?)?.0)))
                .collect()
        }
    };
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(top);
    Some(ChartPoints {
        points,
        ranked: ranked.into_iter().map(|(s, _)| s).collect(),
        x_is_time,
    })
}

/// One Chart sink: a line per series (the busiest ones) or bars of the latest window.
fn chart_ui(
    ui: &mut Ui,
    id: &str,
    chart: &ChartSink,
    data: &ChartPoints,
    colours: &mut SeriesColours,
) {
    let y_column = chart.y.join(", ");
    let title = match (&chart.series_by, chart.style) {
        (Some(by), ChartStyle::Lines) => {
            format!("{id}: {y_column} by {}, one line per {by}", chart.x)
        }
        (Some(by), ChartStyle::Bars) => format!("{id}: {y_column} per {by}, latest window"),
        (None, _) => format!("{id}: {y_column} by {}", chart.x),
    };
    ui.label(RichText::new(title).strong());
    if data.ranked.is_empty() {
        ui.label(
            "No results yet: a window's result arrives when the watermark passes the window's end.",
        );
        return;
    }
    let height = (ui.available_height() - 4.0).max(60.0);
    match chart.style {
        ChartStyle::Lines => lines_ui(ui, id, chart, data, colours, height),
        ChartStyle::Bars => bars_ui(ui, id, chart, data, colours, height),
    }
}

fn lines_ui(
    ui: &mut Ui,
    id: &str,
    chart: &ChartSink,
    data: &ChartPoints,
    colours: &mut SeriesColours,
    height: f32,
) {
    let x_is_time = data.x_is_time;
    let mut plot = Plot::new(format!("chart_{id}"))
        .legend(Legend::default())
        .height(height)
        .x_axis_label(chart.x.clone())
        .label_formatter(move |hover| {
            let (name, p) = match hover {
                egui_plot::HoverPosition::NearDataPoint {
                    plot_name,
                    position,
                    ..
                } => (*plot_name, position),
                egui_plot::HoverPosition::Elsewhere { position } => ("", position),
            };
            Some(point_label(name, p.x, p.y, x_is_time))
        });
    if x_is_time {
        plot = plot
            .x_grid_spacer(time_marks)
            .x_axis_formatter(|mark, _| time_label(mark));
    }
    // One x (the first window) would leave the plot to pick a span, and it picks days: show a
    // minute either side instead.
    let xs = data
        .ranked
        .iter()
        .flat_map(|s| data.points[s].keys())
        .map(|x| *x as f64 / 1000.0);
    let (low, high) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if low <= high && high - low < 1e-9 {
        let pad = if x_is_time { 60.0 } else { 1.0 };
        plot = plot.include_x(low - pad).include_x(high + pad);
    }
    plot.show(ui, |plot| {
        for series in &data.ranked {
            let colour = colours.of(series);
            let p = &data.points[series];
            let line: Vec<[f64; 2]> = p
                .iter()
                .map(|(x, (y, _))| [*x as f64 / 1000.0, *y])
                .collect();
            plot.line(Line::new(series.clone(), PlotPoints::from(line)).color(colour));
            let updated: Vec<[f64; 2]> = p
                .iter()
                .filter(|(_, (_, n))| *n > 1)
                .map(|(x, (y, _))| [*x as f64 / 1000.0, *y])
                .collect();
            if !updated.is_empty() {
                plot.points(
                    Points::new(format!("{series} (updated)"), PlotPoints::from(updated))
                        .color(colour)
                        .radius(4.0)
                        .filled(false),
                );
            }
        }
    });
}

fn bars_ui(
    ui: &mut Ui,
    id: &str,
    chart: &ChartSink,
    data: &ChartPoints,
    colours: &mut SeriesColours,
    height: f32,
) {
    // Bars stand at 0, 1, 2…; the axis names each by its key (without the column, which the
    // title says).
    let prefix = chart
        .series_by
        .as_ref()
        .map(|c| format!("{c} = "))
        .unwrap_or_default();
    let labels: Vec<String> = data
        .ranked
        .iter()
        .map(|s| s.strip_prefix(&prefix).unwrap_or(s).to_string())
        .collect();
    let count = labels.len();
    Plot::new(format!("chart_{id}"))
        .height(height)
        .x_grid_spacer(move |_| {
            (0..count)
                .map(|i| GridMark {
                    value: i as f64,
                    step_size: 1.0,
                })
                .collect()
        })
        .x_axis_formatter(move |mark: GridMark, _| {
            let i = mark.value.round();
            if (mark.value - i).abs() > 1e-6 || i < 0.0 {
                return String::new();
            }
            labels.get(i as usize).cloned().unwrap_or_default()
        })
        .include_x(-0.6)
        .include_x(count as f64 - 0.4)
        .include_y(0.0)
        .show(ui, |plot| {
            for (i, series) in data.ranked.iter().enumerate() {
                let Some((x, (y, _))) = data.points[series].iter().next_back() else {
                    continue;
                };
                let window = if data.x_is_time {
                    super::axes::clock_time(*x as f64 / 1000.0, "%H:%M:%S")
                } else {
                    number_text(*x as f64 / 1000.0)
                };
                let bar = Bar::new(i as f64, *y).width(0.7).name(format!(
                    "{series}\n{} at {window}: {}",
                    chart.x,
                    number_text(*y)
                ));
                plot.bar_chart(
                    BarChart::new(series.clone(), vec![bar])
                        .color(colours.of(series))
                        .element_formatter(Box::new(|bar, _| bar.name.clone())),
                );
            }
        });
}

/// What one sink shows, derived from one version of its rows and kept until the rows change.
enum Derived {
    Chart(Option<ChartPoints>),
    Table(Result<Option<TableText>, String>),
}

/// The Results tab's state for one run (the app makes a new one per run): derived views per sink
/// and the colours series were given.
#[derive(Default)]
pub struct ResultsView {
    derived: BTreeMap<String, (u64, Derived)>,
    colours: BTreeMap<String, SeriesColours>,
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
                self.refresh(id, sink, &collected);
                let derived = &self.derived[id].1;
                let colours = self.colours.entry(id.to_string()).or_default();
                ui.allocate_ui(egui::vec2(width - 8.0, ui.available_height()), |ui| {
                    ui.vertical(|ui| match (sink, derived) {
                        (SinkKind::Chart(chart), Derived::Chart(Some(points))) => {
                            chart_ui(ui, id, chart, points, colours)
                        }
                        (SinkKind::Chart(_), Derived::Chart(None)) => {
                            ui.label(RichText::new(id).strong());
                        }
                        (SinkKind::Table(_), Derived::Table(table)) => {
                            ui.label(RichText::new(id).strong());
                            match table {
                                Ok(Some(text)) => text.ui(ui, id),
                                Ok(None) => {
                                    ui.label("No rows yet.");
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

    fn refresh(&mut self, id: &str, sink: &SinkKind, collected: &Collected) {
        let stale = self
            .derived
            .get(id)
            .is_none_or(|(version, _)| *version != collected.version);
        if stale {
            let derived = match sink {
                SinkKind::Chart(chart) => Derived::Chart(chart_points(chart, collected)),
                SinkKind::Table(TableSink { view }) => Derived::Table(
                    table_view(collected, view).map(|batch| batch.map(|b| TableText::new(&b))),
                ),
                _ => Derived::Table(Ok(None)),
            };
            self.derived
                .insert(id.to_string(), (collected.version, derived));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Float64Array, Int64Array};
    use arrow::datatypes::{Field, Schema, TimeUnit};

    use super::*;

    fn results(rows: &[(i64, i64, f64)]) -> Collected {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                "window_end",
                DataType::Timestamp(TimeUnit::Millisecond, None),
                false,
            ),
            Field::new("zone", DataType::Int64, false),
            Field::new("revenue", DataType::Float64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(TimestampMillisecondArray::from(
                    rows.iter().map(|r| r.0).collect::<Vec<_>>(),
                )),
                Arc::new(Int64Array::from(
                    rows.iter().map(|r| r.1).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    rows.iter().map(|r| r.2).collect::<Vec<_>>(),
                )),
            ],
        )
        .unwrap();
        Collected {
            batches: vec![batch],
            version: 1,
            ..Collected::default()
        }
    }

    fn chart(style: ChartStyle, top: u32) -> ChartSink {
        ChartSink {
            x: "window_end".into(),
            y: vec!["revenue".into()],
            series_by: Some("zone".into()),
            top_series: top,
            style,
        }
    }

    #[test]
    fn bars_rank_the_latest_window_and_name_the_key_column() {
        // Zone 1 led the first window; in the latest one zone 3 leads, then zone 2.
        let collected = results(&[
            (60_000, 1, 900.0),
            (60_000, 2, 10.0),
            (120_000, 1, 5.0),
            (120_000, 2, 50.0),
            (120_000, 3, 70.0),
        ]);
        let data = chart_points(&chart(ChartStyle::Bars, 2), &collected).unwrap();
        assert_eq!(data.ranked, ["zone = 3", "zone = 2"]);
        assert!(data.x_is_time);
    }

    #[test]
    fn lines_rank_the_busiest_series_over_the_run() {
        let collected = results(&[(60_000, 1, 900.0), (120_000, 2, 50.0), (120_000, 3, 70.0)]);
        let data = chart_points(&chart(ChartStyle::Lines, 2), &collected).unwrap();
        assert_eq!(data.ranked, ["zone = 1", "zone = 3"]);
        assert_eq!(data.points["zone = 1"][&60_000], (900.0, 1));
    }

    #[test]
    fn every_y_column_is_a_series() {
        let collected = results(&[(60_000, 1, 900.0), (120_000, 2, 50.0)]);
        let mut both = chart(ChartStyle::Lines, 5);
        both.series_by = None;
        both.y = vec!["revenue".into(), "zone".into()];
        let data = chart_points(&both, &collected).unwrap();
        assert_eq!(data.points["revenue"][&120_000], (50.0, 1));
        assert_eq!(data.points["zone"][&120_000], (2.0, 1));
    }
}
