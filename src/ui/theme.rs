//! Colours and sizes of the designer: one calm colour per node family, readable in light and dark.

use egui::Color32;

use crate::model::Family;

/// The header colour of a node card.
pub fn family_color(family: Family) -> Color32 {
    match family {
        Family::Source => Color32::from_rgb(0x2f, 0x80, 0x6f),
        Family::Transform => Color32::from_rgb(0x3b, 0x6e, 0xa8),
        Family::Window => Color32::from_rgb(0x8a, 0x5a, 0xb0),
        Family::Sink => Color32::from_rgb(0xb0, 0x6b, 0x2e),
    }
}

/// The family's name, shown on cards and in the palette (plain text: it renders in every font).
pub fn family_label(family: Family) -> &'static str {
    match family {
        Family::Source => "source",
        Family::Transform => "transform",
        Family::Window => "window",
        Family::Sink => "sink",
    }
}

pub const ERROR: Color32 = Color32::from_rgb(0xd0, 0x3b, 0x3b);
pub const WARNING: Color32 = Color32::from_rgb(0xd9, 0x92, 0x1a);
pub const SELECTED: Color32 = Color32::from_rgb(0x40, 0x9c, 0xff);

/// Card geometry in canvas units.
pub const CARD_WIDTH: f32 = 230.0;
pub const HEADER_HEIGHT: f32 = 26.0;
pub const SUMMARY_HEIGHT: f32 = 20.0;
pub const PORT_ROW: f32 = 20.0;
pub const PORT_RADIUS: f32 = 5.0;
