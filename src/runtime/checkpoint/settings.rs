//! How a run takes checkpoints: how often, where, in which mode, and how many it keeps.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::store::LoadedCheckpoint;
pub use crate::runtime::contract::CheckpointMode;

/// Checkpointing of one run.
#[derive(Clone)]
pub struct CheckpointSettings {
    /// Time between the end of one checkpoint and the start of the next (wall clock).
    pub every: Duration,
    pub dir: PathBuf,
    pub mode: CheckpointMode,
    /// Complete checkpoints kept; older ones are deleted.
    pub retain: usize,
    /// The job's name in the directory: in-progress sink files carry it, so a resumed run finds
    /// the files its checkpoint describes.
    pub job: String,
    /// The checkpoint the run starts from.
    pub restore: Option<Arc<LoadedCheckpoint>>,
    /// What restoring found worth saying (rows a sink writes again, …), filled while building.
    pub notes: Arc<Mutex<Vec<String>>>,
}

impl CheckpointSettings {
    pub fn note(&self, text: String) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(text);
        }
    }
}
