//! The pipeline document: metadata, nodes, edges between named ports, and the canvas layout.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::node::Node;

/// The file format version this Eddy writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

/// A whole pipeline, as saved in a `.ron` file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub format_version: u32,
    pub name: String,
    /// What the pipeline does and, for examples, what it teaches.
    #[serde(default)]
    pub description: String,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub edges: Vec<Edge>,
    /// Canvas positions; kept apart so moving a node does not touch the logic diff.
    #[serde(default)]
    pub layout: Layout,
}

impl Pipeline {
    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id == id)
    }

    pub fn node_mut(&mut self, id: &str) -> Option<&mut Node> {
        self.nodes.iter_mut().find(|n| n.id == id)
    }
}

/// One end of an edge: a node and one of its ports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PortRef {
    pub node: String,
    pub port: String,
}

impl PortRef {
    pub fn new(node: &str, port: &str) -> Self {
        Self {
            node: node.to_string(),
            port: port.to_string(),
        }
    }
}

impl fmt::Display for PortRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.node, self.port)
    }
}

/// A connection from an output port to an input port, written `"trips.out -> clean.in"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Edge {
    pub from: PortRef,
    pub to: PortRef,
}

impl Edge {
    pub fn new(from: (&str, &str), to: (&str, &str)) -> Self {
        Self {
            from: PortRef::new(from.0, from.1),
            to: PortRef::new(to.0, to.1),
        }
    }
}

impl fmt::Display for Edge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.from, self.to)
    }
}

fn parse_port(text: &str) -> Result<PortRef, String> {
    let text = text.trim();
    match text.split_once('.') {
        Some((node, port)) if !node.trim().is_empty() && !port.trim().is_empty() => {
            Ok(PortRef::new(node.trim(), port.trim()))
        }
        _ => Err(format!(
            "`{text}` is not a port: write `node.port`, e.g. `trips.out`"
        )),
    }
}

impl FromStr for Edge {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (from, to) = text.split_once("->").ok_or_else(|| {
            format!("`{text}` is not an edge: write `from_node.port -> to_node.port`")
        })?;
        Ok(Edge {
            from: parse_port(from)?,
            to: parse_port(to)?,
        })
    }
}

impl Serialize for Edge {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Edge {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Where things sit on the canvas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Top-left corner of each node card, in canvas units.
    #[serde(default)]
    pub nodes: BTreeMap<String, Position>,
}

/// A point on the canvas.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Position(pub f32, pub f32);
