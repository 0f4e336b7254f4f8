//! The session windows of each key, as Flink's merging window assigner keeps them: a row opens
//! `[ts, ts + gap)`, and every session it overlaps or touches (`sessions_merge`) merges with it.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::assign::{TimeWindow, sessions_merge};
use crate::runtime::contract::Timestamp;

/// Per key, session start -> end; the sessions of one key never overlap.
#[derive(Default)]
pub struct Sessions {
    by_key: FxHashMap<u32, BTreeMap<Timestamp, Timestamp>>,
}

/// Where a new session window lands among a key's sessions.
#[derive(Debug, PartialEq, Eq)]
pub struct Placement {
    /// The new window united with every session it merges with.
    pub merged: TimeWindow,
    /// The sessions it merges with.
    pub absorbed: Absorbed,
}

/// The starts of the sessions a new window merges with, newest first. Most rows fall in one
/// session, so one start is held without allocating.
#[derive(Debug, PartialEq, Eq)]
pub enum Absorbed {
    None,
    One(Timestamp),
    Many(Vec<Timestamp>),
}

impl Absorbed {
    fn push(&mut self, start: Timestamp) {
        *self = match std::mem::replace(self, Absorbed::None) {
            Absorbed::None => Absorbed::One(start),
            Absorbed::One(first) => Absorbed::Many(vec![first, start]),
            Absorbed::Many(mut starts) => {
                starts.push(start);
                Absorbed::Many(starts)
            }
        };
    }

    pub fn starts(&self) -> &[Timestamp] {
        match self {
            Absorbed::None => &[],
            Absorbed::One(start) => std::slice::from_ref(start),
            Absorbed::Many(starts) => starts,
        }
    }
}

impl Sessions {
    /// Where `new` lands for `key`; nothing changes until [`Sessions::set`] and [`Sessions::remove`].
    pub fn place(&self, key: u32, new: TimeWindow) -> Placement {
        let mut merged = new;
        let mut absorbed = Absorbed::None;
        if let Some(index) = self.by_key.get(&key) {
            // Sessions starting after `new` ends cannot touch it; below that, ends fall with starts,
            // so the first one that does not touch ends the search.
            for (&start, &end) in index.range(..=new.end).rev() {
                if !sessions_merge(TimeWindow { start, end }, new) {
                    break;
                }
                absorbed.push(start);
                merged.start = merged.start.min(start);
                merged.end = merged.end.max(end);
            }
        }
        Placement { merged, absorbed }
    }

    pub fn set(&mut self, key: u32, window: TimeWindow) {
        self.by_key
            .entry(key)
            .or_default()
            .insert(window.start, window.end);
    }

    pub fn remove(&mut self, key: u32, start: Timestamp) {
        if let Some(index) = self.by_key.get_mut(&key) {
            index.remove(&start);
            if index.is_empty() {
                self.by_key.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(start: i64, end: i64) -> TimeWindow {
        TimeWindow { start, end }
    }

    #[test]
    fn a_row_between_two_sessions_bridges_them_into_one() {
        let mut sessions = Sessions::default();
        sessions.set(1, w(0, 5_000));
        sessions.set(1, w(9_000, 14_000));
        // Gap 5 s: a row at 4.5 s opens [4.5 s, 9.5 s), touching both.
        let placed = sessions.place(1, w(4_500, 9_500));
        assert_eq!(placed.merged, w(0, 14_000));
        assert_eq!(placed.absorbed.starts(), [9_000, 0]);
        // Another key's sessions are its own.
        assert!(
            sessions
                .place(2, w(4_500, 9_500))
                .absorbed
                .starts()
                .is_empty()
        );
    }

    #[test]
    fn sessions_that_only_touch_merge_and_a_gap_of_one_ms_does_not() {
        let mut sessions = Sessions::default();
        sessions.set(1, w(0, 5_000));
        assert_eq!(sessions.place(1, w(5_000, 10_000)).merged, w(0, 10_000));
        assert!(
            sessions
                .place(1, w(5_001, 10_001))
                .absorbed
                .starts()
                .is_empty()
        );
        sessions.remove(1, 0);
        assert!(
            sessions
                .place(1, w(4_000, 9_000))
                .absorbed
                .starts()
                .is_empty()
        );
    }
}
