//! What the GUI tests share: the app in a 1280x800 headless harness, the examples, and pointer
//! gestures made of the events a real mouse sends.
#![allow(dead_code)]

use std::path::Path;

use eddy::ui::EddyApp;
use egui::accesskit::Role;
use egui::{Event, Modifiers, PointerButton, Pos2};
use egui_kittest::Harness;
use egui_kittest::Node;
use egui_kittest::kittest::{By, Queryable};

pub fn harness(app: EddyApp) -> Harness<'static, EddyApp> {
    let mut harness = Harness::builder()
        .with_size(egui::Vec2::new(1280.0, 800.0))
        .build_ui_state(|ui, app: &mut EddyApp| app.ui(ui), app);
    harness.run_steps(3);
    harness
}

pub fn example(name: &str) -> EddyApp {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines")
        .join(name);
    EddyApp::with_file(Some(&path)).unwrap()
}

pub fn drag(harness: &mut Harness<'static, EddyApp>, from: Pos2, to: Pos2) {
    harness.hover_at(from);
    harness.run_steps(1);
    harness.event(Event::PointerButton {
        pos: from,
        button: PointerButton::Primary,
        pressed: true,
        modifiers: Modifiers::NONE,
    });
    harness.run_steps(1);
    for i in 1..=10 {
        let t = i as f32 / 10.0;
        harness.hover_at(from + (to - from) * t);
        harness.run_steps(1);
    }
    harness.event(Event::PointerButton {
        pos: to,
        button: PointerButton::Primary,
        pressed: false,
        modifiers: Modifiers::NONE,
    });
    harness.run_steps(2);
}

pub fn click_at(harness: &mut Harness<'static, EddyApp>, at: Pos2) {
    harness.hover_at(at);
    harness.run_steps(1);
    for pressed in [true, false] {
        harness.event(Event::PointerButton {
            pos: at,
            button: PointerButton::Primary,
            pressed,
            modifiers: Modifiers::NONE,
        });
    }
    harness.run_steps(2);
}

/// The text field holding `value` (not the text laid out inside it, which has the same value).
pub fn text_field<'h>(harness: &'h Harness<'static, EddyApp>, value: &'h str) -> Node<'h> {
    harness
        .query(By::new().value(value).role(Role::MultilineTextInput))
        .or_else(|| harness.query(By::new().value(value).role(Role::TextInput)))
        .unwrap_or_else(|| panic!("no text field holds `{value}`"))
}

/// Clicks a kind in the palette.
pub fn add_from_palette(harness: &mut Harness<'static, EddyApp>, kind: &str) {
    if let Some(id) = eddy::model::KindId::ALL
        .iter()
        .find(|k| k.entry().name == kind)
    {
        open_only_family(harness, id.entry().family);
    }
    harness.get_by_label(kind).click();
    harness.run_steps(3);
}

/// Folds every family of the palette but `open` (and opens that one), as a user clicks their
/// names: what keeps a family's kinds in sight however long the catalogue grows.
pub fn open_only_family(harness: &mut Harness<'static, EddyApp>, open: eddy::model::Family) {
    let mut families: Vec<eddy::model::Family> = eddy::model::KindId::ALL
        .iter()
        .map(|k| k.entry().family)
        .collect();
    families.dedup();
    for family in families {
        let first = eddy::model::KindId::ALL
            .iter()
            .find(|k| k.entry().family == family)
            .map_or("", |k| k.entry().name);
        let is_open = harness
            .query_all_by_label(first)
            .any(|n| n.rect().left() < 200.0);
        if is_open != (family == open) {
            harness
                .get_by_label(&eddy::ui::theme::family_label(family).to_uppercase())
                .click();
            harness.run_steps(2);
        }
    }
}

/// Draws frames (20 ms apart, for the engine's threads) until `done` holds or `frames` have
/// passed; whether it held.
pub fn run_until(
    harness: &mut Harness<'static, EddyApp>,
    frames: usize,
    done: impl Fn(&Harness<'static, EddyApp>) -> bool,
) -> bool {
    for _ in 0..frames {
        std::thread::sleep(std::time::Duration::from_millis(20));
        harness.run_steps(1);
        if done(harness) {
            return true;
        }
    }
    false
}
