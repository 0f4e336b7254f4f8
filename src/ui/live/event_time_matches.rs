//! The event-time view of a pattern node: each match is a line through the rows it took (across,
//! their event times; up, when each arrived), then straight up to when the match came out — once
//! the watermark passed its last row. Partial matches that ran out of time are dashed and end
//! where they timed out. With few matches in sight, each row is labelled with its step.

use egui::Color32;
use egui_plot::{LineStyle, MarkerShape, PlotPoint, PlotPoints, PlotUi, Points, Text};

use crate::runtime::trace::{TraceData, TraceKey, TracedMatch};
use crate::values::row_display_text;

/// The view explained for a pattern node, for its "How to read this" tooltip.
pub const HOW_TO_READ: &str = "Each dot is a row reaching the pattern: across, its event time; up, when it arrived (seconds since the run started). \
The line is the watermark. A row waits until the watermark passes it; rows of a key are then matched in event-time order, so rows that arrived out of order still match in time order. \
Each green line links the rows of one match, step by step, then rises to the moment the match came out: when the watermark passed its last row. \
A dashed orange line is a partial match that ran out of time (WITHIN): it goes to the `timeout` port. \
Red crosses came at or behind the watermark: too late to be put in order, they are dropped, as Flink's CEP drops them. \
Choose one key to see each row labelled with its step. At speed the other rows are a sample; every row of a traced match is drawn.";

pub const MATCHED: Color32 = Color32::from_rgb(0x3c, 0xb3, 0x71);
pub const TIMED_OUT: Color32 = Color32::from_rgb(0xe0, 0x9b, 0x2d);
/// Step labels are drawn when at most this many matches are in sight.
const LABELLED_MATCHES: usize = 40;

fn secs(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// The points of a match's rows whose arrival is known.
fn row_points(found: &TracedMatch) -> Vec<[f64; 2]> {
    found
        .rows
        .iter()
        .filter(|r| r.arrived_secs.is_finite())
        .map(|r| [secs(r.event_time), r.arrived_secs])
        .collect()
}

/// Draws the matches of the keys `wanted` picks.
pub fn draw(plot: &mut PlotUi<'_>, data: &TraceData, wanted: &dyn Fn(TraceKey) -> bool) {
    let shown: Vec<&TracedMatch> = data.matches.iter().filter(|m| wanted(m.key)).collect();
    let mut rows: Vec<[f64; 2]> = Vec::new();
    let mut emitted: Vec<[f64; 2]> = Vec::new();
    let mut ended: Vec<[f64; 2]> = Vec::new();
    for found in &shown {
        let points = row_points(found);
        let Some(&[last_x, last_y]) = points.last() else {
            continue;
        };
        let (name, color, style) = if found.timed_out {
            (
                "timed-out partial matches",
                TIMED_OUT,
                LineStyle::dashed_dense(),
            )
        } else {
            ("matches", MATCHED, LineStyle::Solid)
        };
        plot.line(
            egui_plot::Line::new(name, PlotPoints::from(points.clone()))
                .color(color)
                .style(style)
                .width(1.5),
        );
        // Up to the moment it came out: the wait for the watermark (or the timeout). Unnamed:
        // the legend keeps the match's own colour.
        plot.line(
            egui_plot::Line::new(
                "",
                PlotPoints::from(vec![[last_x, last_y], [last_x, found.wall_secs]]),
            )
            .color(color.gamma_multiply(0.6))
            .style(LineStyle::dotted_loose()),
        );
        rows.extend(&points);
        if found.timed_out {
            ended.push([last_x, found.wall_secs]);
        } else {
            emitted.push([last_x, found.wall_secs]);
        }
    }
    plot.points(
        Points::new("rows in a match", PlotPoints::from(rows))
            .color(MATCHED)
            .radius(3.0)
            .filled(true),
    );
    plot.points(
        Points::new(
            "match out (the watermark passed its last row)",
            PlotPoints::from(emitted),
        )
        .color(MATCHED)
        .radius(5.0)
        .shape(MarkerShape::Diamond)
        .filled(true),
    );
    plot.points(
        Points::new("timed out (to `timeout`)", PlotPoints::from(ended))
            .color(TIMED_OUT)
            .radius(5.0)
            .shape(MarkerShape::Diamond)
            .filled(false),
    );
    if shown.len() <= LABELLED_MATCHES {
        for found in &shown {
            for r in found.rows.iter().filter(|r| r.arrived_secs.is_finite()) {
                let step = data.steps.get(r.step as usize).map_or("?", String::as_str);
                plot.text(
                    // Unnamed: labels, not a series for the legend.
                    Text::new(
                        "",
                        PlotPoint::new(secs(r.event_time), r.arrived_secs),
                        format!(" {step}"),
                    )
                    .anchor(egui::Align2::LEFT_BOTTOM)
                    .color(MATCHED),
                );
            }
        }
    }
}

/// The match with a row (or its end) nearest `(x, y)` in plot units scaled by `(sx, sy)`, and
/// that distance squared.
pub fn nearest<'a>(
    data: &'a TraceData,
    wanted: &dyn Fn(TraceKey) -> bool,
    (x, y): (f64, f64),
    (sx, sy): (f64, f64),
) -> Option<(&'a TracedMatch, f64)> {
    let distance = |[px, py]: [f64; 2]| ((px - x) / sx).powi(2) + ((py - y) / sy).powi(2);
    data.matches
        .iter()
        .filter(|m| wanted(m.key))
        .filter_map(|m| {
            let points = row_points(m);
            let end = points.last().map(|&[lx, _]| [lx, m.wall_secs]);
            points
                .into_iter()
                .chain(end)
                .map(distance)
                .min_by(f64::total_cmp)
                .map(|d| (m, d))
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
}

/// A match told in words: its key, each row's step and time, when it came out, its output row.
pub fn describe(
    data: &TraceData,
    key: &str,
    found: &TracedMatch,
    time_of_day: fn(f64) -> String,
) -> String {
    let steps: Vec<String> = found
        .rows
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                data.steps.get(r.step as usize).map_or("?", String::as_str),
                time_of_day(secs(r.event_time))
            )
        })
        .collect();
    let more = found.rows_taken.saturating_sub(found.rows.len());
    let mut text = if found.timed_out {
        format!(
            "partial match of {key} timed out at {:.2} s after {} row(s): {}",
            found.wall_secs,
            found.rows_taken,
            steps.join(", ")
        )
    } else {
        format!(
            "match of {key}, {} row(s): {}",
            found.rows_taken,
            steps.join(", ")
        )
    };
    if more > 0 {
        text.push_str(&format!(" … and {more} more"));
    }
    if !found.timed_out {
        text.push_str(&format!(
            "\ncame out at {:.2} s, when the watermark passed its last row",
            found.wall_secs
        ));
    }
    if let Some((batch, row)) = data.match_row(found) {
        let what = if found.timed_out {
            "timeout row"
        } else {
            "measures"
        };
        text.push_str(&format!("\n{what}: {}", row_display_text(batch, row)));
    }
    text
}
