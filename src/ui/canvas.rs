//! The canvas: draws the pipeline (cards, ports, curved edges, problem badges) and turns pointer
//! input into edits: pan, zoom around the cursor, select, rubber band, move, connect, delete.

use std::collections::{BTreeSet, HashMap};

use egui::{
    Align2, Color32, CornerRadius, FontId, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Ui, Vec2,
    epaint::CubicBezierShape,
};

use super::document::EditorDocument;
use super::live::NodeLive;
use super::theme::{self, CARD_WIDTH, HEADER_HEIGHT, PORT_RADIUS, PORT_ROW, SUMMARY_HEIGHT};
use crate::model::graph::topological_order;
use crate::model::summary::summary;
use crate::model::{Edge, Node, Pipeline, PortRef, Position, Severity, Subject};

/// What is selected on the canvas.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Selection {
    pub nodes: BTreeSet<String>,
    pub edge: Option<Edge>,
}

impl Selection {
    pub fn only(id: &str) -> Self {
        Self {
            nodes: BTreeSet::from([id.to_string()]),
            edge: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.edge.is_none()
    }
}

enum Drag {
    None,
    Nodes,
    Connect { from: PortRef },
    Rubber { start: Pos2 },
}

/// The view onto the canvas: which canvas point is at the top-left, and the zoom.
pub struct Canvas {
    pub offset: Vec2,
    pub zoom: f32,
    drag: Drag,
    fit_requested: bool,
    /// A node to bring into view (clicked in the problems panel).
    pub frame_node: Option<String>,
    /// Where the user double-clicked the empty canvas, to add a node there.
    pub quick_add_at: Option<Position>,
    /// The screen area of the last frame, to answer where things are (tests, tooltips).
    last_area: Rect,
    /// Why the last attempted connection was refused.
    pub last_refused: Option<String>,
    /// A palette entry dropped on the canvas, and where.
    pub dropped_template: Option<(String, Position)>,
}

impl Default for Canvas {
    fn default() -> Self {
        Self {
            offset: Vec2::ZERO,
            zoom: 1.0,
            drag: Drag::None,
            fit_requested: true,
            frame_node: None,
            quick_add_at: None,
            last_area: Rect::NOTHING,
            last_refused: None,
            dropped_template: None,
        }
    }
}

/// Height of a node's card in canvas units.
pub fn card_height(node: &Node) -> f32 {
    let rows = node
        .kind
        .input_ports()
        .len()
        .max(node.kind.output_ports().len())
        .max(1);
    HEADER_HEIGHT + SUMMARY_HEIGHT + rows as f32 * PORT_ROW + 8.0
}

struct Geometry {
    rect: Rect,
    inputs: Vec<(String, Pos2)>,
    outputs: Vec<(String, Pos2)>,
}

impl Canvas {
    pub fn request_fit(&mut self) {
        self.fit_requested = true;
    }

    /// The canvas's area on screen in the last frame, in points.
    pub fn last_area(&self) -> Rect {
        self.last_area
    }

    /// Zooms by `factor` around the centre of the view.
    pub fn zoom_by(&mut self, factor: f32) {
        let center = self.offset + self.last_area.size() / (2.0 * self.zoom);
        self.zoom = (self.zoom * factor).clamp(0.2, 3.0);
        self.offset = center - self.last_area.size() / (2.0 * self.zoom);
    }

    /// The port within reach of screen point `p`, and whether it is an input.
    fn hit_port(&self, area: Rect, pipeline: &Pipeline, p: Pos2) -> Option<(PortRef, Pos2, bool)> {
        let reach = (PORT_RADIUS + 4.0) * self.zoom.max(0.6);
        for node in pipeline.nodes.iter().rev() {
            let Some(at) = pipeline.layout.nodes.get(&node.id) else {
                continue;
            };
            let g = self.geometry(area, node, *at);
            let inputs = g.inputs.iter().map(|(port, pos)| (port, pos, true));
            let outputs = g.outputs.iter().map(|(port, pos)| (port, pos, false));
            if let Some((port, pos, is_input)) = inputs
                .chain(outputs)
                .find(|(_, pos, _)| pos.distance(p) <= reach)
            {
                return Some((PortRef::new(&node.id, port), *pos, is_input));
            }
        }
        None
    }

    /// The topmost node whose card contains screen point `p`.
    fn hit_node(&self, area: Rect, pipeline: &Pipeline, p: Pos2) -> Option<String> {
        pipeline.nodes.iter().rev().find_map(|node| {
            let at = pipeline.layout.nodes.get(&node.id)?;
            self.geometry(area, node, *at)
                .rect
                .contains(p)
                .then(|| node.id.clone())
        })
    }

    /// Where a node's card was drawn last frame.
    pub fn node_rect(&self, pipeline: &Pipeline, id: &str) -> Option<Rect> {
        let node = pipeline.node(id)?;
        let at = *pipeline.layout.nodes.get(id)?;
        Some(self.geometry(self.last_area, node, at).rect)
    }

    /// Where a port was drawn last frame.
    pub fn port_position(&self, pipeline: &Pipeline, port: &PortRef) -> Option<Pos2> {
        let node = pipeline.node(&port.node)?;
        let at = *pipeline.layout.nodes.get(&port.node)?;
        let g = self.geometry(self.last_area, node, at);
        g.inputs
            .iter()
            .chain(g.outputs.iter())
            .find(|(p, _)| *p == port.port)
            .map(|(_, pos)| *pos)
    }

    fn to_screen(&self, area: Rect, p: Pos2) -> Pos2 {
        area.min + (p.to_vec2() - self.offset) * self.zoom
    }

    fn to_canvas(&self, area: Rect, p: Pos2) -> Pos2 {
        Pos2::ZERO + (p - area.min) / self.zoom + self.offset
    }

    fn geometry(&self, area: Rect, node: &Node, at: Position) -> Geometry {
        let top_left = self.to_screen(area, Pos2::new(at.0, at.1));
        let rect = Rect::from_min_size(
            top_left,
            Vec2::new(CARD_WIDTH, card_height(node)) * self.zoom,
        );
        let port_y = |i: usize| {
            rect.top() + (HEADER_HEIGHT + SUMMARY_HEIGHT + (i as f32 + 0.5) * PORT_ROW) * self.zoom
        };
        Geometry {
            rect,
            inputs: node
                .kind
                .input_ports()
                .into_iter()
                .enumerate()
                .map(|(i, p)| (p, Pos2::new(rect.left(), port_y(i))))
                .collect(),
            outputs: node
                .kind
                .output_ports()
                .into_iter()
                .enumerate()
                .map(|(i, p)| (p, Pos2::new(rect.right(), port_y(i))))
                .collect(),
        }
    }

    /// Frames every node (or nothing when empty) in `area`.
    fn fit(&mut self, area: Rect, pipeline: &Pipeline) {
        let mut bounds = Rect::NOTHING;
        for node in &pipeline.nodes {
            if let Some(p) = pipeline.layout.nodes.get(&node.id) {
                bounds = bounds.union(Rect::from_min_size(
                    Pos2::new(p.0, p.1),
                    Vec2::new(CARD_WIDTH, card_height(node)),
                ));
            }
        }
        if !bounds.is_positive() {
            self.offset = Vec2::ZERO;
            self.zoom = 1.0;
            return;
        }
        let bounds = bounds.expand(40.0);
        self.zoom = (area.width() / bounds.width())
            .min(area.height() / bounds.height())
            .clamp(0.2, 1.5);
        let visible = area.size() / self.zoom;
        self.offset = bounds.center().to_vec2() - visible / 2.0;
    }

    fn frame(&mut self, area: Rect, pipeline: &Pipeline, id: &str) {
        if let (Some(node), Some(p)) = (pipeline.node(id), pipeline.layout.nodes.get(id)) {
            let center = Pos2::new(p.0 + CARD_WIDTH / 2.0, p.1 + card_height(node) / 2.0);
            self.offset = center.to_vec2() - area.size() / (2.0 * self.zoom);
        }
    }

    /// Draws the canvas and applies the user's gestures to `doc` and `selection`.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        doc: &mut EditorDocument,
        selection: &mut Selection,
        live: Option<&HashMap<String, NodeLive>>,
    ) {
        let (area, background) =
            ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
        let painter = ui.painter_at(area);
        self.last_area = area;
        painter.rect_filled(area, CornerRadius::ZERO, ui.visuals().extreme_bg_color);
        crate::ui::layout::fill_missing(&mut doc.pipeline);
        if self.fit_requested {
            self.fit(area, &doc.pipeline);
            self.fit_requested = false;
        }
        if let Some(id) = self.frame_node.take() {
            self.frame(area, &doc.pipeline, &id);
        }
        // Gestures are decided where the press happened, before this frame pans anything.
        if background.drag_started()
            && let Some(press) = ui.input(|i| i.pointer.press_origin())
        {
            let shift = ui.input(|i| i.modifiers.shift);
            let port = self.hit_port(area, &doc.pipeline, press);
            let attached = port.as_ref().and_then(|(to, _, is_input)| {
                is_input.then(|| doc.pipeline.edges.iter().find(|e| e.to == *to).cloned())?
            });
            if let Some((port, _, false)) = port {
                self.drag = Drag::Connect { from: port };
            } else if let Some(edge) = attached {
                // Picking up an edge by its end: drop it on another input, or away to delete it.
                doc.edit(|p| p.edges.retain(|e| *e != edge));
                self.drag = Drag::Connect { from: edge.from };
            } else if let Some(id) = self.hit_node(area, &doc.pipeline, press) {
                if !selection.nodes.contains(&id) {
                    if !shift {
                        selection.nodes.clear();
                    }
                    selection.nodes.insert(id);
                    selection.edge = None;
                }
                doc.checkpoint();
                self.drag = Drag::Nodes;
            } else if shift {
                self.drag = Drag::Rubber { start: press };
            }
        }
        self.pan_and_zoom(ui, area, &background);
        self.draw_grid(
            &painter,
            area,
            ui.visuals().weak_text_color().gamma_multiply(0.35),
        );

        let problems = problem_marks(doc);
        let geometry: HashMap<String, Geometry> = doc
            .pipeline
            .nodes
            .iter()
            .filter_map(|n| {
                let at = *doc.pipeline.layout.nodes.get(&n.id)?;
                Some((n.id.clone(), self.geometry(area, n, at)))
            })
            .collect();

        // Edges under the cards; an edge with a problem is drawn red.
        let broken_edges: BTreeSet<usize> = doc
            .validation()
            .problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .filter_map(|p| match p.subject {
                Subject::Edge { index } => Some(index),
                _ => None,
            })
            .collect();
        let mut edge_curves = Vec::new();
        for (index, edge) in doc.pipeline.edges.iter().enumerate() {
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

        // Cards, then their ports on top.
        let mut port_hits: Vec<(PortRef, Pos2, bool)> = Vec::new();
        for node in &doc.pipeline.nodes {
            let Some(g) = geometry.get(&node.id) else {
                continue;
            };
            let selected = selection.nodes.contains(&node.id);
            self.draw_card(ui, &painter, node, g, selected, problems.get(&node.id));
            if let Some(numbers) = live.and_then(|l| l.get(&node.id)) {
                self.draw_live_strip(ui, &painter, node, g, numbers);
            }
            for (port, pos) in &g.inputs {
                port_hits.push((PortRef::new(&node.id, port), *pos, true));
            }
            for (port, pos) in &g.outputs {
                port_hits.push((PortRef::new(&node.id, port), *pos, false));
            }
        }

        let pointer = ui.input(|i| i.pointer.interact_pos());
        let zoom = self.zoom;
        let port_under = |p: Pos2| {
            port_hits
                .iter()
                .find(|(_, pos, _)| pos.distance(p) <= (PORT_RADIUS + 4.0) * zoom.max(0.6))
                .cloned()
        };
        // Topmost first: cards drawn later lie on top.
        let card_rects: Vec<(String, Rect)> = doc
            .pipeline
            .nodes
            .iter()
            .rev()
            .filter_map(|n| geometry.get(&n.id).map(|g| (n.id.clone(), g.rect)))
            .collect();
        let node_under = |p: Pos2| {
            card_rects
                .iter()
                .find(|(_, rect)| rect.contains(p))
                .map(|(id, _)| id.clone())
        };

        match &self.drag {
            Drag::Nodes if background.dragged() => {
                let delta = background.drag_delta() / self.zoom;
                let moving: Vec<String> = selection.nodes.iter().cloned().collect();
                doc.edit_in_gesture(|p| {
                    for id in &moving {
                        if let Some(pos) = p.layout.nodes.get_mut(id) {
                            pos.0 += delta.x;
                            pos.1 += delta.y;
                        }
                    }
                });
            }
            Drag::Connect { from } => {
                let start = self.port_position(&doc.pipeline, from);
                if let (Some(end), Some(start)) = (pointer, start) {
                    let target = port_under(end).filter(|(_, _, is_input)| *is_input);
                    let verdict = target
                        .as_ref()
                        .map(|(to, _, _)| can_connect(&doc.pipeline, from, to));
                    let color = match &verdict {
                        Some(Err(_)) => theme::ERROR,
                        Some(Ok(())) => theme::SELECTED,
                        None => ui.visuals().widgets.active.fg_stroke.color,
                    };
                    painter.add(Shape::CubicBezier(bezier(
                        start,
                        end,
                        self.zoom,
                        Stroke::new(2.0, color),
                    )));
                    if let Some(Err(reason)) = verdict {
                        note_at(&painter, end + Vec2::new(14.0, 14.0), &reason, theme::ERROR);
                    }
                }
                if background.drag_stopped() {
                    let dropped_on = pointer.and_then(&port_under).filter(|(_, _, input)| *input);
                    let verdict = dropped_on
                        .as_ref()
                        .map(|(to, _, _)| can_connect(&doc.pipeline, from, to));
                    self.last_refused = match &verdict {
                        Some(Err(reason)) => Some(reason.clone()),
                        _ => None,
                    };
                    if let (Some((to, _, _)), Some(Ok(()))) = (dropped_on, verdict) {
                        let edge = Edge {
                            from: from.clone(),
                            to,
                        };
                        doc.edit(|p| p.edges.push(edge.clone()));
                        *selection = Selection {
                            nodes: BTreeSet::new(),
                            edge: Some(edge),
                        };
                    }
                    self.drag = Drag::None;
                }
            }
            Drag::Rubber { start } => {
                if let Some(end) = pointer {
                    let band = Rect::from_two_pos(*start, end);
                    painter.rect_filled(
                        band,
                        CornerRadius::ZERO,
                        theme::SELECTED.gamma_multiply(0.15),
                    );
                    painter.rect_stroke(
                        band,
                        CornerRadius::ZERO,
                        Stroke::new(1.0, theme::SELECTED),
                        StrokeKind::Inside,
                    );
                    if background.drag_stopped() {
                        selection.nodes = geometry
                            .iter()
                            .filter(|(_, g)| band.intersects(g.rect))
                            .map(|(id, _)| id.clone())
                            .collect();
                        selection.edge = None;
                    }
                }
            }
            _ => {}
        }
        if background.drag_stopped() {
            self.drag = Drag::None;
        }

        // Clicks select a node or an edge, or clear the selection.
        if background.clicked()
            && let Some(p) = pointer
        {
            let shift = ui.input(|i| i.modifiers.shift);
            if let Some(id) = node_under(p) {
                if shift {
                    if !selection.nodes.remove(&id) {
                        selection.nodes.insert(id);
                    }
                } else {
                    *selection = Selection::only(&id);
                }
            } else if let Some((edge, _)) = edge_curves
                .iter()
                .find(|(_, c)| distance_to_curve(c, p) < 6.0)
            {
                *selection = Selection {
                    nodes: BTreeSet::new(),
                    edge: Some(edge.clone()),
                };
            } else {
                *selection = Selection::default();
            }
        }
        self.minimap(ui, area, &painter, &doc.pipeline);
        if let Some(drag) = background.dnd_release_payload::<super::palette::PaletteDrag>()
            && let Some(p) = pointer
        {
            let c = self.to_canvas(area, p);
            self.dropped_template =
                Some((drag.0.clone(), Position(c.x - CARD_WIDTH / 2.0, c.y - 20.0)));
        }
        if background.double_clicked()
            && let Some(p) = pointer
            && node_under(p).is_none()
        {
            let c = self.to_canvas(area, p);
            self.quick_add_at = Some(Position(c.x, c.y));
        }
        if let Some(p) = pointer
            && let Some((port, _, is_input)) = port_under(p)
            && matches!(self.drag, Drag::None)
        {
            let schema = if is_input {
                None
            } else {
                doc.validation()
                    .schemas
                    .output(&port.node, &port.port)
                    .cloned()
            };
            let text = match schema {
                Some(s) => format!(
                    "{port}: {}\nDrag to an input to connect.",
                    s.fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None if is_input => format!("{port}: drop an edge from an output here"),
                None => format!("{port}: drag to an input to connect"),
            };
            background.clone().on_hover_text_at_pointer(text);
        }
    }

    /// An overview in the corner when the graph is larger than the view; click or drag in it to
    /// move the view.
    fn minimap(&mut self, ui: &Ui, area: Rect, painter: &egui::Painter, pipeline: &Pipeline) {
        let mut bounds = Rect::NOTHING;
        let mut cards = Vec::new();
        for node in &pipeline.nodes {
            if let Some(p) = pipeline.layout.nodes.get(&node.id) {
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
        let map = Rect::from_min_size(area.right_bottom() - size - Vec2::splat(10.0), size);
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

    fn pan_and_zoom(&mut self, ui: &Ui, area: Rect, background: &egui::Response) {
        // Dragging empty canvas (or with the middle button) pans.
        let middle = ui.input(|i| i.pointer.middle_down());
        if background.dragged() && (matches!(self.drag, Drag::None) || middle) {
            self.offset -= background.drag_delta() / self.zoom;
        }
        if !background.hovered() {
            return;
        }
        let (zoom_delta, scroll, pointer) =
            ui.input(|i| (i.zoom_delta(), i.smooth_scroll_delta, i.pointer.hover_pos()));
        if zoom_delta != 1.0
            && let Some(p) = pointer
        {
            let before = self.to_canvas(area, p);
            self.zoom = (self.zoom * zoom_delta).clamp(0.2, 3.0);
            let after = self.to_canvas(area, p);
            self.offset += before - after;
        } else if scroll != Vec2::ZERO {
            self.offset -= scroll / self.zoom;
        }
    }

    fn draw_grid(&self, painter: &egui::Painter, area: Rect, color: Color32) {
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
    fn draw_live_strip(
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
        if n.errors > 0 {
            lines.push((format!("{} rows could not be read", n.errors), theme::ERROR));
        }
        let font = FontId::monospace(10.5 * z);
        let mut y = g.rect.bottom() + 4.0 * z;
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

    fn draw_card(
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
        let summary_text = summary(&node.kind);
        let max_chars = ((CARD_WIDTH - 16.0) / 6.2) as usize;
        let shown = super::picture::elide(&summary_text, max_chars);
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
fn queue_color(fill: f64) -> Color32 {
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
fn note_at(painter: &egui::Painter, at: Pos2, text: &str, color: Color32) {
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
fn problem_marks(doc: &mut EditorDocument) -> HashMap<String, (usize, usize)> {
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

fn bezier(from: Pos2, to: Pos2, zoom: f32, stroke: Stroke) -> CubicBezierShape {
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

fn distance_to_curve(curve: &CubicBezierShape, p: Pos2) -> f32 {
    (0..=32)
        .map(|i| curve.sample(i as f32 / 32.0).distance(p))
        .fold(f32::INFINITY, f32::min)
}

/// Whether an edge from `from` to `to` may be drawn, or why not.
pub fn can_connect(pipeline: &Pipeline, from: &PortRef, to: &PortRef) -> Result<(), String> {
    if from.node == to.node {
        return Err("a node cannot feed itself".into());
    }
    if let Some(existing) = pipeline.edges.iter().find(|e| e.to == *to) {
        return Err(format!(
            "{to} already takes rows from {}; an input takes one edge (use a Union to merge)",
            existing.from
        ));
    }
    let mut with_edge = pipeline.clone();
    with_edge.edges.push(Edge {
        from: from.clone(),
        to: to.clone(),
    });
    let (_, cycles) = topological_order(&with_edge);
    if !cycles.is_empty() {
        return Err(format!(
            "this would make a cycle: {}",
            cycles[0].join(" -> ")
        ));
    }
    Ok(())
}
