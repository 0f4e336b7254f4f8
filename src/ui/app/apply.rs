//! Carrying out what the user asked for during a frame: the edits the canvas and the inspector
//! returned, and every command from menus, shortcuts and the palette, in one place.

use crate::runtime::checkpoint::CheckpointSettings;
use crate::runtime::checkpoint::store::{FORMAT_VERSION, JobFile, load_latest, reset_job};
use crate::ui::live::checkpoints::CheckpointAction;
use std::collections::BTreeSet;

use super::{AfterDiscard, Dock, EddyApp};
use crate::model::node::{Node, fresh_id};
use crate::model::{KindId, Pipeline, Position};
use crate::runtime::RunStatus;
use crate::ui::canvas::Selection;
use crate::ui::clipboard::copy_text;
use crate::ui::command::{Align, Command, Theme};
use crate::ui::document::Edit;
use crate::ui::files::DialogPurpose;
use crate::ui::layout::layered;
use crate::ui::live::LiveRun;
use crate::ui::live::controls::RunAction;

impl EddyApp {
    /// Applies this frame's edits, then its commands, and closes a finished gesture.
    pub(super) fn apply_frame(&mut self, ctx: &egui::Context) {
        for (edit, group) in std::mem::take(&mut self.edits) {
            if let Edit::Rename { from, to } = &edit
                && self.selection.nodes.remove(from)
            {
                self.selection.nodes.insert(to.clone());
            }
            self.doc.apply_in(edit, group);
        }
        for command in std::mem::take(&mut self.commands) {
            self.apply_command(ctx, command);
        }
        // Typing in a field or dragging joins one undo step only while it goes on.
        if let Some(group) = self.doc.open_group() {
            let id = group.0;
            let going_on = ctx.memory(|m| m.has_focus(id))
                || ctx.dragged_id() == Some(id)
                || self.canvas.is_dragging(group);
            if !going_on {
                self.doc.end_group();
            }
        }
    }

    /// Carries out one command.
    pub fn apply_command(&mut self, ctx: &egui::Context, command: Command) {
        match command {
            Command::New => self.request(AfterDiscard::New),
            Command::Open => self.request(AfterDiscard::OpenDialog),
            Command::OpenExample(path) => self.request(AfterDiscard::OpenExample(path)),
            Command::OpenRecent(path) => self.request(AfterDiscard::Open(path)),
            Command::Save => self.save(),
            Command::SaveAs => self.save_as(),
            Command::ExportSvg => self.request_export(DialogPurpose::ExportSvg, "svg"),
            Command::ExportPng => self.request_export(DialogPurpose::ExportPng, "png"),
            Command::Quit => ctx.send_viewport_cmd(egui::ViewportCommand::Close),
            Command::Undo => self.doc.undo(),
            Command::Redo => self.doc.redo(),
            Command::Copy => ctx.send_viewport_cmd(egui::ViewportCommand::RequestCopy),
            Command::Cut => ctx.send_viewport_cmd(egui::ViewportCommand::RequestCut),
            Command::Paste => ctx.send_viewport_cmd(egui::ViewportCommand::RequestPaste),
            Command::Duplicate => self.duplicate_selection(),
            Command::Delete => self.delete_selection(),
            Command::SelectAll => self.select_all(),
            Command::AutoLayout => self.auto_layout(),
            Command::Align(how) => {
                let places = align(self.doc.pipeline(), &self.selection.nodes, how);
                self.doc.apply(Edit::Place(places));
            }
            Command::ZoomToFit => self.canvas.request_fit(),
            Command::ZoomIn => self.canvas.zoom_by(1.25),
            Command::ZoomOut => self.canvas.zoom_by(0.8),
            Command::Theme(theme) => ctx.set_theme(match theme {
                Theme::Dark => egui::ThemePreference::Dark,
                Theme::Light => egui::ThemePreference::Light,
                Theme::System => egui::ThemePreference::System,
            }),
            Command::Run => {
                let action = if self.live.is_some() {
                    RunAction::Restart
                } else {
                    RunAction::Start
                };
                self.run_action(ctx, action);
            }
            Command::PauseOrResume => match self.live.as_ref().map(LiveRun::status) {
                Some(RunStatus::Running) => self.run_action(ctx, RunAction::Pause),
                Some(RunStatus::Paused) => self.run_action(ctx, RunAction::Resume),
                _ => {}
            },
            Command::Step => self.run_action(ctx, RunAction::Step),
            Command::Stop => self.run_action(ctx, RunAction::Stop),
            Command::Control(action) => self.run_action(ctx, action),
            Command::Help(page) => self.help = Some(page),
            Command::AddNode { kind, at } => {
                let at = at.unwrap_or_else(|| self.beside_the_others());
                self.add_node(kind, at);
                self.canvas.request_fit();
            }
        }
    }

    /// Where a node added from the palette goes: to the right of everything.
    fn beside_the_others(&self) -> Position {
        let pipeline = self.doc.pipeline();
        let n = pipeline.nodes.len() as f32;
        let at = Position(60.0 + (n % 5.0) * 40.0, 60.0 + (n % 5.0) * 40.0);
        pipeline
            .layout
            .nodes
            .values()
            .map(|p| p.0)
            .fold(None, |m: Option<f32>, x| Some(m.map_or(x, |m| m.max(x))))
            .map_or(at, |right| Position(right + 290.0, at.1))
    }

    /// Carries out a run control.
    pub fn run_action(&mut self, ctx: &egui::Context, action: RunAction) {
        match action {
            RunAction::Start | RunAction::Restart => self.start_run(ctx),
            RunAction::Pause => self.with_run(|l| l.handle.pause()),
            RunAction::Resume => self.with_run(|l| l.handle.resume()),
            RunAction::Step => self.with_run(|l| l.handle.step()),
            RunAction::StepToFiring => {
                if let Some(live) = &mut self.live {
                    live.step_to_next_firing();
                }
            }
            RunAction::Stop => self.with_run(|l| l.handle.stop()),
            RunAction::SetSpeed(speed) => {
                self.speed = speed;
                self.with_run(|l| l.handle.set_speed(speed));
            }
        }
    }

    fn start_run(&mut self, ctx: &egui::Context) {
        self.start_run_from(ctx, false);
    }

    /// The Checkpoints tab's buttons.
    pub(super) fn checkpoint_action(&mut self, ctx: &egui::Context, action: CheckpointAction) {
        match action {
            CheckpointAction::Crash => {
                if let Some(live) = &mut self.live {
                    let reads = live
                        .started_from
                        .nodes
                        .iter()
                        .filter(|n| n.kind.family() == crate::model::Family::Source)
                        .filter_map(|n| Some((n.id.clone(), live.nodes.get(&n.id)?.rows_out)))
                        .collect();
                    self.checkpoints.crashed_reads = Some(reads);
                    live.handle.crash();
                    live.crashed = true;
                    self.say("the run crashed; restore it from the Checkpoints tab");
                }
            }
            CheckpointAction::Restore => self.start_run_from(ctx, true),
        }
    }

    /// Where the app's runs of this document keep their checkpoints.
    fn checkpoint_dir(&self) -> std::path::PathBuf {
        let stem = self
            .doc
            .path
            .as_ref()
            .and_then(|p| p.file_stem())
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "untitled".into());
        self.doc.base_dir().join(".eddy-checkpoints").join(stem)
    }

    /// Checkpoint settings for the next run: a fresh job, or (`restore`) the last run's job from
    /// its newest complete checkpoint.
    fn checkpoint_settings(&self, restore: bool) -> Result<Option<CheckpointSettings>, String> {
        let previous = self.live.as_ref().and_then(|l| l.checkpoints.clone());
        let (every, mode) = match (&previous, restore) {
            (Some(p), true) => (p.every, p.mode),
            _ if self.checkpoints.enabled => (
                std::time::Duration::from_millis(self.checkpoints.every_ms.max(100)),
                self.checkpoints.mode,
            ),
            _ => return Ok(None),
        };
        let dir = self.checkpoint_dir();
        let job = JobFile {
            format: "eddy-checkpoints".into(),
            version: FORMAT_VERSION,
            job: "app".into(),
            pipeline: self.doc.pipeline().name.clone(),
            mode: mode.name().into(),
            every_ms: every.as_millis() as u64,
        };
        let mut settings = CheckpointSettings {
            every,
            dir: dir.clone(),
            mode,
            retain: 3,
            job: job.job.clone(),
            restore: None,
            notes: Default::default(),
        };
        if restore {
            let (loaded, warnings) = load_latest(&dir).map_err(|e| e.to_string())?;
            if let Some(mut loaded) = loaded {
                loaded.warnings = warnings;
                settings.restore = Some(std::sync::Arc::new(loaded));
                return Ok(Some(settings));
            }
        }
        reset_job(&dir, &job).map_err(|e| e.to_string())?;
        Ok(Some(settings))
    }

    fn start_run_from(&mut self, ctx: &egui::Context, restore: bool) {
        let checkpoints = match self.checkpoint_settings(restore) {
            Ok(settings) => settings,
            Err(e) => {
                self.say(format!("cannot run: {e}"));
                return;
            }
        };
        if !restore {
            self.checkpoints.crashed_reads = None;
        }
        if let Some(old) = self.live.take() {
            old.handle.stop();
        }
        let repaint = ctx.clone();
        let pipeline = self.doc.pipeline().clone();
        let plan = self.doc.validation().plan.clone();
        let Some(plan) = plan else {
            let errors: Vec<String> = self
                .doc
                .validation()
                .problems
                .iter()
                .filter(|p| p.is_error())
                .map(|p| p.message.clone())
                .collect();
            let message = format!("cannot run: {}", errors.join("; "));
            eprintln!("eddy: {message}");
            self.say(message);
            return;
        };
        match LiveRun::start(
            pipeline,
            &plan,
            self.speed,
            checkpoints,
            std::sync::Arc::new(move || repaint.request_repaint()),
        ) {
            Ok(live) => {
                self.live = Some(live);
                self.results = Default::default();
                if self.dock == Dock::Problems {
                    // Show results where there are some: charts and tables, else the console.
                    let has_views = plan.nodes.iter().any(|n| {
                        matches!(
                            n.kind_id,
                            KindId::Chart | KindId::Table | KindId::Leaderboard
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

    fn with_run(&mut self, f: impl FnOnce(&LiveRun)) {
        if let Some(live) = &self.live {
            f(live);
        }
    }

    /// Adds a node of `kind` at `at` (canvas units) and selects it.
    pub fn add_node(&mut self, kind: KindId, at: Position) -> String {
        let entry = kind.entry();
        let id = fresh_id(
            entry.id_stem,
            self.doc.pipeline().nodes.iter().map(|n| n.id.as_str()),
        );
        let node = Node {
            id: id.clone(),
            kind: (entry.default)(),
            note: String::new(),
            parallelism: None,
        };
        self.doc.apply(Edit::AddNode { node, at });
        self.selection = Selection::only(&id);
        id
    }

    fn select_all(&mut self) {
        self.selection = Selection {
            nodes: self
                .doc
                .pipeline()
                .nodes
                .iter()
                .map(|n| n.id.clone())
                .collect(),
            edge: None,
        };
    }

    /// Lays the nodes out in layers from left to right (one undo step) and frames them.
    fn auto_layout(&mut self) {
        let positions = layered(self.doc.pipeline());
        self.doc.apply(Edit::ReplaceLayout(positions));
        self.canvas.request_fit();
    }

    fn delete_selection(&mut self) {
        let selection = std::mem::take(&mut self.selection);
        if let Some(edge) = selection.edge {
            self.doc.apply(Edit::Disconnect(edge));
        }
        if !selection.nodes.is_empty() {
            self.doc.apply(Edit::DeleteNodes(selection.nodes));
        }
    }

    fn paste(&mut self, text: String) -> bool {
        let applied = self.doc.apply(Edit::Paste { text, shift: 40.0 });
        if applied.added.is_empty() {
            return false;
        }
        self.selection = Selection {
            nodes: applied.added,
            edge: None,
        };
        true
    }

    fn duplicate_selection(&mut self) {
        if let Some(text) = copy_text(self.doc.pipeline(), &self.selection.nodes) {
            self.paste(text);
        }
    }

    /// Copy, cut and paste arrive as events carrying text.
    pub(super) fn clipboard_events(&mut self, ctx: &egui::Context) {
        let events = ctx.input(|i| i.events.clone());
        for event in events {
            match event {
                egui::Event::Copy | egui::Event::Cut => {
                    if let Some(text) = copy_text(self.doc.pipeline(), &self.selection.nodes) {
                        ctx.copy_text(text);
                        if matches!(event, egui::Event::Cut) {
                            self.delete_selection();
                        }
                    }
                }
                egui::Event::Paste(text) => {
                    let pasted = self.paste(text);
                    if !pasted {
                        self.say("the clipboard holds no Eddy nodes");
                    }
                }
                _ => {}
            }
        }
    }
}

/// Where each selected node goes to line up as `how` says (nothing for fewer than two).
pub fn align(pipeline: &Pipeline, ids: &BTreeSet<String>, how: Align) -> Vec<(String, Position)> {
    let mut chosen: Vec<(String, Position)> = ids
        .iter()
        .filter_map(|id| pipeline.layout.nodes.get(id).map(|p| (id.clone(), *p)))
        .collect();
    if chosen.len() < 2 {
        return Vec::new();
    }
    match how {
        Align::Left | Align::Top => {
            let left = chosen.iter().map(|(_, p)| p.0).fold(f32::MAX, f32::min);
            let top = chosen.iter().map(|(_, p)| p.1).fold(f32::MAX, f32::min);
            chosen
                .into_iter()
                .map(|(id, p)| match how {
                    Align::Left => (id, Position(left, p.1)),
                    _ => (id, Position(p.0, top)),
                })
                .collect()
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
            chosen
                .into_iter()
                .enumerate()
                .map(|(i, (id, p))| {
                    let v = first + step * i as f32;
                    if matches!(how, Align::SpreadX) {
                        (id, Position(v, p.1))
                    } else {
                        (id, Position(p.0, v))
                    }
                })
                .collect()
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
        for (id, at) in align(&p, &ids, Align::Top) {
            p.layout.nodes.insert(id, at);
        }
        assert!(ids.iter().all(|id| p.layout.nodes[id].1 == 90.0));
        for (id, at) in align(&p, &ids, Align::SpreadX) {
            p.layout.nodes.insert(id, at);
        }
        let xs: Vec<f32> = ["readings", "warm", "per_minute"]
            .iter()
            .map(|id| p.layout.nodes[*id].0)
            .collect();
        assert_eq!(xs, vec![40.0, 470.0, 900.0]);
    }
}
