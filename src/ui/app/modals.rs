//! The small windows over the designer: recovering unsaved work, the unsaved-changes prompt, the
//! first-run welcome, the quick "add a node here" search, and the Help pages.

use std::path::PathBuf;

use egui::{Key, RichText};

use super::EddyApp;
use crate::model::KindId;
use crate::ui::command::{Command, HelpPage};
use crate::ui::document::EditorDocument;
use crate::ui::live::event_time::HOW_TO_READ;

impl EddyApp {
    pub(super) fn recovery_ui(&mut self, ctx: &egui::Context) {
        let Some(found) = &self.offer_recovery else {
            return;
        };
        let when = found
            .written
            .and_then(|t| t.elapsed().ok())
            .map(|d| format!("{} min ago", d.as_secs() / 60))
            .unwrap_or_else(|| "earlier".into());
        let from = found
            .original
            .as_ref()
            .map_or("an unsaved pipeline".to_string(), |p| {
                p.display().to_string()
            });
        let mut decision = None;
        egui::Window::new("Recover unsaved work?")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!(
                    "Eddy closed without saving changes to “{}” ({from}), {when}.",
                    found.pipeline.name
                ));
                ui.horizontal(|ui| {
                    if ui
                        .button("Recover")
                        .on_hover_text("Open the recovered copy; save it to keep it")
                        .clicked()
                    {
                        decision = Some(true);
                    }
                    if ui
                        .button("Discard")
                        .on_hover_text("Delete the recovery copy")
                        .clicked()
                    {
                        decision = Some(false);
                    }
                });
            });
        match decision {
            Some(true) => {
                if let Some(found) = self.offer_recovery.take() {
                    let mut doc = EditorDocument::new(found.pipeline.clone(), None);
                    doc.path = found.original;
                    // Mark the recovered state as unsaved: it is not in any file yet.
                    doc.mark_unsaved();
                    self.end_run();
                    self.doc = doc;
                    self.canvas.request_fit();
                }
            }
            Some(false) => {
                self.offer_recovery = None;
                if let Some(autosave) = &mut self.autosave {
                    autosave.discard();
                }
            }
            None => {}
        }
    }

    pub(super) fn confirm_ui(&mut self, ctx: &egui::Context) {
        let Some(action) = self.confirm.clone() else {
            return;
        };
        egui::Window::new("Unsaved changes")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!(
                    "“{}” has changes that are not saved.",
                    self.doc.pipeline().name
                ));
                ui.horizontal(|ui| {
                    if ui.button("Save").clicked() {
                        self.save();
                        if !self.doc.is_dirty() {
                            self.confirm = None;
                            self.perform(action.clone());
                        }
                    }
                    if ui.button("Discard changes").clicked() {
                        self.confirm = None;
                        self.perform(action.clone());
                    }
                    if ui.button("Cancel").clicked() {
                        self.confirm = None;
                    }
                });
            });
    }

    /// The search box that appears where the user double-clicked the empty canvas.
    pub(super) fn quick_add_ui(&mut self, ctx: &egui::Context) {
        let Some(at) = self.canvas.quick_add_at else {
            return;
        };
        let mut chosen = None;
        let mut open = true;
        let mut window = egui::Window::new("Add a node here")
            .open(&mut open)
            .collapsible(false);
        if let Some(p) = self.canvas.quick_add_screen {
            window = window.default_pos(p);
        }
        window.show(ctx, |ui| {
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.quick_add_search).hint_text("type to search…"),
            );
            field.request_focus();
            let matches: Vec<KindId> = KindId::ALL
                .iter()
                .copied()
                .filter(|k| k.entry().matches(&self.quick_add_search))
                .collect();
            let enter = ui.input(|i| i.key_pressed(Key::Enter));
            for (i, kind) in matches.into_iter().enumerate() {
                if ui.button(kind.entry().name).clicked() || (enter && i == 0) {
                    chosen = Some(kind);
                    break;
                }
            }
        });
        if let Some(kind) = chosen {
            self.commands.push(Command::AddNode { kind, at: Some(at) });
            self.canvas.quick_add_at = None;
            self.quick_add_search.clear();
        } else if !open || ctx.input(|i| i.key_pressed(Key::Escape)) {
            self.canvas.quick_add_at = None;
        }
    }

    pub(super) fn welcome_ui(&mut self, ctx: &egui::Context) {
        if !self.welcome {
            return;
        }
        let mut open = true;
        let mut chosen: Option<PathBuf> = None;
        let examples = self.examples().to_vec();
        egui::Window::new("Welcome to Eddy")
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .collapsible(false)
            .resizable(false)
            .open(&mut open)
            .show(ctx, |ui| {
                ui.label("Eddy lets you draw a streaming pipeline, run it here, and watch events, watermarks and windows as they happen.");
                ui.add_space(6.0);
                ui.label("Start with an example: open it, then press Run (F5) in the top bar.");
                for (path, name, description) in examples {
                    if ui.button(&name).on_hover_text(&description).clicked() {
                        chosen = Some(path);
                    }
                }
                ui.add_space(6.0);
                ui.label(RichText::new("Or close this window and build your own from the palette on the left.").weak());
            });
        if let Some(path) = chosen {
            self.open_example(&path);
            self.welcome = false;
        } else if !open {
            self.welcome = false;
        }
    }

    pub(super) fn help_ui(&mut self, ctx: &egui::Context) {
        let Some(page) = self.help else {
            return;
        };
        let mut open = true;
        egui::Window::new(Command::Help(page).text())
            .open(&mut open)
            .collapsible(false)
            .pivot(egui::Align2::CENTER_CENTER)
            .default_pos(ctx.content_rect().center())
            .default_width(460.0)
            .show(ctx, |ui| match page {
                HelpPage::Shortcuts => shortcuts_ui(ui),
                HelpPage::EventTime => {
                    for paragraph in HOW_TO_READ.split(". ") {
                        let end = if paragraph.ends_with('.') { "" } else { "." };
                        ui.label(format!("{paragraph}{end}"));
                    }
                }
                HelpPage::About => {
                    ui.heading(format!("Eddy {}", env!("CARGO_PKG_VERSION")));
                    ui.label("Design, run and watch streaming pipelines on your own machine.");
                    ui.label("Pipelines are RON files: diff them in git, share them, run them headless with `eddy run`.");
                }
            });
        if !open {
            self.help = None;
        }
    }
}

/// Every command with keys, and the keys of the canvas that are gestures rather than commands.
fn shortcuts_ui(ui: &mut egui::Ui) {
    let mut commands = Command::with_shortcuts();
    commands.extend([Command::Copy, Command::Cut, Command::Paste]);
    egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
        for command in commands {
            let keys: Vec<String> = command
                .shortcuts()
                .iter()
                .map(|k| ui.ctx().format_shortcut(k))
                .collect();
            ui.label(egui::RichText::new(keys.join(" or ")).monospace());
            ui.label(command.text());
            ui.end_row();
        }
        for (keys, what) in [
            ("drag a port to a port", "Connect two nodes"),
            ("double-click the canvas", "Add a node there"),
            ("drag the canvas, or scroll", "Pan"),
            ("Ctrl + scroll", "Zoom around the pointer"),
            ("Shift + click", "Add a node to the selection"),
            ("Shift + drag", "Select the nodes in a rubber band"),
        ] {
            ui.label(egui::RichText::new(keys).monospace());
            ui.label(what);
            ui.end_row();
        }
    });
}
