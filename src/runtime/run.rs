//! Starting a run from a plan: wire the instances, build every operator, start one named thread per
//! instance and a metrics sampler, and hand back the [`RunHandle`].

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossbeam_channel::bounded;

use super::build::{BuildContext, Built, build, event_trace_of, firehose_stats_of, shard_stats_of};
use super::checkpoint::compat;
use super::checkpoint::coordinator::TaskSlot;
use super::checkpoint::{CheckpointMode, CheckpointSettings, Coordinator};
use super::clock::{Clock, Speed};
use super::contract::error::panic_message;
use super::contract::{Checkpointing, InstanceOf};
use super::contract::{Commits, ConsoleWriter, Output, RunError, SendFailure};
use super::firehose_stats::FirehoseStats;
use super::handle::{RunHandle, Shared};
use super::inject::Injectors;
use super::kcl_stats::KclStats;
use super::lambda_stats::LambdaStats;
use super::metrics::{MetricsSnapshot, NodeMetrics, Sampler};
use super::pattern_stats::PatternStats;
use super::shard_stats::ShardStats;
use super::source_loop::{SourceCheckpoints, SourceLoop, run_source_checkpointed};
use super::task::{TaskCheckpoints, TaskEnd, run_operator_checkpointed, unwrap_state};
use super::trace::EventTrace;
use super::wiring::{instance_counts, wire};
use crate::model::Pipeline;
use crate::model::kinds::PlannedKind;
use crate::model::plan::Plan;

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
    /// Sinks that write (files, the console) take their rows and write nothing: a preview.
    pub dry_run: bool,
    /// Every edge's tap keeps its first this many rows from the first batch on (a preview).
    pub tap_first_rows: Option<usize>,
    /// Rows can be injected by hand into every input port ([`RunHandle::injectors`]); the app
    /// asks for it, `eddy run` does not (each input then has one more channel to watch).
    pub injectable: bool,
    /// Each source ends, as if complete, once it has sent this many rows (whole chunks, so the
    /// same rows in every run): a preview's sample, `eddy run --limit`.
    pub source_row_limit: Option<u64>,
    /// Take checkpoints (and start from one), or not.
    pub checkpoints: Option<CheckpointSettings>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            speed: Speed::Max,
            parallelism: std::thread::available_parallelism().map_or(2, |n| n.get()),
            channel_capacity: 16,
            // A closed standard output (`eddy run … | head`) silences the console, not the run.
            console: Arc::new(|text: &str| {
                use std::io::Write;
                let _ = writeln!(std::io::stdout().lock(), "{text}");
            }),
            collector_max_rows: 100_000,
            collect_all_sinks: false,
            sample_every: Duration::from_millis(100),
            on_update: None,
            dry_run: false,
            tap_first_rows: None,
            injectable: false,
            source_row_limit: None,
            checkpoints: None,
        }
    }
}

/// Runs started by this process, so every run's temporary files have names of their own.
static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The body of one operator thread.
type Task = Box<dyn FnOnce() -> Result<TaskEnd, SendFailure> + Send>;

/// Plans `pipeline` (whose paths are relative to `base_dir`) and starts it; refuses a pipeline with
/// errors, listing them all. For callers that have not validated it already.
pub fn start_pipeline(
    pipeline: &Pipeline,
    base_dir: &Path,
    options: RunOptions,
) -> Result<RunHandle, RunError> {
    let plan =
        crate::model::plan(pipeline, base_dir).map_err(|e| RunError::config(e.to_string()))?;
    start(&plan, options)
}

/// Refuses a checkpoint that does not fit the pipeline.
fn check_checkpoints(plan: &Plan, settings: &CheckpointSettings) -> Result<(), RunError> {
    if let Some(loaded) = &settings.restore {
        let problems = compat::incompatibilities(plan, loaded);
        if !problems.is_empty() {
            return Err(RunError::config(format!(
                "checkpoint {} cannot be restored into this pipeline:\n  {}",
                loaded.path.display(),
                problems.join("\n  ")
            )));
        }
    }
    Ok(())
}

/// The saved state of instance `index` of `count` of `node`: its own blob when the node keeps its
/// instance count, every blob when it was rescaled (each instance keeps the keys now its own).
fn saved_for<'a>(
    settings: Option<&'a CheckpointSettings>,
    node: &str,
    index: usize,
    count: usize,
) -> Option<&'a [Vec<u8>]> {
    let loaded = settings?.restore.as_ref()?;
    let blobs = loaded
        .nodes
        .get(node)
        .map_or(&[][..], |n| n.blobs.as_slice());
    if blobs.len() == count {
        Some(std::slice::from_ref(&blobs[index]))
    } else {
        Some(blobs)
    }
}

/// Starts a planned pipeline.
pub fn start(plan: &Plan, options: RunOptions) -> Result<RunHandle, RunError> {
    if let Some(settings) = &options.checkpoints {
        check_checkpoints(plan, settings)?;
    }
    let counts = instance_counts(plan, options.parallelism);
    let wiring = wire(plan, &counts, options.channel_capacity, options.injectable)?;
    if let Some(rows) = options.tap_first_rows {
        // Before any thread starts, so the very first rows are kept.
        for tap in wiring.taps.values() {
            tap.enable_first(rows);
        }
    }
    let clock = Arc::new(Clock::new(options.speed));
    // With checkpoints the in-progress files carry the job's name, so a resumed run finds them.
    let run_tag = match &options.checkpoints {
        Some(settings) => settings.job.clone(),
        None => format!(
            "{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        ),
    };
    let checkpointing = options.checkpoints.as_ref().map(|s| Checkpointing {
        mode: s.mode,
        restoring: s.restore.is_some(),
        notes: Arc::clone(&s.notes),
    });
    let mut slots: Vec<TaskSlot> = Vec::new();
    let commits = Arc::new(Commits::new(run_tag));
    let traces: BTreeMap<String, Arc<EventTrace>> = plan
        .nodes
        .iter()
        .filter_map(|node| Some((node.id.clone(), Arc::new(event_trace_of(&node.kind)?))))
        .collect();
    let shard_stats: BTreeMap<String, Arc<ShardStats>> = plan
        .nodes
        .iter()
        .filter_map(|node| Some((node.id.clone(), shard_stats_of(&node.kind)?)))
        .collect();
    let kcl_stats: BTreeMap<String, Arc<KclStats>> = plan
        .nodes
        .iter()
        .filter(|node| matches!(node.kind, PlannedKind::Kcl(_)))
        .map(|node| (node.id.clone(), Arc::new(KclStats::default())))
        .collect();
    let pattern_stats: BTreeMap<String, Arc<PatternStats>> = plan
        .nodes
        .iter()
        .filter(|node| matches!(node.kind, PlannedKind::Pattern(_)))
        .map(|node| (node.id.clone(), Arc::new(PatternStats::default())))
        .collect();
    let lambda_stats: BTreeMap<String, Arc<LambdaStats>> = plan
        .nodes
        .iter()
        .filter(|node| matches!(node.kind, PlannedKind::Lambda(_)))
        .map(|node| (node.id.clone(), Arc::new(LambdaStats::default())))
        .collect();
    let firehose_stats: BTreeMap<String, Arc<FirehoseStats>> = plan
        .nodes
        .iter()
        .filter_map(|node| Some((node.id.clone(), firehose_stats_of(&node.kind)?)))
        .collect();
    // Build every instance before starting any thread, so a build error starts nothing.
    let mut operators = Vec::new();
    let mut collected = BTreeMap::new();
    let mut ticks_wanted = false;
    let mut sources = Vec::new();
    for (node, list) in plan.nodes.iter().zip(wiring.instances) {
        let instance_count = list.len();
        for (n, instance) in list.into_iter().enumerate() {
            let task_index = slots.len();
            slots.push(TaskSlot {
                node: node.id.clone(),
                instance: n,
            });
            let saved = saved_for(options.checkpoints.as_ref(), &node.id, n, instance_count);
            let name = if instance_count > 1 {
                format!("{}#{n}", node.id)
            } else {
                node.id.clone()
            };
            let ctx = BuildContext {
                node,
                metrics: &instance.metrics,
                console: &options.console,
                collector_max_rows: options.collector_max_rows,
                collect_all_sinks: options.collect_all_sinks,
                trace: traces.get(&node.id).cloned(),
                commits: &commits,
                dry_run: options.dry_run,
                shard_stats: shard_stats.get(&node.id).cloned(),
                firehose_stats: firehose_stats.get(&node.id).cloned(),
                lambda_stats: lambda_stats.get(&node.id).cloned(),
                kcl_stats: kcl_stats.get(&node.id).cloned(),
                pattern_stats: pattern_stats.get(&node.id).cloned(),
                checkpointing: checkpointing.clone(),
            };
            let metrics = Arc::clone(&instance.metrics);
            let out = Output::new(instance.ports, Arc::clone(&metrics));
            match build(&ctx)? {
                Built::Source { source, time } => {
                    let restored = saved.and_then(|blobs| blobs.first().cloned());
                    sources.push((name, task_index, restored, source, time, out, metrics));
                }
                Built::Operator {
                    mut operator,
                    collected: rows,
                } => {
                    ticks_wanted |= operator.tick_interval_ms().is_some();
                    if let Some(rows) = rows {
                        collected.insert(node.id.clone(), rows);
                    }
                    let mut progress = None;
                    if let Some(blobs) = saved {
                        let me = InstanceOf {
                            index: n,
                            count: instance_count,
                        };
                        let mut states = Vec::with_capacity(blobs.len());
                        for blob in blobs {
                            let (p, state) = unwrap_state(blob).map_err(|e| e.in_node(&node.id))?;
                            progress.get_or_insert(p);
                            states.extend(state.map(<[u8]>::to_vec));
                        }
                        operator
                            .restore_state(&states, me)
                            .map_err(|e| e.in_node(&node.id))?;
                    }
                    let inputs = instance.inputs;
                    operators.push((name, task_index, progress, operator, inputs, out, metrics));
                }
            }
        }
    }
    let coordinator = match options.checkpoints.clone() {
        Some(settings) => {
            let nodes = plan
                .nodes
                .iter()
                .zip(&counts)
                .map(|(n, &count)| {
                    let info = (compat::kind_name(n), compat::signature(n), count);
                    (n.id.clone(), info)
                })
                .collect();
            Some(Coordinator::start(
                settings,
                slots,
                nodes,
                Arc::clone(&clock),
            )?)
        }
        None => None,
    };
    let aligned = options
        .checkpoints
        .as_ref()
        .is_none_or(|s| s.mode == CheckpointMode::ExactlyOnce);
    let mut tasks: Vec<(String, Task)> = Vec::new();
    for (name, task_index, restored, operator, inputs, out, metrics) in operators {
        let checkpoints = coordinator.as_ref().map(|c| TaskCheckpoints {
            coordinator: Arc::clone(c),
            task: task_index,
            aligned,
            restored,
        });
        let task: Task = Box::new(move || {
            run_operator_checkpointed(operator, inputs, out, metrics, checkpoints)
        });
        tasks.push((name, task));
    }
    // Sources send the run's clock only when an operator asked for ticks.
    let source_loop = SourceLoop {
        send_time: ticks_wanted,
        row_limit: options.source_row_limit,
    };
    for (name, task_index, restored, source, time, mut out, metrics) in sources {
        let clock = Arc::clone(&clock);
        let checkpoints = coordinator.as_ref().map(|c| SourceCheckpoints {
            coordinator: Arc::clone(c),
            task: task_index,
            restored,
        });
        let task: Task = Box::new(move || {
            run_source_checkpointed(
                source,
                time,
                source_loop,
                &mut out,
                metrics,
                &clock,
                checkpoints,
            )
        });
        tasks.push((name, task));
    }
    let shared = Arc::new(Shared::new(tasks.len(), commits, coordinator.clone()));
    let threads = spawn_tasks(tasks, &shared, &clock)?;
    // The windows' own counters, read live (not sampled) to step a paused run to its next firing.
    let window_counters = wiring
        .node_metrics
        .iter()
        .filter(|m| traces.contains_key(&m.node))
        .flat_map(|m| m.instances.iter().cloned())
        .collect();
    let (snapshots, last_snapshot, sampler) =
        spawn_sampler(wiring.node_metrics, &shared, &clock, &options)?;
    Ok(RunHandle {
        clock,
        window_counters,
        shared,
        snapshots,
        last_snapshot,
        threads,
        sampler: Some(sampler),
        collected,
        taps: wiring.taps,
        traces,
        injectors: Injectors::new(wiring.injectors),
        shard_stats,
        firehose_stats,
        lambda_stats,
        kcl_stats,
        pattern_stats,
        coordinator,
    })
}

/// One named thread per task; a failing or panicking task stops the run and names its node.
fn spawn_tasks(
    tasks: Vec<(String, Task)>,
    shared: &Arc<Shared>,
    clock: &Arc<Clock>,
) -> Result<Vec<std::thread::JoinHandle<()>>, RunError> {
    let mut threads = Vec::with_capacity(tasks.len());
    for (name, task) in tasks {
        let clock = Arc::clone(clock);
        let shared = Arc::clone(shared);
        let node_id = name.split('#').next().unwrap_or(&name).to_string();
        let thread = std::thread::Builder::new()
            .name(format!("eddy-{name}"))
            .spawn(move || {
                match catch_unwind(AssertUnwindSafe(task)) {
                    Ok(Ok(_)) | Ok(Err(SendFailure::Disconnected)) => {}
                    Ok(Err(SendFailure::Failed(error))) => {
                        shared.fail(error.in_node(&node_id), &clock)
                    }
                    Err(panic) => shared.fail(
                        RunError::internal(panic_message(panic.as_ref())).in_node(&node_id),
                        &clock,
                    ),
                }
                shared.task_ended(&clock);
            })
            .map_err(|e| RunError::internal(format!("cannot start a thread: {e}")))?;
        threads.push(thread);
    }
    Ok(threads)
}

type SamplerParts = (
    crossbeam_channel::Receiver<MetricsSnapshot>,
    Arc<Mutex<Option<MetricsSnapshot>>>,
    std::thread::JoinHandle<()>,
);

/// The sampler publishes snapshots on a small channel, dropping the oldest rather than waiting.
fn spawn_sampler(
    node_metrics: Vec<NodeMetrics>,
    shared: &Arc<Shared>,
    clock: &Arc<Clock>,
    options: &RunOptions,
) -> Result<SamplerParts, RunError> {
    let (snapshot_tx, snapshot_rx) = bounded(4);
    let last_snapshot = Arc::new(Mutex::new(None));
    let shared = Arc::clone(shared);
    let clock = Arc::clone(clock);
    let last = Arc::clone(&last_snapshot);
    let every = options.sample_every;
    let on_update = options.on_update.clone();
    let oldest = snapshot_rx.clone();
    let sampler = std::thread::Builder::new()
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
        .map_err(|e| RunError::internal(format!("cannot start a thread: {e}")))?;
    Ok((snapshot_rx, last_snapshot, sampler))
}
