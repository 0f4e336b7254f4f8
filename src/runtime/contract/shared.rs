//! What sinks share with whoever owns the run: the rows a collecting sink keeps, published as
//! immutable snapshots (a reader never holds the sink up), where console text goes, and the files
//! the file sinks commit together.

use std::sync::{Arc, Mutex};

use arrow::record_batch::RecordBatch;

use super::error::RunError;

/// Where console text goes: the terminal for `eddy run`, the log panel in the app.
pub type ConsoleWriter = Arc<dyn Fn(&str) + Send + Sync>;

/// Rows received by a collecting sink, newest last, capped so a long run stays in bounds.
#[derive(Debug, Default, Clone)]
pub struct Collected {
    pub batches: Vec<RecordBatch>,
    pub rows: usize,
    /// Rows let go to stay under the cap (oldest first).
    pub evicted_rows: usize,
    /// Grows with every published change, so a reader can cache what it derives from a version.
    pub version: u64,
    pub finished: bool,
}

/// The newest snapshot of a collecting sink. The sink replaces it; readers take the `Arc` and
/// look at it as long as they like, while the sink goes on.
#[derive(Clone, Default)]
pub struct CollectedRows {
    slot: Arc<Mutex<Arc<Collected>>>,
}

impl std::fmt::Debug for CollectedRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CollectedRows")
    }
}

impl CollectedRows {
    /// The newest published snapshot (the lock is held only to clone an `Arc`).
    pub fn snapshot(&self) -> Arc<Collected> {
        match self.slot.lock() {
            Ok(slot) => Arc::clone(&slot),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Publishes `snapshot` unless a reader is taking one this instant; false when skipped.
    pub fn try_publish(&self, snapshot: Arc<Collected>) -> bool {
        match self.slot.try_lock() {
            Ok(mut slot) => {
                *slot = snapshot;
                true
            }
            Err(_) => false,
        }
    }

    /// Publishes `snapshot`, waiting the moment a reader needs to clone the current one.
    pub fn publish(&self, snapshot: Arc<Collected>) {
        match self.slot.lock() {
            Ok(mut slot) => *slot = snapshot,
            Err(poisoned) => *poisoned.into_inner() = snapshot,
        }
    }
}

/// A file a sink wrote whole, waiting for the run to decide its fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedFile {
    pub temp: std::path::PathBuf,
    pub target: std::path::PathBuf,
}

/// The file sinks of one run commit together: each writes a hidden temporary file named for the
/// run and the sink, and hands it here when its input ended. When the whole run completes, every
/// file replaces its target; when it fails, none does; when it is stopped, the targets stay as they
/// were and what was written is kept beside them under a name that says it is incomplete.
#[derive(Debug, Default)]
pub struct Commits {
    run_tag: String,
    prepared: Mutex<Vec<PreparedFile>>,
}

impl Commits {
    /// `run_tag` goes into temporary names, unique per run: `.out.csv.<run_tag>.<node>.partial`.
    pub fn new(run_tag: String) -> Self {
        Self {
            run_tag,
            prepared: Mutex::new(Vec::new()),
        }
    }

    pub fn run_tag(&self) -> &str {
        &self.run_tag
    }

    /// A sink wrote and flushed `temp`; it belongs at `target` if the run completes.
    pub fn prepare(&self, temp: std::path::PathBuf, target: std::path::PathBuf) {
        if let Ok(mut prepared) = self.prepared.lock() {
            prepared.push(PreparedFile { temp, target });
        }
    }

    /// The files waiting to be put in place.
    pub fn prepared(&self) -> Vec<PreparedFile> {
        self.prepared.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Forgets the prepared files without touching them: they belong to the run's checkpoints,
    /// and a resumed run puts them in place.
    pub fn leave_for_resume(&self) {
        let _ = self.take();
    }

    fn take(&self) -> Vec<PreparedFile> {
        self.prepared
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default()
    }

    /// Puts every prepared file in place (each by an atomic rename); returns the targets. All files
    /// are whole on disk before the first rename, so only a failing rename can split a commit.
    pub fn commit(&self) -> Result<Vec<std::path::PathBuf>, RunError> {
        let mut done = Vec::new();
        let mut prepared = self.take().into_iter();
        while let Some(file) = prepared.next() {
            if let Err(e) = std::fs::rename(&file.temp, &file.target) {
                let _ = std::fs::remove_file(&file.temp);
                for rest in prepared {
                    let _ = std::fs::remove_file(&rest.temp);
                }
                return Err(RunError::io(format!(
                    "replacing {}: {e}",
                    file.target.display()
                )));
            }
            done.push(file.target);
        }
        Ok(done)
    }

    /// Leaves every target as it was and keeps what was written as `<stem>.incomplete.<ext>`
    /// beside it; returns those files.
    pub fn keep_incomplete(&self) -> Vec<std::path::PathBuf> {
        let mut kept = Vec::new();
        for file in self.take() {
            let incomplete = incomplete_name(&file.target);
            if std::fs::rename(&file.temp, &incomplete).is_ok() {
                kept.push(incomplete);
            } else {
                let _ = std::fs::remove_file(&file.temp);
            }
        }
        kept
    }

    /// Deletes every prepared file: the run failed, and no target changes.
    pub fn discard(&self) {
        for file in self.take() {
            let _ = std::fs::remove_file(&file.temp);
        }
    }
}

/// `out/revenue.csv` -> `out/revenue.incomplete.csv`.
pub fn incomplete_name(target: &std::path::Path) -> std::path::PathBuf {
    let stem = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "output".into());
    let name = match target.extension() {
        Some(ext) => format!("{stem}.incomplete.{}", ext.to_string_lossy()),
        None => format!("{stem}.incomplete"),
    };
    target.with_file_name(name)
}
