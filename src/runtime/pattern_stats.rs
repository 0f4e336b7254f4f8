//! What a pattern node shows the app while it runs: how many partial matches wait at each step,
//! and a few keys with the step their furthest partial match reached. Each instance publishes its
//! own part; the app reads them merged. The operator never waits on the app.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The most keys a view lists.
pub const SHOWN_KEYS: usize = 8;

/// One key's furthest partial match.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PartialLine {
    pub key: String,
    pub step: String,
    /// Rows the partial match took so far.
    pub rows: usize,
    /// When its first row happened (event time, ms).
    pub started: i64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PatternView {
    /// Per step, in pattern order: partial matches whose last row is at that step.
    pub at_step: Vec<(String, u64)>,
    /// Complete matches waiting for an earlier-started partial match.
    pub pending: u64,
    /// Rows waiting for the watermark.
    pub waiting: u64,
    pub keys: Vec<PartialLine>,
}

impl PatternView {
    fn merge(&mut self, other: &PatternView) {
        if self.at_step.is_empty() {
            self.at_step = other.at_step.clone();
        } else {
            for (mine, theirs) in self.at_step.iter_mut().zip(&other.at_step) {
                mine.1 += theirs.1;
            }
        }
        self.pending += other.pending;
        self.waiting += other.waiting;
        self.keys.extend(other.keys.iter().cloned());
    }
}

#[derive(Debug, Default)]
pub struct PatternStats {
    parts: Mutex<BTreeMap<u64, PatternView>>,
    next_part: AtomicU64,
}

impl PatternStats {
    /// A slot for one instance to publish into.
    pub fn part(&self) -> u64 {
        self.next_part.fetch_add(1, Relaxed)
    }

    pub fn publish(&self, part: u64, view: PatternView) {
        if let Ok(mut parts) = self.parts.lock() {
            parts.insert(part, view);
        }
    }

    /// Every instance's view, merged; the keys furthest along first.
    pub fn view(&self) -> PatternView {
        let mut merged = PatternView::default();
        if let Ok(parts) = self.parts.lock() {
            for part in parts.values() {
                merged.merge(part);
            }
        }
        merged
            .keys
            .sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.key.cmp(&b.key)));
        merged.keys.truncate(SHOWN_KEYS);
        merged
    }
}
