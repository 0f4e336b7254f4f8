//! A node of the pipeline: its id, its kind (one of four families), its ports and a free-text note.

use serde::{Deserialize, Serialize};

use super::sink::SinkKind;
use super::source::SourceKind;
use super::transform::{TransformKind, UNMATCHED_PORT};
use super::window::{WindowConfig, WindowShape};

/// The four families of nodes, each with its own colour on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Source,
    Transform,
    Window,
    Sink,
}

/// What a node does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeKind {
    Source(SourceKind),
    Transform(TransformKind),
    Window(WindowConfig),
    Sink(SinkKind),
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

impl NodeKind {
    pub fn family(&self) -> Family {
        match self {
            NodeKind::Source(_) => Family::Source,
            NodeKind::Transform(_) => Family::Transform,
            NodeKind::Window(_) => Family::Window,
            NodeKind::Sink(_) => Family::Sink,
        }
    }

    /// The kind's name as written in files and shown in the palette.
    pub fn kind_name(&self) -> &'static str {
        match self {
            NodeKind::Source(SourceKind::Generator(_)) => "Generator",
            NodeKind::Source(SourceKind::CsvFile(_)) => "CsvFile source",
            NodeKind::Source(SourceKind::JsonLinesFile(_)) => "JsonLinesFile source",
            NodeKind::Transform(TransformKind::Filter(_)) => "Filter",
            NodeKind::Transform(TransformKind::Map(_)) => "Map",
            NodeKind::Transform(TransformKind::Union(_)) => "Union",
            NodeKind::Transform(TransformKind::Route(_)) => "Route",
            NodeKind::Window(w) => match w.window {
                WindowShape::Tumbling(_) => "Tumbling window",
                WindowShape::Sliding(_) => "Sliding window",
                WindowShape::Session(_) => "Session window",
                WindowShape::Count(_) => "Count window",
            },
            NodeKind::Sink(SinkKind::Chart(_)) => "Chart",
            NodeKind::Sink(SinkKind::Table(_)) => "Table",
            NodeKind::Sink(SinkKind::Console(_)) => "Console",
            NodeKind::Sink(SinkKind::CsvFile(_)) => "CsvFile sink",
            NodeKind::Sink(SinkKind::JsonLinesFile(_)) => "JsonLinesFile sink",
        }
    }

    /// Input port names, in order.
    pub fn input_ports(&self) -> Vec<String> {
        match self {
            NodeKind::Source(_) => Vec::new(),
            NodeKind::Transform(TransformKind::Union(u)) => {
                (1..=u.inputs).map(|i| format!("in{i}")).collect()
            }
            NodeKind::Transform(_) | NodeKind::Window(_) | NodeKind::Sink(_) => vec![IN.into()],
        }
    }

    /// Output port names, in order.
    pub fn output_ports(&self) -> Vec<String> {
        match self {
            NodeKind::Source(_) => vec![OUT.into(), ERRORS.into()],
            NodeKind::Transform(TransformKind::Route(r)) => r
                .routes
                .iter()
                .map(|route| route.name.clone())
                .chain(std::iter::once(UNMATCHED_PORT.to_string()))
                .collect(),
            NodeKind::Transform(_) => vec![OUT.into()],
            NodeKind::Window(_) => vec![OUT.into(), LATE.into()],
            NodeKind::Sink(_) => Vec::new(),
        }
    }

    /// Ports whose rows may go nowhere without a warning: rejects are counted instead.
    pub fn is_optional_output(&self, port: &str) -> bool {
        match self {
            NodeKind::Source(_) => port == ERRORS,
            NodeKind::Window(_) => port == LATE,
            NodeKind::Transform(TransformKind::Route(_)) => port == UNMATCHED_PORT,
            _ => false,
        }
    }
}

/// Whether `id` is a valid node id: a letter or `_`, then letters, digits or `_`, at most 64.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && id.len() <= 64
}
