//! The autosaved recovery copy: while there are unsaved changes, the document is written to a
//! recovery file every few seconds; after a crash, the next start offers it back.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::model::Pipeline;
use crate::model::file::{load, to_ron_string, write_atomically};

/// How often unsaved changes are copied to the recovery file.
pub const EVERY: Duration = Duration::from_secs(15);

/// Where recovery copies live: `$XDG_DATA_HOME/eddy`, `~/.local/share/eddy`, or the temp folder.
pub fn folder() -> PathBuf {
    if let Some(dir) = std::env::var_os("EDDY_RECOVERY_DIR") {
        return PathBuf::from(dir);
    }
    user_data_dir()
}

/// Eddy's folder for the user's things: `$XDG_DATA_HOME/eddy`, `~/.local/share/eddy`, or the temp
/// folder.
pub fn user_data_dir() -> PathBuf {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(data).join("eddy");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/share/eddy");
    }
    std::env::temp_dir().join("eddy")
}

/// Where copies of the examples run: their inputs are copied here and their outputs written here,
/// never beside the installed examples (`EDDY_EXAMPLES_DIR` moves it, for tests).
pub fn examples_workspace() -> PathBuf {
    match std::env::var_os("EDDY_EXAMPLES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => user_data_dir().join("examples"),
    }
}

/// A recovery copy found at start-up.
pub struct Recovered {
    pub pipeline: Pipeline,
    /// The file the document belonged to, if it had one.
    pub original: Option<PathBuf>,
    pub written: Option<SystemTime>,
}

/// Keeps the recovery copy in step with the document.
pub struct Autosave {
    dir: PathBuf,
    last: Option<Instant>,
    written: Option<Pipeline>,
}

impl Autosave {
    pub fn new(dir: PathBuf) -> Self {
        Self {
            dir,
            last: None,
            written: None,
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.join("recovery.ron")
    }

    fn origin_file(&self) -> PathBuf {
        self.dir.join("recovery.origin")
    }

    /// Writes the document when it has unsaved changes that the copy does not hold yet.
    pub fn tick(&mut self, pipeline: &Pipeline, path: Option<&Path>, dirty: bool) {
        if !dirty {
            if self.written.is_some() {
                self.discard();
            }
            return;
        }
        if self.last.is_some_and(|t| t.elapsed() < EVERY) || self.written.as_ref() == Some(pipeline)
        {
            return;
        }
        self.last = Some(Instant::now());
        let Ok(text) = to_ron_string(pipeline) else {
            return;
        };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        let origin = path.map(|p| p.display().to_string()).unwrap_or_default();
        if write_atomically(&self.file(), text.as_bytes()).is_ok()
            && write_atomically(&self.origin_file(), origin.as_bytes()).is_ok()
        {
            self.written = Some(pipeline.clone());
        }
    }

    /// Removes the copy (the work was saved, discarded, or the app closed normally).
    pub fn discard(&mut self) {
        let _ = std::fs::remove_file(self.file());
        let _ = std::fs::remove_file(self.origin_file());
        self.written = None;
    }

    /// A copy left behind by a run that did not close normally.
    pub fn find(&self) -> Option<Recovered> {
        let file = self.file();
        let pipeline = load(&file).ok()?;
        let origin = std::fs::read_to_string(self.origin_file()).unwrap_or_default();
        Some(Recovered {
            pipeline,
            original: (!origin.trim().is_empty()).then(|| PathBuf::from(origin.trim())),
            written: std::fs::metadata(&file).and_then(|m| m.modified()).ok(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::starter::starter_pipeline;

    #[test]
    fn a_dirty_document_is_copied_and_found_and_a_clean_one_is_not() {
        let dir = std::env::temp_dir().join(format!("eddy-recovery-{}", std::process::id()));
        let mut autosave = Autosave::new(dir.clone());
        let pipeline = starter_pipeline("work in progress");
        autosave.tick(&pipeline, Some(Path::new("/tmp/p.ron")), true);
        let found = Autosave::new(dir.clone()).find().unwrap();
        assert_eq!(found.pipeline, pipeline);
        assert_eq!(found.original, Some(PathBuf::from("/tmp/p.ron")));
        autosave.tick(&pipeline, None, false);
        assert!(Autosave::new(dir.clone()).find().is_none());
        let _ = std::fs::remove_dir_all(dir);
    }
}
