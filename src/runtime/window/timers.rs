//! Event-time timers of a window operator, as Flink's `InternalTimerService` orders them: by time,
//! then key, then window start, so windows fire in the same order on every run.

use std::collections::BTreeSet;

use crate::runtime::contract::Timestamp;

/// Timers of one purpose (firing, clean-up, early results): `(time, key, window start)`.
#[derive(Default)]
pub struct TimerQueue {
    timers: BTreeSet<(Timestamp, u32, Timestamp)>,
}

impl TimerQueue {
    pub fn insert(&mut self, at: Timestamp, key: u32, start: Timestamp) {
        self.timers.insert((at, key, start));
    }

    pub fn len(&self) -> usize {
        self.timers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timers.is_empty()
    }

    /// The earliest timer, left in the queue.
    pub fn peek(&self) -> Option<(Timestamp, u32, Timestamp)> {
        self.timers.first().copied()
    }

    /// The earliest timer at or before `watermark`, taken out of the queue.
    pub fn pop_due(&mut self, watermark: Timestamp) -> Option<(Timestamp, u32, Timestamp)> {
        let &first = self.timers.first()?;
        if first.0 > watermark {
            return None;
        }
        self.timers.pop_first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_come_due_in_time_then_key_then_window_order() {
        let mut queue = TimerQueue::default();
        queue.insert(9_999, 2, 0);
        queue.insert(9_999, 1, 5_000);
        queue.insert(4_999, 7, 0);
        queue.insert(20_000, 0, 0);
        let mut due = Vec::new();
        while let Some(timer) = queue.pop_due(10_000) {
            due.push(timer);
        }
        assert_eq!(due, vec![(4_999, 7, 0), (9_999, 1, 5_000), (9_999, 2, 0)]);
        assert_eq!(queue.pop_due(19_999), None);
        assert_eq!(queue.pop_due(20_000), Some((20_000, 0, 0)));
    }
}
