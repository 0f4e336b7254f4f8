//! Drawing the canvas: the dotted grid, node cards with their ports and problem badges, the live
//! numbers under cards, edges, and the overview map.

use std::collections::{BTreeSet, HashMap};

use egui::{
    Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Ui, Vec2,
    epaint::CubicBezierShape,
};

use super::geometry::{Geometry, LIVE_NUMBERS_HEIGHT, card_height, overview_corner, overview_rect};
use super::{Canvas, Selection};
use crate::model::{Edge, Node, Pipeline, Severity, Subject};
use crate::ui::document::EditorDocument;
use crate::ui::live::NodeLive;
use crate::ui::theme::{self, CARD_WIDTH, HEADER_HEIGHT, PORT_RADIUS, SUMMARY_HEIGHT};

/// How much of its summary a card shows; the rest is in its tooltip.
pub(super) const SUMMARY_CHARS: usize = ((CARD_WIDTH - 16.0) / 6.2) as usize;

impl Canvas {
    /// Edges under the cards: red with a problem; while running as thick as their traffic, coloured
    /// by the receiver's queue, with moving dots. Returns each edge's curve, for clicks.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn draw_edges(
        &self,
        ui: &Ui,
        painter: &egui::Painter,
        pipeline: &Pipeline,
        geometry: &HashMap<String, Geometry>,
        broken_edges: &BTreeSet<usize>,
        selection: &Selection,
        live: Option<&HashMap<String, NodeLive>>,
    ) -> Vec<(Edge, CubicBezierShape)> {
        let mut edge_curves = Vec::new();
        for (index, edge) in pipeline.edges.iter().enumerate() {
            let from = geometry.get(&edge.from.node).and_then(|g| {
                g.outputs
                    .iter()
                    .find(|(p, _)| *p == edge.from.port)
                    .map(|(_, pos)| *pos)
            });
            let to = geometry.get(&edge.to.node).and_then(|g| {
                g.inputs
                    .iter()
                    .find(|(p, _)| *p == edge.to.port)
                    .map(|(_, pos)| *pos)
            });
            let (Some(from), Some(to)) = (from, to) else {
                continue;
            };
            let selected = selection.edge.as_ref() == Some(edge);
            let color = if selected {
                theme::SELECTED
            } else if broken_edges.contains(&index) {
                theme::ERROR
            } else {
                ui.visuals().widgets.inactive.fg_stroke.color
            };
            // While running, an edge is as thick as its traffic and coloured by how full the
            // receiver's queue is: calm blue-grey when it keeps up, red when backpressured.
            let (width, color) =
                match live.and_then(|l| Some((l.get(&edge.from.node)?, l.get(&edge.to.node)?))) {
                    Some((sender, receiver)) if !selected => {
                        let rate = sender.out_per_sec.max(0.0);
                        let width = 1.5 + ((rate + 1.0).log10() * 1.1) as f32;
                        (width, queue_color(receiver.input_fill))
                    }
                    _ => (if selected { 3.0 } else { 2.0 }, color),
                };
            let curve = bezier(
                from,
                to,
                self.zoom,
                Stroke::new(width * self.zoom.max(0.5), color),
            );
            painter.add(Shape::CubicBezier(curve.clone()));
            // Dots travel along busy edges, faster when more rows flow.
            if let Some(rate) = live
                .and_then(|l| l.get(&edge.from.node))
                .map(|n| n.out_per_sec)
                && rate > 0.5
            {
                let time = ui.input(|i| i.time);
                let speed = 0.15 + (rate + 1.0).log10() * 0.12;
                for k in 0..4 {
                    let t = ((time * speed + k as f64 / 4.0) % 1.0) as f32;
                    painter.circle_filled(curve.sample(t), 2.5 * self.zoom.max(0.6), color);
                }
            }
            edge_curves.push((edge.clone(), curve));
        }
        edge_curves
    }

    /// An overview in the corner when the graph is larger than the view; click or drag in it to
    /// move the view.
    pub(super) fn minimap(
        &mut self,
        ui: &Ui,
        area: Rect,
        painter: &egui::Painter,
        pipeline: &Pipeline,
        running: bool,
    ) {
        let mut bounds = Rect::NOTHING;
        let mut cards = Vec::new();
        for node in &pipeline.nodes {
            if let Some(p) = self.places.get(&node.id) {
                let rect = Rect::from_min_size(
                    Pos2::new(p.0, p.1),
                    Vec2::new(CARD_WIDTH, card_height(node)),
                );
                bounds = bounds.union(rect);
                cards.push((rect, theme::family_color(node.kind.family())));
            }
        }
        let visible = Rect::from_min_size(Pos2::ZERO + self.offset, area.size() / self.zoom);
        if !bounds.is_positive() || visible.contains_rect(bounds) {
            return;
        }
        let world = bounds.union(visible).expand(20.0);
        let size = Vec2::new(200.0, 130.0);
        // The overview goes to the corner where it hides the fewest cards (and their numbers).
        let on_screen: Vec<Rect> = cards
            .iter()
            .map(|(rect, _)| {
                Rect::from_two_pos(
                    self.to_screen(area, rect.min),
                    // While running, the numbers under a card are part of what it shows.
                    self.to_screen(
                        area,
                        rect.max + Vec2::new(0.0, if running { LIVE_NUMBERS_HEIGHT } else { 0.0 }),
                    ),
                )
            })
            .collect();
        self.overview_corner = overview_corner(area, size, &on_screen, self.overview_corner);
        let map = overview_rect(area, size, self.overview_corner);
        let scale = (map.width() / world.width()).min(map.height() / world.height());
        let to_map = |p: Pos2| map.min + (p - world.min) * scale;
        painter.rect_filled(
            map,
            CornerRadius::same(4),
            ui.visuals().window_fill.gamma_multiply(0.92),
        );
        painter.rect_stroke(
            map,
            CornerRadius::same(4),
            ui.visuals().window_stroke,
            StrokeKind::Inside,
        );
        for (rect, color) in cards {
            painter.rect_filled(
                Rect::from_two_pos(to_map(rect.min), to_map(rect.max)),
                CornerRadius::ZERO,
                color,
            );
        }
        painter.rect_stroke(
            Rect::from_two_pos(to_map(visible.min), to_map(visible.max)),
            CornerRadius::ZERO,
            Stroke::new(1.5, theme::SELECTED),
            StrokeKind::Inside,
        );
        let response = ui
            .interact(map, ui.scope_id().with("minimap"), Sense::click_and_drag())
            .on_hover_text("Overview: click or drag to move the view");
        if (response.clicked() || response.dragged())
            && let Some(p) = response.interact_pointer_pos()
        {
            let target = world.min + (p - map.min) / scale;
            self.offset = target.to_vec2() - visible.size() / 2.0;
        }
    }

    pub(super) fn draw_grid(&self, painter: &egui::Painter, area: Rect, color: Color32) {
        let step = 40.0 * self.zoom;
        if step < 8.0 {
            return;
        }
        let start = self.to_screen(
            area,
            Pos2::new(
                (self.offset.x / 40.0).floor() * 40.0,
                (self.offset.y / 40.0).floor() * 40.0,
            ),
        );
        let mut x = start.x;
        while x < area.right() {
            let mut y = start.y;
            while y < area.bottom() {
                painter.circle_filled(Pos2::new(x, y), 1.2, color);
                y += step;
            }
            x += step;
        }
    }

    /// Live numbers under a card: rates in and out, watermark and lag, late rows and errors.
    pub(super) fn draw_live_strip(
        &self,
        ui: &Ui,
        painter: &egui::Painter,
        node: &Node,
        g: &Geometry,
        n: &NodeLive,
    ) {
        let z = self.zoom;
        if z < 0.35 {
            return;
        }
        let mut lines = Vec::new();
        let family = node.kind.family();
        let rates = match family {
            crate::model::Family::Source => format!(
                "{} rows  {}/s",
                compact(n.rows_out as f64),
                compact(n.out_per_sec)
            ),
            crate::model::Family::Sink => format!(
                "{} rows  {}/s in",
                compact(n.rows_in as f64),
                compact(n.in_per_sec)
            ),
            _ => format!(
                "{}/s in  {}/s out",
                compact(n.in_per_sec),
                compact(n.out_per_sec)
            ),
        };
        lines.push((rates, ui.visuals().text_color()));
        if let Some(w) = n.watermark.filter(|w| *w > i64::MIN && *w < i64::MAX) {
            let lag = n.lag_ms.map_or(String::new(), |l| {
                format!("  lag {:.1}s", l as f64 / 1000.0)
            });
            lines.push((
                format!("wm {}{lag}", clock_time(w)),
                ui.visuals().weak_text_color(),
            ));
        }
        if matches!(family, crate::model::Family::Window) {
            lines.push((
                format!(
                    "{} open windows  {} keys",
                    compact(n.open_windows as f64),
                    compact(n.keys as f64)
                ),
                ui.visuals().weak_text_color(),
            ));
        } else if matches!(family, crate::model::Family::Join) {
            lines.extend(join_lines(node, &n.join, ui.visuals().weak_text_color()));
        } else if let Some(view) = &n.pattern {
            lines.extend(pattern_lines(view, ui.visuals().weak_text_color()));
        } else if n.keys > 0 {
            // Other keyed state (a Deduplicate's span per key) grows and shrinks with the data.
            lines.push((
                format!("{} keys in state", compact(n.keys as f64)),
                ui.visuals().weak_text_color(),
            ));
        }
        if n.dropped > 0 && n.late == 0 {
            lines.push((format!("dropped {}", n.dropped), theme::WARNING));
        }
        if n.late > 0 || n.late_firings > 0 {
            lines.push((
                format!(
                    "late {}  dropped {}  late firings {}",
                    n.late, n.dropped, n.late_firings
                ),
                theme::WARNING,
            ));
        }
        if matches!(family, crate::model::Family::Stream) {
            if n.throttled > 0 {
                lines.push((format!("throttled {}", n.throttled), theme::WARNING));
            }
            if let Some(behind) = n.consumers_behind_ms.filter(|&b| b > 0) {
                lines.push((
                    format!("read {:.1}s behind", behind as f64 / 1000.0),
                    theme::WARNING,
                ));
            }
            if n.consumers_expired > 0 {
                lines.push((
                    format!("{} expired unread", n.consumers_expired),
                    theme::ERROR,
                ));
            }
            if n.errors > 0 {
                lines.push((format!("{} records refused", n.errors), theme::ERROR));
            }
        } else if n.errors > 0 {
            lines.push((format!("{} rows could not be read", n.errors), theme::ERROR));
        }
        if let Some(lambda) = &n.lambda {
            let age = lambda.iterator_age_ms();
            let failing = lambda.lanes.iter().any(|l| l.failing_for_ms.is_some());
            let colour = if failing {
                theme::ERROR
            } else if age > 5_000 {
                theme::WARNING
            } else {
                ui.visuals().weak_text_color()
            };
            lines.push((
                format!(
                    "iterator age {:.1}s  {} invocations{}",
                    age as f64 / 1000.0,
                    lambda.invocations,
                    if failing { ", failing" } else { "" }
                ),
                colour,
            ));
            if lambda.duplicates > 0 || lambda.given_up_batches > 0 {
                lines.push((
                    format!(
                        "{} duplicates  {} batches given up",
                        lambda.duplicates, lambda.given_up_batches
                    ),
                    theme::WARNING,
                ));
            }
        }
        if let Some(kcl) = &n.kcl {
            let alive = kcl.workers.iter().filter(|a| **a).count();
            let orphaned = kcl.leases.iter().any(|l| {
                l.owner
                    .as_deref()
                    .and_then(|o| o.strip_prefix("worker-"))
                    .and_then(|w| w.parse::<usize>().ok())
                    .and_then(|w| kcl.workers.get(w.saturating_sub(1)))
                    .is_some_and(|alive| !alive)
            });
            let colour = if alive == 0 || orphaned {
                theme::ERROR
            } else {
                ui.visuals().weak_text_color()
            };
            lines.push((
                format!(
                    "{alive}/{} workers  {} leases{}",
                    kcl.workers.len(),
                    kcl.leases.len(),
                    if orphaned { ", expiring" } else { "" }
                ),
                colour,
            ));
            if kcl.duplicates > 0 {
                lines.push((
                    format!("{} processed again", kcl.duplicates),
                    theme::WARNING,
                ));
            }
            if kcl.unprocessed > 0 {
                lines.push((
                    format!("{} left unprocessed", kcl.unprocessed),
                    theme::ERROR,
                ));
            }
        }
        if let Some(bytes) = n.state_bytes.filter(|b| *b > 0) {
            lines.push((
                format!(
                    "state {} (last checkpoint)",
                    crate::ui::live::checkpoints::human_bytes(bytes)
                ),
                ui.visuals().weak_text_color(),
            ));
        }
        self.paint_strip(ui, painter, g, lines);
    }

    /// Lines of numbers under a card, on the canvas's own colour.
    pub(super) fn paint_strip(
        &self,
        ui: &Ui,
        painter: &egui::Painter,
        g: &Geometry,
        lines: Vec<(String, egui::Color32)>,
    ) {
        let z = self.zoom;
        let font = FontId::monospace(10.5 * z);
        let mut y = g.rect.bottom() + 4.0 * z;
        // The numbers sit on the canvas's own colour, so the grid dots do not show through them.
        let strip = Rect::from_min_size(
            Pos2::new(g.rect.left(), g.rect.bottom() + 2.0 * z),
            Vec2::new(
                // Monospace digits are about 0.6 of the font size wide.
                g.rect.width().max(
                    lines
                        .iter()
                        .map(|(t, _)| t.chars().count())
                        .max()
                        .unwrap_or(0) as f32
                        * 6.4
                        * z
                        + 6.0 * z,
                ),
                (13.0 * lines.len() as f32 + 4.0) * z,
            ),
        );
        painter.rect_filled(strip, 2.0 * z, ui.visuals().extreme_bg_color);
        for (text, color) in lines {
            painter.text(
                Pos2::new(g.rect.left() + 2.0 * z, y),
                Align2::LEFT_TOP,
                text,
                font.clone(),
                color,
            );
            y += 13.0 * z;
        }
    }

    pub(super) fn draw_card(
        &self,
        ui: &Ui,
        painter: &egui::Painter,
        node: &Node,
        g: &Geometry,
        selected: bool,
        marks: Option<&(usize, usize)>,
    ) {
        let z = self.zoom;
        let visuals = ui.visuals();
        let family = node.kind.family();
        let radius = CornerRadius::same((6.0 * z).round().clamp(0.0, 255.0) as u8);
        painter.rect_filled(
            g.rect.translate(Vec2::splat(3.0 * z)),
            radius,
            Color32::from_black_alpha(40),
        );
        painter.rect_filled(g.rect, radius, visuals.window_fill);
        let header = Rect::from_min_size(g.rect.min, Vec2::new(g.rect.width(), HEADER_HEIGHT * z));
        painter.rect_filled(
            header,
            CornerRadius {
                nw: radius.nw,
                ne: radius.ne,
                sw: 0,
                se: 0,
            },
            theme::family_color(family),
        );
        let outline = match (selected, marks) {
            (true, _) => Stroke::new(2.5, theme::SELECTED),
            (false, Some((errors, _))) if *errors > 0 => Stroke::new(2.0, theme::ERROR),
            (false, Some((_, warnings))) if *warnings > 0 => Stroke::new(1.5, theme::WARNING),
            _ => Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
        };
        painter.rect_stroke(g.rect, radius, outline, StrokeKind::Outside);
        if z < 0.35 {
            return;
        }
        let text_x = g.rect.left() + 8.0 * z;
        theme::paint_family_icon(
            painter,
            Pos2::new(text_x + 6.0 * z, header.center().y),
            11.0 * z,
            family,
            Color32::WHITE,
        );
        painter.text(
            Pos2::new(text_x + 18.0 * z, header.center().y),
            Align2::LEFT_CENTER,
            &node.id,
            FontId::proportional(14.0 * z),
            Color32::WHITE,
        );
        // The kind's name in the header, when the id leaves room for it.
        let kind_name = if node.id.chars().count() + node.kind.kind_name().len() / 2 <= 22 {
            node.kind.kind_name()
        } else {
            ""
        };
        painter.text(
            Pos2::new(header.right() - 8.0 * z, header.center().y),
            Align2::RIGHT_CENTER,
            kind_name,
            FontId::proportional(10.0 * z),
            Color32::from_white_alpha(200),
        );
        let summary_text = node.kind.summary();
        let shown = crate::ui::picture::elide(&summary_text, SUMMARY_CHARS);
        painter.text(
            Pos2::new(text_x, header.bottom() + SUMMARY_HEIGHT * z / 2.0),
            Align2::LEFT_CENTER,
            shown,
            FontId::proportional(11.0 * z),
            visuals.weak_text_color(),
        );
        let port_font = FontId::proportional(11.0 * z);
        for (port, pos) in &g.inputs {
            painter.circle_filled(
                *pos,
                PORT_RADIUS * z,
                visuals.widgets.inactive.fg_stroke.color,
            );
            painter.text(
                *pos + Vec2::new(9.0 * z, 0.0),
                Align2::LEFT_CENTER,
                port,
                port_font.clone(),
                visuals.text_color(),
            );
        }
        for (port, pos) in &g.outputs {
            let optional = node.kind.is_optional_output(port);
            let color = if optional {
                theme::WARNING
            } else {
                theme::family_color(family)
            };
            painter.circle_filled(*pos, PORT_RADIUS * z, color);
            painter.text(
                *pos - Vec2::new(9.0 * z, 0.0),
                Align2::RIGHT_CENTER,
                port,
                port_font.clone(),
                visuals.text_color(),
            );
        }
        if let Some((errors, warnings)) = marks {
            let (count, color) = if *errors > 0 {
                (*errors, theme::ERROR)
            } else {
                (*warnings, theme::WARNING)
            };
            if count > 0 {
                let badge = Pos2::new(g.rect.right() - 2.0 * z, g.rect.top() - 2.0 * z);
                painter.circle_filled(badge, 9.0 * z, color);
                painter.text(
                    badge,
                    Align2::CENTER_CENTER,
                    count.to_string(),
                    FontId::proportional(11.0 * z),
                    Color32::WHITE,
                );
            }
        }
    }
}

/// Queue fill from calm (empty) to backpressured (full).
pub(super) fn queue_color(fill: f64) -> Color32 {
    let calm = Color32::from_rgb(0x6f, 0x8f, 0xaf);
    let full = theme::ERROR;
    let t = fill.clamp(0.0, 1.0) as f32;
    Color32::from_rgb(
        (calm.r() as f32 + (full.r() as f32 - calm.r() as f32) * t) as u8,
        (calm.g() as f32 + (full.g() as f32 - calm.g() as f32) * t) as u8,
        (calm.b() as f32 + (full.b() as f32 - calm.b() as f32) * t) as u8,
    )
}

/// The time of day of an event time, `HH:MM:SS` (UTC).
fn clock_time(ts: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ts)
        .map(|t| t.format("%H:%M:%S").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// `1234567` as `1.2M`, for numbers that change many times a second.
pub fn compact(n: f64) -> String {
    match n.abs() {
        x if x >= 1e9 => format!("{:.1}G", n / 1e9),
        x if x >= 1e6 => format!("{:.1}M", n / 1e6),
        x if x >= 1e4 => format!("{:.0}k", n / 1e3),
        x if x >= 1e3 => format!("{:.1}k", n / 1e3),
        _ => format!("{n:.0}"),
    }
}

/// A small boxed note on the canvas (why a connection is refused).
pub(super) fn note_at(painter: &egui::Painter, at: Pos2, text: &str, color: Color32) {
    let galley = painter.layout(
        text.to_string(),
        FontId::proportional(13.0),
        Color32::WHITE,
        360.0,
    );
    let rect = Rect::from_min_size(at, galley.size()).expand(6.0);
    painter.rect_filled(rect, CornerRadius::same(4), color);
    painter.galley(at, galley, Color32::WHITE);
}

/// Errors and warnings per node, for badges.
pub(super) fn problem_marks(doc: &mut EditorDocument) -> HashMap<String, (usize, usize)> {
    let mut marks: HashMap<String, (usize, usize)> = HashMap::new();
    let (pipeline, validation) = doc.checked();
    for p in &validation.problems {
        let node = match &p.subject {
            Subject::Node { id, .. } => Some(id.clone()),
            Subject::Edge { index } => pipeline.edges.get(*index).map(|e| e.to.node.clone()),
            Subject::Document => None,
        };
        if let Some(id) = node {
            let entry = marks.entry(id).or_default();
            match p.severity {
                Severity::Error => entry.0 += 1,
                Severity::Warning => entry.1 += 1,
            }
        }
    }
    marks
}

pub(super) fn bezier(from: Pos2, to: Pos2, zoom: f32, stroke: Stroke) -> CubicBezierShape {
    let bend = ((to.x - from.x).abs() * 0.5).max(60.0 * zoom);
    CubicBezierShape::from_points_stroke(
        [
            from,
            from + Vec2::new(bend, 0.0),
            to - Vec2::new(bend, 0.0),
            to,
        ],
        false,
        Color32::TRANSPARENT,
        stroke,
    )
}

pub(super) fn distance_to_curve(curve: &CubicBezierShape, p: Pos2) -> f32 {
    (0..=32)
        .map(|i| curve.sample(i as f32 / 32.0).distance(p))
        .fold(f32::INFINITY, f32::min)
}

/// A join's state under its card: rows held per side and waiting for a partner (an interval
/// join), or the table's rows and its reloads (a lookup join); rows that met nobody either way.
fn join_lines(
    node: &Node,
    join: &crate::ui::live::JoinLive,
    weak: Color32,
) -> Vec<(String, Color32)> {
    use crate::model::kinds::{JoinKind, NodeKind};
    let mut lines = Vec::new();
    match &node.kind {
        NodeKind::Join(JoinKind::Lookup(_)) => {
            let rows = join.held[0] / join.instances.max(1);
            lines.push((format!("table {} rows", compact(rows as f64)), weak));
            if join.reloads > 0 {
                lines.push((format!("reloaded {}×", join.reloads), weak));
            }
            if join.failed_reloads > 0 {
                lines.push((
                    format!("{} reloads failed: table kept", join.failed_reloads),
                    theme::WARNING,
                ));
            }
            if join.unmatched > 0 {
                lines.push((
                    format!("{} keys not in the table", compact(join.unmatched as f64)),
                    theme::WARNING,
                ));
            }
        }
        _ => {
            lines.push((
                format!(
                    "held L {}  R {}  {} waiting",
                    compact(join.held[0] as f64),
                    compact(join.held[1] as f64),
                    compact(join.waiting as f64)
                ),
                weak,
            ));
            if join.unmatched > 0 {
                lines.push((
                    format!("{} met nobody", compact(join.unmatched as f64)),
                    weak,
                ));
            }
        }
    }
    lines
}

/// A pattern's partial matches under its card: how many wait at each step, what waits for the
/// watermark, and the keys furthest along.
fn pattern_lines(
    view: &crate::runtime::pattern_stats::PatternView,
    weak: Color32,
) -> Vec<(String, Color32)> {
    let steps: Vec<String> = view
        .at_step
        .iter()
        .map(|(step, n)| format!("{step} {}", compact(*n as f64)))
        .collect();
    let mut lines = vec![(format!("partial: {}", steps.join(" · ")), weak)];
    if view.waiting > 0 {
        lines.push((
            format!(
                "{} rows wait for the watermark",
                compact(view.waiting as f64)
            ),
            weak,
        ));
    }
    if view.pending > 0 {
        lines.push((
            format!("{} matches wait for earlier partial ones", view.pending),
            weak,
        ));
    }
    for key in view.keys.iter().take(2) {
        lines.push((
            format!("{}: at {} after {} rows", key.key, key.step, key.rows),
            weak,
        ));
    }
    lines
}
