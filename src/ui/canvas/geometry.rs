//! Where things are on the canvas: each node's place (from the layout, or laid out automatically
//! when the file has none), card and port geometry, hit tests, and the view's pan and zoom.

use std::collections::BTreeMap;

use egui::{Pos2, Rect, Ui, Vec2};

use super::Canvas;
use crate::model::PortRef;
use crate::model::{Node, Pipeline, Position};
use crate::ui::theme::{CARD_WIDTH, HEADER_HEIGHT, PORT_RADIUS, PORT_ROW, SUMMARY_HEIGHT};

/// Height of a node's card in canvas units.
pub fn card_height(node: &Node) -> f32 {
    let ports = node.kind.model().ports();
    let rows = ports.inputs.len().max(ports.outputs.len()).max(1);
    HEADER_HEIGHT + SUMMARY_HEIGHT + rows as f32 * PORT_ROW + 8.0
}

/// Where a card and its ports are on screen.
pub struct Geometry {
    pub rect: Rect,
    pub inputs: Vec<(String, Pos2)>,
    pub outputs: Vec<(String, Pos2)>,
}

/// Every node's place: the layout's, and for nodes it lacks, the automatic layout's (drawn there,
/// not written to the document until the user moves them).
pub fn places(pipeline: &Pipeline) -> BTreeMap<String, Position> {
    let mut places = pipeline.layout.nodes.clone();
    if pipeline.nodes.iter().any(|n| !places.contains_key(&n.id)) {
        for (id, at) in crate::ui::layout::layered(pipeline) {
            places.entry(id).or_insert(at);
        }
    }
    places.retain(|id, _| pipeline.node(id).is_some());
    places
}

impl Canvas {
    /// The port within reach of screen point `p`, and whether it is an input.
    pub(super) fn hit_port(
        &self,
        area: Rect,
        pipeline: &Pipeline,
        p: Pos2,
    ) -> Option<(PortRef, Pos2, bool)> {
        let reach = (PORT_RADIUS + 4.0) * self.zoom.max(0.6);
        for node in pipeline.nodes.iter().rev() {
            let Some(at) = self.places.get(&node.id) else {
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
    pub(super) fn hit_node(&self, area: Rect, pipeline: &Pipeline, p: Pos2) -> Option<String> {
        pipeline.nodes.iter().rev().find_map(|node| {
            let at = self.places.get(&node.id)?;
            self.geometry(area, node, *at)
                .rect
                .contains(p)
                .then(|| node.id.clone())
        })
    }

    pub(super) fn to_screen(&self, area: Rect, p: Pos2) -> Pos2 {
        area.min + (p.to_vec2() - self.offset) * self.zoom
    }

    pub(super) fn to_canvas(&self, area: Rect, p: Pos2) -> Pos2 {
        Pos2::ZERO + (p - area.min) / self.zoom + self.offset
    }

    pub(super) fn geometry(&self, area: Rect, node: &Node, at: Position) -> Geometry {
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
    pub(super) fn fit(&mut self, area: Rect, pipeline: &Pipeline) {
        let mut bounds = Rect::NOTHING;
        for node in &pipeline.nodes {
            if let Some(p) = self.places.get(&node.id) {
                bounds = bounds.union(Rect::from_min_size(
                    Pos2::new(p.0, p.1),
                    Vec2::new(CARD_WIDTH, card_height(node)),
                ));
            }
        }
        // An edge into a node to the left of its source loops out past both cards: keep its curve
        // in view too (sampled, with ports taken at the cards' middles).
        for edge in &pipeline.edges {
            let ends = pipeline
                .node(&edge.from.node)
                .zip(pipeline.node(&edge.to.node));
            let places = self
                .places
                .get(&edge.from.node)
                .zip(self.places.get(&edge.to.node));
            if let (Some((from_node, to_node)), Some((from, to))) = (ends, places) {
                let start = Pos2::new(from.0 + CARD_WIDTH, from.1 + card_height(from_node) / 2.0);
                let end = Pos2::new(to.0, to.1 + card_height(to_node) / 2.0);
                let curve = super::draw::bezier(start, end, 1.0, egui::Stroke::NONE);
                for i in 0..=16 {
                    bounds.extend_with(curve.sample(i as f32 / 16.0));
                }
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

    pub(super) fn frame(&mut self, area: Rect, pipeline: &Pipeline, id: &str) {
        if let (Some(node), Some(p)) = (pipeline.node(id), self.places.get(id)) {
            let center = Pos2::new(p.0 + CARD_WIDTH / 2.0, p.1 + card_height(node) / 2.0);
            self.offset = center.to_vec2() - area.size() / (2.0 * self.zoom);
        }
    }

    pub(super) fn pan_and_zoom(&mut self, ui: &Ui, area: Rect, background: &egui::Response) {
        // Dragging empty canvas (or with the middle button) pans.
        let middle = ui.input(|i| i.pointer.middle_down());
        if background.dragged() && (matches!(self.drag, super::Drag::None) || middle) {
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
}

/// How far below a card its live numbers reach, in canvas units (three lines of small text).
pub const LIVE_NUMBERS_HEIGHT: f32 = 48.0;

/// The overview's corner of `area` (0 bottom right, 1 bottom left, 2 top right, 3 top left) for a
/// map of `size`: the one covering the least of `cards` (screen rectangles). It stays in
/// `current` unless that corner covers a card and another covers less, so it does not jump about
/// while the view pans over empty space.
pub fn overview_corner(area: Rect, size: Vec2, cards: &[Rect], current: usize) -> usize {
    let covered = |corner: usize| -> f32 {
        let map = overview_rect(area, size, corner);
        cards
            .iter()
            .map(|card| {
                let overlap = map.intersect(*card);
                if overlap.is_positive() {
                    overlap.area()
                } else {
                    0.0
                }
            })
            .sum()
    };
    let here = covered(current);
    if here == 0.0 {
        return current;
    }
    let (best, least) =
        (0..4)
            .map(|corner| (corner, covered(corner)))
            .fold((current, here), |best, candidate| {
                if candidate.1 < best.1 {
                    candidate
                } else {
                    best
                }
            });
    if least < here { best } else { current }
}

/// The overview's rectangle in `corner` of `area` (see [`overview_corner`]), 10 points in.
pub fn overview_rect(area: Rect, size: Vec2, corner: usize) -> Rect {
    let margin = 10.0;
    let x = if corner.is_multiple_of(2) {
        area.right() - size.x - margin
    } else {
        area.left() + margin
    };
    let y = if corner < 2 {
        area.bottom() - size.y - margin
    } else {
        area.top() + margin
    };
    Rect::from_min_size(Pos2::new(x, y), size)
}

#[cfg(test)]
mod overview_tests {
    use super::*;

    const AREA: Rect = Rect {
        min: Pos2::new(0.0, 0.0),
        max: Pos2::new(800.0, 600.0),
    };
    const SIZE: Vec2 = Vec2::new(200.0, 130.0);

    fn card(x: f32, y: f32) -> Rect {
        Rect::from_min_size(Pos2::new(x, y), Vec2::new(230.0, 120.0))
    }

    #[test]
    fn the_overview_leaves_the_corner_a_card_is_in() {
        // Nothing under the bottom right: it stays there.
        assert_eq!(overview_corner(AREA, SIZE, &[card(10.0, 10.0)], 0), 0);
        // A card in the lower right: the overview moves to the free bottom left.
        let lower_right = card(560.0, 470.0);
        assert_eq!(overview_corner(AREA, SIZE, &[lower_right], 0), 1);
        // Cards in both lower corners: it goes up to the top right.
        let lower_left = card(0.0, 470.0);
        assert_eq!(
            overview_corner(AREA, SIZE, &[lower_right, lower_left], 0),
            2
        );
        // Every corner covered alike: it stays where it is.
        let all = [lower_right, lower_left, card(560.0, 0.0), card(0.0, 0.0)];
        assert_eq!(overview_corner(AREA, SIZE, &all, 3), 3);
    }

    #[test]
    fn each_corner_is_ten_points_inside_the_area() {
        assert_eq!(overview_rect(AREA, SIZE, 0).max, Pos2::new(790.0, 590.0));
        assert_eq!(overview_rect(AREA, SIZE, 1).min.x, 10.0);
        assert_eq!(overview_rect(AREA, SIZE, 2).min, Pos2::new(590.0, 10.0));
        assert_eq!(overview_rect(AREA, SIZE, 3).min, Pos2::new(10.0, 10.0));
    }
}
