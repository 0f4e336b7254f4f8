//! The event-time view: the picture streaming courses draw by hand, live from a window or a
//! pattern node. Events are dots at (event time, arrival time); the watermark is a line; each
//! window is a band over its event-time span, open until the watermark passes its end, when it
//! fires; late events are marked by what happened to them; the allowed lateness is a paler band
//! after each window. A pattern node's matches link their rows (`event_time_matches.rs`).

use std::collections::{BTreeMap, BTreeSet};

use egui::{Color32, Ui};
use egui_plot::{Legend, Line, MarkerShape, Plot, PlotPoints, Points, Polygon};

use super::LiveRun;
use super::event_time_matches as matches;
use crate::model::{Family, Pipeline};
use crate::runtime::trace::{FiringKind, OTHER_KEYS, Outcome, TraceData, TraceKey};
use crate::ui::theme;
use crate::values::{cell_text, display_text, row_display_text};

/// What the user chose in the view, and the traced keys' names formatted so far.
#[derive(Default)]
pub struct EventTimeView {
    pub node: Option<String>,
    pub key: Option<String>,
    /// The names of the traced node's keys, by trace key (the trace only ever adds keys).
    names: Vec<String>,
    names_of: Option<String>,
    /// Plot each event at the Kinesis arrival time its row carries instead of when it reached
    /// the window (offered when the window reads from a stream).
    pub by_arrival: bool,
}

/// The column a Kinesis stream adds with each record's arrival time.
const ARRIVAL_COLUMN: &str = crate::model::kinds::kinesis::ARRIVAL;

/// Where the plot puts things vertically: when they reached the window (wall seconds), or the
/// Kinesis arrival time of the event (seconds of event time) with the window's clock mapped onto it.
struct Vertical {
    /// Per traced event, in order: its height, if known.
    events: Vec<Option<f64>>,
    /// By arrival: (wall seconds, newest arrival reached by then), rising.
    wall_to_arrival: Option<Vec<(f64, f64)>>,
}

impl Vertical {
    fn of(data: &TraceData, by_arrival: bool) -> Self {
        if !by_arrival {
            return Self {
                events: data.events.iter().map(|e| Some(e.wall_secs)).collect(),
                wall_to_arrival: None,
            };
        }
        let events: Vec<Option<f64>> = data
            .events
            .iter()
            .map(|e| {
                let (batch, row) = data.event_row(e)?;
                let column = batch.column_by_name(ARRIVAL_COLUMN)?;
                let ms = column
                    .as_any()
                    .downcast_ref::<arrow::array::TimestampMillisecondArray>()?;
                arrow::array::Array::is_valid(ms, row).then(|| secs(ms.value(row)))
            })
            .collect();
        let mut newest = f64::MIN;
        let wall_to_arrival = data
            .events
            .iter()
            .zip(&events)
            .filter_map(|(e, y)| {
                newest = newest.max((*y)?);
                Some((e.wall_secs, newest))
            })
            .collect();
        Self {
            events,
            wall_to_arrival: Some(wall_to_arrival),
        }
    }

    /// The height of something that happened at wall time `wall` (a watermark, a firing).
    fn at_wall(&self, wall: f64) -> Option<f64> {
        let Some(map) = &self.wall_to_arrival else {
            return Some(wall);
        };
        let after = map.partition_point(|(w, _)| *w <= wall);
        map.get(after.checked_sub(1)?).map(|(_, a)| *a)
    }
}

/// Whether the traced rows carry a Kinesis arrival time.
fn has_arrival(data: &TraceData) -> bool {
    data.batches
        .iter()
        .any(|(_, b)| b.schema().index_of(ARRIVAL_COLUMN).is_ok())
}

/// A key's name: its columns' values, joined.
fn key_name(names: &[String], key: TraceKey) -> &str {
    if key == OTHER_KEYS {
        return "(further keys)";
    }
    names.get(key as usize).map_or("", String::as_str)
}

/// A firing's aggregates as `name=value` pairs, while its result row is kept.
fn firing_values(data: &TraceData, firing: &crate::runtime::trace::TracedFiring) -> String {
    let Some((batch, row)) = data.firing_row(firing) else {
        return String::new();
    };
    let schema = batch.schema();
    let first = batch.num_columns().saturating_sub(data.aggregate_columns);
    (first..batch.num_columns())
        .map(|c| {
            format!(
                "{}={}",
                schema.field(c).name(),
                display_text(batch.column(c).as_ref(), row)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A window's band: first seen (wall s), when it fired on the watermark, its late firings.
type Band = (f64, Option<f64>, Vec<f64>);

/// The view explained, for its "How to read this" tooltip.
pub const HOW_TO_READ: &str = "Each dot is an event: across, its event time; up, when it arrived (seconds since the run started). \
The line is the watermark: the event time the window is sure it has seen everything before. \
Each band is a window over its event-time span, grey while open; it fires (turns coloured) when the watermark passes its end. \
A dot to the left of the watermark line is still in time as long as its window has not fired: it is counted in that window. \
Orange dots came after their window fired but within the allowed lateness (the paler band): the window fires again with them (a late firing, the orange bar). \
Red crosses came too late for any window: they go to the `late` port, or are dropped. \
At speed the in-time dots are a sample (about 50 per window, spread over its span, so the view reads at any rate); every late event is shown. \
Pause and use \"Step to the next firing\" to watch one window close at a time.";

const IN_TIME: Color32 = Color32::from_rgb(0x6f, 0x9f, 0xd8);
const LATE_UPDATE: Color32 = Color32::from_rgb(0xe0, 0x9b, 0x2d);
const TOO_LATE: Color32 = Color32::from_rgb(0xe0, 0x4b, 0x4b);

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn time_of_day(seconds: f64) -> String {
    chrono::DateTime::from_timestamp_millis((seconds * 1000.0) as i64)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_default()
}

impl EventTimeView {
    pub fn ui(&mut self, ui: &mut Ui, live: &LiveRun, pipeline: &Pipeline, selected: Option<&str>) {
        let windows: Vec<String> = pipeline
            .nodes
            .iter()
            .filter(|n| matches!(n.kind.family(), Family::Window | Family::Pattern))
            .map(|n| n.id.clone())
            .collect();
        if let Some(s) = selected.filter(|s| windows.iter().any(|w| w == s)) {
            self.node = Some(s.to_string());
        }
        if self.node.as_ref().is_none_or(|n| !windows.contains(n)) {
            self.node = windows.first().cloned();
        }
        let Some(node) = self.node.clone() else {
            ui.label("This pipeline has no window or pattern node: the event-time view shows how a window or a pattern sees time.");
            return;
        };
        let Some(trace) = live.handle.event_trace(&node) else {
            ui.label("Restart the run to trace this node.");
            return;
        };
        trace.enable();
        let data = trace.snapshot();
        if self.names_of.as_deref() != Some(node.as_str()) {
            self.names.clear();
            self.names_of = Some(node.clone());
        }
        for columns in data.keys.iter().skip(self.names.len()) {
            let name: Vec<String> = columns.iter().map(|c| cell_text(c.as_ref(), 0)).collect();
            self.names.push(name.join(", "));
        }
        let names = &self.names;
        let keys: BTreeSet<&str> = data.events.iter().map(|e| key_name(names, e.key)).collect();
        ui.horizontal(|ui| {
            let name = ui.label("window or pattern node");
            egui::ComboBox::from_id_salt("event_time_node")
                .selected_text(&node)
                .show_ui(ui, |ui| {
                    for w in &windows {
                        ui.selectable_value(&mut self.node, Some(w.clone()), w);
                    }
                })
                .response
                .labelled_by(name.id);
            let name = ui.label("key");
            egui::ComboBox::from_id_salt("event_time_key")
                .selected_text(self.key.as_deref().unwrap_or("all keys"))
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.key, None, "all keys");
                    for k in keys.iter().take(60) {
                        ui.selectable_value(&mut self.key, Some(k.to_string()), *k);
                    }
                })
                .response
                .labelled_by(name.id);
            let pattern = !data.steps.is_empty();
            ui.label("How to read this (?)").on_hover_text(if pattern {
                matches::HOW_TO_READ
            } else {
                HOW_TO_READ
            });
            // A match's rows are drawn where they reached the pattern, so a pattern's view keeps
            // to that clock.
            if has_arrival(&data) && !pattern {
                ui.checkbox(&mut self.by_arrival, "by Kinesis arrival time")
                    .on_hover_text("Plot each event at the time the stream received it (approximate_arrival_timestamp) instead of when it reached this window: the gap above the dashed line is how late the event was written");
            } else {
                self.by_arrival = false;
            }
        });
        if data.events.is_empty() {
            ui.label("Waiting for events… (at 0.1x a learner can follow single events)");
            return;
        }
        self.plot_ui(ui, &data);
    }

    fn plot_ui(&self, ui: &mut Ui, data: &TraceData) {
        let names = &self.names;
        let pattern = !data.steps.is_empty();
        let vertical = Vertical::of(data, self.by_arrival);
        let y_at = |wall: f64| vertical.at_wall(wall);
        let wanted = |key: TraceKey| {
            self.key
                .as_deref()
                .is_none_or(|k| k == key_name(names, key))
        };
        let now = vertical
            .events
            .iter()
            .flatten()
            .copied()
            .chain(data.watermarks.iter().filter_map(|(w, _)| y_at(*w)))
            .fold(f64::MIN, f64::max);
        let from = vertical
            .events
            .iter()
            .flatten()
            .copied()
            .fold(f64::MAX, f64::min);
        if now < from {
            ui.label("The traced events carry no arrival time yet.");
            return;
        }
        // Windows: first arrival of one of their events, when (and how) they fired.
        let mut bands: BTreeMap<(i64, i64), Band> = BTreeMap::new();
        for f in data.firings.iter().filter(|f| wanted(f.key)) {
            let Some(at) = y_at(f.wall_secs) else {
                continue;
            };
            let entry = bands
                .entry((f.start, f.end))
                .or_insert((at, None, Vec::new()));
            match f.kind {
                FiringKind::OnWatermark => entry.1 = Some(entry.1.map_or(at, |w: f64| w.min(at))),
                FiringKind::Late => entry.2.push(at),
                FiringKind::Early => {}
            }
        }
        let lateness = secs(data.allowed_lateness_ms);
        // The watermark is drawn in the theme's strongest text colour: white on dark, black on light.
        let watermark_color = ui.visuals().strong_text_color();
        let mut hovered: Option<String> = None;
        let by_arrival = self.by_arrival;
        let response = Plot::new("event_time_view")
            // The newest events come in at the top right; the legend stays out of their way.
            .legend(
                Legend::default()
                    .position(egui_plot::Corner::LeftBottom)
                    .text_style(egui::TextStyle::Small),
            )
            .height(ui.available_height().max(60.0))
            .x_axis_label("event time")
            .y_axis_label(if self.by_arrival {
                "Kinesis arrival time"
            } else {
                "arrival (s since the run started)"
            })
            .x_axis_formatter(|mark, _| time_of_day(mark.value))
            .y_axis_formatter(move |mark, _| {
                if by_arrival {
                    time_of_day(mark.value)
                } else {
                    format!("{:.0}", mark.value)
                }
            })
            .show(ui, |plot| {
                if by_arrival {
                    // Arrival equals event time on this line; an event above it was written late.
                    plot.line(
                        Line::new("arrival = event time", PlotPoints::from(vec![[from, from], [now, now]]))
                            .color(Color32::GRAY)
                            .style(egui_plot::LineStyle::dashed_loose()),
                    );
                }
                for (&(start, end), (_, fired, late_firings)) in &bands {
                    let (x0, x1) = (secs(start), secs(end));
                    let top = fired.unwrap_or(now);
                    let color = if fired.is_some() {
                        theme::family_color(crate::model::Family::Window)
                    } else {
                        Color32::GRAY
                    };
                    plot.polygon(
                        Polygon::new(
                            "windows",
                            PlotPoints::from(vec![[x0, from], [x1, from], [x1, top], [x0, top]]),
                        )
                        .fill_color(color.gamma_multiply(0.18))
                        .stroke(egui::Stroke::new(1.0, color.gamma_multiply(0.6))),
                    );
                    if lateness > 0.0 {
                        plot.polygon(
                            Polygon::new(
                                "allowed lateness",
                                PlotPoints::from(vec![
                                    [x1, from],
                                    [x1 + lateness, from],
                                    [x1 + lateness, now],
                                    [x1, now],
                                ]),
                            )
                            .fill_color(LATE_UPDATE.gamma_multiply(0.06))
                            .stroke(egui::Stroke::NONE),
                        );
                    }
                    for wall in late_firings {
                        plot.line(
                            Line::new(
                                "late firings",
                                PlotPoints::from(vec![[x0, *wall], [x1, *wall]]),
                            )
                            .color(LATE_UPDATE)
                            .width(2.0),
                        );
                    }
                }
                let watermark: Vec<[f64; 2]> = data
                    .watermarks
                    .iter()
                    .filter(|(_, w)| *w > i64::MIN / 2)
                    .filter_map(|(wall, w)| Some([secs(*w), y_at(*wall)?]))
                    .collect();
                plot.line(
                    Line::new("watermark", PlotPoints::from(watermark))
                        .color(watermark_color)
                        .width(2.0),
                );
                if pattern {
                    matches::draw(plot, data, &wanted);
                }
                for (outcome, label, color) in [
                    (
                        Outcome::InTime,
                        if pattern {
                            "rows in time (they wait for the watermark)"
                        } else {
                            "events in time"
                        },
                        IN_TIME,
                    ),
                    (
                        Outcome::LateUpdate,
                        "late, within allowed lateness (window fires again)",
                        LATE_UPDATE,
                    ),
                    (
                        Outcome::TooLate,
                        if pattern {
                            "too late (behind the watermark: dropped)"
                        } else {
                            "too late (to the late port or dropped)"
                        },
                        TOO_LATE,
                    ),
                ] {
                    let points: Vec<[f64; 2]> = data
                        .events
                        .iter()
                        .zip(&vertical.events)
                        .filter(|(e, _)| e.outcome == outcome && wanted(e.key))
                        .filter_map(|(e, y)| Some([secs(e.event_time), (*y)?]))
                        .collect();
                    let radius = if outcome == Outcome::InTime { 2.0 } else { 4.0 };
                    plot.points(
                        Points::new(label, PlotPoints::from(points))
                            .color(color)
                            .radius(radius)
                            .shape(if outcome == Outcome::TooLate {
                                MarkerShape::Cross
                            } else {
                                MarkerShape::Circle
                            })
                            .filled(true),
                    );
                }
                if let Some(p) = plot.pointer_coordinate() {
                    // The event nearest the pointer, and the window under it.
                    let bounds = plot.plot_bounds();
                    let (sx, sy) = (bounds.width().max(1e-9), bounds.height().max(1e-9));
                    let nearest = data
                        .events
                        .iter()
                        .zip(&vertical.events)
                        .filter_map(|(e, y)| {
                            let y = (*y).filter(|_| wanted(e.key))?;
                            let d = ((secs(e.event_time) - p.x) / sx).powi(2)
                                + ((y - p.y) / sy).powi(2);
                            Some((e, d))
                        })
                        .min_by(|a, b| a.1.total_cmp(&b.1));
                    let mut text = String::new();
                    let nearest_match = if pattern {
                        matches::nearest(data, &wanted, (p.x, p.y), (sx, sy))
                    } else {
                        None
                    };
                    // The match wins when one of its rows is at least as near as any dot.
                    let nearest = match nearest_match {
                        Some((found, d)) if nearest.is_none_or(|(_, e)| d <= e) => {
                            text.push_str(&matches::describe(
                                data,
                                key_name(names, found.key),
                                found,
                                time_of_day,
                            ));
                            None
                        }
                        _ => nearest.map(|(e, _)| e),
                    };
                    if let Some(e) = nearest {
                        let behind_watermark = data
                            .watermarks
                            .iter()
                            .take_while(|(wall, _)| *wall <= e.wall_secs)
                            .last()
                            .is_some_and(|(_, w)| *w >= e.event_time);
                        let what = match e.outcome {
                            Outcome::InTime if pattern => {
                                "in time: it waits until the watermark passes it, then is matched in event-time order"
                            }
                            Outcome::TooLate if pattern => {
                                "at or behind the watermark when it arrived: too late to be put in order, dropped"
                            }
                            Outcome::InTime if behind_watermark => {
                                "in time: behind the watermark, but its window had not fired yet, so it still counts"
                            }
                            Outcome::InTime => "in time",
                            Outcome::LateUpdate => {
                                "late but within the allowed lateness: its window fired again"
                            }
                            Outcome::TooLate => {
                                "too late for its window: sent to `late` (or dropped)"
                            }
                        };
                        text.push_str(&format!(
                            "event {} at {} arrived at {:.2} s: {what}",
                            key_name(names, e.key),
                            time_of_day(secs(e.event_time)),
                            e.wall_secs
                        ));
                        if let Some((batch, row)) = data.event_row(e) {
                            text.push_str(&format!("\nrow: {}", row_display_text(batch, row)));
                        }
                    }
                    if let Some((&(start, end), (_, fired, late))) = bands
                        .iter()
                        .find(|((s, e), _)| secs(*s) <= p.x && p.x < secs(*e))
                    {
                        let rows = data
                            .events
                            .iter()
                            .filter(|e| {
                                wanted(e.key) && e.event_time >= start && e.event_time < end
                            })
                            .count();
                        text.push_str(&format!(
                            "\nwindow [{}, {}): {rows} traced events, {}{}",
                            time_of_day(secs(start)),
                            time_of_day(secs(end)),
                            fired.map_or("open".to_string(), |w| if by_arrival {
                                format!("fired once the stream's arrival time reached {}", time_of_day(w))
                            } else {
                                format!("fired at {w:.2} s")
                            }),
                            if late.is_empty() {
                                String::new()
                            } else {
                                format!(", {} late firing(s)", late.len())
                            }
                        ));
                        let latest: Vec<String> = data
                            .firings
                            .iter()
                            .filter(|f| f.start == start && f.end == end && wanted(f.key))
                            .rev()
                            .take(3)
                            .map(|f| {
                                format!("{}: {}", key_name(names, f.key), firing_values(data, f))
                            })
                            .collect();
                        if !latest.is_empty() {
                            text.push_str(&format!("\nlatest results: {}", latest.join("; ")));
                        }
                    }
                    hovered = Some(text);
                }
            });
        if let Some(text) = hovered {
            response.response.on_hover_ui_at_pointer(|ui| {
                ui.set_max_width(420.0);
                ui.label(text);
            });
        }
    }
}
