//! A node of the pipeline: its id, its kind, a free-text note and how many instances run it.

use serde::{Deserialize, Serialize};

pub use super::kinds::NodeKind;

/// The families of nodes, each with its own colour on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Source,
    Transform,
    Window,
    /// Streaming systems records pass through: Kinesis data streams.
    Stream,
    /// Rows matched with other rows: joins of two streams, lookups in a table.
    Join,
    /// Sequences of rows found per key (CEP).
    Pattern,
    Sink,
}

/// One node of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Stable, human-readable, unique: `trips`, `clean_trips`, `revenue_per_zone`.
    pub id: String,
    pub kind: NodeKind,
    /// Free text for the reader of the pipeline.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// How many parallel instances run a keyed node; absent means one per core.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<u32>,
}

/// Standard port names.
pub const IN: &str = "in";
pub const OUT: &str = "out";
pub const ERRORS: &str = "errors";
pub const LATE: &str = "late";

/// Whether `id` is a valid node id: a letter or `_`, then letters, digits or `_`, at most 64.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 64
}

/// An id starting with `stem` that no node in `taken` has: `filter`, `filter_2`, ...
pub fn fresh_id<'a>(stem: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    if !taken.clone().any(|t| t == stem) {
        return stem.to_string();
    }
    (2..)
        .map(|n| format!("{stem}_{n}"))
        .find(|candidate| !taken.clone().any(|t| t == candidate))
        .unwrap_or_else(|| stem.to_string())
}
