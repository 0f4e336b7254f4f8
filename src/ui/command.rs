//! Every action of the designer as one command: its menu text, its tooltip and its shortcuts live
//! here, so a menu entry, a key press and a palette click all say the same thing and do the same
//! thing (the app applies commands in one place).

use std::path::PathBuf;

use egui::{Key, KeyboardShortcut, Modifiers};

use crate::model::{KindId, Position};
use crate::ui::live::controls::RunAction;

/// Ways to line up selected nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Top,
    SpreadX,
    SpreadY,
}

/// The colour themes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
    System,
}

/// Something the user asked for.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum Command {
    New,
    Open,
    OpenExample(PathBuf),
    OpenRecent(PathBuf),
    Save,
    SaveAs,
    ExportSvg,
    ExportPng,
    Quit,
    Undo,
    Redo,
    Copy,
    Cut,
    Paste,
    Duplicate,
    Delete,
    SelectAll,
    AutoLayout,
    Align(Align),
    ZoomToFit,
    ZoomIn,
    ZoomOut,
    Theme(Theme),
    /// Run, or run again from the start when a run exists.
    Run,
    PauseOrResume,
    Step,
    Stop,
    /// A button of the run controls (start, restart, resume, speed…).
    Control(RunAction),
    /// A page of the Help menu.
    Help(HelpPage),
    /// Adds a node of a kind, at a place on the canvas or beside the others.
    AddNode {
        kind: KindId,
        at: Option<Position>,
    },
}

/// The pages of the Help menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpPage {
    Shortcuts,
    EventTime,
    About,
}

const fn key(modifiers: Modifiers, key: Key) -> KeyboardShortcut {
    KeyboardShortcut::new(modifiers, key)
}

const NONE: Modifiers = Modifiers::NONE;
const CMD: Modifiers = Modifiers::COMMAND;
const CMD_SHIFT: Modifiers = Modifiers::COMMAND.plus(Modifiers::SHIFT);

impl Command {
    /// The commands that have shortcuts, in the order shortcuts are tried (longer chords first, so
    /// Ctrl+Shift+S is not taken for Ctrl+S).
    pub fn with_shortcuts() -> Vec<Command> {
        vec![
            Command::SaveAs,
            Command::Redo,
            Command::New,
            Command::Open,
            Command::Save,
            Command::Undo,
            Command::Duplicate,
            Command::SelectAll,
            Command::AutoLayout,
            Command::ZoomToFit,
            Command::ZoomIn,
            Command::ZoomOut,
            Command::Run,
            Command::PauseOrResume,
            Command::Delete,
        ]
    }

    /// The keys that give this command; the first is the one menus show.
    pub fn shortcuts(&self) -> &'static [KeyboardShortcut] {
        const NEW: &[KeyboardShortcut] = &[key(CMD, Key::N)];
        const OPEN: &[KeyboardShortcut] = &[key(CMD, Key::O)];
        const SAVE: &[KeyboardShortcut] = &[key(CMD, Key::S)];
        const SAVE_AS: &[KeyboardShortcut] = &[key(CMD_SHIFT, Key::S)];
        const UNDO: &[KeyboardShortcut] = &[key(CMD, Key::Z)];
        const REDO: &[KeyboardShortcut] = &[key(CMD, Key::Y), key(CMD_SHIFT, Key::Z)];
        const DUPLICATE: &[KeyboardShortcut] = &[key(CMD, Key::D)];
        const SELECT_ALL: &[KeyboardShortcut] = &[key(CMD, Key::A)];
        const LAYOUT: &[KeyboardShortcut] = &[key(CMD, Key::L)];
        const FIT: &[KeyboardShortcut] = &[key(NONE, Key::F)];
        const ZOOM_IN: &[KeyboardShortcut] = &[key(NONE, Key::Equals), key(NONE, Key::Plus)];
        const ZOOM_OUT: &[KeyboardShortcut] = &[key(NONE, Key::Minus)];
        const RUN: &[KeyboardShortcut] = &[key(NONE, Key::F5)];
        const PAUSE: &[KeyboardShortcut] = &[key(NONE, Key::Space)];
        const DELETE: &[KeyboardShortcut] = &[key(NONE, Key::Delete), key(NONE, Key::Backspace)];
        const COPY: &[KeyboardShortcut] = &[key(CMD, Key::C)];
        const CUT: &[KeyboardShortcut] = &[key(CMD, Key::X)];
        const PASTE: &[KeyboardShortcut] = &[key(CMD, Key::V)];
        match self {
            Command::New => NEW,
            Command::Open => OPEN,
            Command::Save => SAVE,
            Command::SaveAs => SAVE_AS,
            Command::Undo => UNDO,
            Command::Redo => REDO,
            Command::Duplicate => DUPLICATE,
            Command::SelectAll => SELECT_ALL,
            Command::AutoLayout => LAYOUT,
            Command::ZoomToFit => FIT,
            Command::ZoomIn => ZOOM_IN,
            Command::ZoomOut => ZOOM_OUT,
            Command::Run => RUN,
            Command::PauseOrResume => PAUSE,
            Command::Delete => DELETE,
            // Copy, cut and paste arrive as clipboard events; their keys are shown, not matched.
            Command::Copy => COPY,
            Command::Cut => CUT,
            Command::Paste => PASTE,
            Command::OpenExample(_)
            | Command::OpenRecent(_)
            | Command::ExportSvg
            | Command::ExportPng
            | Command::Quit
            | Command::Align(_)
            | Command::Theme(_)
            | Command::Step
            | Command::Stop
            | Command::Control(_)
            | Command::Help(_)
            | Command::AddNode { .. } => &[],
        }
    }

    /// Whether the shortcut works while a text field has the keyboard (file commands do; edits
    /// of the canvas would fight the field's own undo and select-all).
    pub fn works_while_typing(&self) -> bool {
        matches!(
            self,
            Command::New | Command::Open | Command::Save | Command::SaveAs
        )
    }

    /// The menu text.
    pub fn text(&self) -> String {
        match self {
            Command::New => "New".into(),
            Command::Open => "Open…".into(),
            Command::OpenExample(p) | Command::OpenRecent(p) => p.display().to_string(),
            Command::Save => "Save".into(),
            Command::SaveAs => "Save As…".into(),
            Command::ExportSvg => "Export picture (SVG)…".into(),
            Command::ExportPng => "Export picture (PNG)…".into(),
            Command::Quit => "Quit".into(),
            Command::Undo => "Undo".into(),
            Command::Redo => "Redo".into(),
            Command::Copy => "Copy".into(),
            Command::Cut => "Cut".into(),
            Command::Paste => "Paste".into(),
            Command::Duplicate => "Duplicate".into(),
            Command::Delete => "Delete".into(),
            Command::SelectAll => "Select all".into(),
            Command::AutoLayout => "Auto-layout".into(),
            Command::Align(Align::Left) => "Align left edges".into(),
            Command::Align(Align::Top) => "Align top edges".into(),
            Command::Align(Align::SpreadX) => "Distribute horizontally".into(),
            Command::Align(Align::SpreadY) => "Distribute vertically".into(),
            Command::ZoomToFit => "Zoom to fit".into(),
            Command::ZoomIn => "Zoom in".into(),
            Command::ZoomOut => "Zoom out".into(),
            Command::Theme(Theme::Dark) => "Dark theme".into(),
            Command::Theme(Theme::Light) => "Light theme".into(),
            Command::Theme(Theme::System) => "Follow the system".into(),
            Command::Run => "Run".into(),
            Command::PauseOrResume => "Pause / resume".into(),
            Command::Step => "Step".into(),
            Command::Stop => "Stop".into(),
            Command::Control(action) => format!("{action:?}"),
            Command::Help(HelpPage::Shortcuts) => "Keyboard shortcuts".into(),
            Command::Help(HelpPage::EventTime) => "How to read the event-time view".into(),
            Command::Help(HelpPage::About) => "About Eddy".into(),
            Command::AddNode { kind, .. } => kind.entry().name.into(),
        }
    }

    /// What the command does, for its tooltip.
    pub fn tooltip(&self) -> String {
        match self {
            Command::New => "Start a new pipeline from a small starter".into(),
            Command::Open => "Open a pipeline file (.ron)".into(),
            Command::OpenExample(_) => "Open this example".into(),
            Command::OpenRecent(_) => "Open this file again".into(),
            Command::Save => "Save to the pipeline's file (atomically: the old file stays whole until the new one is written)".into(),
            Command::SaveAs => "Save to another file".into(),
            Command::ExportSvg => "The canvas as an SVG picture for slides".into(),
            Command::ExportPng => "What the canvas shows now, as a PNG image".into(),
            Command::Quit => "Close Eddy (asks first if there are unsaved changes)".into(),
            Command::Undo => "Undo the last edit (also after saving)".into(),
            Command::Redo => "Redo the edit you undid".into(),
            Command::Copy => "Copy the selected nodes as RON text".into(),
            Command::Cut => "Copy the selected nodes and delete them".into(),
            Command::Paste => "Add the nodes on the clipboard beside where they were".into(),
            Command::Duplicate => "Copy the selected nodes beside themselves".into(),
            Command::Delete => "Delete the selected nodes or edge".into(),
            Command::SelectAll => "Select every node".into(),
            Command::AutoLayout => "Arrange nodes in layers from left to right".into(),
            Command::Align(_) => "Line up the selected nodes (two or more)".into(),
            Command::ZoomToFit => "Show the whole pipeline".into(),
            Command::ZoomIn => "Zoom in around the centre".into(),
            Command::ZoomOut => "Zoom out around the centre".into(),
            Command::Theme(_) => "Change the colours".into(),
            Command::Run => "Run the pipeline here and watch it (again from the start if it ran)".into(),
            Command::PauseOrResume => "Hold the sources, or carry on".into(),
            Command::Step => "Let one more batch and its watermark through".into(),
            Command::Stop => "Stop the sources; open windows are dropped".into(),
            Command::Control(_) => "Control the run".into(),
            Command::Help(HelpPage::Shortcuts) => "Every key that does something".into(),
            Command::Help(HelpPage::EventTime) => {
                "Dots, the watermark line, window bands and late events, explained".into()
            }
            Command::Help(HelpPage::About) => "Version and what Eddy is".into(),
            Command::AddNode { kind, .. } => format!(
                "{}\n\nClick to add, or drag onto the canvas.",
                kind.entry().explanation
            ),
        }
    }
}

/// Every command that has shortcuts and whose shortcut was pressed this frame, consumed.
pub fn pressed(ctx: &egui::Context, typing: bool) -> Vec<Command> {
    let mut chosen = Vec::new();
    for command in Command::with_shortcuts() {
        if typing && !command.works_while_typing() {
            continue;
        }
        let hit = command
            .shortcuts()
            .iter()
            .any(|s| ctx.input_mut(|i| i.consume_shortcut(s)));
        if hit {
            chosen.push(command);
        }
    }
    chosen
}

/// A menu entry for `command`: its text, its first shortcut and its tooltip; `enabled` greys it.
pub fn menu_item(ui: &mut egui::Ui, command: Command, enabled: bool) -> Option<Command> {
    let mut button = egui::Button::new(command.text());
    if let Some(first) = command.shortcuts().first() {
        button = button.shortcut_text(ui.ctx().format_shortcut(first));
    }
    let response = ui
        .add_enabled(enabled, button)
        .on_hover_text(command.tooltip());
    response.clicked().then_some(command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_two_commands_share_a_shortcut() {
        let mut seen: Vec<(KeyboardShortcut, Command)> = Vec::new();
        let mut all = Command::with_shortcuts();
        all.extend([Command::Copy, Command::Cut, Command::Paste]);
        for command in all {
            for shortcut in command.shortcuts() {
                if let Some((_, other)) = seen.iter().find(|(s, _)| s == shortcut) {
                    panic!("{command:?} and {other:?} share a shortcut");
                }
                seen.push((*shortcut, command.clone()));
            }
        }
    }

    #[test]
    fn every_command_with_shortcuts_is_matched() {
        for command in Command::with_shortcuts() {
            assert!(!command.shortcuts().is_empty(), "{command:?}");
            assert!(!command.tooltip().is_empty());
        }
    }
}
