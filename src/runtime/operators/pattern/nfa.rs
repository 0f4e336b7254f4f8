//! The matching of one partition, as Flink's CEP NFA does it: every partial match (a run) that can
//! take the next row is extended, one branch per way it can (stay in its step, or go on to a later
//! one, skipping optional steps), a fresh run may start at every row, and a run that cannot take
//! the row dies (strict contiguity). A greedy looping step keeps the rows it can take from the
//! steps after it. Completed matches are emitted earliest-start first, never before a partial
//! match that started earlier, and the after-match strategy prunes what overlaps.

use std::sync::Arc;

use super::navigate::{Mapped, MatchedRow};
use crate::model::kinds::pattern::AfterMatch;
use crate::model::kinds::pattern::syntax::Step;

/// The last row a run took, linked to the rows before it: runs that branch share their past, so
/// taking a row costs the same however long the run is (Flink's shared buffer).
#[derive(Debug)]
pub struct Link {
    pub row: Arc<MatchedRow>,
    pub step: usize,
    pub prev: Option<Arc<Link>>,
}

impl Drop for Link {
    /// Lets go of a long chain one link at a time, not by recursion.
    fn drop(&mut self) {
        let mut next = self.prev.take();
        while let Some(link) = next {
            match Arc::try_unwrap(link) {
                Ok(mut link) => next = link.prev.take(),
                Err(_) => break,
            }
        }
    }
}

/// A partial or complete match.
#[derive(Debug, Clone)]
pub struct Run {
    /// Creation order, to keep runs of the same start in a stable order.
    pub id: u64,
    pub start_seq: u64,
    pub start_ts: i64,
    /// The step of the last row taken, and how many rows that step has taken.
    pub step: usize,
    pub count: u32,
    pub tail: Arc<Link>,
}

/// The rows a run took, last first, with their steps: read in place along the links.
#[derive(Clone)]
pub struct TakenRev<'a>(Option<&'a Link>);

impl<'a> TakenRev<'a> {
    /// No rows: a fresh start.
    pub fn none() -> Self {
        Self(None)
    }
}

impl<'a> Iterator for TakenRev<'a> {
    type Item = (&'a MatchedRow, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let link = self.0?;
        self.0 = link.prev.as_deref();
        Some((&link.row, link.step))
    }
}

impl Run {
    /// The rows taken, last first, without copying them.
    pub fn taken_rev(&self) -> TakenRev<'_> {
        TakenRev(Some(&self.tail))
    }

    /// The rows taken, first to last, with their steps.
    pub fn mapped(&self) -> Vec<Mapped> {
        let mut rows = Vec::new();
        let mut at = Some(&self.tail);
        while let Some(link) = at {
            rows.push((Arc::clone(&link.row), link.step));
            at = link.prev.as_ref();
        }
        rows.reverse();
        rows
    }
}

/// The steps run `run` (or a fresh start, `None`) may try the next row at, each given to `each`:
/// its own step (to take one more row, or to learn whether a greedy loop keeps the row), and the
/// steps it may go on to.
pub fn steps_to_try(steps: &[Step], run: Option<&Run>, each: &mut dyn FnMut(usize)) {
    let next = match run {
        Some(r) => {
            let step = &steps[r.step];
            if step.max.is_none_or(|m| r.count < m) || step.is_greedy_loop() {
                each(r.step);
            }
            if r.count < step.min {
                return;
            }
            r.step + 1
        }
        None => 0,
    };
    for (t, step) in steps.iter().enumerate().skip(next) {
        each(t);
        if step.min > 0 {
            break;
        }
    }
}

/// A way a run takes the row: at `step`, as its `count`-th row there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    pub step: usize,
    pub count: u32,
}

/// The ways run `run` (or a fresh start) takes the row, into `out` (emptied first), given
/// `holds(step)`: whether the row meets that step's condition for this run.
pub fn takes(
    steps: &[Step],
    run: Option<&Run>,
    holds: &dyn Fn(usize) -> bool,
    out: &mut Vec<Take>,
) {
    out.clear();
    let next = match run {
        Some(r) => {
            let step = &steps[r.step];
            let own = holds(r.step);
            if step.max.is_none_or(|m| r.count < m) && own {
                out.push(Take {
                    step: r.step,
                    count: r.count + 1,
                });
            }
            // Too few rows to leave the step, or a greedy loop that keeps this row.
            if r.count < step.min || (step.is_greedy_loop() && own) {
                return;
            }
            r.step + 1
        }
        None => 0,
    };
    for (t, step) in steps.iter().enumerate().skip(next) {
        if holds(t) {
            out.push(Take { step: t, count: 1 });
        }
        if step.min > 0 {
            break;
        }
    }
}

/// Whether a run that took a row as `take` is a whole match: it is at the last step with enough
/// rows there (the last step is never greedy, so it stops as soon as it may).
pub fn completes(steps: &[Step], take: Take) -> bool {
    take.step + 1 == steps.len() && take.count >= steps[take.step].min
}

/// Where a match's strategy lets the next match start: runs starting at or before `seq`
/// (`inclusive`) or before it are pruned. `None`: the step to skip to took no row.
pub fn pruning(after: &AfterMatch, skip_step: Option<usize>, m: &Run) -> Option<(u64, bool)> {
    let rows = m.mapped();
    let first = rows.first().map(|(r, _)| r.seq)?;
    let last = rows.last().map(|(r, _)| r.seq)?;
    let of_step = || rows.iter().filter(|(_, s)| Some(*s) == skip_step);
    match after {
        AfterMatch::ToNextRow => Some((first, true)),
        AfterMatch::PastLastRow => Some((last, true)),
        AfterMatch::ToFirst(_) => of_step().next().map(|(r, _)| (r.seq, false)),
        AfterMatch::ToLast(_) => of_step().next_back().map(|(r, _)| (r.seq, false)),
    }
}

/// Whether a run starting at `start` is pruned by `(seq, inclusive)`.
pub fn pruned(start: u64, (seq, inclusive): (u64, bool)) -> bool {
    if inclusive { start <= seq } else { start < seq }
}
