//! Window node configuration: the window shape, keys, aggregates, lateness and when to emit.

use serde::{Deserialize, Serialize};

use super::duration::Duration;

/// Fixed, non-overlapping windows `[start, start + size)`, aligned to the epoch plus `offset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TumblingWindow {
    pub size: Duration,
    #[serde(default)]
    pub offset: Duration,
}

/// Overlapping windows of `size`, one starting every `slide` (Flink's HOP).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlidingWindow {
    pub size: Duration,
    pub slide: Duration,
    #[serde(default)]
    pub offset: Duration,
}

/// A window per burst of activity, closed after `gap` without events for the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionWindow {
    pub gap: Duration,
}

/// A window of every `size` events per key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountWindow {
    pub size: u64,
}

/// The window shapes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowShape {
    Tumbling(TumblingWindow),
    Sliding(SlidingWindow),
    Session(SessionWindow),
    Count(CountWindow),
}

/// When a window emits its result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Emit {
    /// Once, when the watermark passes the window's end (and again for each late firing).
    OnWatermark,
    /// Also an early, partial result every so often while the window is open.
    Early(Duration),
}

/// Groups rows by key into windows and aggregates each window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub window: WindowShape,
    /// Key columns; empty means one window for all rows.
    #[serde(default)]
    pub key_by: Vec<String>,
    /// Items like `count(*) AS trips` or `sum(total_amount) AS revenue`.
    pub aggregates: Vec<String>,
    /// Rows up to this late still update their window (a late firing); later rows go to `late`.
    #[serde(default)]
    pub allowed_lateness: Duration,
    pub emit: Emit,
}

/// Output columns every window result carries.
pub const WINDOW_START: &str = "window_start";
pub const WINDOW_END: &str = "window_end";
/// Extra columns on rows sent to the `late` port.
pub const LATE_REASON: &str = "late_reason";
pub const LATE_WATERMARK: &str = "watermark_at_arrival";
