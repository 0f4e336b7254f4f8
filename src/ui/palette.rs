//! The palette: every node kind from the catalogue by family (each family folds away), with its
//! explanation for learners; click to add, drag onto the canvas, or search.

use egui::Ui;

use super::command::Command;
use super::theme;
use crate::model::{Family, KindId};

/// What a drag from the palette carries: the kind.
#[derive(Debug, Clone)]
pub struct PaletteDrag(pub KindId);

/// The palette panel; returns the kind the user chose to add.
pub fn palette_ui(ui: &mut Ui, search: &mut String) -> Option<KindId> {
    let heading = ui.strong("Add a node");
    ui.add(egui::TextEdit::singleline(search).hint_text("search…"))
        .labelled_by(heading.id)
        .on_hover_text("Find node kinds by name or by what they do: late, key, sql, kinesis…");
    ui.separator();
    let mut chosen = None;
    let found: Vec<KindId> = KindId::ALL
        .iter()
        .copied()
        .filter(|kind| kind.entry().matches(search))
        .collect();
    if found.is_empty() {
        ui.label(format!(
            "No node kind matches “{}”. Try a word for what it should do: late, key, join, file, sql.",
            search.trim()
        ));
    }
    // While searching, every family that has a match is open.
    let searching = !search.trim().is_empty();
    egui::ScrollArea::vertical().show(ui, |ui| {
        // Compact: one family's kinds fit above the dock of an 800-pixel window, and families
        // fold away (click their name) as the catalogue grows.
        ui.spacing_mut().item_spacing.y = 1.0;
        let mut families: Vec<(Family, Vec<KindId>)> = Vec::new();
        for kind in found {
            let family = kind.entry().family;
            match families.last_mut() {
                Some((f, kinds)) if *f == family => kinds.push(kind),
                _ => families.push((family, vec![kind])),
            }
        }
        for (family, kinds) in families {
            let header = egui::RichText::new(theme::family_label(family).to_uppercase())
                .small()
                .weak();
            egui::CollapsingHeader::new(header)
                .id_salt(("palette family", family))
                .default_open(true)
                .open(searching.then_some(true))
                .show(ui, |ui| {
                    for kind in kinds {
                        if entry_ui(ui, kind) {
                            chosen = Some(kind);
                        }
                    }
                });
        }
    });
    chosen
}

/// One kind's button: click to add, drag onto the canvas; true when clicked.
fn entry_ui(ui: &mut Ui, kind: KindId) -> bool {
    let entry = kind.entry();
    let family = entry.family;
    let text = egui::RichText::new(entry.name).color(theme::family_color(family));
    let tooltip = Command::AddNode { kind, at: None }.tooltip();
    let button = ui
        .add_sized([ui.available_width(), 18.0], egui::Button::new(text))
        .on_hover_text(tooltip);
    theme::paint_family_icon(
        ui.painter(),
        button.rect.left_center() + egui::vec2(12.0, 0.0),
        10.0,
        family,
        theme::family_color(family),
    );
    // Dragging a palette entry onto the canvas drops the node where it is released.
    let button = button.interact(egui::Sense::click_and_drag());
    if button.drag_started() {
        egui::DragAndDrop::set_payload(ui.ctx(), PaletteDrag(kind));
    }
    if button.dragged() {
        ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
    }
    button.clicked()
}
