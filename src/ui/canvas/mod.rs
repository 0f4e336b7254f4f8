//! The canvas: draws the pipeline (cards, ports, curved edges, problem badges) and turns pointer
//! input into edits — pan, zoom around the cursor, select, rubber band, move, connect, delete. It
//! never changes the document itself: it returns the edits for the app to apply.

mod connect;
mod draw;
mod flink_strip;
mod geometry;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use egui::{CornerRadius, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Ui, Vec2};

pub use self::connect::can_connect;
pub use self::draw::compact;
use self::draw::{bezier, distance_to_curve, note_at, problem_marks};
pub use self::geometry::card_height;
use self::geometry::{Geometry, places};
use super::document::{Edit, EditGroup, EditorDocument};
use super::live::NodeLive;
use super::theme::{self, CARD_WIDTH, PORT_RADIUS};
use crate::model::{Edge, KindId, Pipeline, PortRef, Position, Severity, Subject};

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
    /// Moving the selected nodes; every move of one drag joins one undo step.
    Nodes {
        group: EditGroup,
    },
    Connect {
        from: PortRef,
    },
    Rubber {
        start: Pos2,
    },
}

/// The edits a frame of the canvas asks for.
type Edits = Vec<(Edit, Option<EditGroup>)>;

/// The view onto the canvas: which canvas point is at the top-left, and the zoom.
pub struct Canvas {
    pub offset: Vec2,
    pub zoom: f32,
    drag: Drag,
    /// Counts drags, so each gets its own undo step.
    drags: u64,
    fit_requested: bool,
    /// A node to bring into view (clicked in the problems panel).
    pub frame_node: Option<String>,
    /// Where the user double-clicked the empty canvas, to add a node there.
    pub quick_add_at: Option<Position>,
    /// Where on screen the double-click was, so the search box opens there.
    pub quick_add_screen: Option<Pos2>,
    /// The screen area of the last frame, to answer where things are (tests, tooltips).
    last_area: Rect,
    /// Why the last attempted connection was refused.
    pub last_refused: Option<String>,
    /// A palette entry dropped on the canvas, and where.
    pub dropped_kind: Option<(KindId, Position)>,
    /// Where each node was drawn last frame, and the document version that was.
    places: BTreeMap<String, Position>,
    places_version: Option<u64>,
    /// The corner the overview map is in (see `geometry::overview_corner`).
    overview_corner: usize,
}

impl Default for Canvas {
    fn default() -> Self {
        Self {
            offset: Vec2::ZERO,
            zoom: 1.0,
            drag: Drag::None,
            drags: 0,
            fit_requested: true,
            frame_node: None,
            quick_add_at: None,
            quick_add_screen: None,
            last_area: Rect::NOTHING,
            last_refused: None,
            dropped_kind: None,
            places: BTreeMap::new(),
            places_version: None,
            overview_corner: 0,
        }
    }
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

    /// Whether the drag that made `group`'s edits is still going on.
    pub fn is_dragging(&self, group: EditGroup) -> bool {
        matches!(self.drag, Drag::Nodes { group: g } if g == group)
    }

    /// Where a node's card was drawn last frame.
    pub fn node_rect(&self, pipeline: &Pipeline, id: &str) -> Option<Rect> {
        let node = pipeline.node(id)?;
        let at = *self.places.get(id)?;
        Some(self.geometry(self.last_area, node, at).rect)
    }

    /// Where a port was drawn last frame.
    pub fn port_position(&self, pipeline: &Pipeline, port: &PortRef) -> Option<Pos2> {
        let node = pipeline.node(&port.node)?;
        let at = *self.places.get(&port.node)?;
        let g = self.geometry(self.last_area, node, at);
        g.inputs
            .iter()
            .chain(g.outputs.iter())
            .find(|(p, _)| *p == port.port)
            .map(|(_, pos)| *pos)
    }

    /// Draws the canvas; returns the edits the user's gestures ask for.
    pub fn ui(
        &mut self,
        ui: &mut Ui,
        doc: &mut EditorDocument,
        selection: &mut Selection,
        live: Option<&HashMap<String, NodeLive>>,
        flink: Option<&crate::export::flink_progress::FlinkProgress>,
    ) -> Edits {
        let mut edits = Edits::new();
        let (area, _) = ui.allocate_exact_size(ui.available_size(), Sense::hover());
        // The canvas stops short of its edges so the panels' resize handles there stay
        // grabbable: drawn after them, it would otherwise take their drags and pan instead.
        let grab = ui.style().interaction.resize_grab_radius_side + 1.0;
        let background = ui.interact(
            area.shrink(grab),
            ui.scope_id().with("canvas_background"),
            Sense::click_and_drag(),
        );
        let painter = ui.painter_at(area);
        self.last_area = area;
        painter.rect_filled(area, CornerRadius::ZERO, ui.visuals().extreme_bg_color);
        if self.places_version != Some(doc.version()) {
            self.places = places(doc.pipeline());
            self.places_version = Some(doc.version());
        }
        if self.fit_requested {
            self.fit(area, doc.pipeline());
            self.fit_requested = false;
        }
        if let Some(id) = self.frame_node.take() {
            self.frame(area, doc.pipeline(), &id);
        }
        self.start_gesture(ui, area, &background, doc.pipeline(), selection, &mut edits);
        self.pan_and_zoom(ui, area, &background);
        self.draw_grid(
            &painter,
            area,
            ui.visuals().weak_text_color().gamma_multiply(0.35),
        );
        let problems = problem_marks(doc);
        let pipeline = doc.pipeline();
        let geometry: HashMap<String, Geometry> = pipeline
            .nodes
            .iter()
            .filter_map(|n| {
                let at = *self.places.get(&n.id)?;
                Some((n.id.clone(), self.geometry(area, n, at)))
            })
            .collect();
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
        let pipeline = doc.pipeline();
        let edge_curves = self.draw_edges(
            ui,
            &painter,
            pipeline,
            &geometry,
            &broken_edges,
            selection,
            live,
        );
        // Cards, then their ports on top.
        let mut port_hits: Vec<(PortRef, Pos2, bool)> = Vec::new();
        for node in &pipeline.nodes {
            let Some(g) = geometry.get(&node.id) else {
                continue;
            };
            let selected = selection.nodes.contains(&node.id);
            self.draw_card(ui, &painter, node, g, selected, problems.get(&node.id));
            if let Some(numbers) = live.and_then(|l| l.get(&node.id)) {
                self.draw_live_strip(ui, &painter, node, g, numbers);
            } else if let Some(job) = flink {
                self.draw_flink_strip(ui, &painter, g, job, job.nodes.get(&node.id));
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
        let card_rects: Vec<(String, Rect)> = pipeline
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
        self.continue_gesture(
            ui,
            &painter,
            &background,
            pointer,
            &port_under,
            pipeline,
            &geometry,
            selection,
            &mut edits,
        );
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
        self.minimap(ui, area, &painter, pipeline, live.is_some());
        if let Some(drag) = background.dnd_release_payload::<super::palette::PaletteDrag>()
            && let Some(p) = pointer
        {
            let c = self.to_canvas(area, p);
            self.dropped_kind = Some((drag.0, Position(c.x - CARD_WIDTH / 2.0, c.y - 20.0)));
        }
        if background.double_clicked()
            && let Some(p) = pointer
            && node_under(p).is_none()
        {
            let c = self.to_canvas(area, p);
            self.quick_add_at = Some(Position(c.x, c.y));
            self.quick_add_screen = Some(p);
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
        } else if let Some(p) = pointer
            && matches!(self.drag, Drag::None)
            && let Some(id) = node_under(p)
            && let Some(node) = pipeline.node(&id)
        {
            // A card cuts its summary to fit; hovering shows what was cut, and the note.
            let summary = node.kind.summary();
            let mut text = Vec::new();
            if summary.chars().count() > draw::SUMMARY_CHARS {
                text.push(summary);
            }
            if !node.note.is_empty() {
                text.push(node.note.clone());
            }
            if !text.is_empty() {
                background
                    .clone()
                    .on_hover_text_at_pointer(text.join("\n\n"));
            }
        }
        edits
    }

    /// Decides the gesture where the press happened, before this frame pans anything.
    fn start_gesture(
        &mut self,
        ui: &Ui,
        area: Rect,
        background: &egui::Response,
        pipeline: &Pipeline,
        selection: &mut Selection,
        edits: &mut Edits,
    ) {
        if !background.drag_started() {
            return;
        }
        let Some(press) = ui.input(|i| i.pointer.press_origin()) else {
            return;
        };
        let shift = ui.input(|i| i.modifiers.shift);
        let port = self.hit_port(area, pipeline, press);
        let attached = port.as_ref().and_then(|(to, _, is_input)| {
            is_input.then(|| pipeline.edges.iter().find(|e| e.to == *to).cloned())?
        });
        if let Some((port, _, false)) = port {
            self.drag = Drag::Connect { from: port };
        } else if let Some(edge) = attached {
            // Picking up an edge by its end: drop it on another input, or away to delete it.
            self.drag = Drag::Connect {
                from: edge.from.clone(),
            };
            edits.push((Edit::Disconnect(edge), None));
        } else if let Some(id) = self.hit_node(area, pipeline, press) {
            if !selection.nodes.contains(&id) {
                if !shift {
                    selection.nodes.clear();
                }
                selection.nodes.insert(id);
                selection.edge = None;
            }
            self.drags += 1;
            self.drag = Drag::Nodes {
                group: EditGroup(egui::Id::unique(("canvas drag", self.drags))),
            };
        } else if shift {
            self.drag = Drag::Rubber { start: press };
        }
    }

    /// Moves, connects or rubber-bands while the pointer is held, and ends the gesture on release.
    #[allow(clippy::too_many_arguments)]
    fn continue_gesture(
        &mut self,
        ui: &Ui,
        painter: &egui::Painter,
        background: &egui::Response,
        pointer: Option<Pos2>,
        port_under: &dyn Fn(Pos2) -> Option<(PortRef, Pos2, bool)>,
        pipeline: &Pipeline,
        geometry: &HashMap<String, Geometry>,
        selection: &mut Selection,
        edits: &mut Edits,
    ) {
        match &self.drag {
            Drag::Nodes { group } if background.dragged() => {
                let delta = background.drag_delta() / self.zoom;
                let moves: Vec<(String, Position)> = selection
                    .nodes
                    .iter()
                    .filter_map(|id| {
                        let at = self.places.get(id)?;
                        Some((id.clone(), Position(at.0 + delta.x, at.1 + delta.y)))
                    })
                    .collect();
                if delta != Vec2::ZERO {
                    edits.push((Edit::Place(moves), Some(*group)));
                }
            }
            Drag::Connect { from } => {
                let start = self.port_position(pipeline, from);
                if let (Some(end), Some(start)) = (pointer, start) {
                    let target = port_under(end).filter(|(_, _, is_input)| *is_input);
                    let verdict = target
                        .as_ref()
                        .map(|(to, _, _)| can_connect(pipeline, from, to));
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
                        note_at(painter, end + Vec2::new(14.0, 14.0), &reason, theme::ERROR);
                    }
                }
                if background.drag_stopped() {
                    let dropped_on = pointer.and_then(port_under).filter(|(_, _, input)| *input);
                    let verdict = dropped_on
                        .as_ref()
                        .map(|(to, _, _)| can_connect(pipeline, from, to));
                    self.last_refused = match &verdict {
                        Some(Err(reason)) => Some(reason.clone()),
                        _ => None,
                    };
                    if let (Some((to, _, _)), Some(Ok(()))) = (dropped_on, verdict) {
                        let edge = Edge {
                            from: from.clone(),
                            to,
                        };
                        edits.push((Edit::Connect(edge.clone()), None));
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
    }
}
