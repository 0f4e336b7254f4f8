//! The designer window: its state, and each frame laid out — menus, palette, canvas, inspector,
//! dock and the modal windows. Panels report what the user asked for as commands and edits; the
//! frame applies them once it is drawn (`apply.rs`), so drawing never changes the document.

mod apply;
mod dock;
mod file_ops;
mod menu;
mod modals;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use super::canvas::{Canvas, Selection};
use super::command::{Command, HelpPage};
use super::document::{Edit, EditGroup, EditorDocument};
use super::files::{DialogPurpose, FileDialogs};
use super::inspector::{InspectorState, inspector_ui};
use super::live::LiveRun;
use super::live::controls::RunAction;
use super::live::taps::TapPanel;
use super::palette::palette_ui;
use crate::model::starter::starter_pipeline;
use crate::runtime::Speed;

pub use self::dock::Dock;
pub use self::file_ops::examples;

/// What to do once the user has decided about unsaved changes.
#[derive(Debug, Clone, PartialEq)]
enum AfterDiscard {
    New,
    Open(PathBuf),
    /// An example, as an untitled copy.
    OpenExample(PathBuf),
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
    /// The examples found next to the app, read once.
    examples: Option<Vec<(PathBuf, String, String)>>,
    /// The Help page open, if any.
    help: Option<HelpPage>,
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
    results: super::live::results::ResultsView,
    shards: super::live::shards::ShardsView,
    firehose: super::live::firehose::FirehoseTab,
    flink_sql: super::flink_sql::FlinkSqlTab,
    applications: super::live::applications::ApplicationsTab,
    /// Checkpoint settings for the next run, and the crash/restore lab.
    pub checkpoints: super::live::checkpoints::CheckpointsTab,
    /// A button of the Checkpoints tab pressed this frame.
    pending_checkpoint_action: Option<super::live::checkpoints::CheckpointAction>,
    /// The first rows of every node on a sample, while no run is going.
    pub preview: super::live::preview::PreviewView,
    /// The inspector's form for injecting a row into the running pipeline.
    inject: super::live::inject::InjectForm,
    /// The node whose selection last opened the Preview tab, so it opens once per selection.
    previewed_node: Option<String>,
    /// Show the welcome window (first start).
    pub welcome: bool,
    /// The description strip above the canvas was closed for this document.
    description_closed: bool,
    /// Start running as soon as the window shows (`eddy open FILE --run`).
    pub run_on_start: bool,
    /// Commands asked for while drawing this frame, applied after it.
    commands: Vec<Command>,
    /// Edits asked for while drawing this frame, applied after it.
    edits: Vec<(Edit, Option<EditGroup>)>,
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
            examples: None,
            help: None,
            last_title: String::new(),
            autosave: None,
            offer_recovery: None,
            png_outcome: Default::default(),
            live: None,
            speed: Speed::Factor(10.0),
            dock: Dock::Problems,
            taps: TapPanel::default(),
            event_time: Default::default(),
            results: Default::default(),
            preview: Default::default(),
            shards: Default::default(),
            firehose: Default::default(),
            flink_sql: Default::default(),
            applications: Default::default(),
            checkpoints: Default::default(),
            pending_checkpoint_action: None,
            previewed_node: None,
            inject: Default::default(),
            welcome: false,
            description_closed: false,
            run_on_start: false,
            commands: Vec::new(),
            edits: Vec::new(),
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

    /// Keeps a recovery copy of unsaved work, and offers one left by a crash.
    pub fn enable_recovery(&mut self, autosave: super::recovery::Autosave) {
        self.offer_recovery = autosave.find();
        self.autosave = Some(autosave);
    }

    pub fn set_recent_files(&mut self, recent: Vec<PathBuf>) {
        self.recent = recent;
    }

    pub fn recent_files(&self) -> &[PathBuf] {
        &self.recent
    }

    fn say(&mut self, text: impl Into<String>) {
        self.status = Some((text.into(), Instant::now()));
    }

    /// A run belongs to its document: another document stops it and clears the live views.
    fn end_run(&mut self) {
        if let Some(live) = self.live.take() {
            live.handle.stop();
        }
        self.results = Default::default();
        self.taps = TapPanel::default();
        self.event_time = Default::default();
    }

    /// Asks for `command` to be carried out once this frame is drawn.
    pub fn command(&mut self, command: Command) {
        self.commands.push(command);
    }

    /// What the open pipeline is about (for examples: what it teaches and what to watch for).
    fn description_ui(&mut self, ui: &mut Ui) {
        let description = self.doc.pipeline().description.trim().to_string();
        if description.is_empty() || self.description_closed {
            return;
        }
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new(&self.doc.pipeline().name).strong());
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
            // Body-sized text, a few lines high; a long description scrolls.
            egui::ScrollArea::vertical()
                .id_salt("description")
                .max_height(64.0)
                .show(ui, |ui| {
                    ui.label(description);
                });
            if self.live.is_none() {
                ui.label(RichText::new("Press Run (F5) to watch it.").strong());
            }
        });
    }

    fn status_bar_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let pipeline = self.doc.pipeline();
            let (nodes, edges) = (pipeline.nodes.len(), pipeline.edges.len());
            ui.label(format!("{nodes} nodes, {edges} edges"));
            if let Some((text, at)) = &self.status
                && at.elapsed() < Duration::from_secs(6)
            {
                ui.separator();
                ui.label(text);
            }
        });
    }

    /// Brings the running pipeline's numbers in, and keeps the frames coming while it runs.
    fn follow_run(&mut self, ctx: &egui::Context) {
        if let Some(live) = &mut self.live {
            live.update();
            if let Some(status) = live.just_ended() {
                let said = match status {
                    crate::runtime::RunStatus::Failed(e) => format!("the run failed: {e}"),
                    crate::runtime::RunStatus::Stopped => "the run was stopped".to_string(),
                    _ => "the run finished".to_string(),
                };
                self.status = Some((said, Instant::now()));
            }
        }
        if self.live.as_ref().is_some_and(LiveRun::is_active) {
            // Keep the dots moving and the numbers fresh at 30 frames per second: smooth to the
            // eye, and it leaves the cores to the engine.
            ctx.request_repaint_after(Duration::from_millis(33));
        }
        if self.run_on_start {
            self.run_on_start = false;
            self.run_action(ctx, RunAction::Start);
        }
    }

    fn changed_while_running_ui(&mut self, ui: &mut Ui) {
        let pipeline = self.doc.pipeline();
        let changed = self.live.as_ref().is_some_and(|l| {
            l.is_active()
                && (l.started_from.nodes != pipeline.nodes
                    || l.started_from.edges != pipeline.edges)
        });
        if !changed {
            return;
        }
        egui::Panel::top("changed_while_running").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("The pipeline changed since this run started; the run still uses the old one.").color(super::theme::WARNING));
                if ui.button("Restart with the changes").clicked() {
                    self.commands.push(Command::Control(RunAction::Restart));
                }
            });
        });
    }

    /// The whole window; also used by the headless UI tests.
    /// The tab the dock shows.
    pub fn dock_tab(&self) -> Dock {
        self.dock
    }

    /// Shows `tab` in the dock.
    pub fn set_dock_tab(&mut self, tab: Dock) {
        self.dock = tab;
    }

    /// Selecting a node while nothing runs shows its preview, unless the dock shows errors the
    /// user is working through or a tab they chose.
    fn open_preview_on_selection(&mut self, run_active: bool) {
        let single = (self.selection.nodes.len() == 1)
            .then(|| self.selection.nodes.iter().next().cloned())
            .flatten();
        if single.is_none() || single == self.previewed_node {
            return;
        }
        self.previewed_node = single;
        let errors = self.doc.validation().problems.iter().any(|p| p.is_error());
        if !run_active && !errors && self.dock == Dock::Problems {
            self.dock = Dock::Preview;
        }
    }

    pub fn ui(&mut self, ui: &mut Ui) {
        let ctx = ui.ctx().clone();
        let typing = ctx.egui_wants_keyboard_input();
        self.commands.extend(super::command::pressed(&ctx, typing));
        if !typing {
            self.clipboard_events(&ctx);
        }
        egui::Panel::top("menu").show(ui, |ui| self.menu_ui(ui));
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar_ui(ui));
        self.follow_run(&ctx);
        let run_active = self.live.as_ref().is_some_and(LiveRun::is_active);
        self.preview.update(&ctx, &mut self.doc, run_active);
        self.changed_while_running_ui(ui);
        egui::Panel::bottom("dock")
            .resizable(true)
            .default_size(220.0)
            .show(ui, |ui| self.dock_ui(ui));
        if let Some(action) = self.pending_checkpoint_action.take() {
            self.checkpoint_action(&ctx, action);
        }
        egui::Panel::left("palette")
            .resizable(true)
            .default_size(190.0)
            .show(ui, |ui| {
                if let Some(kind) = palette_ui(ui, &mut self.palette_search) {
                    self.commands.push(Command::AddNode { kind, at: None });
                }
            });
        egui::Panel::right("inspector")
            .resizable(true)
            .default_size(320.0)
            .max_size(640.0)
            .show(ui, |ui| {
                // One scroll position per selection: a newly selected node starts at its top.
                let scroll_id = self.selection.nodes.iter().next().cloned();
                egui::ScrollArea::vertical()
                    .id_salt(("inspector", scroll_id))
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        let single = (self.selection.nodes.len() == 1
                            && self.selection.edge.is_none())
                        .then(|| self.selection.nodes.iter().next().cloned())
                        .flatten();
                        // While a run goes on, pushing a row in comes first: the form is on top.
                        if let (Some(id), Some(live)) = (&single, &self.live)
                            && run_active
                        {
                            self.inject.ui(ui, live, id);
                        }
                        let edits = inspector_ui(
                            ui,
                            &mut self.doc,
                            &mut self.selection,
                            &mut self.inspector,
                        );
                        self.edits.extend(edits);
                        if let Some(id) = &single
                            && !run_active
                            && self.preview.inspector_ui(ui, &self.doc, id)
                        {
                            self.dock = Dock::Preview;
                        }
                    });
            });
        egui::CentralPanel::default().show(ui, |ui| {
            self.description_ui(ui);
            let live = self.live.as_ref().map(|l| &l.nodes);
            let flink = self.flink_sql.progress();
            let edits =
                self.canvas
                    .ui(ui, &mut self.doc, &mut self.selection, live, flink.as_ref());
            self.edits.extend(edits);
        });
        self.open_preview_on_selection(run_active);
        if let Some((kind, at)) = self.canvas.dropped_kind.take() {
            self.commands.push(Command::AddNode { kind, at: Some(at) });
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
        self.quick_add_ui(&ctx);
        self.help_ui(&ctx);
        self.apply_frame(&ctx);
        if self.offer_recovery.is_none()
            && let Some(autosave) = &mut self.autosave
        {
            autosave.tick(
                self.doc.pipeline(),
                self.doc.path.as_deref(),
                self.doc.is_dirty(),
            );
            ctx.request_repaint_after(super::recovery::EVERY);
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
