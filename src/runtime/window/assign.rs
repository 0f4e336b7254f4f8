//! Window assignment with Flink's exact formulas (TimeWindow.getWindowStartWithOffset and the
//! sliding assigner), so results match Flink's to the millisecond.

use crate::runtime::contract::Timestamp;

/// Which windows a row belongs to.
#[derive(Debug, Clone, Copy)]
pub enum Assigner {
    Tumbling { size: i64, offset: i64 },
    Sliding { size: i64, slide: i64, offset: i64 },
    Session { gap: i64 },
}

/// `[start, end)`; its last instant is `end - 1` (Flink's `maxTimestamp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimeWindow {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl TimeWindow {
    pub fn max_timestamp(self) -> Timestamp {
        self.end - 1
    }
}

/// The start of the window of `size` containing `ts`, windows aligned to the epoch plus `offset`.
pub fn window_start(ts: Timestamp, offset: i64, size: i64) -> Timestamp {
    let remainder = (ts - offset) % size;
    if remainder < 0 {
        ts - (remainder + size)
    } else {
        ts - remainder
    }
}

/// The one tumbling window holding `ts`.
#[inline]
pub fn tumbling(ts: Timestamp, size: i64, offset: i64) -> TimeWindow {
    let start = window_start(ts, offset, size);
    TimeWindow {
        start,
        end: start + size,
    }
}

/// Every sliding window holding `ts`, newest start first (as Flink lists them).
#[inline]
pub fn sliding(ts: Timestamp, size: i64, slide: i64, offset: i64, into: &mut Vec<TimeWindow>) {
    into.clear();
    let last_start = window_start(ts, offset, slide);
    let mut start = last_start;
    while start > ts - size {
        into.push(TimeWindow {
            start,
            end: start + size,
        });
        start -= slide;
    }
}

/// The fixed windows holding `ts` (none for sessions, which are found by merging).
#[inline]
pub fn assign(assigner: Assigner, ts: Timestamp, into: &mut Vec<TimeWindow>) {
    match assigner {
        Assigner::Tumbling { size, offset } => {
            into.clear();
            into.push(tumbling(ts, size, offset));
        }
        Assigner::Sliding {
            size,
            slide,
            offset,
        } => sliding(ts, size, slide, offset, into),
        Assigner::Session { .. } => into.clear(),
    }
}

/// Whether two session windows overlap or touch and so merge (Flink's `intersects`).
pub fn sessions_merge(a: TimeWindow, b: TimeWindow) -> bool {
    a.start <= b.end && a.end >= b.start
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    #[test]
    fn tumbling_windows_align_to_the_epoch() {
        assert_eq!(
            tumbling(5 * MIN, 10 * MIN, 0),
            TimeWindow {
                start: 0,
                end: 10 * MIN
            }
        );
        assert_eq!(tumbling(10 * MIN - 1, 10 * MIN, 0).start, 0);
    }

    #[test]
    fn a_row_exactly_on_a_boundary_opens_the_next_window() {
        assert_eq!(
            tumbling(10 * MIN, 10 * MIN, 0),
            TimeWindow {
                start: 10 * MIN,
                end: 20 * MIN
            }
        );
    }

    #[test]
    fn negative_timestamps_fall_in_the_window_before_the_epoch() {
        assert_eq!(
            tumbling(-1, 1000, 0),
            TimeWindow {
                start: -1000,
                end: 0
            }
        );
        assert_eq!(
            tumbling(-1000, 1000, 0),
            TimeWindow {
                start: -1000,
                end: 0
            }
        );
        assert_eq!(
            tumbling(-1001, 1000, 0),
            TimeWindow {
                start: -2000,
                end: -1000
            }
        );
    }

    #[test]
    fn offsets_shift_the_grid_as_in_flinks_docs() {
        // 1 h windows with a 15 min offset: 1:15 - 2:14:59.999.
        let hour = 60 * MIN;
        let w = tumbling(hour + 20 * MIN, hour, 15 * MIN);
        assert_eq!(
            w,
            TimeWindow {
                start: hour + 15 * MIN,
                end: 2 * hour + 15 * MIN
            }
        );
        assert_eq!(w.max_timestamp(), 2 * hour + 15 * MIN - 1);
        // Negative offsets (time zones east of UTC).
        assert_eq!(tumbling(0, 24 * hour, -8 * hour).start, -8 * hour);
    }

    #[test]
    fn sliding_windows_hold_size_over_slide_windows() {
        let mut windows = Vec::new();
        sliding(7 * MIN, 10 * MIN, 5 * MIN, 0, &mut windows);
        assert_eq!(
            windows,
            vec![
                TimeWindow {
                    start: 5 * MIN,
                    end: 15 * MIN
                },
                TimeWindow {
                    start: 0,
                    end: 10 * MIN
                },
            ]
        );
        sliding(10 * MIN, 10 * MIN, 5 * MIN, 0, &mut windows);
        assert_eq!(windows[0].start, 10 * MIN);
        assert_eq!(windows[1].start, 5 * MIN);
        sliding(-1, 1000, 300, 0, &mut windows);
        assert!(windows.iter().all(|w| w.start <= -1 && -1 < w.end));
        assert_eq!(windows.len(), 3);
    }

    #[test]
    fn touching_sessions_merge() {
        let a = TimeWindow { start: 0, end: 10 };
        assert!(sessions_merge(a, TimeWindow { start: 10, end: 20 }));
        assert!(sessions_merge(a, TimeWindow { start: 5, end: 15 }));
        assert!(!sessions_merge(a, TimeWindow { start: 11, end: 21 }));
    }
}
