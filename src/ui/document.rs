//! The document being edited: the pipeline, its file, undo/redo history (kept across saves),
//! the unsaved-changes marker and the validation of the current state.

use std::path::{Path, PathBuf};

use crate::model::check::base_dir_of;
use crate::model::file::{load, save};
use crate::model::{Pipeline, Validation, validate};

/// How many edits can be undone.
const HISTORY: usize = 200;

pub struct EditorDocument {
    pub pipeline: Pipeline,
    pub path: Option<PathBuf>,
    saved: Pipeline,
    undo: Vec<Pipeline>,
    redo: Vec<Pipeline>,
    validation: Validation,
    validated: bool,
}

impl EditorDocument {
    pub fn new(pipeline: Pipeline, path: Option<PathBuf>) -> Self {
        let validation = validate(&pipeline, &Self::base_dir_for(path.as_deref()));
        Self {
            saved: pipeline.clone(),
            pipeline,
            path,
            undo: Vec::new(),
            redo: Vec::new(),
            validation,
            validated: true,
        }
    }

    pub fn open(path: &Path) -> Result<Self, String> {
        let pipeline = load(path).map_err(|e| e.to_string())?;
        Ok(Self::new(pipeline, Some(path.to_path_buf())))
    }

    fn base_dir_for(path: Option<&Path>) -> PathBuf {
        path.map(base_dir_of).unwrap_or_else(|| PathBuf::from("."))
    }

    pub fn base_dir(&self) -> PathBuf {
        Self::base_dir_for(self.path.as_deref())
    }

    /// Applies one edit as one undoable step.
    pub fn edit(&mut self, change: impl FnOnce(&mut Pipeline)) {
        let before = self.pipeline.clone();
        change(&mut self.pipeline);
        if self.pipeline != before {
            self.push_undo(before);
        }
    }

    /// Records the current state as an undo step before a gesture (a drag) changes it bit by bit.
    pub fn checkpoint(&mut self) {
        let now = self.pipeline.clone();
        self.push_undo(now);
    }

    /// Changes the pipeline as part of a gesture started with [`Self::checkpoint`].
    pub fn edit_in_gesture(&mut self, change: impl FnOnce(&mut Pipeline)) {
        change(&mut self.pipeline);
        self.validated = false;
    }

    fn push_undo(&mut self, before: Pipeline) {
        self.undo.push(before);
        if self.undo.len() > HISTORY {
            self.undo.remove(0);
        }
        self.redo.clear();
        self.validated = false;
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    pub fn undo(&mut self) {
        if let Some(previous) = self.undo.pop() {
            let now = std::mem::replace(&mut self.pipeline, previous);
            self.redo.push(now);
            self.validated = false;
        }
    }

    pub fn redo(&mut self) {
        if let Some(next) = self.redo.pop() {
            let now = std::mem::replace(&mut self.pipeline, next);
            self.undo.push(now);
            self.validated = false;
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
        self.validated = false;
        Ok(())
    }

    /// The validation of the current state, recomputed after edits.
    pub fn validation(&mut self) -> &Validation {
        if !self.validated {
            self.validation = validate(&self.pipeline, &self.base_dir());
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
        let file = self
            .path
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or("unsaved".to_string(), |n| n.to_string_lossy().into_owned());
        let dirty = if self.is_dirty() { " ●" } else { "" };
        format!(
            "{} — {file}{dirty} — Eddy {}",
            self.pipeline.name,
            env!("CARGO_PKG_VERSION")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::starter::starter_pipeline;

    #[test]
    fn undo_redo_and_the_dirty_marker_survive_a_save() {
        let dir = std::env::temp_dir().join(format!("eddy-doc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut doc = EditorDocument::new(starter_pipeline("t"), None);
        assert!(!doc.is_dirty());
        doc.edit(|p| p.name = "renamed".into());
        assert!(doc.is_dirty());
        doc.save_to(&dir.join("t.ron")).unwrap();
        assert!(!doc.is_dirty());
        doc.undo();
        assert_eq!(doc.pipeline.name, "t");
        assert!(
            doc.is_dirty(),
            "undoing past a save makes the document differ from the file"
        );
        doc.redo();
        assert!(!doc.is_dirty());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
