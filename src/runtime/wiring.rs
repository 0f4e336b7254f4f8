//! Wiring a plan: how many instances each node runs, and one bounded channel per (sending instance,
//! receiving instance) pair of every edge, spread as the receiving port asks, with a tap per edge.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossbeam_channel::bounded;

use super::contract::{EdgeSink, InstanceMetrics, RunError};
use super::edges::{EdgeSender, Spread};
use super::inject::Injector;
use super::keys::KeyEncoder;
use super::metrics::NodeMetrics;
use super::tap::Tap;
use super::task::Input;
use crate::model::kind::Partitioning;
use crate::model::plan::Plan;
use crate::model::time::TimeAttr;
use crate::model::{Edge, PortRef};

/// One instance of a node before it runs: its counters, the channels feeding it, and the edges
/// leaving each of its output ports.
pub struct Instance {
    pub metrics: Arc<InstanceMetrics>,
    pub inputs: Vec<Input>,
    pub ports: Vec<Vec<Box<dyn EdgeSink>>>,
}

/// Every node's instances, their counters for the sampler, the taps of every edge, and (when
/// asked for) a sender into every input port for rows injected by hand.
pub struct Wiring {
    pub instances: Vec<Vec<Instance>>,
    pub node_metrics: Vec<NodeMetrics>,
    pub taps: BTreeMap<Edge, Arc<Tap>>,
    pub injectors: BTreeMap<PortRef, Injector>,
}

/// How many instances each node runs: a node whose inputs are partitioned runs its own
/// `parallelism`, or `default_parallelism`; every other node runs one.
pub fn instance_counts(plan: &Plan, default_parallelism: usize) -> Vec<usize> {
    plan.nodes
        .iter()
        .map(|node| {
            if node.runs_in_parallel() {
                node.parallelism
                    .map_or(default_parallelism, |p| p as usize)
                    .max(1)
            } else {
                1
            }
        })
        .collect()
}

/// Makes every instance and connects them as the plan's edges say; with `injectable`, every input
/// port also gets a channel of its own per instance for rows injected by hand.
pub fn wire(
    plan: &Plan,
    counts: &[usize],
    channel_capacity: usize,
    injectable: bool,
) -> Result<Wiring, RunError> {
    let mut instances: Vec<Vec<Instance>> = Vec::with_capacity(plan.nodes.len());
    let mut node_metrics = Vec::with_capacity(plan.nodes.len());
    for (index, node) in plan.nodes.iter().enumerate() {
        let input_channels: usize = plan.edges_into(index).map(|e| counts[e.from_node]).sum();
        let list: Vec<Instance> = (0..counts[index])
            .map(|_| Instance {
                metrics: Arc::new(InstanceMetrics::new(input_channels)),
                inputs: Vec::new(),
                ports: node.outputs.iter().map(|_| Vec::new()).collect(),
            })
            .collect();
        node_metrics.push(NodeMetrics {
            node: node.id.clone(),
            instances: list.iter().map(|i| Arc::clone(&i.metrics)).collect(),
        });
        instances.push(list);
    }
    let mut taps = BTreeMap::new();
    for planned in &plan.edges {
        let tap = Arc::new(Tap::new());
        taps.insert(planned.edge.clone(), Arc::clone(&tap));
        let receiver = &plan.nodes[planned.to_node];
        let input = receiver
            .inputs
            .get(planned.to_port)
            .ok_or_else(|| RunError::internal(format!("`{}` has no such input", planned.edge)))?;
        for sender in 0..counts[planned.from_node] {
            let mut senders = Vec::new();
            for target in instances[planned.to_node].iter_mut() {
                let (tx, rx) = bounded(channel_capacity.max(1));
                senders.push(tx);
                target.inputs.push(Input {
                    rx,
                    port: planned.to_port,
                    injected: false,
                });
            }
            let spread = spread(&input.partitioning, &input.schema, counts[planned.to_node])
                .map_err(|e| e.in_node(&receiver.id))?;
            instances[planned.from_node][sender].ports[planned.from_port].push(Box::new(
                EdgeSender {
                    senders,
                    spread,
                    tap: Arc::clone(&tap),
                },
            ));
        }
    }
    let mut injectors = BTreeMap::new();
    if injectable {
        for (index, node) in plan.nodes.iter().enumerate() {
            for (port, input) in node.inputs.iter().enumerate() {
                let mut senders = Vec::new();
                for target in instances[index].iter_mut() {
                    let (tx, rx) = bounded(channel_capacity.max(1));
                    senders.push(tx);
                    target.inputs.push(Input {
                        rx,
                        port,
                        injected: true,
                    });
                }
                let spread = spread(&input.partitioning, &input.schema, counts[index])
                    .map_err(|e| e.in_node(&node.id))?;
                let sender = EdgeSender {
                    senders,
                    spread,
                    tap: Arc::new(Tap::new()),
                };
                injectors.insert(
                    PortRef::new(&node.id, &input.name),
                    Injector {
                        sender,
                        schema: Arc::clone(&input.schema),
                        time_column: match &input.time {
                            TimeAttr::Event { column, .. } => Some(column.clone()),
                            _ => None,
                        },
                    },
                );
            }
        }
    }
    Ok(Wiring {
        instances,
        node_metrics,
        taps,
        injectors,
    })
}

/// How an edge reaches the `receivers` instances of a port partitioned by `partitioning`.
fn spread(
    partitioning: &Partitioning,
    schema: &arrow::datatypes::SchemaRef,
    receivers: usize,
) -> Result<Spread, RunError> {
    if receivers <= 1 {
        return Ok(Spread::Forward);
    }
    Ok(match partitioning {
        Partitioning::Forward => Spread::Forward,
        Partitioning::Hash(keys) => Spread::Hash(KeyEncoder::new(schema, keys)?),
        Partitioning::ByShard(column) => {
            Spread::ByShard(schema.index_of(column).map_err(|_| {
                RunError::internal(format!("the shard column `{column}` is missing"))
            })?)
        }
        Partitioning::Broadcast => Spread::Broadcast,
    })
}
