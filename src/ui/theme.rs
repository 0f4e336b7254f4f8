//! Colours and sizes of the designer: one calm colour per node family, readable in light and dark.

use egui::{Color32, Painter, Pos2, Shape, Stroke, Vec2};

use crate::model::Family;

/// The header colour of a node card.
pub fn family_color(family: Family) -> Color32 {
    match family {
        Family::Source => Color32::from_rgb(0x2f, 0x80, 0x6f),
        Family::Transform => Color32::from_rgb(0x3b, 0x6e, 0xa8),
        Family::Window => Color32::from_rgb(0x8a, 0x5a, 0xb0),
        Family::Stream => Color32::from_rgb(0xa8, 0x45, 0x6a),
        Family::Join => Color32::from_rgb(0x5c, 0x7f, 0x2a),
        Family::Pattern => Color32::from_rgb(0x2a, 0x7a, 0x9a),
        Family::Sink => Color32::from_rgb(0xb0, 0x6b, 0x2e),
    }
}

/// The family's name, shown on cards and in the palette (plain text: it renders in every font).
pub fn family_label(family: Family) -> &'static str {
    match family {
        Family::Source => "source",
        Family::Transform => "transform",
        Family::Window => "window",
        Family::Stream => "stream",
        Family::Join => "join",
        Family::Pattern => "pattern",
        Family::Sink => "sink",
    }
}

/// Good news: a valid pipeline, a row that went in.
pub const OK: Color32 = Color32::from_rgb(0x3a, 0x9a, 0x5b);
pub const ERROR: Color32 = Color32::from_rgb(0xd0, 0x3b, 0x3b);
pub const WARNING: Color32 = Color32::from_rgb(0xd9, 0x92, 0x1a);
pub const SELECTED: Color32 = Color32::from_rgb(0x40, 0x9c, 0xff);

/// Card geometry in canvas units.
pub const CARD_WIDTH: f32 = 230.0;
pub const HEADER_HEIGHT: f32 = 26.0;
pub const SUMMARY_HEIGHT: f32 = 20.0;
pub const PORT_ROW: f32 = 20.0;
pub const PORT_RADIUS: f32 = 5.0;

/// A small vector icon per family (drawn, so it needs no icon font): a play triangle for sources,
/// a diamond for transforms, a clock for windows, lanes (shards) for streams, two linked rings for
/// joins, a zigzag (a sequence) for patterns, a tray for sinks.
pub fn paint_family_icon(
    painter: &Painter,
    center: Pos2,
    size: f32,
    family: Family,
    color: Color32,
) {
    let r = size / 2.0;
    match family {
        Family::Source => {
            let points = vec![
                center + Vec2::new(-r * 0.7, -r),
                center + Vec2::new(r, 0.0),
                center + Vec2::new(-r * 0.7, r),
            ];
            painter.add(Shape::convex_polygon(points, color, Stroke::NONE));
        }
        Family::Transform => {
            let points = vec![
                center + Vec2::new(0.0, -r),
                center + Vec2::new(r, 0.0),
                center + Vec2::new(0.0, r),
                center + Vec2::new(-r, 0.0),
            ];
            painter.add(Shape::convex_polygon(points, color, Stroke::NONE));
        }
        Family::Window => {
            let stroke = Stroke::new((size / 7.0).max(1.0), color);
            painter.circle_stroke(center, r, stroke);
            painter.line_segment([center, center + Vec2::new(0.0, -r * 0.7)], stroke);
            painter.line_segment([center, center + Vec2::new(r * 0.55, 0.0)], stroke);
        }
        Family::Stream => {
            let stroke = Stroke::new((size / 7.0).max(1.0), color);
            for lane in [-0.6, 0.0, 0.6] {
                let y = center.y + r * lane;
                painter.line_segment(
                    [Pos2::new(center.x - r, y), Pos2::new(center.x + r, y)],
                    stroke,
                );
            }
        }
        Family::Join => {
            let stroke = Stroke::new((size / 7.0).max(1.0), color);
            painter.circle_stroke(center + Vec2::new(-r * 0.4, 0.0), r * 0.6, stroke);
            painter.circle_stroke(center + Vec2::new(r * 0.4, 0.0), r * 0.6, stroke);
        }
        Family::Pattern => {
            let stroke = Stroke::new((size / 7.0).max(1.0), color);
            let points = [(-1.0, 0.5), (-0.4, -0.5), (0.2, 0.5), (1.0, -0.6)]
                .map(|(x, y)| center + Vec2::new(r * x, r * y));
            painter.add(Shape::line(points.to_vec(), stroke));
        }
        Family::Sink => {
            let stroke = Stroke::new((size / 7.0).max(1.0), color);
            let (l, t, rr, b) = (center.x - r, center.y - r * 0.4, center.x + r, center.y + r);
            painter.line_segment([Pos2::new(l, t), Pos2::new(l, b)], stroke);
            painter.line_segment([Pos2::new(l, b), Pos2::new(rr, b)], stroke);
            painter.line_segment([Pos2::new(rr, b), Pos2::new(rr, t)], stroke);
            painter.line_segment(
                [
                    Pos2::new(center.x, center.y - r),
                    Pos2::new(center.x, center.y + r * 0.4),
                ],
                stroke,
            );
        }
    }
}
