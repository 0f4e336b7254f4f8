//! Files: opening and saving pipelines (after the unsaved-changes prompt), recent files, the
//! examples, exported pictures, dialogs and the path field when there is no dialog, dropped files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use egui::{Key, RichText};

use super::{AfterDiscard, EddyApp};
use crate::model::starter::starter_pipeline;
use crate::ui::canvas::Selection;
use crate::ui::document::EditorDocument;
use crate::ui::files::{DialogOutcome, DialogPurpose};

impl EddyApp {
    fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(10);
    }

    /// The examples (path, name, description), read from disk the first time they are asked for.
    pub(super) fn examples(&mut self) -> &[(PathBuf, String, String)] {
        self.examples.get_or_insert_with(examples)
    }

    pub(super) fn open_path(&mut self, path: &Path) {
        match EditorDocument::open(path) {
            Ok(doc) => {
                self.end_run();
                self.doc = doc;
                self.description_closed = false;
                self.selection = Selection::default();
                self.canvas.request_fit();
                self.remember(path);
                self.say(format!("opened {}", path.display()));
            }
            Err(e) => self.say(e),
        }
    }

    /// Opens a shipped example as an untitled copy that runs in the examples workspace.
    pub fn open_example(&mut self, example: &Path) {
        let workspace = crate::ui::recovery::examples_workspace();
        match EditorDocument::open_example(example, &workspace) {
            Ok(doc) => {
                self.end_run();
                self.doc = doc;
                self.description_closed = false;
                self.selection = Selection::default();
                self.canvas.request_fit();
                self.say(format!(
                    "opened a copy of the example {}: Save asks where to keep it; runs write into {}",
                    example.display(),
                    workspace.display()
                ));
            }
            Err(e) => self.say(e),
        }
    }

    pub(super) fn save(&mut self) {
        match self.doc.path.clone() {
            Some(path) => self.save_to(&path),
            None => self.save_as(),
        }
    }

    pub(super) fn save_as(&mut self) {
        let name = format!("{}.ron", self.doc.pipeline().name.replace(' ', "_"));
        // An example's copy is offered its workspace, where its inputs are.
        let dir = if self.doc.path.is_some() || self.doc.example_of.is_some() {
            Some(self.doc.base_dir())
        } else {
            std::env::current_dir().ok()
        };
        self.dialogs.request(DialogPurpose::SaveAs, dir, &name);
    }

    fn save_to(&mut self, path: &Path) {
        match self.doc.save_to(path) {
            Ok(()) => {
                self.remember(path);
                self.say(format!("saved {}", path.display()));
            }
            Err(e) => self.say(format!("could not save: {e}")),
        }
    }

    /// Takes a screenshot of the next frame and keeps the canvas part of it.
    fn export_png(&mut self, ctx: &egui::Context, path: PathBuf) {
        let region = self.canvas.last_area();
        let pixels_per_point = ctx.pixels_per_point();
        let outcome = std::sync::Arc::clone(&self.png_outcome);
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let message =
                match crate::ui::picture::write_png(&image, region, pixels_per_point, &path) {
                    Ok(()) => format!("exported {}", path.display()),
                    Err(e) => format!("could not export: {e}"),
                };
            if let Ok(mut slot) = outcome.lock() {
                *slot = Some(message);
            }
            repaint.request_repaint();
        });
    }

    /// Asks where to write a picture, named after the pipeline.
    pub(super) fn request_export(&mut self, purpose: DialogPurpose, extension: &str) {
        let name = format!("{}.{extension}", self.doc.pipeline().name.replace(' ', "_"));
        self.dialogs
            .request(purpose, Some(self.doc.base_dir()), &name);
    }

    /// What the typed-path field starts with: the pipeline's folder, with a file name that fits.
    fn suggested_path(&self, purpose: DialogPurpose) -> PathBuf {
        let dir = std::path::absolute(self.doc.base_dir()).unwrap_or_else(|_| self.doc.base_dir());
        let stem = self.doc.pipeline().name.replace(' ', "_");
        match purpose {
            DialogPurpose::Open => dir.join(""),
            DialogPurpose::SaveAs => self
                .doc
                .path
                .clone()
                .unwrap_or_else(|| dir.join(format!("{stem}.ron"))),
            DialogPurpose::ExportSvg => dir.join(format!("{stem}.svg")),
            DialogPurpose::ExportPng => dir.join(format!("{stem}.png")),
        }
    }

    fn export_svg(&mut self, path: &Path) {
        let svg = crate::ui::picture::to_svg(self.doc.pipeline());
        match crate::model::file::write_atomically(path, svg.as_bytes()) {
            Ok(()) => self.say(format!("exported {}", path.display())),
            Err(e) => self.say(format!("could not export: {e:#}")),
        }
    }

    /// Does `action` now, or after asking about unsaved changes.
    pub(super) fn request(&mut self, action: AfterDiscard) {
        if self.doc.is_dirty() {
            self.confirm = Some(action);
        } else {
            self.perform(action);
        }
    }

    pub(super) fn perform(&mut self, action: AfterDiscard) {
        match action {
            AfterDiscard::New => {
                self.end_run();
                self.doc = EditorDocument::new(starter_pipeline("untitled"), None);
                self.selection = Selection::default();
                self.canvas.request_fit();
            }
            AfterDiscard::Open(path) => self.open_path(&path),
            AfterDiscard::OpenExample(path) => self.open_example(&path),
            AfterDiscard::OpenDialog => {
                let dir = Some(self.doc.base_dir());
                self.dialogs.request(DialogPurpose::Open, dir, "");
            }
            AfterDiscard::Quit => self.allow_close = true,
        }
    }

    /// A `.ron` file dropped on the window opens (after the unsaved-changes prompt).
    pub(super) fn files_dropped(&mut self, ctx: &egui::Context) {
        let (hovering, dropped) =
            ctx.input(|i| (!i.raw.hovered_files.is_empty(), i.raw.dropped_files.clone()));
        if hovering {
            let painter = ctx.layer_painter(egui::LayerId::new(
                egui::Order::Foreground,
                egui::Id::unique("drop_hint"),
            ));
            let screen = ctx.content_rect();
            painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
            painter.text(
                screen.center(),
                egui::Align2::CENTER_CENTER,
                "Drop a .ron pipeline to open it",
                egui::FontId::proportional(28.0),
                egui::Color32::WHITE,
            );
        }
        if let Some(path) = dropped
            .iter()
            .map(|f| f.path().to_path_buf())
            .find(|p| p.extension().is_some_and(|e| e == "ron"))
        {
            self.request(AfterDiscard::Open(path));
        } else if !dropped.is_empty() {
            self.say("only .ron pipeline files can be opened");
        }
    }

    pub(super) fn dialogs_ui(&mut self, ctx: &egui::Context) {
        match self.dialogs.poll() {
            Some(DialogOutcome::Chosen(DialogPurpose::Open, path)) => self.open_path(&path),
            Some(DialogOutcome::Chosen(DialogPurpose::SaveAs, path)) => self.save_to(&path),
            Some(DialogOutcome::Chosen(DialogPurpose::ExportSvg, path)) => self.export_svg(&path),
            Some(DialogOutcome::Chosen(DialogPurpose::ExportPng, path)) => {
                self.export_png(ctx, path)
            }
            Some(DialogOutcome::NoDialogAvailable(purpose)) => {
                let start = self.suggested_path(purpose);
                self.path_prompt = Some((purpose, start.display().to_string()));
            }
            None => {}
        }
        if self.dialogs.is_open() {
            ctx.request_repaint_after(Duration::from_millis(100));
        }
        if let Some((purpose, mut text)) = self.path_prompt.take() {
            let mut keep = true;
            let title = match purpose {
                DialogPurpose::Open => "Open a pipeline",
                DialogPurpose::SaveAs => "Save the pipeline as",
                DialogPurpose::ExportSvg | DialogPurpose::ExportPng => "Export the picture as",
            };
            egui::Window::new(title).collapsible(false).show(ctx, |ui| {
                ui.label("No file dialog is available on this system; type a path:");
                if let Ok(here) = std::env::current_dir() {
                    ui.label(
                        RichText::new(format!("A relative path starts in {}", here.display()))
                            .weak(),
                    );
                }
                let field = ui.text_edit_singleline(&mut text);
                let enter = field.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
                ui.horizontal(|ui| {
                    if ui.button("OK").clicked() || enter {
                        let path = PathBuf::from(text.trim());
                        match purpose {
                            DialogPurpose::Open => self.open_path(&path),
                            DialogPurpose::SaveAs => self.save_to(&path),
                            DialogPurpose::ExportSvg => self.export_svg(&path),
                            DialogPurpose::ExportPng => self.export_png(ctx, path),
                        }
                        keep = false;
                    }
                    if ui.button("Cancel").clicked() {
                        keep = false;
                    }
                });
            });
            if keep {
                self.path_prompt = Some((purpose, text));
            }
        }
    }
}

/// The examples in the order the course meets them; others follow by name.
const COURSE_ORDER: [&str; 9] = [
    "taxi_workshop",
    "kinesis_hot_shard",
    "late_data_lab",
    "iot_alerts",
    "clickstream_leaderboard",
    "fraud_payments",
    "log_analytics",
    "user_sessions",
    "at_least_once",
];

fn course_place(path: &Path) -> usize {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    COURSE_ORDER
        .iter()
        .position(|s| *s == stem)
        .unwrap_or(COURSE_ORDER.len())
}

/// Example pipelines next to the working folder or the executable, with their descriptions.
pub fn examples() -> Vec<(PathBuf, String, String)> {
    let mut dirs = vec![PathBuf::from("pipelines")];
    if let Ok(exe) = std::env::current_exe()
        && let Some(root) = exe.ancestors().nth(3)
    {
        dirs.push(root.join("pipelines"));
    }
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut found: Vec<(PathBuf, String, String)> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "ron"))
            .filter_map(|p| {
                let pipeline = crate::model::file::load(&p).ok()?;
                Some((p, pipeline.name, pipeline.description))
            })
            .collect();
        if !found.is_empty() {
            found.sort_by_key(|(path, name, _)| (course_place(path), name.clone()));
            return found;
        }
    }
    Vec::new()
}
