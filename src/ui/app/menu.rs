//! The top bar: File, Edit, View and Help menus (each entry a command), the run controls and the
//! pipeline's name.

use egui::{RichText, Ui};

use super::EddyApp;
use crate::ui::command::{Align, Command, HelpPage, Theme, menu_item};
use crate::ui::live::controls::controls_ui;

impl EddyApp {
    pub(super) fn menu_ui(&mut self, ui: &mut Ui) {
        let mut chosen: Vec<Command> = Vec::new();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                chosen.extend(menu_item(ui, Command::New, true));
                chosen.extend(menu_item(ui, Command::Open, true));
                ui.menu_button("Open example", |ui| {
                    for (path, name, description) in self.examples().to_vec() {
                        if ui.button(&name).on_hover_text(description).clicked() {
                            chosen.push(Command::OpenExample(path));
                        }
                    }
                });
                ui.menu_button("Open recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("nothing yet");
                    }
                    for path in self.recent.clone() {
                        chosen.extend(menu_item(ui, Command::OpenRecent(path), true));
                    }
                });
                ui.separator();
                chosen.extend(menu_item(ui, Command::Save, true));
                chosen.extend(menu_item(ui, Command::SaveAs, true));
                chosen.extend(menu_item(ui, Command::ExportSvg, true));
                chosen.extend(menu_item(ui, Command::ExportPng, true));
                ui.separator();
                chosen.extend(menu_item(ui, Command::Quit, true));
            });
            ui.menu_button("Edit", |ui| {
                let selected = !self.selection.nodes.is_empty();
                chosen.extend(menu_item(ui, Command::Undo, self.doc.can_undo()));
                chosen.extend(menu_item(ui, Command::Redo, self.doc.can_redo()));
                ui.separator();
                chosen.extend(menu_item(ui, Command::Cut, selected));
                chosen.extend(menu_item(ui, Command::Copy, selected));
                chosen.extend(menu_item(ui, Command::Paste, true));
                chosen.extend(menu_item(ui, Command::Duplicate, selected));
                chosen.extend(menu_item(ui, Command::Delete, !self.selection.is_empty()));
                chosen.extend(menu_item(ui, Command::SelectAll, true));
                ui.separator();
                chosen.extend(menu_item(ui, Command::AutoLayout, true));
                ui.menu_button("Align selected", |ui| {
                    let enough = self.selection.nodes.len() >= 2;
                    for how in [Align::Left, Align::Top, Align::SpreadX, Align::SpreadY] {
                        chosen.extend(menu_item(ui, Command::Align(how), enough));
                    }
                });
            });
            ui.menu_button("View", |ui| {
                chosen.extend(menu_item(ui, Command::ZoomToFit, true));
                chosen.extend(menu_item(ui, Command::ZoomIn, true));
                chosen.extend(menu_item(ui, Command::ZoomOut, true));
                ui.separator();
                for theme in [Theme::Dark, Theme::Light, Theme::System] {
                    chosen.extend(menu_item(ui, Command::Theme(theme), true));
                }
            });
            ui.menu_button("Help", |ui| {
                chosen.extend(menu_item(ui, Command::Help(HelpPage::Shortcuts), true));
                chosen.extend(menu_item(ui, Command::Help(HelpPage::EventTime), true));
                ui.menu_button("Examples", |ui| {
                    for (path, name, description) in self.examples().to_vec() {
                        if ui.button(&name).on_hover_text(description).clicked() {
                            chosen.push(Command::OpenExample(path));
                        }
                    }
                });
                ui.separator();
                chosen.extend(menu_item(ui, Command::Help(HelpPage::About), true));
            });
            ui.separator();
            let can_run = !self.doc.validation().has_errors();
            if let Some(action) = controls_ui(ui, self.live.as_ref(), self.speed, can_run) {
                chosen.push(Command::Control(action));
            }
            ui.separator();
            let pipeline = self.doc.pipeline();
            ui.label(RichText::new(&pipeline.name).strong())
                .on_hover_text(&pipeline.description);
            if self.doc.is_dirty() {
                ui.label(RichText::new("unsaved changes").color(crate::ui::theme::WARNING))
                    .on_hover_text("Changes not saved yet (Ctrl+S)");
            }
        });
        self.commands.extend(chosen);
    }
}
