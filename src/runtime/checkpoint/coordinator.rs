//! The checkpoint coordinator (Flink's `CheckpointCoordinator`, in one process): triggers a
//! checkpoint every interval by raising the number the sources read after each chunk, collects
//! every task's acknowledgement with its state, and hands a complete checkpoint to a writer
//! thread. A task that finished counts with the state it finished with. One checkpoint is under
//! way at a time; the next is triggered the interval after the previous one completed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, unbounded};

use super::settings::CheckpointSettings;
use super::store::{FORMAT_VERSION, Metadata, TaskState, write_checkpoint};
use crate::runtime::clock::Clock;
use crate::runtime::contract::{BarrierId, RunError};

/// One task of the run, as checkpoints know it.
#[derive(Debug, Clone)]
pub struct TaskSlot {
    pub node: String,
    pub instance: usize,
}

/// What a checkpoint's metadata says of a node: kind, state signature and instance count.
pub type NodeInfo = BTreeMap<String, (String, String, usize)>;

/// Where a checkpoint stands, for the Checkpoints tab and `eddy run`.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckpointStatus {
    InProgress,
    Completed,
    Failed(String),
}

/// One checkpoint in the history.
#[derive(Debug, Clone)]
pub struct CheckpointRecord {
    pub id: u64,
    pub savepoint: bool,
    /// Wall clock, ms since the epoch.
    pub triggered_at_ms: i64,
    /// From trigger to written on disk.
    pub duration: Duration,
    /// The longest any task waited for barriers to align.
    pub alignment: Duration,
    /// State bytes per node.
    pub sizes: BTreeMap<String, u64>,
    pub status: CheckpointStatus,
}

impl CheckpointRecord {
    pub fn size(&self) -> u64 {
        self.sizes.values().sum()
    }
}

/// A task's answer to a barrier.
pub struct Ack {
    pub state: Option<Vec<u8>>,
    pub alignment: Duration,
}

struct Pending {
    started: Instant,
    triggered_at_ms: i64,
    savepoint: bool,
    acks: Vec<Option<Ack>>,
}

#[derive(Default)]
struct Inner {
    pending: Option<(BarrierId, Pending)>,
    /// The state each finished task finished with.
    finished: BTreeMap<usize, Option<Vec<u8>>>,
    last_id: BarrierId,
    /// A savepoint was asked for: trigger at once.
    savepoint_wanted: bool,
}

struct Completed {
    id: BarrierId,
    pending: Pending,
    states: Vec<TaskState>,
}

/// Checkpoints of one run.
pub struct Coordinator {
    settings: CheckpointSettings,
    tasks: Vec<TaskSlot>,
    nodes: NodeInfo,
    clock: Arc<Clock>,
    requested: AtomicU64,
    inner: Mutex<Inner>,
    wake: Condvar,
    /// No more checkpoints: the run ends, stopped, or stops after a savepoint.
    closed: AtomicBool,
    writes: Mutex<Option<Sender<Completed>>>,
    history: Mutex<Vec<CheckpointRecord>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// When the newest checkpoint was written: the next is due an interval later.
    completed_at: Mutex<Option<Instant>>,
}

impl Coordinator {
    /// Starts the trigger and writer threads.
    pub fn start(
        settings: CheckpointSettings,
        tasks: Vec<TaskSlot>,
        nodes: NodeInfo,
        clock: Arc<Clock>,
    ) -> Result<Arc<Self>, RunError> {
        let first_id = settings.restore.as_ref().map_or(0, |r| r.id);
        let (tx, rx) = unbounded::<Completed>();
        let coordinator = Arc::new(Self {
            settings,
            tasks,
            nodes,
            clock,
            requested: AtomicU64::new(first_id),
            inner: Mutex::new(Inner {
                last_id: first_id,
                ..Inner::default()
            }),
            wake: Condvar::new(),
            closed: AtomicBool::new(false),
            writes: Mutex::new(Some(tx)),
            history: Mutex::new(Vec::new()),
            threads: Mutex::new(Vec::new()),
            completed_at: Mutex::new(None),
        });
        let writer = {
            let c = Arc::clone(&coordinator);
            std::thread::Builder::new()
                .name("eddy-checkpoint-writer".into())
                .spawn(move || {
                    for completed in rx {
                        c.write(completed);
                    }
                })
                .map_err(|e| RunError::internal(format!("cannot start a thread: {e}")))?
        };
        let trigger = {
            let c = Arc::clone(&coordinator);
            std::thread::Builder::new()
                .name("eddy-checkpoint-trigger".into())
                .spawn(move || c.trigger_loop())
                .map_err(|e| RunError::internal(format!("cannot start a thread: {e}")))?
        };
        if let Ok(mut threads) = coordinator.threads.lock() {
            threads.push(writer);
            threads.push(trigger);
        }
        Ok(coordinator)
    }

    pub fn settings(&self) -> &CheckpointSettings {
        &self.settings
    }

    /// The newest checkpoint id sources should have injected a barrier for.
    pub fn requested(&self) -> BarrierId {
        self.requested.load(Ordering::SeqCst)
    }

    pub fn history(&self) -> Vec<CheckpointRecord> {
        self.history.lock().map(|h| h.clone()).unwrap_or_default()
    }

    fn trigger_loop(&self) {
        let mut last_end = Instant::now();
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        loop {
            if self.closed.load(Ordering::SeqCst) {
                return;
            }
            if let Some(at) = self.last_completion() {
                last_end = last_end.max(at);
            }
            let due = last_end + self.settings.every;
            let now = Instant::now();
            if inner.pending.is_none() && (inner.savepoint_wanted || now >= due) {
                let savepoint = std::mem::take(&mut inner.savepoint_wanted);
                let id = inner.last_id + 1;
                inner.last_id = id;
                inner.pending = Some((
                    id,
                    Pending {
                        started: now,
                        triggered_at_ms: Clock::now_millis(),
                        savepoint,
                        acks: (0..self.tasks.len()).map(|_| None).collect(),
                    },
                ));
                self.requested.store(id, Ordering::SeqCst);
                self.record(CheckpointRecord {
                    id,
                    savepoint,
                    triggered_at_ms: Clock::now_millis(),
                    duration: Duration::ZERO,
                    alignment: Duration::ZERO,
                    sizes: BTreeMap::new(),
                    status: CheckpointStatus::InProgress,
                });
                // Tasks that finished already count as acknowledged.
                self.complete_if_done(&mut inner);
            }
            // Woken when a checkpoint completes or a savepoint is asked for.
            let wait = if inner.pending.is_some() {
                Duration::from_millis(200)
            } else {
                (last_end + self.settings.every).saturating_duration_since(Instant::now())
            };
            inner = match self
                .wake
                .wait_timeout(inner, wait.max(Duration::from_millis(1)))
            {
                Ok((guard, _)) => guard,
                Err(_) => return,
            };
        }
    }

    fn last_completion(&self) -> Option<Instant> {
        self.completed_at.lock().ok().and_then(|t| *t)
    }

    fn record(&self, record: CheckpointRecord) {
        if let Ok(mut history) = self.history.lock() {
            match history.iter_mut().find(|r| r.id == record.id) {
                Some(slot) => *slot = record,
                None => history.push(record),
            }
        }
    }

    /// Task `task` aligned barrier `id` and saved its state.
    pub fn acknowledge(&self, id: BarrierId, task: usize, ack: Ack) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if let Some((pending_id, pending)) = inner.pending.as_mut()
            && *pending_id == id
            && let Some(slot) = pending.acks.get_mut(task)
        {
            *slot = Some(ack);
        }
        self.complete_if_done(&mut inner);
    }

    /// Task `task` finished (all its inputs ended) with this state; it counts for every
    /// checkpoint from now on. Not called when the run is stopping.
    pub fn task_finished(&self, task: usize, state: Option<Vec<u8>>) {
        if self.closed.load(Ordering::SeqCst) || self.clock.is_stopped() {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.finished.insert(task, state);
        self.complete_if_done(&mut inner);
    }

    /// Whether every task finished because its input was complete (not because the run was
    /// stopped): the run is complete, whatever was asked of it meanwhile.
    pub fn all_finished(&self) -> bool {
        self.inner
            .lock()
            .map(|inner| inner.finished.len() == self.tasks.len())
            .unwrap_or(false)
    }

    fn complete_if_done(&self, inner: &mut Inner) {
        if self.closed.load(Ordering::SeqCst) {
            return;
        }
        let Some((_, pending)) = inner.pending.as_ref() else {
            return;
        };
        let done = pending
            .acks
            .iter()
            .enumerate()
            .all(|(task, ack)| ack.is_some() || inner.finished.contains_key(&task));
        if !done {
            return;
        }
        let Some((id, mut pending)) = inner.pending.take() else {
            return;
        };
        if pending.savepoint {
            // A savepoint is the last checkpoint of the run: none is triggered after it.
            self.closed.store(true, Ordering::SeqCst);
        }
        // The next one is due an interval after every task acknowledged this one.
        if let Ok(mut at) = self.completed_at.lock() {
            *at = Some(Instant::now());
        }
        let states = self
            .tasks
            .iter()
            .enumerate()
            .map(|(task, slot)| {
                let blob = match pending.acks[task].as_mut() {
                    Some(ack) => ack.state.take(),
                    None => inner.finished.get(&task).cloned().flatten(),
                };
                TaskState {
                    node: slot.node.clone(),
                    instance: slot.instance,
                    blob,
                }
            })
            .collect();
        if let Ok(writes) = self.writes.lock()
            && let Some(tx) = writes.as_ref()
        {
            let _ = tx.send(Completed {
                id,
                pending,
                states,
            });
        }
        self.wake.notify_all();
    }

    fn write(&self, completed: Completed) {
        let Completed {
            id,
            pending,
            states,
        } = completed;
        let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
        for state in &states {
            *sizes.entry(state.node.clone()).or_default() +=
                state.blob.as_ref().map_or(0, |b| b.len() as u64);
        }
        let alignment = pending
            .acks
            .iter()
            .flatten()
            .map(|a| a.alignment)
            .max()
            .unwrap_or_default();
        let metadata = Metadata {
            format: "eddy-checkpoint".into(),
            version: FORMAT_VERSION,
            id,
            job: self.settings.job.clone(),
            mode: self.settings.mode.name().into(),
            savepoint: pending.savepoint,
            triggered_at_ms: pending.triggered_at_ms,
            duration_ms: pending.started.elapsed().as_millis() as u64,
            nodes: Vec::new(),
        };
        let written = write_checkpoint(
            &self.settings.dir,
            metadata,
            states,
            &self.nodes,
            self.settings.retain,
        );
        let status = match &written {
            Ok(_) => CheckpointStatus::Completed,
            Err(e) => CheckpointStatus::Failed(e.to_string()),
        };
        self.record(CheckpointRecord {
            id,
            savepoint: pending.savepoint,
            triggered_at_ms: pending.triggered_at_ms,
            duration: pending.started.elapsed(),
            alignment,
            sizes,
            status,
        });
        if pending.savepoint {
            if written.is_ok() {
                // Stop-with-savepoint: the sources end after their current chunk.
                self.clock.stop();
            } else {
                // As in Flink, a failed stop-with-savepoint leaves the run going.
                self.closed.store(false, Ordering::SeqCst);
            }
        }
        self.wake.notify_all();
    }

    /// Takes a savepoint as soon as no checkpoint is under way, then stops the run.
    pub fn savepoint_and_stop(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.savepoint_wanted = true;
        }
        self.wake.notify_all();
    }

    /// A crash: no checkpoint completes from now on, the one under way is dropped.
    pub fn abort(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut inner) = self.inner.lock()
            && let Some((id, _)) = inner.pending.take()
        {
            self.record(CheckpointRecord {
                id,
                savepoint: false,
                triggered_at_ms: Clock::now_millis(),
                duration: Duration::ZERO,
                alignment: Duration::ZERO,
                sizes: BTreeMap::new(),
                status: CheckpointStatus::Failed("the run crashed first".into()),
            });
        }
        self.wake.notify_all();
    }

    /// No more checkpoints; waits for the one being written.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Ok(mut writes) = self.writes.lock() {
            writes.take();
        }
        self.wake.notify_all();
        let threads: Vec<_> = self
            .threads
            .lock()
            .map(|mut t| t.drain(..).collect())
            .unwrap_or_default();
        for thread in threads {
            let _ = thread.join();
        }
    }
}
