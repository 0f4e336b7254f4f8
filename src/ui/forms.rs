//! Typed forms for the common settings of each node kind: durations that accept `10s`/`5m`, SQL
//! fields checked against the input columns as you type, and the input columns to click in.

use arrow::datatypes::Schema;
use egui::{RichText, Ui};

use super::sql_highlight::highlight;
use super::theme;
use crate::expr::{ProjectionItem, plan_aggregate, plan_predicate};
use crate::model::sink::{ChartStyle, ConsoleFormat, SinkKind, TableView};
use crate::model::source::{Preset, SourceKind, StopAfter};
use crate::model::transform::TransformKind;
use crate::model::window::{Emit, WindowShape};
use crate::model::{Duration, NodeKind};

/// Draws the form for `kind`; returns true when the user changed something.
pub fn kind_form(ui: &mut Ui, kind: &mut NodeKind, input: Option<&Schema>) -> bool {
    let mut changed = false;
    egui::Grid::new("kind_form").num_columns(2).spacing([8.0, 6.0]).show(ui, |ui| {
        match kind {
            NodeKind::Source(SourceKind::Generator(g)) => {
                let preset_label = ui.label("preset");
                egui::ComboBox::from_id_salt("preset")
                    .selected_text(format!("{:?}", g.preset))
                    .show_ui(ui, |ui| {
                        for preset in Preset::ALL {
                            changed |= ui
                                .selectable_value(&mut g.preset, preset, format!("{preset:?}"))
                                .on_hover_text(preset.info().summary)
                                .changed();
                        }
                    })
                    .response
                    .labelled_by(preset_label.id);
                ui.end_row();
                changed |= number(ui, "events per second", &mut g.events_per_sec, "Events per second of event time");
                changed |= number(ui, "keys", &mut g.keys, "How many distinct keys (sensors, users, zones…)");
                changed |= float(ui, "key skew", &mut g.key_skew, 0.0..=3.0, "0 = every key equally busy; 1 or more = a few hot keys (like a hot Kinesis shard)");
                changed |= duration(ui, "disorder", &mut g.disorder, "Events arrive up to this much out of order");
                changed |= float(ui, "late share", &mut g.late_share, 0.0..=1.0, "Share of events that arrive much later");
                changed |= duration(ui, "late by", &mut g.late_by, "How late those events are");
                changed |= float(ui, "duplicate share", &mut g.duplicate_share, 0.0..=1.0, "Share of events sent twice (at-least-once delivery)");
                changed |= number(ui, "seed", &mut g.seed, "The same seed gives the same events");
                ui.label("stop after");
                let mut events = match g.stop_after {
                    StopAfter::Events(n) => Some(n),
                    _ => None,
                };
                ui.horizontal(|ui| {
                    if let StopAfter::EventTime(d) = &mut g.stop_after {
                        changed |= duration_field(ui, d);
                        ui.label("of event time");
                    } else if let Some(n) = &mut events {
                        changed |= ui.add(egui::DragValue::new(n)).changed();
                        ui.label("events");
                        g.stop_after = StopAfter::Events(*n);
                    } else {
                        ui.label("never (until stopped)");
                    }
                });
                ui.end_row();
            }
            NodeKind::Transform(TransformKind::Filter(f)) => {
                changed |= sql(ui, "keep rows where", &mut f.predicate, input, Sql::Predicate);
            }
            NodeKind::Transform(TransformKind::Map(m)) => {
                changed |= sql_list(ui, "columns", &mut m.columns, input, Sql::Projection);
                ui.label("keep input columns");
                changed |= ui
                    .checkbox(&mut m.keep_input_columns, "")
                    .on_hover_text("Also pass on every input column")
                    .changed();
                ui.end_row();
            }
            NodeKind::Transform(TransformKind::Route(r)) => {
                for (i, route) in r.routes.iter_mut().enumerate() {
                    ui.label(format!("route {}", i + 1));
                    changed |= ui.text_edit_singleline(&mut route.name).on_hover_text("The output port's name").changed();
                    ui.end_row();
                    changed |= sql(ui, "  when", &mut route.predicate, input, Sql::Predicate);
                }
            }
            NodeKind::Window(w) => {
                match &mut w.window {
                    WindowShape::Tumbling(t) => {
                        changed |= duration(ui, "size", &mut t.size, "Each window spans this much event time");
                        changed |= duration(ui, "offset", &mut t.offset, "Shifts the window grid (e.g. -8h for days in UTC+8)");
                    }
                    WindowShape::Sliding(s) => {
                        changed |= duration(ui, "size", &mut s.size, "Each window spans this much event time");
                        changed |= duration(ui, "slide", &mut s.slide, "A new window starts this often");
                    }
                    WindowShape::Session(s) => {
                        changed |= duration(ui, "gap", &mut s.gap, "A session ends after this long without events");
                    }
                    WindowShape::Count(c) => {
                        changed |= number(ui, "rows per window", &mut c.size, "A window fires every this many rows of a key");
                    }
                }
                changed |= columns_list(ui, "key by", &mut w.key_by, input);
                changed |= sql_list(ui, "aggregates", &mut w.aggregates, input, Sql::Aggregate);
                changed |= duration(ui, "allowed lateness", &mut w.allowed_lateness, "Rows this late still update their window (a late firing); later rows go to `late`");
                ui.label("emit");
                let mut early = matches!(w.emit, Emit::Early(_));
                ui.horizontal(|ui| {
                    if ui.checkbox(&mut early, "early results every").on_hover_text("Also emit partial results before the window closes").changed() {
                        w.emit = if early { Emit::Early(Duration::from_secs(10)) } else { Emit::OnWatermark };
                        changed = true;
                    }
                    if let Emit::Early(d) = &mut w.emit {
                        changed |= duration_field(ui, d);
                    }
                });
                ui.end_row();
            }
            NodeKind::Source(SourceKind::CsvFile(c)) => {
                changed |= text(ui, "file", &mut c.path, "Relative to the pipeline file");
                ui.label("header row");
                changed |= ui.checkbox(&mut c.header, "").changed();
                ui.end_row();
            }
            NodeKind::Source(SourceKind::JsonLinesFile(j)) => {
                changed |= text(ui, "file", &mut j.path, "Relative to the pipeline file");
            }
            NodeKind::Sink(SinkKind::Chart(chart)) => {
                changed |= column_choice(ui, "x axis", &mut chart.x, input);
                changed |= columns_list(ui, "y (numbers)", &mut chart.y, input);
                let mut series = chart.series_by.clone().unwrap_or_default();
                if column_choice(ui, "one line per", &mut series, input) {
                    chart.series_by = (!series.is_empty()).then_some(series);
                    changed = true;
                }
                changed |= number(ui, "top series", &mut chart.top_series, "Only the busiest series are drawn");
                ui.label("style");
                ui.horizontal(|ui| {
                    changed |= ui.radio_value(&mut chart.style, ChartStyle::Lines, "lines").changed();
                    changed |= ui.radio_value(&mut chart.style, ChartStyle::Bars, "bars").changed();
                });
                ui.end_row();
            }
            NodeKind::Sink(SinkKind::Table(table)) => match &mut table.view {
                TableView::Latest(n) => {
                    changed |= number(ui, "newest rows", n, "How many of the newest rows to show");
                }
                TableView::Top(top) => {
                    changed |= number(ui, "top", &mut top.n, "How many rows the leaderboard shows");
                    changed |= column_choice(ui, "ranked by", &mut top.order_by, input);
                    ui.label("highest first");
                    changed |= ui.checkbox(&mut top.descending, "").changed();
                    ui.end_row();
                    changed |= columns_list(ui, "one row per", &mut top.unique_by, input);
                }
            },
            NodeKind::Sink(SinkKind::Console(console)) => {
                ui.label("format");
                ui.horizontal(|ui| {
                    changed |= ui.radio_value(&mut console.format, ConsoleFormat::Table, "table").changed();
                    changed |= ui.radio_value(&mut console.format, ConsoleFormat::JsonLines, "JSON lines").changed();
                });
                ui.end_row();
            }
            NodeKind::Sink(SinkKind::CsvFile(c)) => {
                changed |= text(ui, "file", &mut c.path, "Relative to the pipeline file; written whole when the run completes");
                ui.label("header row");
                changed |= ui.checkbox(&mut c.header, "").changed();
                ui.end_row();
            }
            NodeKind::Sink(SinkKind::JsonLinesFile(j)) => {
                changed |= text(ui, "file", &mut j.path, "Relative to the pipeline file; written whole when the run completes");
            }
            _ => {
                ui.label(RichText::new("Edit this node's settings in the text below.").weak());
                ui.end_row();
            }
        }
    });
    changed
}

fn text(ui: &mut Ui, label: &str, value: &mut String, help: &str) -> bool {
    ui.label(label).on_hover_text(help);
    let changed = ui.text_edit_singleline(value).on_hover_text(help).changed();
    ui.end_row();
    changed
}

/// One column of the input, picked from a list (or typed when the input is unknown).
fn column_choice(ui: &mut Ui, label: &str, value: &mut String, input: Option<&Schema>) -> bool {
    let name = ui.label(label);
    let mut changed = false;
    match input {
        Some(schema) => {
            egui::ComboBox::from_id_salt(label)
                .selected_text(if value.is_empty() {
                    "(none)"
                } else {
                    value.as_str()
                })
                .show_ui(ui, |ui| {
                    for field in schema.fields() {
                        changed |= ui
                            .selectable_value(value, field.name().clone(), field.name())
                            .changed();
                    }
                })
                .response
                .labelled_by(name.id);
        }
        None => changed |= ui.text_edit_singleline(value).changed(),
    }
    ui.end_row();
    changed
}

fn number<T: egui::emath::Numeric>(ui: &mut Ui, label: &str, value: &mut T, help: &str) -> bool {
    ui.label(label).on_hover_text(help);
    let changed = ui
        .add(egui::DragValue::new(value))
        .on_hover_text(help)
        .changed();
    ui.end_row();
    changed
}

fn float(
    ui: &mut Ui,
    label: &str,
    value: &mut f64,
    range: std::ops::RangeInclusive<f64>,
    help: &str,
) -> bool {
    ui.label(label).on_hover_text(help);
    let changed = ui
        .add(egui::DragValue::new(value).range(range).speed(0.01))
        .on_hover_text(help)
        .changed();
    ui.end_row();
    changed
}

fn duration(ui: &mut Ui, label: &str, value: &mut Duration, help: &str) -> bool {
    ui.label(label).on_hover_text(help);
    let changed = duration_field(ui, value);
    ui.end_row();
    changed
}

/// A text field that accepts `250ms`, `10s`, `5m`, `1h30m`; red until the text is a duration.
pub fn duration_field(ui: &mut Ui, value: &mut Duration) -> bool {
    let id = ui.next_auto_id();
    let mut text: String = ui
        .data_mut(|d| d.get_temp::<String>(id))
        .unwrap_or_else(|| value.to_string());
    let parsed = text.parse::<Duration>();
    let mut edit = egui::TextEdit::singleline(&mut text).desired_width(90.0);
    if parsed.is_err() {
        edit = edit.text_color(theme::ERROR);
    }
    let response = ui.add(edit).on_hover_text("e.g. 250ms, 10s, 5m, 1h30m");
    let mut changed = false;
    if response.changed()
        && let Ok(d) = text.parse::<Duration>()
        && d != *value
    {
        *value = d;
        changed = true;
    }
    if response.has_focus() {
        ui.data_mut(|d| d.insert_temp(id, text));
    } else {
        ui.data_mut(|d| d.remove::<String>(id));
    }
    changed
}

#[derive(Clone, Copy)]
enum Sql {
    Predicate,
    Projection,
    Aggregate,
}

/// Checks one SQL item against the input columns, as the model will.
fn check_sql(text: &str, input: Option<&Schema>, kind: Sql) -> Option<String> {
    let schema = input?;
    let result = match kind {
        Sql::Predicate => plan_predicate(text, schema).map(|_| ()),
        Sql::Projection => ProjectionItem::plan(text, schema).map(|_| ()),
        Sql::Aggregate => plan_aggregate(text, schema).map(|_| ()),
    };
    result.err().map(|e| e.to_string())
}

/// Lays out SQL text with syntax colours in a text field.
fn sql_layouter(
    dark: bool,
) -> impl FnMut(&Ui, &dyn egui::TextBuffer, f32) -> std::sync::Arc<egui::Galley> {
    move |ui, buffer, wrap| {
        let mut job = highlight(
            buffer.as_str(),
            dark,
            egui::TextStyle::Monospace.resolve(ui.style()),
        );
        job.wrap.max_width = wrap;
        ui.fonts_mut(|f| f.layout_job(job))
    }
}

fn sql(ui: &mut Ui, label: &str, text: &mut String, input: Option<&Schema>, kind: Sql) -> bool {
    ui.label(label);
    let error = check_sql(text, input, kind);
    let changed = ui.vertical(|ui| {
        let mut layouter = sql_layouter(ui.visuals().dark_mode);
        let edit = egui::TextEdit::multiline(text)
            .code_editor()
            .desired_rows(1)
            .desired_width(f32::INFINITY)
            .layouter(&mut layouter);
        let changed = ui.add(edit).changed();
        if let Some(error) = &error {
            ui.label(RichText::new(error).color(theme::ERROR).small());
        }
        changed | column_chips(ui, input, text)
    });
    ui.end_row();
    changed.inner
}

fn sql_list(
    ui: &mut Ui,
    label: &str,
    items: &mut Vec<String>,
    input: Option<&Schema>,
    kind: Sql,
) -> bool {
    let mut changed = false;
    let mut remove = None;
    for (i, item) in items.iter_mut().enumerate() {
        ui.label(if i == 0 { label } else { "" });
        let error = check_sql(item, input, kind);
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                let mut layouter = sql_layouter(ui.visuals().dark_mode);
                let edit = egui::TextEdit::singleline(item)
                    .code_editor()
                    .desired_width(210.0)
                    .layouter(&mut layouter);
                changed |= ui.add(edit).changed();
                if ui
                    .small_button("x")
                    .on_hover_text("Remove this item")
                    .clicked()
                {
                    remove = Some(i);
                }
            });
            if let Some(error) = &error {
                ui.label(RichText::new(error).color(theme::ERROR).small());
            }
        });
        ui.end_row();
    }
    if let Some(i) = remove {
        items.remove(i);
        changed = true;
    }
    ui.label(if items.is_empty() { label } else { "" });
    let example = match kind {
        Sql::Aggregate => "count(*) AS events",
        Sql::Projection => "expression AS name",
        Sql::Predicate => "true",
    };
    if ui
        .button("+ add")
        .on_hover_text(format!("Add an item such as `{example}`"))
        .clicked()
    {
        items.push(example.to_string());
        changed = true;
    }
    ui.end_row();
    changed
}

fn columns_list(
    ui: &mut Ui,
    label: &str,
    columns: &mut Vec<String>,
    input: Option<&Schema>,
) -> bool {
    let name = ui
        .label(label)
        .on_hover_text("Each key gets its own windows (keyed state)");
    let mut changed = false;
    ui.vertical(|ui| {
        ui.horizontal_wrapped(|ui| {
            let mut remove = None;
            for (i, c) in columns.iter().enumerate() {
                if ui
                    .button(format!("{c}  x"))
                    .on_hover_text("Remove this key")
                    .clicked()
                {
                    remove = Some(i);
                }
            }
            if let Some(i) = remove {
                columns.remove(i);
                changed = true;
            }
        });
        if let Some(schema) = input {
            egui::ComboBox::from_id_salt(label)
                .selected_text("add a key column…")
                .show_ui(ui, |ui| {
                    for field in schema.fields() {
                        if !columns.contains(field.name())
                            && ui.selectable_label(false, field.name()).clicked()
                        {
                            columns.push(field.name().clone());
                            changed = true;
                        }
                    }
                })
                .response
                .labelled_by(name.id);
        }
    });
    ui.end_row();
    changed
}

/// The input columns as small buttons that append their name to `text`.
fn column_chips(ui: &mut Ui, input: Option<&Schema>, text: &mut String) -> bool {
    let Some(schema) = input else { return false };
    let mut changed = false;
    egui::CollapsingHeader::new(RichText::new("columns").small())
        .id_salt(ui.next_auto_id())
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for field in schema.fields() {
                    if ui
                        .small_button(field.name())
                        .on_hover_text("Add this column to the expression")
                        .clicked()
                    {
                        if !text.is_empty() && !text.ends_with(' ') {
                            text.push(' ');
                        }
                        text.push_str(field.name());
                        changed = true;
                    }
                }
            });
        });
    changed
}
