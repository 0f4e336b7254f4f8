//! The document being edited: the pipeline (private: every change is an [`Edit`] applied here, so
//! every change can be undone), its file, the undo/redo history (kept across saves), the
//! unsaved-changes marker and the validation of the current state.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::clipboard::paste_into;
use crate::model::check::base_dir_of;
use crate::model::file::{load, save};
use crate::model::node::Node;
use crate::model::{Edge, NodeKind, Pipeline, Position, Validation, validate_in};

/// How many edits can be undone.
const HISTORY: usize = 200;

/// One change to the document, as the canvas, the inspector and the app ask for it.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    AddNode {
        node: Node,
        at: Position,
    },
    /// Deletes the nodes, their edges and their places on the canvas.
    DeleteNodes(BTreeSet<String>),
    Connect(Edge),
    Disconnect(Edge),
    /// Puts nodes at new places (absolute canvas positions).
    Place(Vec<(String, Position)>),
    /// Replaces every place on the canvas (auto-layout).
    ReplaceLayout(BTreeMap<String, Position>),
    SetKind {
        id: String,
        kind: NodeKind,
    },
    SetNote {
        id: String,
        note: String,
    },
    SetParallelism {
        id: String,
        parallelism: Option<u32>,
    },
    /// Renames a node; its edges and its place follow.
    Rename {
        from: String,
        to: String,
    },
    SetName(String),
    SetDescription(String),
    /// Adds the nodes of copied RON text beside where they were.
    Paste {
        text: String,
        shift: f32,
    },
}

/// Edits made as one gesture (typing in one field, one drag) share a group and undo as one step:
/// the widget being typed in or dragged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EditGroup(pub egui::Id);

/// What applying an edit did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Applied {
    pub changed: bool,
    /// Nodes the edit added (a paste), to select them.
    pub added: BTreeSet<String>,
}

pub struct EditorDocument {
    pipeline: Pipeline,
    pub path: Option<PathBuf>,
    /// Where an untitled document's relative paths lead (an example's copy: its workspace).
    untitled_base: Option<PathBuf>,
    /// The shipped example this untitled document is a copy of.
    pub example_of: Option<PathBuf>,
    saved: Pipeline,
    undo: Vec<Pipeline>,
    redo: Vec<Pipeline>,
    /// The gesture whose edits still join the last undo step.
    open_group: Option<EditGroup>,
    validation: Validation,
    validated: bool,
    /// Changes with every change, and differs between documents (one counter for all of them),
    /// so views can cache what they derive from the pipeline even across an open.
    version: u64,
}

impl EditorDocument {
    pub fn new(pipeline: Pipeline, path: Option<PathBuf>) -> Self {
        let validation = validate_in(
            &pipeline,
            &Self::base_dir_for(path.as_deref()),
            path.as_deref(),
        );
        Self {
            saved: pipeline.clone(),
            pipeline,
            path,
            untitled_base: None,
            example_of: None,
            undo: Vec::new(),
            redo: Vec::new(),
            open_group: None,
            validation,
            validated: true,
            version: next_version(),
        }
    }

    pub fn open(path: &Path) -> Result<Self, String> {
        let pipeline = load(path).map_err(|e| e.to_string())?;
        Ok(Self::new(pipeline, Some(path.to_path_buf())))
    }

    /// An example as an untitled copy: saving asks where, so the shipped file is never
    /// overwritten, and its relative paths lead into `workspace`, where the example's input
    /// files are copied and its runs write their outputs.
    pub fn open_example(example: &Path, workspace: &Path) -> Result<Self, String> {
        let pipeline = load(example).map_err(|e| e.to_string())?;
        std::fs::create_dir_all(workspace)
            .map_err(|e| format!("could not make the folder {}: {e}", workspace.display()))?;
        copy_inputs(&pipeline, &base_dir_of(example), workspace)?;
        let mut doc = Self::new(pipeline, None);
        doc.untitled_base = Some(workspace.to_path_buf());
        doc.example_of = Some(example.to_path_buf());
        doc.validated = false;
        Ok(doc)
    }

    fn base_dir_for(path: Option<&Path>) -> PathBuf {
        path.map(base_dir_of).unwrap_or_else(|| PathBuf::from("."))
    }

    pub fn base_dir(&self) -> PathBuf {
        match (&self.path, &self.untitled_base) {
            (None, Some(base)) => base.clone(),
            _ => Self::base_dir_for(self.path.as_deref()),
        }
    }

    /// The pipeline as it is now.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Grows with every change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Applies one edit as one undoable step.
    pub fn apply(&mut self, edit: Edit) -> Applied {
        self.apply_in(edit, None)
    }

    /// Applies an edit; edits in the same `group` as the one before join its undo step.
    pub fn apply_in(&mut self, edit: Edit, group: Option<EditGroup>) -> Applied {
        let before = self.pipeline.clone();
        let added = change(&mut self.pipeline, edit);
        let changed = self.pipeline != before;
        if changed {
            let joins = group.is_some() && group == self.open_group && !self.undo.is_empty();
            if !joins {
                self.push_undo(before);
            }
            self.redo.clear();
            self.changed();
        }
        self.open_group = group;
        Applied { changed, added }
    }

    /// The current gesture is over: the next edit starts a new undo step.
    pub fn end_group(&mut self) {
        self.open_group = None;
    }

    /// The gesture whose edits still join the last undo step.
    pub fn open_group(&self) -> Option<EditGroup> {
        self.open_group
    }

    fn push_undo(&mut self, before: Pipeline) {
        self.undo.push(before);
        if self.undo.len() > HISTORY {
            self.undo.remove(0);
        }
    }

    fn changed(&mut self) {
        self.validated = false;
        self.version = next_version();
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) {
        self.open_group = None;
        if let Some(previous) = self.undo.pop() {
            let now = std::mem::replace(&mut self.pipeline, previous);
            self.redo.push(now);
            self.changed();
        }
    }

    pub fn redo(&mut self) {
        self.open_group = None;
        if let Some(next) = self.redo.pop() {
            let now = std::mem::replace(&mut self.pipeline, next);
            self.undo.push(now);
            self.changed();
        }
    }

    /// Treats the current state as not saved anywhere (a recovered copy).
    pub fn mark_unsaved(&mut self) {
        self.saved.nodes.clear();
        self.saved.edges.clear();
        self.saved.name.clear();
    }

    pub fn is_dirty(&self) -> bool {
        self.pipeline != self.saved
    }

    /// Saves atomically; the history stays, so edits before the save can still be undone.
    pub fn save_to(&mut self, path: &Path) -> Result<(), String> {
        save(path, &self.pipeline).map_err(|e| format!("{e:#}"))?;
        self.path = Some(path.to_path_buf());
        self.saved = self.pipeline.clone();
        // Relative paths now resolve against the new folder.
        self.changed();
        Ok(())
    }

    /// The validation of the current state, recomputed after edits.
    pub fn validation(&mut self) -> &Validation {
        if !self.validated {
            self.validation = validate_in(&self.pipeline, &self.base_dir(), self.path.as_deref());
            self.validated = true;
        }
        &self.validation
    }

    /// The pipeline and its validation together, for readers that need both at once.
    pub fn checked(&mut self) -> (&Pipeline, &Validation) {
        self.validation();
        (&self.pipeline, &self.validation)
    }

    /// `name — file.ron ●` for the window title.
    pub fn title(&self) -> String {
        let file = match (&self.path, &self.example_of) {
            (Some(path), _) => path
                .file_name()
                .map_or(String::new(), |n| n.to_string_lossy().into_owned()),
            (None, Some(example)) => format!(
                "unsaved copy of the example {}",
                example
                    .file_name()
                    .map_or(String::new(), |n| n.to_string_lossy().into_owned())
            ),
            (None, None) => "unsaved".to_string(),
        };
        let dirty = if self.is_dirty() { " ●" } else { "" };
        format!(
            "{} — {file}{dirty} — Eddy {}",
            self.pipeline.name,
            env!("CARGO_PKG_VERSION")
        )
    }
}

/// Carries out `edit` on `p`; returns the nodes it added.
fn change(p: &mut Pipeline, edit: Edit) -> BTreeSet<String> {
    let mut added = BTreeSet::new();
    match edit {
        Edit::AddNode { node, at } => {
            p.layout.nodes.insert(node.id.clone(), at);
            added.insert(node.id.clone());
            p.nodes.push(node);
        }
        Edit::DeleteNodes(ids) => {
            p.nodes.retain(|n| !ids.contains(&n.id));
            p.edges
                .retain(|e| !ids.contains(&e.from.node) && !ids.contains(&e.to.node));
            p.layout.nodes.retain(|id, _| !ids.contains(id));
        }
        Edit::Connect(edge) => {
            if !p.edges.contains(&edge) {
                p.edges.push(edge);
            }
        }
        Edit::Disconnect(edge) => p.edges.retain(|e| *e != edge),
        Edit::Place(places) => {
            for (id, at) in places {
                if p.node(&id).is_some() {
                    p.layout.nodes.insert(id, at);
                }
            }
        }
        Edit::ReplaceLayout(positions) => p.layout.nodes = positions,
        Edit::SetKind { id, kind } => {
            if let Some(n) = p.node_mut(&id) {
                n.kind = kind;
            }
        }
        Edit::SetNote { id, note } => {
            if let Some(n) = p.node_mut(&id) {
                n.note = note;
            }
        }
        Edit::SetParallelism { id, parallelism } => {
            if let Some(n) = p.node_mut(&id) {
                n.parallelism = parallelism;
            }
        }
        Edit::Rename { from, to } => rename(p, &from, &to),
        Edit::SetName(name) => p.name = name,
        Edit::SetDescription(description) => p.description = description,
        Edit::Paste { text, shift } => {
            if let Some(ids) = paste_into(p, &text, shift) {
                added = ids;
            }
        }
    }
    added
}

/// Renames a node; its edges and its place on the canvas follow. Taken or invalid ids are refused
/// by the inspector before it asks.
fn rename(p: &mut Pipeline, from: &str, to: &str) {
    if p.node(to).is_some() {
        return;
    }
    if let Some(n) = p.node_mut(from) {
        n.id = to.to_string();
    }
    for e in &mut p.edges {
        if e.from.node == from {
            e.from.node = to.to_string();
        }
        if e.to.node == from {
            e.to.node = to.to_string();
        }
    }
    if let Some(pos) = p.layout.nodes.remove(from) {
        p.layout.nodes.insert(to.to_string(), pos);
    }
}

/// Copies the input files `pipeline` reads by relative paths from `from` into `to`, keeping
/// their places, so the copy of an example finds its data. Paths that climb out (`..`) or are
/// absolute are left alone: they lead to the same file from anywhere.
fn copy_inputs(pipeline: &Pipeline, from: &Path, to: &Path) -> Result<(), String> {
    use std::path::Component;
    for node in &pipeline.nodes {
        for file in node.kind.model().files() {
            let crate::model::kind::FileUse::Reads(relative) = file else {
                continue;
            };
            let relative = Path::new(&relative);
            if !relative
                .components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
            {
                continue;
            }
            let (source, target) = (from.join(relative), to.join(relative));
            if !source.is_file() {
                continue;
            }
            let copied = target
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::copy(&source, &target));
            copied.map_err(|e| {
                format!(
                    "could not copy the example's input {} to {}: {e}",
                    source.display(),
                    target.display()
                )
            })?;
        }
    }
    Ok(())
}

/// A version no document has had yet.
fn next_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static VERSIONS: AtomicU64 = AtomicU64::new(0);
    VERSIONS.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::starter::starter_pipeline;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("eddy-doc-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn undo_redo_and_the_dirty_marker_survive_a_save() {
        let dir = scratch("save");
        let mut doc = EditorDocument::new(starter_pipeline("t"), None);
        assert!(!doc.is_dirty());
        doc.apply(Edit::SetName("renamed".into()));
        assert!(doc.is_dirty());
        doc.save_to(&dir.join("t.ron")).unwrap();
        assert!(!doc.is_dirty());
        doc.undo();
        assert_eq!(doc.pipeline().name, "t");
        assert!(
            doc.is_dirty(),
            "undoing past a save makes the document differ from the file"
        );
        doc.redo();
        assert!(!doc.is_dirty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn edits_of_one_gesture_undo_as_one_step_and_the_next_gesture_is_its_own() {
        let mut doc = EditorDocument::new(starter_pipeline("t"), None);
        let typing = Some(EditGroup(egui::Id::unique("name field")));
        for name in ["a", "ab", "abc"] {
            doc.apply_in(Edit::SetName(name.into()), typing);
        }
        doc.end_group();
        doc.apply_in(Edit::SetName("abcd".into()), typing);
        doc.apply(Edit::SetDescription("d".into()));
        doc.undo();
        assert_eq!(doc.pipeline().name, "abcd");
        doc.undo();
        assert_eq!(
            doc.pipeline().name,
            "abc",
            "a new gesture after the group ended"
        );
        doc.undo();
        assert_eq!(doc.pipeline().name, "t", "the typing was one step");
        assert!(!doc.can_undo());
    }

    #[test]
    fn an_edit_that_changes_nothing_is_no_step() {
        let mut doc = EditorDocument::new(starter_pipeline("t"), None);
        let version = doc.version();
        let applied = doc.apply(Edit::SetName("t".into()));
        assert!(!applied.changed);
        assert!(!doc.can_undo());
        assert_eq!(doc.version(), version);
        doc.apply(Edit::SetName("u".into()));
        assert_ne!(doc.version(), version);
        let other = EditorDocument::new(starter_pipeline("t"), None);
        assert_ne!(
            other.version(),
            doc.version(),
            "documents never share a version"
        );
    }
}
