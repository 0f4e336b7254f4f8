//! What a Firehose delivery stream shows the app while it runs: each buffer's fill and age against
//! its hints, the transformation's invocations and results, and the objects delivered (newest
//! last), with the bucket folder to open them from. The operator publishes after each batch.

use std::path::PathBuf;
use std::sync::Mutex;

/// Objects listed in the view, the newest.
pub const OBJECTS_SHOWN: usize = 500;

/// One buffer waiting to be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct BufferLine {
    /// The partition's prefix (one buffer without dynamic partitioning), or `transformation`.
    pub name: String,
    pub records: u64,
    pub bytes: u64,
    pub size_hint: u64,
    /// How long its oldest record has waited, and the interval hint (ms).
    pub age_ms: i64,
    pub interval_ms: i64,
}

/// One object delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectLine {
    pub key: String,
    /// `data`, or the error output type.
    pub kind: String,
    pub records: u64,
    pub bytes: u64,
    pub oldest_arrival: i64,
    pub delivered_at: i64,
}

/// A consistent picture of the delivery stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FirehoseView {
    pub buffers: Vec<BufferLine>,
    pub objects: Vec<ObjectLine>,
    pub objects_total: u64,
    pub records_in: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub failed: u64,
    pub invocations: u64,
    /// Where a folder destination keeps the objects, to open one.
    pub folder: Option<PathBuf>,
    /// Whether data objects are Parquet, GZIP or plain lines, to read one back.
    pub format: String,
}

/// Shared between the operator and the app.
#[derive(Debug, Default)]
pub struct FirehoseStats {
    view: Mutex<FirehoseView>,
}

impl FirehoseStats {
    pub fn new(folder: Option<PathBuf>, format: String) -> Self {
        Self {
            view: Mutex::new(FirehoseView {
                folder,
                format,
                ..FirehoseView::default()
            }),
        }
    }

    pub fn view(&self) -> FirehoseView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Replaces the figures and adds the objects delivered since the last time.
    pub fn publish(&self, mut view: FirehoseView, new_objects: Vec<ObjectLine>) {
        let Ok(mut shown) = self.view.lock() else {
            return;
        };
        let mut objects = std::mem::take(&mut shown.objects);
        objects.extend(new_objects);
        if objects.len() > OBJECTS_SHOWN {
            objects.drain(..objects.len() - OBJECTS_SHOWN);
        }
        view.objects = objects;
        view.folder = shown.folder.clone();
        view.format = shown.format.clone();
        *shown = view;
    }
}
