//! The Arrow schema of every output port that could be typed, as validation derived them (the
//! designer shows them even when other nodes have errors), and the columns of `errors` ports.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::document::{Pipeline, PortRef};
use super::graph::edges_into;

/// The schema of every output port whose node could be typed.
#[derive(Debug, Default, Clone)]
pub struct PortSchemas {
    outputs: BTreeMap<PortRef, SchemaRef>,
}

impl PortSchemas {
    pub fn insert(&mut self, port: PortRef, schema: SchemaRef) {
        self.outputs.insert(port, schema);
    }

    /// The schema of a node's output port.
    pub fn output(&self, node: &str, port: &str) -> Option<&SchemaRef> {
        self.outputs.get(&PortRef::new(node, port))
    }

    /// The schema arriving at a node's input port (the schema of the edge feeding it).
    pub fn input(&self, pipeline: &Pipeline, node: &str, port: &str) -> Option<&SchemaRef> {
        let edges = edges_into(pipeline, node, port);
        let edge = edges.first()?;
        self.outputs.get(&edge.from)
    }

    /// Every typed output port, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = (&PortRef, &SchemaRef)> {
        self.outputs.iter()
    }
}

/// The columns of a source's `errors` port.
pub fn errors_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("line", DataType::Int64, false),
        Field::new("raw", DataType::Utf8, false),
        Field::new("reason", DataType::Utf8, false),
    ]))
}
