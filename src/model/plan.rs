//! The checked plan of a pipeline: every node planned against its inputs (schemas, time and
//! expressions per port), every edge resolved to indices. Validation makes it once; `eddy run`,
//! the app and the engine take it as it is and never check, re-read or re-plan.

use arrow::datatypes::SchemaRef;

use super::document::Edge;
use super::kind::Partitioning;
use super::kinds::{KindId, PlannedKind};
use super::node::Family;
use super::time::TimeAttr;

/// A pipeline ready to run.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    /// Every node, in the pipeline's order.
    pub nodes: Vec<NodePlan>,
    /// Every edge, resolved to node and port indices.
    pub edges: Vec<PlannedEdge>,
}

/// One node, planned.
#[derive(Debug, Clone)]
pub struct NodePlan {
    pub id: String,
    pub kind_id: KindId,
    pub family: Family,
    pub kind: PlannedKind,
    pub inputs: Vec<InputPlan>,
    pub outputs: Vec<OutputPlan>,
    /// The node's own `parallelism`, when the file sets it.
    pub parallelism: Option<u32>,
}

impl NodePlan {
    /// Whether the node can run several instances (its inputs are partitioned, e.g. by key).
    pub fn runs_in_parallel(&self) -> bool {
        self.inputs.iter().any(|i| i.partitioning.allows_parallel())
    }
}

/// What arrives at one input port.
#[derive(Debug, Clone)]
pub struct InputPlan {
    pub name: String,
    pub schema: SchemaRef,
    pub time: TimeAttr,
    /// How rows arriving here are spread over the node's instances.
    pub partitioning: Partitioning,
}

/// What leaves one output port.
#[derive(Debug, Clone)]
pub struct OutputPlan {
    pub name: String,
    pub schema: SchemaRef,
    pub time: TimeAttr,
}

/// One edge, by indices into the plan.
#[derive(Debug, Clone)]
pub struct PlannedEdge {
    pub edge: Edge,
    pub from_node: usize,
    pub from_port: usize,
    pub to_node: usize,
    pub to_port: usize,
}

impl Plan {
    pub fn node(&self, id: &str) -> Option<&NodePlan> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// The edges arriving at node `node`.
    pub fn edges_into(&self, node: usize) -> impl Iterator<Item = &PlannedEdge> {
        self.edges.iter().filter(move |e| e.to_node == node)
    }
}
