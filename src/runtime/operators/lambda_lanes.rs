//! The lanes of a Lambda event source mapping (streaming-facts §3): one per shard, or per shard
//! and partition-key group with a parallelization factor. A lane forms batches from the records
//! at its head, one at a time, and is blocked by a failing one until it succeeds, is given up on
//! (its retries or its records' age run out), or — bisected, or checkpointed at the reported item
//! failure — narrows down to what fails. Pure bookkeeping: the operator evaluates the function.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// A record waiting in a lane.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Waiting {
    /// The stored input batch and row holding it.
    pub batch: u64,
    pub row: u32,
    pub arrival: i64,
    /// Its number among all records the node took: what a held watermark waits for.
    pub written: u64,
    /// How often its output was emitted so far (more than once: a duplicate).
    pub deliveries: u32,
}

/// Positions `start..end` of the lane (counted from its first record ever) tried as one batch,
/// and how often it was retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub start: u64,
    pub end: u64,
    pub retries: u32,
}

impl Span {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// What an invocation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    /// The function threw on the record at this position.
    FailedAt(u64),
}

/// What became of a span after its invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// These records are done (their output stands).
    Committed(Span),
    /// Given up on: to the on-failure destination, with the condition.
    Discarded(Span, &'static str),
    /// To be tried again later (retried, or bisected, or what follows a reported failure).
    Again,
}

/// How a lane treats failures.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub batch_size: usize,
    pub batching_window_ms: i64,
    /// `None`: retried until the records expire.
    pub maximum_retry_attempts: Option<u32>,
    pub maximum_record_age_ms: i64,
    pub bisect: bool,
    pub report_item_failures: bool,
}

/// Saved whole in checkpoints.
#[derive(Debug, Serialize, Deserialize)]
pub struct Lane {
    pub shard: String,
    /// The position of `queue[0]`.
    base: u64,
    queue: VecDeque<Waiting>,
    /// Spans to try before forming a new batch, in order (retries, halves).
    spans: VecDeque<Span>,
    /// It may invoke again from then on.
    pub busy_until: i64,
    /// Since when its head has been failing, if it is.
    pub failing_since: Option<i64>,
}

impl Lane {
    pub fn new(shard: String) -> Self {
        Self {
            shard,
            base: 0,
            queue: VecDeque::new(),
            spans: VecDeque::new(),
            busy_until: i64::MIN,
            failing_since: None,
        }
    }

    pub fn push(&mut self, record: Waiting) {
        self.queue.push_back(record);
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// The record at position `at`.
    pub fn get(&self, at: u64) -> Option<&Waiting> {
        at.checked_sub(self.base)
            .and_then(|i| self.queue.get(i as usize))
    }

    pub fn get_mut(&mut self, at: u64) -> Option<&mut Waiting> {
        at.checked_sub(self.base)
            .and_then(|i| self.queue.get_mut(i as usize))
    }

    /// The input batch of the oldest record waiting.
    pub fn first_batch(&self) -> Option<u64> {
        self.queue.front().map(|w| w.batch)
    }

    /// The first record not yet done: its number among all records, for watermarks.
    pub fn first_unresolved(&self) -> Option<u64> {
        self.queue.front().map(|w| w.written)
    }

    /// How long the oldest record waiting has waited by `now`.
    pub fn behind_ms(&self, now: i64) -> i64 {
        self.queue.front().map_or(0, |w| (now - w.arrival).max(0))
    }

    /// The oldest span whose records are older than the maximum age at `now`, taken off the
    /// lane: AWS gives up on them.
    pub fn expired(&mut self, now: i64, policy: &Policy) -> Option<Span> {
        let head = self.queue.front()?;
        if head.arrival.saturating_add(policy.maximum_record_age_ms) > now {
            return None;
        }
        let span = match self.spans.front() {
            Some(span) => *span,
            None => {
                // The records that are too old, as far as one batch goes.
                let old = self
                    .queue
                    .iter()
                    .take(policy.batch_size)
                    .take_while(|w| w.arrival.saturating_add(policy.maximum_record_age_ms) <= now)
                    .count() as u64;
                Span {
                    start: self.base,
                    end: self.base + old.max(1),
                    retries: 0,
                }
            }
        };
        Some(span)
    }

    /// The span to invoke at `now`, if the lane is free and has one: what is to be tried again
    /// first, else the records that arrived by `now`, up to a batch, once the batch is full or
    /// the batching window has passed.
    pub fn next_span(&self, now: i64, policy: &Policy) -> Option<Span> {
        if self.busy_until > now {
            return None;
        }
        if let Some(span) = self.spans.front() {
            return Some(*span);
        }
        let ready = self
            .queue
            .iter()
            .take(policy.batch_size)
            .take_while(|w| w.arrival <= now)
            .count();
        if ready == 0 {
            return None;
        }
        let first = self.queue.front()?.arrival;
        if ready < policy.batch_size && now - first < policy.batching_window_ms {
            return None;
        }
        Some(Span {
            start: self.base,
            end: self.base + ready as u64,
            retries: 0,
        })
    }

    /// Settles `span` after an invocation with `outcome` at `now`: what is done leaves the lane.
    pub fn settle(
        &mut self,
        span: Span,
        outcome: Outcome,
        now: i64,
        policy: &Policy,
    ) -> Vec<Settled> {
        if self.spans.front() == Some(&span) {
            self.spans.pop_front();
        }
        let mut settled = Vec::new();
        match outcome {
            Outcome::Succeeded => {
                self.failing_since = if self.spans.is_empty() {
                    None
                } else {
                    self.failing_since
                };
                settled.push(Settled::Committed(span));
            }
            Outcome::FailedAt(at) => {
                self.failing_since.get_or_insert(now);
                let mut rest = span;
                if policy.report_item_failures && at > span.start {
                    // The function named the failing record: what came before is checkpointed.
                    settled.push(Settled::Committed(Span {
                        start: span.start,
                        end: at,
                        retries: span.retries,
                    }));
                    rest.start = at;
                }
                let mut again = Vec::new();
                if policy.bisect && rest.len() > 1 {
                    // Splitting is not a retry. With a reported failure, the split falls there.
                    let mid = if policy.report_item_failures {
                        rest.start + 1
                    } else {
                        rest.start + rest.len() / 2
                    };
                    again.push(Span { end: mid, ..rest });
                    again.push(Span { start: mid, ..rest });
                } else {
                    rest.retries += 1;
                    if policy
                        .maximum_retry_attempts
                        .is_some_and(|max| rest.retries > max)
                    {
                        settled.push(Settled::Discarded(rest, "RetryAttemptsExhausted"));
                    } else {
                        again.push(rest);
                    }
                }
                if !again.is_empty() {
                    settled.push(Settled::Again);
                }
                for span in again.into_iter().rev() {
                    self.spans.push_front(span);
                }
            }
        }
        settled
    }

    /// Takes the records of `span`, which must be at the head, off the lane.
    pub fn remove(&mut self, span: Span) -> Vec<Waiting> {
        let mut removed = Vec::new();
        while self.base < span.end {
            match self.queue.pop_front() {
                Some(w) => removed.push(w),
                None => break,
            }
            self.base += 1;
        }
        // Spans that pointed into what left are gone with it.
        self.spans.retain(|s| s.start >= self.base);
        if self.spans.is_empty() && self.queue.is_empty() {
            self.failing_since = None;
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retries: Option<u32>, bisect: bool, items: bool) -> Policy {
        Policy {
            batch_size: 10,
            batching_window_ms: 0,
            maximum_retry_attempts: retries,
            maximum_record_age_ms: 24 * 3_600_000,
            bisect,
            report_item_failures: items,
        }
    }

    /// (first record, last record, outcome) of one invocation.
    type Invocation = (u64, u64, &'static str);

    /// Ten records 1..=10 (positions 0..10), the 7th (position 6) poison; plays invocations
    /// until the lane is empty and returns each as (first, last, outcome) in record numbers.
    fn play(policy: Policy) -> (Vec<Invocation>, Vec<(u64, u64)>) {
        let mut lane = Lane::new("shardId-000000000000".into());
        for i in 0..10 {
            lane.push(Waiting {
                batch: 0,
                row: i,
                arrival: 0,
                written: u64::from(i),
                deliveries: 0,
            });
        }
        let mut invocations = Vec::new();
        let mut discarded = Vec::new();
        let mut now = 0;
        while let Some(span) = lane.next_span(now, &policy) {
            let poison = 6;
            let outcome = if (span.start..span.end).contains(&poison) {
                Outcome::FailedAt(poison)
            } else {
                Outcome::Succeeded
            };
            invocations.push((
                span.start + 1,
                span.end,
                if outcome == Outcome::Succeeded {
                    "ok"
                } else {
                    "error"
                },
            ));
            for settled in lane.settle(span, outcome, now, &policy) {
                match settled {
                    Settled::Committed(s) => {
                        lane.remove(s);
                    }
                    Settled::Discarded(s, _) => {
                        discarded.push((s.start + 1, s.end));
                        lane.remove(s);
                    }
                    Settled::Again => {}
                }
            }
            now += 1_000;
            assert!(invocations.len() < 50);
        }
        (invocations, discarded)
    }

    #[test]
    fn without_bisect_the_whole_batch_is_retried_until_the_retries_run_out() {
        // MaximumRetryAttempts 2: the first attempt and two retries, then the on-failure
        // destination gets the batch; nothing after the poison record is processed.
        let (invocations, discarded) = play(policy(Some(2), false, false));
        assert_eq!(
            invocations,
            [(1, 10, "error"), (1, 10, "error"), (1, 10, "error")]
        );
        assert_eq!(discarded, [(1, 10)]);
    }

    #[test]
    fn bisecting_halves_the_failing_batch_without_counting_retries() {
        // 1-10 fails: 1-5 succeeds, 6-10 fails: 6-7 fails: 6 succeeds, 7 alone fails, and is
        // retried twice (those count), then given up; 8-10 succeeds.
        let (invocations, discarded) = play(policy(Some(2), true, false));
        assert_eq!(
            invocations,
            [
                (1, 10, "error"),
                (1, 5, "ok"),
                (6, 10, "error"),
                (6, 7, "error"),
                (6, 6, "ok"),
                (7, 7, "error"),
                (7, 7, "error"),
                (7, 7, "error"),
                (8, 10, "ok"),
            ]
        );
        assert_eq!(discarded, [(7, 7)]);
    }

    #[test]
    fn a_reported_item_failure_checkpoints_what_came_before() {
        // 1-6 are done after the first attempt; 7-10 are retried from the poison record on.
        let (invocations, discarded) = play(policy(Some(1), false, true));
        assert_eq!(invocations, [(1, 10, "error"), (7, 10, "error")]);
        assert_eq!(discarded, [(7, 10)]);
        // With bisect as well, the split falls at the reported record.
        let (invocations, discarded) = play(policy(Some(1), true, true));
        assert_eq!(
            invocations,
            [
                (1, 10, "error"),
                (7, 7, "error"),
                (7, 7, "error"),
                (8, 10, "ok")
            ]
        );
        assert_eq!(discarded, [(7, 7)]);
    }

    #[test]
    fn a_batch_waits_for_the_window_unless_it_is_full() {
        let mut policy = policy(None, false, false);
        policy.batching_window_ms = 5_000;
        let mut lane = Lane::new("s".into());
        for i in 0..3 {
            lane.push(Waiting {
                batch: 0,
                row: i,
                arrival: i64::from(i) * 1_000,
                written: u64::from(i),
                deliveries: 0,
            });
        }
        assert_eq!(
            lane.next_span(4_000, &policy),
            None,
            "3 of 10, 4 s into a 5 s window"
        );
        assert_eq!(lane.next_span(5_000, &policy).map(|s| s.len()), Some(3));
        policy.batch_size = 3;
        assert_eq!(
            lane.next_span(2_000, &policy).map(|s| s.len()),
            Some(3),
            "full"
        );
    }
}
