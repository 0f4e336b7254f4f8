//! Automatic layout: nodes in layers from left to right by their distance from the sources.

use std::collections::BTreeMap;

use crate::model::graph::topological_order;
use crate::model::{Pipeline, Position};

pub const COLUMN_STEP: f32 = 290.0;
pub const ROW_STEP: f32 = 150.0;

/// A position for every node: the layer is the longest path from a source, rows follow file order.
pub fn layered(pipeline: &Pipeline) -> BTreeMap<String, Position> {
    let (order, _) = topological_order(pipeline);
    let mut layer: BTreeMap<&str, usize> = BTreeMap::new();
    for &i in &order {
        let node = &pipeline.nodes[i];
        let depth = pipeline
            .edges
            .iter()
            .filter(|e| e.to.node == node.id)
            .filter_map(|e| layer.get(e.from.node.as_str()).map(|d| d + 1))
            .max()
            .unwrap_or(0);
        layer.insert(node.id.as_str(), depth);
    }
    let mut rows: BTreeMap<usize, usize> = BTreeMap::new();
    let mut positions = BTreeMap::new();
    for node in &pipeline.nodes {
        // Nodes caught in a cycle have no layer; put them after the rest.
        let column = layer.get(node.id.as_str()).copied().unwrap_or(layer.len());
        let row = rows.entry(column).or_default();
        positions.insert(
            node.id.clone(),
            Position(
                40.0 + column as f32 * COLUMN_STEP,
                60.0 + *row as f32 * ROW_STEP,
            ),
        );
        *row += 1;
    }
    positions
}
