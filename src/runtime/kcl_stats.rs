//! What a KCL application shows the app while it runs: its lease table (shard, owner, checkpoint,
//! lease counter, parent), which workers are alive, the records processed and processed again;
//! and the way back: the app asks for a worker to die (the button), the operator takes the
//! request at its next poll (it never waits on the app).

use std::sync::Mutex;

/// One row of the lease table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LeaseLine {
    pub lease_key: String,
    pub owner: Option<String>,
    /// The checkpoint's sequence number, `TRIM_HORIZON` before the first, `SHARD_END` at the end.
    pub checkpoint: String,
    pub lease_counter: u64,
    pub parent: Option<String>,
    /// Records processed since the checkpoint (processed again if the lease changes hands).
    pub uncheckpointed: u64,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct KclView {
    pub leases: Vec<LeaseLine>,
    /// Per worker (from 1): alive or not.
    pub workers: Vec<bool>,
    pub processed: u64,
    /// Records processed more than once.
    pub duplicates: u64,
    /// Records no live worker was left to process when the input ended.
    pub unprocessed: u64,
}

#[derive(Debug, Default)]
pub struct KclStats {
    view: Mutex<KclView>,
    /// Workers (from 1) the app asked to die.
    kills: Mutex<Vec<u32>>,
}

impl KclStats {
    pub fn view(&self) -> KclView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    pub fn publish(&self, view: KclView) {
        if let Ok(mut shown) = self.view.lock() {
            *shown = view;
        }
    }

    /// The app asks worker `worker` (from 1) to die.
    pub fn kill(&self, worker: u32) {
        if let Ok(mut kills) = self.kills.lock() {
            kills.push(worker);
        }
    }

    /// The deaths asked for since the last time, if the app is not asking this very moment.
    pub fn take_kills(&self) -> Vec<u32> {
        self.kills
            .try_lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default()
    }
}
