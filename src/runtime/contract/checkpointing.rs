//! What operators and sinks are told when the run takes checkpoints: the mode, whether they start
//! from saved state, and where to say what restoring found.

use std::sync::{Arc, Mutex};

/// Whether an operator with several inputs waits for the barrier on all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckpointMode {
    /// Aligned barriers and sinks that keep only what a checkpoint covers: after a restore every
    /// row is in the outputs exactly once.
    ExactlyOnce,
    /// No alignment (an input whose barrier came keeps flowing) and sinks that keep what they
    /// wrote after the checkpoint: after a restore those rows are written again.
    AtLeastOnce,
}

impl CheckpointMode {
    pub fn name(self) -> &'static str {
        match self {
            CheckpointMode::ExactlyOnce => "exactly-once",
            CheckpointMode::AtLeastOnce => "at-least-once",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "exactly-once" | "exactly_once" => Some(CheckpointMode::ExactlyOnce),
            "at-least-once" | "at_least_once" => Some(CheckpointMode::AtLeastOnce),
            _ => None,
        }
    }
}

/// Checkpointing as one operator instance sees it.
#[derive(Clone)]
pub struct Checkpointing {
    pub mode: CheckpointMode,
    /// The run starts from a checkpoint: `restore_state` will be called before any message.
    pub restoring: bool,
    /// What restoring found worth saying (rows a sink writes again, …).
    pub notes: Arc<Mutex<Vec<String>>>,
}

impl Checkpointing {
    pub fn note(&self, text: String) {
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(text);
        }
    }
}
