//! Starting a run: channels between operator instances, one named thread per instance, a metrics
//! sampler; and the handle the CLI and the app control it with.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::build::{NodeContext, build_operator, build_source, partition_keys};
use super::clock::{Clock, Speed};
use super::error::{RunError, panic_message};
use super::keys::KeyEncoder;
use super::message::Message;
use super::metrics::{InstanceMetrics, MetricsSnapshot, NodeMetrics, Sampler};
use super::operator::{OpResult, Operator};
use super::outputs::{EdgeSender, Output, Partitioning, SendFailure};
use super::source::run_source;
use super::tap::Tap;
use super::task::{Input, TaskEnd, run_operator};
use super::trace::EventTrace;
use crate::connectors::collector::{Collected, CollectedRows, CollectorSink};
use crate::connectors::console::ConsoleWriter;
use crate::model::node::NodeKind;
use crate::model::{Edge, Pipeline, Severity, validate};

/// How to run.
#[derive(Clone)]
pub struct RunOptions {
    pub speed: Speed,
    /// Instances of each keyed node unless the node sets `parallelism`; default: the cores.
    pub parallelism: usize,
    /// Messages each edge buffers before the sender waits (backpressure).
    pub channel_capacity: usize,
    pub console: ConsoleWriter,
    /// Rows kept by each Chart and Table sink.
    pub collector_max_rows: usize,
    /// Also keep the rows of every sink in memory (tests read results this way).
    pub collect_all_sinks: bool,
    /// How often metrics are sampled.
    pub sample_every: Duration,
    /// Called after each metrics snapshot (the app requests a repaint here).
    pub on_update: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            speed: Speed::Max,
            parallelism: std::thread::available_parallelism().map_or(2, |n| n.get()),
            channel_capacity: 16,
            console: Arc::new(|text: &str| println!("{text}")),
            collector_max_rows: 100_000,
            collect_all_sinks: false,
            sample_every: Duration::from_millis(100),
            on_update: None,
        }
    }
}

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

struct Shared {
    failure: Mutex<Option<RunError>>,
    running_tasks: AtomicUsize,
    stopped_by_user: AtomicBool,
    /// Signalled when the last task ends, so the sampler takes its final reading at once.
    all_done: (Mutex<bool>, Condvar),
    /// When the last task ended, measured from the start of the run.
    finished_after: Mutex<Option<Duration>>,
}

impl Shared {
    fn fail(&self, error: RunError, clock: &Clock) {
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
}

/// Controls and observes one run.
pub struct RunHandle {
    clock: Arc<Clock>,
    shared: Arc<Shared>,
    snapshots: Receiver<MetricsSnapshot>,
    last_snapshot: Arc<Mutex<Option<MetricsSnapshot>>>,
    threads: Vec<JoinHandle<()>>,
    sampler: Option<JoinHandle<()>>,
    collected: BTreeMap<String, CollectedRows>,
    taps: BTreeMap<Edge, Arc<Tap>>,
    traces: BTreeMap<String, Arc<EventTrace>>,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    pub status: RunStatus,
    pub wall: Duration,
    pub metrics: MetricsSnapshot,
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
    pub fn elapsed(&self) -> Duration {
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
    pub fn tap(&self, edge: &Edge) -> Option<Arc<Tap>> {
        self.taps.get(edge).cloned()
    }

    /// Waits for the run to end and reports it.
    pub fn wait(mut self) -> RunReport {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
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
        RunReport {
            status: self.status(),
            wall,
            metrics,
        }
    }
}

/// Keeps a copy of a sink's rows in memory as well.
struct TeeSink {
    inner: Box<dyn Operator>,
    copy: CollectorSink,
}

impl Operator for TeeSink {
    fn on_batch(
        &mut self,
        port: usize,
        batch: arrow::record_batch::RecordBatch,
        out: &mut Output,
    ) -> OpResult {
        self.copy.on_batch(port, batch.clone(), out)?;
        self.inner.on_batch(port, batch, out)
    }
    fn on_end(&mut self, out: &mut Output) -> OpResult {
        self.copy.on_end(out)?;
        self.inner.on_end(out)
    }
    fn on_abort(&mut self) {
        self.inner.on_abort();
    }
}

/// The body of one operator thread.
type Task = Box<dyn FnOnce() -> Result<TaskEnd, SendFailure> + Send>;

struct Instance {
    metrics: Arc<InstanceMetrics>,
    inputs: Vec<Input>,
    ports: Vec<Vec<EdgeSender>>,
}

/// Validates `pipeline` and starts it. Refuses a pipeline with errors, listing them all.
pub fn start(
    pipeline: &Pipeline,
    base_dir: &Path,
    options: RunOptions,
) -> Result<RunHandle, RunError> {
    let validation = validate(pipeline, base_dir);
    let errors: Vec<String> = validation
        .problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .map(|p| p.to_string())
        .collect();
    if !errors.is_empty() {
        return Err(RunError::general(format!(
            "the pipeline has {} error(s):\n{}",
            errors.len(),
            errors.join("\n")
        )));
    }
    let schemas = &validation.schemas;
    let parallelism: Vec<usize> = pipeline
        .nodes
        .iter()
        .map(|n| match partition_keys(n) {
            Some(_) => n
                .parallelism
                .map_or(options.parallelism, |p| p as usize)
                .max(1),
            None => 1,
        })
        .collect();
    let index_of = |id: &str| pipeline.nodes.iter().position(|n| n.id == id);

    // Instances with their metrics and empty port lists.
    let mut instances: Vec<Vec<Instance>> = Vec::new();
    let mut node_metrics = Vec::new();
    for (i, node) in pipeline.nodes.iter().enumerate() {
        let input_channels: usize = node
            .kind
            .input_ports()
            .iter()
            .map(|port| {
                pipeline
                    .edges
                    .iter()
                    .filter(|e| e.to.node == node.id && e.to.port == *port)
                    .map(|e| index_of(&e.from.node).map_or(0, |f| parallelism[f]))
                    .sum::<usize>()
            })
            .sum();
        let list: Vec<Instance> = (0..parallelism[i])
            .map(|_| Instance {
                metrics: Arc::new(InstanceMetrics::new(input_channels)),
                inputs: Vec::new(),
                ports: node
                    .kind
                    .output_ports()
                    .iter()
                    .map(|_| Vec::new())
                    .collect(),
            })
            .collect();
        node_metrics.push(NodeMetrics {
            node: node.id.clone(),
            instances: list.iter().map(|inst| Arc::clone(&inst.metrics)).collect(),
        });
        instances.push(list);
    }

    // One channel per (sending instance, receiving instance) pair of every edge, so each channel
    // has exactly one sender and its End means that sender is done.
    let mut taps = BTreeMap::new();
    for edge in &pipeline.edges {
        let (Some(from), Some(to)) = (index_of(&edge.from.node), index_of(&edge.to.node)) else {
            continue;
        };
        let out_port = pipeline.nodes[from]
            .kind
            .output_ports()
            .iter()
            .position(|p| *p == edge.from.port)
            .unwrap_or(0);
        let in_port = pipeline.nodes[to]
            .kind
            .input_ports()
            .iter()
            .position(|p| *p == edge.to.port)
            .unwrap_or(0);
        let tap = Arc::new(Tap::new());
        taps.insert(edge.clone(), Arc::clone(&tap));
        let schema = schemas
            .output(&edge.from.node, &edge.from.port)
            .cloned()
            .ok_or_else(|| RunError::general(format!("no schema for `{edge}`")))?;
        for sender_instance in 0..parallelism[from] {
            let mut senders: Vec<Sender<Message>> = Vec::new();
            for receiver in instances[to].iter_mut() {
                let (tx, rx) = bounded(options.channel_capacity.max(1));
                senders.push(tx);
                receiver.inputs.push(Input { rx, port: in_port });
            }
            let partitioning = match partition_keys(&pipeline.nodes[to]) {
                Some(keys) if parallelism[to] > 1 => Partitioning::Hash(
                    KeyEncoder::new(&schema, keys)
                        .map_err(|e| RunError::in_node(&pipeline.nodes[to].id, e.message))?,
                ),
                _ => Partitioning::Forward,
            };
            instances[from][sender_instance].ports[out_port].push(EdgeSender {
                senders,
                partitioning,
                tap: Arc::clone(&tap),
            });
        }
    }

    let clock = Arc::new(Clock::new(options.speed));
    let shared = Arc::new(Shared {
        failure: Mutex::new(None),
        running_tasks: AtomicUsize::new(0),
        stopped_by_user: AtomicBool::new(false),
        all_done: (Mutex::new(false), Condvar::new()),
        finished_after: Mutex::new(None),
    });
    let mut collected = BTreeMap::new();
    let mut traces: BTreeMap<String, Arc<EventTrace>> = BTreeMap::new();
    let mut threads = Vec::new();
    let total_tasks: usize = instances.iter().map(Vec::len).sum();
    shared.running_tasks.store(total_tasks, Ordering::SeqCst);

    // Build every operator before starting any thread, so a build error starts nothing.
    let mut ready: Vec<(String, Task)> = Vec::new();
    for (node_index, list) in instances.into_iter().enumerate() {
        let node = &pipeline.nodes[node_index];
        let ctx = NodeContext {
            node,
            base_dir,
            inputs: node
                .kind
                .input_ports()
                .iter()
                .filter_map(|p| schemas.input(pipeline, &node.id, p).cloned())
                .collect(),
            outputs: node
                .kind
                .output_ports()
                .iter()
                .filter_map(|p| schemas.output(&node.id, p).cloned())
                .collect(),
            input_time: node.kind.input_ports().first().and_then(|p| {
                let edge = pipeline
                    .edges
                    .iter()
                    .find(|e| e.to.node == node.id && e.to.port == *p)?;
                validation.times.get(&edge.from).cloned()
            }),
            console: Arc::clone(&options.console),
            collector_max_rows: options.collector_max_rows,
            trace: match &node.kind {
                NodeKind::Window(w) => Some(
                    traces
                        .entry(node.id.clone())
                        .or_insert_with(|| {
                            Arc::new(EventTrace::new(w.allowed_lateness.as_millis()))
                        })
                        .clone(),
                ),
                _ => None,
            },
        };
        let instance_count = list.len();
        for (n, instance) in list.into_iter().enumerate() {
            let name = if instance_count > 1 {
                format!("{}#{n}", node.id)
            } else {
                node.id.clone()
            };
            let metrics = Arc::clone(&instance.metrics);
            let mut out = Output::new(instance.ports, Arc::clone(&metrics));
            let task: Task = match &node.kind {
                NodeKind::Source(_) => {
                    let (source, time) = build_source(&ctx)?;
                    let clock = Arc::clone(&clock);
                    Box::new(move || run_source(source, time, &mut out, metrics, &clock))
                }
                _ => {
                    let (mut op, rows) = build_operator(&ctx, &metrics)?;
                    let mut rows = rows;
                    if rows.is_none()
                        && options.collect_all_sinks
                        && matches!(node.kind, NodeKind::Sink(_))
                    {
                        let copy: CollectedRows = Arc::new(Mutex::new(Collected::default()));
                        op = Box::new(TeeSink {
                            inner: op,
                            copy: CollectorSink {
                                rows: Arc::clone(&copy),
                                max_rows: usize::MAX,
                            },
                        });
                        rows = Some(copy);
                    }
                    if let Some(rows) = rows {
                        collected.insert(node.id.clone(), rows);
                    }
                    let inputs = instance.inputs;
                    Box::new(move || run_operator(op, inputs, out, metrics))
                }
            };
            ready.push((name, task));
        }
    }
    for (name, task) in ready {
        let clock = Arc::clone(&clock);
        let shared = Arc::clone(&shared);
        let node_id = name.split('#').next().unwrap_or(&name).to_string();
        let thread = std::thread::Builder::new()
            .name(format!("eddy-{name}"))
            .spawn(move || {
                let outcome = catch_unwind(AssertUnwindSafe(task));
                match outcome {
                    Ok(Ok(_)) | Ok(Err(SendFailure::Disconnected)) => {}
                    Ok(Err(SendFailure::Failed(mut error))) => {
                        error.node.get_or_insert(node_id);
                        shared.fail(error, &clock);
                    }
                    Err(panic) => shared.fail(
                        RunError::in_node(&node_id, panic_message(panic.as_ref())),
                        &clock,
                    ),
                }
                if shared.running_tasks.fetch_sub(1, Ordering::SeqCst) == 1 {
                    if let Ok(mut at) = shared.finished_after.lock() {
                        *at = Some(clock.elapsed());
                    }
                    let (done, signal) = &shared.all_done;
                    if let Ok(mut done) = done.lock() {
                        *done = true;
                    }
                    signal.notify_all();
                }
            })
            .map_err(|e| RunError::general(format!("cannot start a thread: {e}")))?;
        threads.push(thread);
    }

    // The sampler publishes snapshots on a small channel, dropping them rather than waiting.
    let (snapshot_tx, snapshot_rx) = bounded(4);
    let last_snapshot = Arc::new(Mutex::new(None));
    let sampler = {
        let shared = Arc::clone(&shared);
        let clock = Arc::clone(&clock);
        let last = Arc::clone(&last_snapshot);
        let every = options.sample_every;
        let on_update = options.on_update.clone();
        let oldest = snapshot_rx.clone();
        std::thread::Builder::new()
            .name("eddy-metrics".into())
            .spawn(move || {
                let mut sampler = Sampler::new(node_metrics);
                loop {
                    let done = shared.running_tasks.load(Ordering::SeqCst) == 0;
                    let snapshot = sampler.sample(clock.elapsed());
                    if let Ok(mut slot) = last.lock() {
                        *slot = Some(snapshot.clone());
                    }
                    // A reader that falls behind gets the newest snapshots: drop the oldest.
                    if let Err(crossbeam_channel::TrySendError::Full(snapshot)) =
                        snapshot_tx.try_send(snapshot)
                    {
                        let _ = oldest.try_recv();
                        let _ = snapshot_tx.try_send(snapshot);
                    }
                    if let Some(wake) = &on_update {
                        wake();
                    }
                    if done {
                        break;
                    }
                    let (finished, signal) = &shared.all_done;
                    if let Ok(guard) = finished.lock()
                        && !*guard
                    {
                        let _ = signal.wait_timeout(guard, every);
                    }
                }
            })
            .map_err(|e| RunError::general(format!("cannot start a thread: {e}")))?
    };
    Ok(RunHandle {
        clock,
        shared,
        snapshots: snapshot_rx,
        last_snapshot,
        threads,
        sampler: Some(sampler),
        collected,
        taps,
        traces,
    })
}
