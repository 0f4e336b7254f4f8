//! The handle the CLI and the app control a run with: pause, step, speed, stop and drain; its
//! status, metrics snapshots, the rows of collecting sinks, taps and event-time traces.

use super::checkpoint::store::commit_with_journal;
use super::checkpoint::{CheckpointRecord, Coordinator};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Receiver;

use super::clock::{Clock, Speed};
use super::contract::{CollectedRows, Commits, InstanceMetrics, RunError};
use super::firehose_stats::FirehoseStats;
use super::inject::Injectors;
use super::kcl_stats::KclStats;
use super::lambda_stats::LambdaStats;
use super::metrics::MetricsSnapshot;
use super::pattern_stats::PatternStats;
use super::shard_stats::ShardStats;
use super::tap::Tap;
use super::trace::EventTrace;
use crate::model::Edge;

/// Where a run stands.
#[derive(Debug, Clone, PartialEq)]
pub enum RunStatus {
    Running,
    Paused,
    /// Every source reached its end and every operator finished.
    Finished,
    /// Stopped by the user; sinks were finalized.
    Stopped,
    Failed(RunError),
}

/// What became of the files the run's sinks wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outputs {
    /// Files put in place: the run completed (or was drained to a consistent end).
    pub committed: Vec<std::path::PathBuf>,
    /// The run was stopped: its targets were left as they were, and what was written so far is in
    /// these files (`<stem>.incomplete.<ext>`).
    pub incomplete: Vec<std::path::PathBuf>,
}

/// What the run's threads share with its handle.
pub(crate) struct Shared {
    failure: Mutex<Option<RunError>>,
    commits: Arc<Commits>,
    outputs: Mutex<Outputs>,
    pub(crate) running_tasks: AtomicUsize,
    stopped_by_user: AtomicBool,
    /// Signalled when the last task ends, so the sampler takes its final reading at once.
    pub(crate) all_done: (Mutex<bool>, Condvar),
    /// When the last task ended, measured from the start of the run.
    finished_after: Mutex<Option<Duration>>,
    /// The run's checkpoints, when it takes them.
    checkpoints: Option<Arc<Coordinator>>,
}

impl Shared {
    pub(crate) fn new(
        tasks: usize,
        commits: Arc<Commits>,
        checkpoints: Option<Arc<Coordinator>>,
    ) -> Self {
        Self {
            failure: Mutex::new(None),
            commits,
            outputs: Mutex::new(Outputs::default()),
            running_tasks: AtomicUsize::new(tasks),
            stopped_by_user: AtomicBool::new(false),
            all_done: (Mutex::new(false), Condvar::new()),
            finished_after: Mutex::new(None),
            checkpoints,
        }
    }

    /// Records the first failure and stops the clock, so the sources end.
    pub(crate) fn fail(&self, error: RunError, clock: &Clock) {
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(error);
        }
        clock.stop();
    }

    fn failure(&self) -> Option<RunError> {
        self.failure.lock().ok().and_then(|f| f.clone())
    }

    /// Settles the run's files once every task ended: a completed (or drained) run puts them all
    /// in place, a stopped run keeps them aside as incomplete, a failed run discards them.
    fn settle_outputs(&self, clock: &Clock) {
        let mut outputs = Outputs::default();
        if let Some(coordinator) = &self.checkpoints {
            // With checkpoints, a run that did not complete leaves its in-progress files to
            // `--resume`; a complete one commits them with a journal and marks the job finished.
            coordinator.close();
            let completed = self.failure().is_none() && coordinator.all_finished();
            if completed {
                let dir = &coordinator.settings().dir;
                match commit_with_journal(dir, &self.commits) {
                    Ok(committed) => outputs.committed = committed,
                    Err(error) => self.fail(error, clock),
                }
            } else {
                self.commits.leave_for_resume();
            }
        } else if self.failure().is_some() {
            self.commits.discard();
        } else if self.stopped_by_user.load(Ordering::SeqCst) && !clock.is_draining() {
            outputs.incomplete = self.commits.keep_incomplete();
        } else {
            match self.commits.commit() {
                Ok(committed) => outputs.committed = committed,
                Err(error) => self.fail(error, clock),
            }
        }
        if let Ok(mut slot) = self.outputs.lock() {
            *slot = outputs;
        }
    }

    /// One task ended; the last one settles the files and wakes the sampler.
    pub(crate) fn task_ended(&self, clock: &Clock) {
        if self.running_tasks.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.settle_outputs(clock);
            if let Ok(mut at) = self.finished_after.lock() {
                *at = Some(clock.elapsed());
            }
            let (done, signal) = &self.all_done;
            if let Ok(mut done) = done.lock() {
                *done = true;
            }
            signal.notify_all();
        }
    }
}

/// Controls and observes one run.
pub struct RunHandle {
    pub(crate) clock: Arc<Clock>,
    /// Every instance of every window node.
    pub(crate) window_counters: Vec<Arc<InstanceMetrics>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) snapshots: Receiver<MetricsSnapshot>,
    pub(crate) last_snapshot: Arc<Mutex<Option<MetricsSnapshot>>>,
    pub(crate) threads: Vec<JoinHandle<()>>,
    pub(crate) sampler: Option<JoinHandle<()>>,
    pub(crate) collected: BTreeMap<String, CollectedRows>,
    pub(crate) taps: BTreeMap<Edge, Arc<Tap>>,
    pub(crate) traces: BTreeMap<String, Arc<EventTrace>>,
    pub(crate) injectors: Injectors,
    pub(crate) shard_stats: BTreeMap<String, Arc<ShardStats>>,
    pub(crate) firehose_stats: BTreeMap<String, Arc<FirehoseStats>>,
    pub(crate) lambda_stats: BTreeMap<String, Arc<LambdaStats>>,
    pub(crate) kcl_stats: BTreeMap<String, Arc<KclStats>>,
    pub(crate) pattern_stats: BTreeMap<String, Arc<PatternStats>>,
    pub(crate) coordinator: Option<Arc<Coordinator>>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub status: RunStatus,
    pub wall: Duration,
    pub metrics: MetricsSnapshot,
    pub outputs: Outputs,
}

impl RunHandle {
    pub fn pause(&self) {
        self.clock.pause();
    }
    pub fn resume(&self) {
        self.clock.resume();
    }
    /// While paused: let one more batch (and the watermark after it) through every source.
    pub fn step(&self) {
        self.clock.step();
    }
    /// Whether a step asked for has not been taken by a source yet.
    pub fn step_pending(&self) -> bool {
        self.clock.step_pending()
    }
    /// How many results the run's windows have emitted so far (on time, early and late), read
    /// from their live counters.
    pub fn window_results(&self) -> u64 {
        self.window_counters
            .iter()
            .map(|m| m.rows_out.load(Ordering::Relaxed))
            .sum()
    }
    pub fn set_speed(&self, speed: Speed) {
        self.clock.set_speed(speed);
    }
    pub fn speed(&self) -> Speed {
        self.clock.speed()
    }
    /// Stops the sources; open windows are dropped, sinks finalize their files.
    pub fn stop(&self) {
        self.shared.stopped_by_user.store(true, Ordering::SeqCst);
        self.clock.stop();
    }

    /// Ends the sources as if their input were complete: every open window fires, then the run
    /// finishes (Flink's stop with drain).
    pub fn drain(&self) {
        self.shared.stopped_by_user.store(true, Ordering::SeqCst);
        self.clock.stop_draining();
    }
    /// The newest event time the sources have emitted.
    pub fn event_time(&self) -> Option<i64> {
        self.clock.event_time()
    }
    /// Wall time since the run started; once it ended, how long it took (the clock stops).
    pub fn elapsed(&self) -> Duration {
        if self.shared.running_tasks.load(Ordering::SeqCst) == 0
            && let Some(took) = self.shared.finished_after.lock().ok().and_then(|at| *at)
        {
            return took;
        }
        self.clock.elapsed()
    }

    pub fn status(&self) -> RunStatus {
        if let Some(failure) = self.shared.failure() {
            return RunStatus::Failed(failure);
        }
        if self.shared.running_tasks.load(Ordering::SeqCst) == 0 {
            return if self.shared.stopped_by_user.load(Ordering::SeqCst) {
                RunStatus::Stopped
            } else {
                RunStatus::Finished
            };
        }
        if self.clock.is_paused() {
            RunStatus::Paused
        } else {
            RunStatus::Running
        }
    }

    pub fn is_done(&self) -> bool {
        !matches!(self.status(), RunStatus::Running | RunStatus::Paused)
    }

    /// Metrics snapshots, about every `sample_every`; old ones are dropped, never queued up.
    pub fn snapshots(&self) -> &Receiver<MetricsSnapshot> {
        &self.snapshots
    }

    /// Rows kept by a Chart or Table sink (or any sink with `collect_all_sinks`).
    pub fn collected(&self, node: &str) -> Option<CollectedRows> {
        self.collected.get(node).cloned()
    }

    /// The event-time trace of a window node; enable it to start recording.
    pub fn event_trace(&self, node: &str) -> Option<Arc<EventTrace>> {
        self.traces.get(node).cloned()
    }

    /// The tap of an edge; enable it to start keeping rows.
    /// The shard view of stream node `node`.
    pub fn shard_stats(&self, node: &str) -> Option<Arc<ShardStats>> {
        self.shard_stats.get(node).cloned()
    }

    /// What a KCL application shows: its lease table; and where the app asks a worker to die.
    pub fn kcl_stats(&self, node: &str) -> Option<Arc<KclStats>> {
        self.kcl_stats.get(node).cloned()
    }

    /// The partial matches of pattern node `node`.
    pub fn pattern_stats(&self, node: &str) -> Option<Arc<PatternStats>> {
        self.pattern_stats.get(node).cloned()
    }

    /// What a Lambda consumer shows: its lanes, invocations and duplicates.
    pub fn lambda_stats(&self, node: &str) -> Option<Arc<LambdaStats>> {
        self.lambda_stats.get(node).cloned()
    }

    /// What a Firehose node shows: its buffers and the objects it delivered.
    pub fn firehose_stats(&self, node: &str) -> Option<Arc<FirehoseStats>> {
        self.firehose_stats.get(node).cloned()
    }

    /// Where rows can be injected by hand (every input port, when the run was started with
    /// `injectable`).
    pub fn injectors(&self) -> &Injectors {
        &self.injectors
    }

    pub fn tap(&self, edge: &Edge) -> Option<Arc<Tap>> {
        self.taps.get(edge).cloned()
    }

    /// The run's checkpoints so far, oldest first (empty without checkpoints).
    pub fn checkpoint_history(&self) -> Vec<CheckpointRecord> {
        self.coordinator
            .as_ref()
            .map(|c| c.history())
            .unwrap_or_default()
    }

    /// The run's checkpoint coordinator (its history outlives the handle).
    pub fn coordinator(&self) -> Option<Arc<Coordinator>> {
        self.coordinator.clone()
    }

    /// A crash, as the checkpoint lab plays it: the run stops at once, no checkpoint completes
    /// after this moment, and nothing is committed; a later run resumes from the last checkpoint.
    pub fn crash(&self) {
        if let Some(c) = &self.coordinator {
            c.abort();
        }
        self.stop();
    }

    /// Whether the run takes checkpoints.
    pub fn takes_checkpoints(&self) -> bool {
        self.coordinator.is_some()
    }

    /// Stop-with-savepoint: takes a checkpoint as soon as none is under way, then stops the run;
    /// `--resume` continues from it. Without checkpoints, a plain stop.
    pub fn stop_with_savepoint(&self) {
        match &self.coordinator {
            Some(c) => {
                self.shared.stopped_by_user.store(true, Ordering::SeqCst);
                c.savepoint_and_stop();
            }
            None => self.stop(),
        }
    }

    /// Waits for the run to end and reports it.
    pub fn wait(mut self) -> RunReport {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(c) = &self.coordinator {
            c.close();
        }
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        let metrics = self
            .last_snapshot
            .lock()
            .ok()
            .and_then(|s| s.clone())
            .unwrap_or(MetricsSnapshot {
                elapsed: self.clock.elapsed(),
                nodes: Vec::new(),
            });
        let wall = self
            .shared
            .finished_after
            .lock()
            .ok()
            .and_then(|at| *at)
            .unwrap_or_else(|| self.clock.elapsed());
        let outputs = self
            .shared
            .outputs
            .lock()
            .map(|o| o.clone())
            .unwrap_or_default();
        RunReport {
            status: self.status(),
            wall,
            metrics,
            outputs,
        }
    }
}
