//! A pipeline running inside the app: the run handle, smoothed per-node numbers for the canvas, and
//! the history the live charts draw.

pub mod applications;
pub mod axes;
pub mod charts;
pub mod checkpoints;
pub mod controls;
pub mod event_time;
pub mod event_time_matches;
pub mod firehose;
pub mod inject;
pub mod preview;
pub mod results;
pub mod rows_table;
pub mod series_colours;
pub mod shards;
pub mod taps;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::plan::Plan;
use crate::model::{Family, Pipeline};
use crate::runtime::checkpoint::{CheckpointSettings, CheckpointStatus};
use crate::runtime::contract::Collected;
use crate::runtime::metrics::MetricsSnapshot;
use crate::runtime::{RunHandle, RunOptions, RunStatus, Speed, start};

/// How many snapshots of history the charts keep (at 10 Hz: two minutes).
const HISTORY: usize = 1200;
/// Weight of a new reading in the smoothed rates (an exponential moving average).
const SMOOTHING: f64 = 0.3;

/// Numbers shown on a node's card while running.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeLive {
    pub rows_in: u64,
    pub rows_out: u64,
    pub in_per_sec: f64,
    pub out_per_sec: f64,
    pub watermark: Option<i64>,
    pub lag_ms: Option<i64>,
    pub late: u64,
    pub dropped: u64,
    pub throttled: u64,
    /// A stream's consumers: the most any is behind the shards' newest record
    /// (`MillisBehindLatest`), and the records they lost to the retention.
    pub consumers_behind_ms: Option<i64>,
    pub consumers_expired: u64,
    /// A Lambda consumer: how far behind its lanes are, and what its retries cost.
    pub lambda: Option<crate::runtime::lambda_stats::LambdaView>,
    /// A KCL application: its workers, leases and repeats.
    pub kcl: Option<crate::runtime::kcl_stats::KclView>,
    /// A pattern: partial matches per step and the keys furthest along.
    pub pattern: Option<crate::runtime::pattern_stats::PatternView>,
    /// Bytes of state the node saved in the newest complete checkpoint.
    pub state_bytes: Option<u64>,
    pub errors: u64,
    pub late_firings: u64,
    pub open_windows: u64,
    pub keys: u64,
    /// A join: rows held per input, those still waiting for a partner, and those that met
    /// nobody; a lookup join: its table's rows (per instance) and the reloads of its file.
    pub join: JoinLive,
    pub input_fill: f64,
    pub busy: f64,
}

/// What a join holds and matched, as its card shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JoinLive {
    pub held: [u64; 2],
    pub waiting: u64,
    pub unmatched: u64,
    pub reloads: u64,
    pub failed_reloads: u64,
    pub instances: u64,
}

/// One point of history.
#[derive(Debug, Clone)]
pub struct HistoryPoint {
    pub seconds: f64,
    pub out_per_sec: BTreeMap<String, f64>,
    pub lag_ms: BTreeMap<String, f64>,
    /// Per sink: how far (in event time) its watermark trails the sources' newest event, i.e. how
    /// long after an event its final results can arrive.
    pub end_to_end_ms: BTreeMap<String, f64>,
}

pub struct LiveRun {
    pub handle: RunHandle,
    /// The document as it was when the run started, to notice edits.
    pub started_from: Pipeline,
    pub nodes: HashMap<String, NodeLive>,
    pub history: VecDeque<HistoryPoint>,
    pub console: Arc<std::sync::Mutex<VecDeque<String>>>,
    final_status: Option<RunStatus>,
    ended_reported: bool,
    /// Charts and tables frozen by the user: the rows they show, per sink.
    pub frozen: Option<BTreeMap<String, Arc<Collected>>>,
    /// Stepping a paused run until a window fires: the windows' result count when it began, and
    /// the steps taken so far.
    stepping_to_firing: Option<(u64, u32)>,
    /// The run's checkpoint settings, when it takes checkpoints (the restore it started from
    /// included).
    pub checkpoints: Option<CheckpointSettings>,
    /// The run was crashed on purpose (the checkpoint lab's button).
    pub crashed: bool,
}

/// "Step to the next firing" gives up after this many steps (a pipeline whose windows never fire).
const MAX_STEPS_TO_FIRING: u32 = 100_000;

impl LiveRun {
    /// Starts `plan` (made from `pipeline`); `wake` is called whenever new numbers arrive (the
    /// app repaints).
    pub fn start(
        pipeline: Pipeline,
        plan: &Plan,
        speed: Speed,
        checkpoints: Option<CheckpointSettings>,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Self, String> {
        let console: Arc<std::sync::Mutex<VecDeque<String>>> = Default::default();
        let log = Arc::clone(&console);
        let options = RunOptions {
            speed,
            on_update: Some(wake),
            console: Arc::new(move |text: &str| {
                if let Ok(mut lines) = log.lock() {
                    lines.extend(text.lines().map(str::to_string));
                    while lines.len() > 2000 {
                        lines.pop_front();
                    }
                }
            }),
            injectable: true,
            checkpoints: checkpoints.clone(),
            ..RunOptions::default()
        };
        let handle = start(plan, options).map_err(|e| e.to_string())?;
        Ok(Self {
            handle,
            started_from: pipeline,
            nodes: HashMap::new(),
            history: VecDeque::new(),
            console,
            final_status: None,
            ended_reported: false,
            frozen: None,
            stepping_to_firing: None,
            checkpoints,
            crashed: false,
        })
    }

    /// What a Chart or Table sink shows now: its newest rows, or the frozen ones.
    pub fn collected(&self, node: &str) -> Option<Arc<Collected>> {
        if let Some(frozen) = self.frozen.as_ref().and_then(|f| f.get(node)) {
            return Some(Arc::clone(frozen));
        }
        self.handle.collected(node).map(|rows| rows.snapshot())
    }

    /// While paused: steps until one of the windows emits a result.
    pub fn step_to_next_firing(&mut self) {
        self.stepping_to_firing = Some((self.handle.window_results(), 0));
    }

    /// Whether "step to the next firing" is still on its way.
    pub fn is_stepping_to_firing(&self) -> bool {
        self.stepping_to_firing.is_some()
    }

    /// Steps on for a few milliseconds of this frame while no window has fired since stepping
    /// began. Each step waits a moment after a source took it, so the operators downstream see
    /// its batch before the next one comes (the run stops close after the firing).
    fn keep_stepping(&mut self) {
        let Some((before, mut steps)) = self.stepping_to_firing else {
            return;
        };
        let budget = Instant::now() + Duration::from_millis(12);
        let done = loop {
            if self.handle.status() != RunStatus::Paused
                || self.handle.window_results() > before
                || steps >= MAX_STEPS_TO_FIRING
            {
                break true;
            }
            if Instant::now() >= budget {
                break false;
            }
            if !self.handle.step_pending() {
                self.handle.step();
                steps += 1;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        self.stepping_to_firing = (!done).then_some((before, steps));
    }

    /// Takes in the snapshots that arrived since the last frame.
    pub fn update(&mut self) {
        self.keep_stepping();
        let snapshots: Vec<MetricsSnapshot> = self.handle.snapshots().try_iter().collect();
        for snapshot in snapshots {
            self.absorb(&snapshot);
        }
        if self.final_status.is_none() && self.handle.is_done() {
            self.final_status = Some(self.handle.status());
            // Nothing flows any more: the rates are zero, whatever the last reading said.
            for live in self.nodes.values_mut() {
                live.in_per_sec = 0.0;
                live.out_per_sec = 0.0;
                live.input_fill = 0.0;
            }
        }
    }

    /// Whether the run ended since the last frame asked (once per run).
    pub fn just_ended(&mut self) -> Option<RunStatus> {
        if self.ended_reported || self.final_status.is_none() {
            return None;
        }
        self.ended_reported = true;
        self.final_status.clone()
    }

    fn absorb(&mut self, snapshot: &MetricsSnapshot) {
        let mut point = HistoryPoint {
            seconds: snapshot.elapsed.as_secs_f64(),
            out_per_sec: BTreeMap::new(),
            lag_ms: BTreeMap::new(),
            end_to_end_ms: BTreeMap::new(),
        };
        let is_source = |id: &str| {
            self.started_from
                .node(id)
                .is_some_and(|n| n.kind.family() == Family::Source)
        };
        let newest_event = snapshot
            .nodes
            .iter()
            .filter(|n| is_source(&n.node))
            .filter_map(|n| Some(n.watermark? + n.watermark_lag_ms?))
            .max();
        for n in &snapshot.nodes {
            let live = self.nodes.entry(n.node.clone()).or_default();
            let smooth = |old: f64, new: f64| {
                if old == 0.0 {
                    new
                } else {
                    old + SMOOTHING * (new - old)
                }
            };
            live.in_per_sec = smooth(live.in_per_sec, n.rows_in_per_sec);
            live.out_per_sec = smooth(live.out_per_sec, n.rows_out_per_sec);
            live.rows_in = n.rows_in;
            live.rows_out = n.rows_out;
            live.watermark = n.watermark;
            live.lag_ms = n.watermark_lag_ms;
            live.late = n.late_rows;
            live.dropped = n.dropped_rows;
            live.throttled = n.throttled_rows;
            if let Some(stats) = self.handle.shard_stats(&n.node) {
                let view = stats.view();
                live.consumers_behind_ms = view.consumers.iter().map(|c| c.behind_ms).max();
                live.consumers_expired = view.consumers.iter().map(|c| c.expired).sum();
            }
            if let Some(stats) = self.handle.lambda_stats(&n.node) {
                live.lambda = Some(stats.view());
            }
            if let Some(stats) = self.handle.kcl_stats(&n.node) {
                live.kcl = Some(stats.view());
            }
            if let Some(stats) = self.handle.pattern_stats(&n.node) {
                live.pattern = Some(stats.view());
            }
            live.errors = n.error_rows;
            live.late_firings = n.late_firings;
            live.open_windows = n.open_windows;
            live.keys = n.keys;
            live.join = JoinLive {
                held: n.held_rows,
                waiting: n.waiting_rows,
                unmatched: n.unmatched_rows,
                reloads: n.reloads,
                failed_reloads: n.failed_reloads,
                instances: n.instances,
            };
            live.input_fill = n.input_fill;
            live.busy = n.busy_share;
            point.out_per_sec.insert(n.node.clone(), n.rows_out_per_sec);
            if let Some(lag) = n.watermark_lag_ms {
                point.lag_ms.insert(n.node.clone(), lag as f64);
            }
            let is_sink = self
                .started_from
                .node(&n.node)
                .is_some_and(|node| node.kind.family() == Family::Sink);
            if is_sink
                && let (Some(newest), Some(wm)) =
                    (newest_event, n.watermark.filter(|w| *w < i64::MAX))
            {
                point
                    .end_to_end_ms
                    .insert(n.node.clone(), (newest - wm).max(0) as f64);
            }
        }
        if let Some(latest) = self
            .handle
            .checkpoint_history()
            .into_iter()
            .rev()
            .find(|r| r.status == CheckpointStatus::Completed)
        {
            for (node, bytes) in &latest.sizes {
                if let Some(live) = self.nodes.get_mut(node) {
                    live.state_bytes = Some(*bytes);
                }
            }
        }
        // Frozen charts keep their picture; the canvas numbers above still move.
        if self.frozen.is_none() {
            self.history.push_back(point);
        }
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }

    /// Freezes (or thaws) what the charts and tables show; the run itself goes on.
    pub fn toggle_frozen(&mut self) {
        if self.frozen.is_some() {
            self.frozen = None;
            return;
        }
        let mut copies = BTreeMap::new();
        for node in &self.started_from.nodes {
            if let Some(rows) = self.handle.collected(&node.id) {
                copies.insert(node.id.clone(), rows.snapshot());
            }
        }
        self.frozen = Some(copies);
    }

    pub fn status(&self) -> RunStatus {
        self.final_status
            .clone()
            .unwrap_or_else(|| self.handle.status())
    }

    /// Whether the run completed (there is nothing to restore).
    pub fn status_finished(&self) -> bool {
        self.status() == RunStatus::Finished
    }

    pub fn is_active(&self) -> bool {
        matches!(self.status(), RunStatus::Running | RunStatus::Paused)
    }
}
