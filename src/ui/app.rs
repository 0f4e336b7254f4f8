//! The designer window: menus and shortcuts, palette, canvas, inspector and problems, files, and
//! the prompts that keep unsaved work from being lost.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};

use super::canvas::{Canvas, Selection};
use super::clipboard::{copy_text, paste_into};
use super::document::EditorDocument;
use super::files::{DialogOutcome, DialogPurpose, FileDialogs};
use super::inspector::{InspectorState, inspector_ui};
use super::layout::layered;
use super::live::LiveRun;
use super::live::charts::{lag_ui, results_ui, throughput_ui};
use super::live::controls::{RunAction, controls_ui};
use super::live::taps::TapPanel;
use super::palette::palette_ui;
use super::problems::problems_ui;
use crate::model::starter::starter_pipeline;
use crate::model::templates::{Template, fresh_id, templates};
use crate::model::{Node, Position};
use crate::runtime::{RunStatus, Speed};

const NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
const SAVE_AS: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::S);
const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
const REDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
const REDO_SHIFT: KeyboardShortcut =
    KeyboardShortcut::new(Modifiers::COMMAND.plus(Modifiers::SHIFT), Key::Z);
const SELECT_ALL: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::A);
const DUPLICATE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::D);
const LAYOUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::L);
const FIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F);
const ZOOM_IN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Plus);
const ZOOM_IN_EQUALS: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Equals);
const ZOOM_OUT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Minus);
const RUN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F5);
const PAUSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Space);
const DELETE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::Delete);

/// What to do once the user has decided about unsaved changes.
#[derive(Debug, Clone, PartialEq)]
enum AfterDiscard {
    New,
    Open(PathBuf),
    OpenDialog,
    Quit,
}

pub struct EddyApp {
    pub doc: EditorDocument,
    pub selection: Selection,
    pub canvas: Canvas,
    inspector: InspectorState,
    palette_search: String,
    quick_add_search: String,
    dialogs: FileDialogs,
    /// The in-app path field shown when the system has no file dialog.
    path_prompt: Option<(DialogPurpose, String)>,
    confirm: Option<AfterDiscard>,
    allow_close: bool,
    status: Option<(String, Instant)>,
    recent: Vec<PathBuf>,
    show_about: bool,
    last_title: String,
    autosave: Option<super::recovery::Autosave>,
    offer_recovery: Option<super::recovery::Recovered>,
    /// The result of a PNG export, reported by the screenshot callback.
    png_outcome: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// The pipeline running in the app, if any.
    pub live: Option<LiveRun>,
    pub speed: Speed,
    dock: Dock,
    taps: TapPanel,
    event_time: super::live::event_time::EventTimeView,
    /// Show the welcome window (first start).
    pub welcome: bool,
    /// The description strip above the canvas was closed for this document.
    description_closed: bool,
    /// Start running as soon as the window shows (`eddy open FILE --run`).
    pub run_on_start: bool,
}

/// The tabs of the bottom dock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dock {
    Problems,
    Results,
    Throughput,
    Lag,
    Tap,
    EventTime,
    Console,
}

fn shortcut_text(ctx: &egui::Context, shortcut: &KeyboardShortcut) -> String {
    ctx.format_shortcut(shortcut)
}

impl EddyApp {
    pub fn new(doc: EditorDocument, recent: Vec<PathBuf>) -> Self {
        Self {
            doc,
            selection: Selection::default(),
            canvas: Canvas::default(),
            inspector: InspectorState::default(),
            palette_search: String::new(),
            quick_add_search: String::new(),
            dialogs: FileDialogs::default(),
            path_prompt: None,
            confirm: None,
            allow_close: false,
            status: None,
            recent,
            show_about: false,
            last_title: String::new(),
            autosave: None,
            offer_recovery: None,
            png_outcome: Default::default(),
            live: None,
            speed: Speed::Factor(10.0),
            dock: Dock::Problems,
            taps: TapPanel::default(),
            event_time: Default::default(),
            welcome: false,
            description_closed: false,
            run_on_start: false,
        }
    }

    /// Keeps a recovery copy of unsaved work, and offers one left by a crash.
    pub fn enable_recovery(&mut self, autosave: super::recovery::Autosave) {
        self.offer_recovery = autosave.find();
        self.autosave = Some(autosave);
    }

    pub fn set_recent_files(&mut self, recent: Vec<PathBuf>) {
        self.recent = recent;
    }

    fn recovery_ui(&mut self, ctx: &egui::Context) {
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

    /// Opens `path` (or an untitled starter when `None`).
    pub fn with_file(path: Option<&Path>) -> Result<Self, String> {
        let doc = match path {
            Some(p) => EditorDocument::open(p)?,
            None => EditorDocument::new(starter_pipeline("untitled"), None),
        };
        Ok(Self::new(doc, Vec::new()))
    }

    pub fn recent_files(&self) -> &[PathBuf] {
        &self.recent
    }

    fn say(&mut self, text: impl Into<String>) {
        self.status = Some((text.into(), Instant::now()));
    }

    fn remember(&mut self, path: &Path) {
        self.recent.retain(|p| p != path);
        self.recent.insert(0, path.to_path_buf());
        self.recent.truncate(10);
    }

    fn open_path(&mut self, path: &Path) {
        match EditorDocument::open(path) {
            Ok(doc) => {
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

    fn save(&mut self) {
        match self.doc.path.clone() {
            Some(path) => self.save_to(&path),
            None => self.save_as(),
        }
    }

    fn save_as(&mut self) {
        let name = format!("{}.ron", self.doc.pipeline.name.replace(' ', "_"));
        let dir = match &self.doc.path {
            Some(_) => Some(self.doc.base_dir()),
            None => std::env::current_dir().ok(),
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

    /// Carries out a run control.
    pub fn run_action(&mut self, ctx: &egui::Context, action: RunAction) {
        match action {
            RunAction::Start | RunAction::Restart => {
                if let Some(old) = self.live.take() {
                    old.handle.stop();
                }
                let repaint = ctx.clone();
                match LiveRun::start(
                    &self.doc.pipeline,
                    &self.doc.base_dir(),
                    self.speed,
                    std::sync::Arc::new(move || repaint.request_repaint()),
                ) {
                    Ok(live) => {
                        self.live = Some(live);
                        if self.dock == Dock::Problems {
                            // Show results where there are some: charts and tables, else the console.
                            let has_views = self.doc.pipeline.nodes.iter().any(|n| {
                                matches!(
                                    n.kind,
                                    crate::model::NodeKind::Sink(
                                        crate::model::sink::SinkKind::Chart(_)
                                            | crate::model::sink::SinkKind::Table(_)
                                    )
                                )
                            });
                            self.dock = if has_views {
                                Dock::Results
                            } else {
                                Dock::Console
                            };
                        }
                        self.say("running");
                    }
                    Err(e) => {
                        eprintln!("eddy: cannot run: {e}");
                        self.say(format!("cannot run: {e}"));
                    }
                }
            }
            RunAction::Pause => self.with_run(|l| l.handle.pause()),
            RunAction::Resume => self.with_run(|l| l.handle.resume()),
            RunAction::Step => self.with_run(|l| l.handle.step()),
            RunAction::Stop => self.with_run(|l| l.handle.stop()),
            RunAction::SetSpeed(speed) => {
                self.speed = speed;
                self.with_run(|l| l.handle.set_speed(speed));
            }
        }
    }

    fn with_run(&mut self, f: impl FnOnce(&LiveRun)) {
        if let Some(live) = &self.live {
            f(live);
        }
    }

    fn dock_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let errors = self
                .doc
                .validation()
                .problems
                .iter()
                .filter(|p| p.is_error())
                .count();
            let problems_label = if errors > 0 {
                format!("Problems ({errors})")
            } else {
                "Problems".into()
            };
            for (tab, label, help) in [
                (
                    Dock::Problems,
                    problems_label.as_str(),
                    "Errors and warnings of the pipeline",
                ),
                (
                    Dock::Results,
                    "Results",
                    "Live charts and tables of the Chart and Table sinks",
                ),
                (
                    Dock::Throughput,
                    "Throughput",
                    "Rows per second out of every node",
                ),
                (
                    Dock::Lag,
                    "Watermark lag",
                    "How far each watermark trails the newest event",
                ),
                (Dock::Tap, "Tap", "The rows flowing on the selected edge"),
                (
                    Dock::EventTime,
                    "Event time",
                    "How the selected window sees time: events, watermark, windows, late events",
                ),
                (Dock::Console, "Console output", "What Console sinks print"),
            ] {
                ui.selectable_value(&mut self.dock, tab, label)
                    .on_hover_text(help);
            }
            if let Some(live) = &mut self.live {
                ui.separator();
                let mut frozen = live.frozen.is_some();
                if ui
                    .checkbox(&mut frozen, "freeze charts")
                    .on_hover_text(
                        "Hold the charts and tables still to look closely; the run goes on",
                    )
                    .changed()
                {
                    live.toggle_frozen();
                }
            }
        });
        ui.separator();
        match (self.dock, &self.live) {
            (Dock::Problems, _) => {
                let (pipeline, validation) = self.doc.checked();
                if let Some(id) = problems_ui(ui, &validation.problems, &pipeline.edges) {
                    self.selection = Selection::only(&id);
                    self.canvas.frame_node = Some(id);
                }
            }
            (_, None) => {
                ui.label("Press Run to start the pipeline here and watch it.");
            }
            (Dock::Results, Some(live)) => results_ui(ui, live, &live.started_from),
            (Dock::Throughput, Some(live)) => throughput_ui(ui, live),
            (Dock::Lag, Some(live)) => lag_ui(ui, live),
            (Dock::Tap, Some(live)) => {
                let single_node = (self.selection.nodes.len() == 1)
                    .then(|| self.selection.nodes.iter().next().cloned())
                    .flatten();
                match (&self.selection.edge, single_node) {
                    (Some(edge), _) => self.taps.edge_ui(ui, live, edge),
                    (None, Some(node)) => self.taps.node_ui(ui, live, &live.started_from, &node),
                    (None, None) => {
                        ui.label("Click an edge to see the rows flowing on it, or a node to compare what goes in and what comes out.");
                    }
                }
            }
            (Dock::EventTime, Some(live)) => {
                let selected = self.selection.nodes.iter().next().cloned();
                self.event_time
                    .ui(ui, live, &live.started_from, selected.as_deref());
            }
            (Dock::Console, Some(live)) => {
                let lines: Vec<String> = live
                    .console
                    .lock()
                    .map(|l| l.iter().cloned().collect())
                    .unwrap_or_default();
                egui::ScrollArea::vertical()
                    .stick_to_bottom(true)
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        for line in lines.iter().rev().take(400).rev() {
                            ui.label(egui::RichText::new(line).monospace());
                        }
                    });
            }
        }
    }

    /// Takes a screenshot of the next frame and keeps the canvas part of it.
    fn export_png(&mut self, ctx: &egui::Context, path: PathBuf) {
        let region = self.canvas.last_area();
        let pixels_per_point = ctx.pixels_per_point();
        let outcome = std::sync::Arc::clone(&self.png_outcome);
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let message = match super::picture::write_png(&image, region, pixels_per_point, &path) {
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
    fn request_export(&mut self, purpose: DialogPurpose, extension: &str) {
        let name = format!("{}.{extension}", self.doc.pipeline.name.replace(' ', "_"));
        self.dialogs
            .request(purpose, Some(self.doc.base_dir()), &name);
    }

    fn export_svg(&mut self, path: &Path) {
        let svg = super::picture::to_svg(&self.doc.pipeline);
        match crate::model::file::write_atomically(path, svg.as_bytes()) {
            Ok(()) => self.say(format!("exported {}", path.display())),
            Err(e) => self.say(format!("could not export: {e:#}")),
        }
    }

    fn request(&mut self, action: AfterDiscard) {
        if self.doc.is_dirty() {
            self.confirm = Some(action);
        } else {
            self.perform(action);
        }
    }

    fn perform(&mut self, action: AfterDiscard) {
        match action {
            AfterDiscard::New => {
                self.doc = EditorDocument::new(starter_pipeline("untitled"), None);
                self.selection = Selection::default();
                self.canvas.request_fit();
            }
            AfterDiscard::Open(path) => self.open_path(&path),
            AfterDiscard::OpenDialog => {
                let dir = Some(self.doc.base_dir());
                self.dialogs.request(DialogPurpose::Open, dir, "");
            }
            AfterDiscard::Quit => self.allow_close = true,
        }
    }

    /// Adds a node from a template at `at` (canvas units), selects it.
    pub fn add_node(&mut self, template: Template, at: Position) -> String {
        let id = fresh_id(
            template.id_stem,
            self.doc.pipeline.nodes.iter().map(|n| n.id.as_str()),
        );
        let node = Node {
            id: id.clone(),
            kind: template.kind,
            note: String::new(),
            parallelism: None,
        };
        let new_id = id.clone();
        self.doc.edit(move |p| {
            p.nodes.push(node);
            p.layout.nodes.insert(new_id, at);
        });
        self.selection = Selection::only(&id);
        id
    }

    fn select_all(&mut self) {
        self.selection = Selection {
            nodes: self
                .doc
                .pipeline
                .nodes
                .iter()
                .map(|n| n.id.clone())
                .collect(),
            edge: None,
        };
    }

    /// Lays the nodes out in layers from left to right (one undo step) and frames them.
    fn auto_layout(&mut self) {
        let positions = layered(&self.doc.pipeline);
        self.doc.edit(|p| p.layout.nodes = positions);
        self.canvas.request_fit();
    }

    fn delete_selection(&mut self) {
        let selection = self.selection.clone();
        if selection.is_empty() {
            return;
        }
        self.doc.edit(|p| {
            p.nodes.retain(|n| !selection.nodes.contains(&n.id));
            p.edges.retain(|e| {
                !selection.nodes.contains(&e.from.node)
                    && !selection.nodes.contains(&e.to.node)
                    && Some(e) != selection.edge.as_ref()
            });
            p.layout.nodes.retain(|id, _| !selection.nodes.contains(id));
        });
        self.selection = Selection::default();
    }

    fn duplicate_selection(&mut self) {
        if let Some(text) = copy_text(&self.doc.pipeline, &self.selection.nodes) {
            let mut added = None;
            self.doc.edit(|p| added = paste_into(p, &text, 40.0));
            if let Some(ids) = added {
                self.selection = Selection {
                    nodes: ids,
                    edge: None,
                };
            }
        }
    }

    fn shortcuts(&mut self, ctx: &egui::Context) {
        let typing = ctx.egui_wants_keyboard_input();
        let pressed = |s: &KeyboardShortcut| ctx.input_mut(|i| i.consume_shortcut(s));
        if pressed(&NEW) {
            self.request(AfterDiscard::New);
        }
        if pressed(&OPEN) {
            self.request(AfterDiscard::OpenDialog);
        }
        if pressed(&SAVE_AS) {
            self.save_as();
        }
        if pressed(&SAVE) {
            self.save();
        }
        if typing {
            return;
        }
        if pressed(&REDO_SHIFT) || pressed(&REDO) {
            self.doc.redo();
        }
        if pressed(&UNDO) {
            self.doc.undo();
        }
        if pressed(&RUN) {
            let restart = self.live.is_some();
            self.run_action(
                ctx,
                if restart {
                    RunAction::Restart
                } else {
                    RunAction::Start
                },
            );
        }
        if pressed(&PAUSE) {
            let status = self.live.as_ref().map(LiveRun::status);
            match status {
                Some(RunStatus::Running) => self.run_action(ctx, RunAction::Pause),
                Some(RunStatus::Paused) => self.run_action(ctx, RunAction::Resume),
                _ => {}
            }
        }
        if pressed(&SELECT_ALL) {
            self.select_all();
        }
        if pressed(&DUPLICATE) {
            self.duplicate_selection();
        }
        if pressed(&LAYOUT) {
            self.auto_layout();
        }
        if pressed(&FIT) {
            self.canvas.request_fit();
        }
        if pressed(&ZOOM_IN) || pressed(&ZOOM_IN_EQUALS) {
            self.canvas.zoom_by(1.25);
        }
        if pressed(&ZOOM_OUT) {
            self.canvas.zoom_by(0.8);
        }
        if pressed(&DELETE) || ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Backspace)) {
            self.delete_selection();
        }
        // Copy, cut and paste arrive as events carrying text.
        let events = ctx.input(|i| i.events.clone());
        for event in events {
            match event {
                egui::Event::Copy | egui::Event::Cut => {
                    if let Some(text) = copy_text(&self.doc.pipeline, &self.selection.nodes) {
                        ctx.copy_text(text);
                        if matches!(event, egui::Event::Cut) {
                            self.delete_selection();
                        }
                    }
                }
                egui::Event::Paste(text) => {
                    let mut added = None;
                    self.doc.edit(|p| added = paste_into(p, &text, 40.0));
                    match added {
                        Some(ids) => {
                            self.selection = Selection {
                                nodes: ids,
                                edge: None,
                            }
                        }
                        None => self.say("the clipboard holds no Eddy nodes"),
                    }
                }
                _ => {}
            }
        }
    }

    fn menu_ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui
                    .add(egui::Button::new("New").shortcut_text(shortcut_text(&ctx, &NEW)))
                    .on_hover_text("Start a new pipeline from a small starter")
                    .clicked()
                {
                    self.request(AfterDiscard::New);
                }
                if ui
                    .add(egui::Button::new("Open…").shortcut_text(shortcut_text(&ctx, &OPEN)))
                    .on_hover_text("Open a pipeline file (.ron)")
                    .clicked()
                {
                    self.request(AfterDiscard::OpenDialog);
                }
                ui.menu_button("Open example", |ui| {
                    for (path, name, description) in examples() {
                        if ui.button(&name).on_hover_text(description).clicked() {
                            self.request(AfterDiscard::Open(path));
                        }
                    }
                });
                ui.menu_button("Open recent", |ui| {
                    if self.recent.is_empty() {
                        ui.label("nothing yet");
                    }
                    for path in self.recent.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            self.request(AfterDiscard::Open(path));
                        }
                    }
                });
                ui.separator();
                if ui
                    .add(egui::Button::new("Save").shortcut_text(shortcut_text(&ctx, &SAVE)))
                    .on_hover_text("Save to the pipeline's file (atomically: the old file stays whole until the new one is written)")
                    .clicked()
                {
                    self.save();
                }
                if ui
                    .add(egui::Button::new("Save As…").shortcut_text(shortcut_text(&ctx, &SAVE_AS)))
                    .on_hover_text("Save to another file")
                    .clicked()
                {
                    self.save_as();
                }
                if ui
                    .button("Export picture (SVG)…")
                    .on_hover_text("The canvas as an SVG picture for slides")
                    .clicked()
                {
                    self.request_export(DialogPurpose::ExportSvg, "svg");
                }
                if ui
                    .button("Export picture (PNG)…")
                    .on_hover_text("What the canvas shows now, as a PNG image")
                    .clicked()
                {
                    self.request_export(DialogPurpose::ExportPng, "png");
                }
                ui.separator();
                if ui.button("Quit").on_hover_text("Close Eddy (asks first if there are unsaved changes)").clicked() {
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Edit", |ui| {
                if ui
                    .add_enabled(
                        self.doc.can_undo(),
                        egui::Button::new("Undo").shortcut_text(shortcut_text(&ctx, &UNDO)),
                    )
                    .on_hover_text("Undo the last edit (also after saving)")
                    .clicked()
                {
                    self.doc.undo();
                }
                if ui
                    .add_enabled(
                        self.doc.can_redo(),
                        egui::Button::new("Redo").shortcut_text(shortcut_text(&ctx, &REDO)),
                    )
                    .on_hover_text("Redo the edit you undid")
                    .clicked()
                {
                    self.doc.redo();
                }
                ui.separator();
                if ui
                    .add(
                        egui::Button::new("Duplicate")
                            .shortcut_text(shortcut_text(&ctx, &DUPLICATE)),
                    )
                    .on_hover_text("Copy the selected nodes beside themselves")
                    .clicked()
                {
                    self.duplicate_selection();
                }
                if ui
                    .add(egui::Button::new("Delete").shortcut_text("Del"))
                    .on_hover_text("Delete the selected nodes or edge")
                    .clicked()
                {
                    self.delete_selection();
                }
                if ui
                    .add(
                        egui::Button::new("Select all")
                            .shortcut_text(shortcut_text(&ctx, &SELECT_ALL)),
                    )
                    .on_hover_text("Select every node")
                    .clicked()
                {
                    self.select_all();
                }
                ui.separator();
                if ui
                    .add(
                        egui::Button::new("Auto-layout")
                            .shortcut_text(shortcut_text(&ctx, &LAYOUT)),
                    )
                    .on_hover_text("Arrange nodes in layers from left to right")
                    .clicked()
                {
                    self.auto_layout();
                }
                ui.menu_button("Align selected", |ui| {
                    let enough = self.selection.nodes.len() >= 2;
                    for (label, how) in [
                        ("Align left edges", Align::Left),
                        ("Align top edges", Align::Top),
                        ("Distribute horizontally", Align::SpreadX),
                        ("Distribute vertically", Align::SpreadY),
                    ] {
                        if ui
                            .add_enabled(enough, egui::Button::new(label))
                            .on_disabled_hover_text("Select two or more nodes first")
                            .clicked()
                        {
                            let ids = self.selection.nodes.clone();
                            self.doc.edit(|p| align(p, &ids, how));
                        }
                    }
                });
            });
            ui.menu_button("View", |ui| {
                if ui
                    .add(egui::Button::new("Zoom to fit").shortcut_text("F"))
                    .on_hover_text("Show the whole pipeline")
                    .clicked()
                {
                    self.canvas.request_fit();
                }
                if ui
                    .add(egui::Button::new("Zoom in").shortcut_text("="))
                    .on_hover_text("Zoom in around the centre")
                    .clicked()
                {
                    self.canvas.zoom_by(1.25);
                }
                if ui
                    .add(egui::Button::new("Zoom out").shortcut_text("-"))
                    .on_hover_text("Zoom out around the centre")
                    .clicked()
                {
                    self.canvas.zoom_by(0.8);
                }
                ui.separator();
                for (label, preference) in [
                    ("Dark theme", egui::ThemePreference::Dark),
                    ("Light theme", egui::ThemePreference::Light),
                    ("Follow the system", egui::ThemePreference::System),
                ] {
                    if ui.button(label).clicked() {
                        ui.ctx().set_theme(preference);
                    }
                }
            });
            ui.menu_button("Help", |ui| {
                if ui.button("About Eddy").on_hover_text("Version and what Eddy is").clicked() {
                    self.show_about = true;
                }
            });
            ui.separator();
            let can_run = !self.doc.validation().has_errors();
            if let Some(action) = controls_ui(ui, self.live.as_ref(), self.speed, can_run) {
                self.run_action(&ctx, action);
            }
            ui.separator();
            ui.label(RichText::new(&self.doc.pipeline.name).strong())
                .on_hover_text(&self.doc.pipeline.description);
            if self.doc.is_dirty() {
                ui.label(RichText::new("unsaved changes").color(super::theme::WARNING))
                    .on_hover_text("Changes not saved yet (Ctrl+S)");
            }
        });
    }

    fn dialogs_ui(&mut self, ctx: &egui::Context) {
        match self.dialogs.poll() {
            Some(DialogOutcome::Chosen(DialogPurpose::Open, path)) => self.open_path(&path),
            Some(DialogOutcome::Chosen(DialogPurpose::SaveAs, path)) => self.save_to(&path),
            Some(DialogOutcome::Chosen(DialogPurpose::ExportSvg, path)) => self.export_svg(&path),
            Some(DialogOutcome::Chosen(DialogPurpose::ExportPng, path)) => {
                self.export_png(ctx, path)
            }
            Some(DialogOutcome::NoDialogAvailable(purpose)) => {
                let start = self
                    .doc
                    .path
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "pipeline.ron".into());
                self.path_prompt = Some((purpose, start));
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

    fn confirm_ui(&mut self, ctx: &egui::Context) {
        let Some(action) = self.confirm.clone() else {
            return;
        };
        egui::Window::new("Unsaved changes")
            .collapsible(false)
            .resizable(false)
            .show(ctx, |ui| {
                ui.label(format!(
                    "“{}” has changes that are not saved.",
                    self.doc.pipeline.name
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

    fn quick_add_ui(&mut self, ctx: &egui::Context) {
        let Some(at) = self.canvas.quick_add_at else {
            return;
        };
        let mut chosen = None;
        let mut open = true;
        egui::Window::new("Add a node here")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                let field = ui.add(
                    egui::TextEdit::singleline(&mut self.quick_add_search)
                        .hint_text("type to search…"),
                );
                field.request_focus();
                let needle = self.quick_add_search.to_lowercase();
                let matches: Vec<Template> = templates()
                    .into_iter()
                    .filter(|t| needle.is_empty() || t.name.to_lowercase().contains(&needle))
                    .collect();
                let enter = ui.input(|i| i.key_pressed(Key::Enter));
                for (i, t) in matches.into_iter().enumerate() {
                    if ui.button(t.name).clicked() || (enter && i == 0) {
                        chosen = Some(t);
                        break;
                    }
                }
            });
        if let Some(template) = chosen {
            self.add_node(template, at);
            self.canvas.quick_add_at = None;
            self.quick_add_search.clear();
        } else if !open || ctx.input(|i| i.key_pressed(Key::Escape)) {
            self.canvas.quick_add_at = None;
        }
    }

    /// What the open pipeline is about (for examples: what it teaches and what to watch for).
    fn description_ui(&mut self, ui: &mut Ui) {
        let description = self.doc.pipeline.description.trim().to_string();
        if description.is_empty() || self.description_closed {
            return;
        }
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(&self.doc.pipeline.name).strong());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui
                        .small_button("close")
                        .on_hover_text("Hide this description")
                        .clicked()
                    {
                        self.description_closed = true;
                    }
                });
            });
            ui.label(RichText::new(description).small());
            if self.live.is_none() {
                ui.label(
                    RichText::new("Press Run (F5) to watch it.")
                        .small()
                        .strong(),
                );
            }
        });
    }

    fn welcome_ui(&mut self, ctx: &egui::Context) {
        if !self.welcome {
            return;
        }
        let mut open = true;
        let mut chosen: Option<PathBuf> = None;
        egui::Window::new("Welcome to Eddy")
            .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
            .collapsible(false)
            .resizable(false)
            .open(&mut open)
            .show(ctx, |ui| {
                ui.label("Eddy lets you draw a streaming pipeline, run it here, and watch events, watermarks and windows as they happen.");
                ui.add_space(6.0);
                ui.label("Start with an example: open it, then press Run (F5) in the top bar.");
                for (path, name, description) in examples() {
                    if ui.button(&name).on_hover_text(&description).clicked() {
                        chosen = Some(path);
                    }
                }
                ui.add_space(6.0);
                ui.label(RichText::new("Or close this window and build your own from the palette on the left.").weak());
            });
        if let Some(path) = chosen {
            self.open_path(&path);
            self.welcome = false;
        } else if !open {
            self.welcome = false;
        }
    }

    /// A `.ron` file dropped on the window opens (after the unsaved-changes prompt).
    fn files_dropped(&mut self, ctx: &egui::Context) {
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

    /// The whole window; also used by the headless UI tests.
    pub fn ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        self.shortcuts(&ctx);
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| {
            ui.horizontal(|ui| {
                let (nodes, edges) = (self.doc.pipeline.nodes.len(), self.doc.pipeline.edges.len());
                ui.label(format!("{nodes} nodes, {edges} edges"));
                if let Some((text, at)) = &self.status
                    && at.elapsed() < Duration::from_secs(6)
                {
                    ui.separator();
                    ui.label(text);
                }
            });
        });
        if let Some(live) = &mut self.live {
            live.update();
            if live.is_active() {
                // Keep the dots moving and the numbers fresh at 30 frames per second: smooth to the
                // eye, and it leaves the cores to the engine.
                ctx.request_repaint_after(Duration::from_millis(33));
            }
        }
        if self.run_on_start {
            self.run_on_start = false;
            self.run_action(&ctx, RunAction::Start);
        }
        let changed_while_running = self.live.as_ref().is_some_and(|l| {
            l.is_active() && l.started_from.nodes != self.doc.pipeline.nodes
                || l.is_active() && l.started_from.edges != self.doc.pipeline.edges
        });
        if changed_while_running {
            egui::Panel::top("changed_while_running").show(ui, |ui| {
                ui.horizontal(|ui| {
                    ui.label(RichText::new("The pipeline changed since this run started; the run still uses the old one.").color(super::theme::WARNING));
                    if ui.button("Restart with the changes").clicked() {
                        self.run_action(&ctx, RunAction::Restart);
                    }
                });
            });
        }
        egui::Panel::bottom("dock")
            .resizable(true)
            .default_size(220.0)
            .show(ui, |ui| self.dock_ui(ui));
        egui::Panel::left("palette")
            .resizable(true)
            .default_size(190.0)
            .show(ui, |ui| {
                if let Some(template) = palette_ui(ui, &mut self.palette_search) {
                    let n = self.doc.pipeline.nodes.len() as f32;
                    let at = Position(60.0 + (n % 5.0) * 40.0, 60.0 + (n % 5.0) * 40.0);
                    let at = self
                        .doc
                        .pipeline
                        .layout
                        .nodes
                        .values()
                        .map(|p| p.0)
                        .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))))
                        .map_or(at, |right| Position(right + 290.0, at.1));
                    self.add_node(template, at);
                    self.canvas.request_fit();
                }
            });
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size(320.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    inspector_ui(ui, &mut self.doc, &mut self.selection, &mut self.inspector);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.description_ui(ui);
            let live = self.live.as_ref().map(|l| &l.nodes);
            self.canvas.ui(ui, &mut self.doc, &mut self.selection, live);
        });
        if let Some((name, at)) = self.canvas.dropped_template.take()
            && let Some(template) = templates().into_iter().find(|t| t.name == name)
        {
            self.add_node(template, at);
        }
        let exported = self
            .png_outcome
            .lock()
            .ok()
            .and_then(|mut slot| slot.take());
        if let Some(message) = exported {
            self.say(message);
        }
        self.dialogs_ui(&ctx);
        self.confirm_ui(&ctx);
        self.recovery_ui(&ctx);
        self.welcome_ui(&ctx);
        self.files_dropped(&ctx);
        if self.offer_recovery.is_none()
            && let Some(autosave) = &mut self.autosave
        {
            autosave.tick(
                &self.doc.pipeline,
                self.doc.path.as_deref(),
                self.doc.is_dirty(),
            );
            ctx.request_repaint_after(super::recovery::EVERY);
        }
        self.quick_add_ui(&ctx);
        if self.show_about {
            egui::Window::new("About Eddy").open(&mut self.show_about).collapsible(false).show(&ctx, |ui| {
                ui.heading(format!("Eddy {}", env!("CARGO_PKG_VERSION")));
                ui.label("Design, run and watch streaming pipelines on your own machine.");
                ui.label("Pipelines are RON files: diff them in git, share them, run them headless with `eddy run`.");
            });
        }
        let title = self.doc.title();
        if title != self.last_title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.last_title = title;
        }
        if ctx.input(|i| i.viewport().close_requested()) && self.doc.is_dirty() && !self.allow_close
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.confirm = Some(AfterDiscard::Quit);
        }
        if self.allow_close {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Ways to line up selected nodes.
#[derive(Clone, Copy)]
enum Align {
    Left,
    Top,
    SpreadX,
    SpreadY,
}

fn align(
    pipeline: &mut crate::model::Pipeline,
    ids: &std::collections::BTreeSet<String>,
    how: Align,
) {
    let mut chosen: Vec<(String, Position)> = ids
        .iter()
        .filter_map(|id| pipeline.layout.nodes.get(id).map(|p| (id.clone(), *p)))
        .collect();
    if chosen.len() < 2 {
        return;
    }
    match how {
        Align::Left | Align::Top => {
            let left = chosen.iter().map(|(_, p)| p.0).fold(f32::MAX, f32::min);
            let top = chosen.iter().map(|(_, p)| p.1).fold(f32::MAX, f32::min);
            for (id, p) in &chosen {
                let moved = match how {
                    Align::Left => Position(left, p.1),
                    _ => Position(p.0, top),
                };
                pipeline.layout.nodes.insert(id.clone(), moved);
            }
        }
        Align::SpreadX | Align::SpreadY => {
            let along = |p: &Position| {
                if matches!(how, Align::SpreadX) {
                    p.0
                } else {
                    p.1
                }
            };
            chosen.sort_by(|a, b| along(&a.1).total_cmp(&along(&b.1)));
            let first = along(&chosen[0].1);
            let last = along(&chosen[chosen.len() - 1].1);
            let step = (last - first) / (chosen.len() - 1) as f32;
            for (i, (id, p)) in chosen.iter().enumerate() {
                let v = first + step * i as f32;
                let moved = if matches!(how, Align::SpreadX) {
                    Position(v, p.1)
                } else {
                    Position(p.0, v)
                };
                pipeline.layout.nodes.insert(id.clone(), moved);
            }
        }
    }
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
            found.sort_by(|a, b| a.1.cmp(&b.1));
            return found;
        }
    }
    Vec::new()
}

impl eframe::App for EddyApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        EddyApp::ui(self, ui);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, "recent_files", &self.recent);
        eframe::set_value(storage, "welcomed", &true);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        if let Some(live) = &self.live {
            live.handle.stop();
        }
        // A normal close (after the unsaved-changes prompt) needs no recovery copy.
        if let Some(autosave) = &mut self.autosave {
            autosave.discard();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::starter::starter_pipeline;

    #[test]
    fn align_lines_up_and_spreads_evenly() {
        let mut p = starter_pipeline("t");
        p.layout.nodes.insert("warm".into(), Position(300.0, 90.0));
        p.layout
            .nodes
            .insert("per_minute".into(), Position(900.0, 150.0));
        let ids = ["readings", "warm", "per_minute"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        align(&mut p, &ids, Align::Top);
        assert!(ids.iter().all(|id| p.layout.nodes[id].1 == 90.0));
        align(&mut p, &ids, Align::SpreadX);
        let xs: Vec<f32> = ["readings", "warm", "per_minute"]
            .iter()
            .map(|id| p.layout.nodes[*id].0)
            .collect();
        assert_eq!(xs, vec![40.0, 470.0, 900.0]);
    }
}
