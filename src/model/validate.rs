//! Validation: every problem in a pipeline at once, errors apart from warnings, and — when there are
//! no errors — the plan the engine runs. Structure first (ids, edges, cycles), then each node's own
//! checks, then each node planned against its inputs in graph order. Reads, never runs.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use super::document::{Edge, Pipeline, PortRef};
use super::graph::topological_order;
use super::kind::{CheckContext, Planned, PortInput, Report};
use super::node::{Node, is_valid_id};
use super::plan::{InputPlan, NodePlan, OutputPlan, Plan, PlannedEdge};
use super::problem::{Problem, Subject};
use super::schema::PortSchemas;
use super::time::TimeAttributes;

/// The most instances a node may ask for: each is a thread, and the file says how many.
pub const MAX_PARALLELISM: u32 = 256;

/// The result of validating a pipeline: its problems, the schemas and time attributes that could
/// be derived, and the plan when nothing stops the pipeline from running.
#[derive(Debug, Clone)]
pub struct Validation {
    pub problems: Vec<Problem>,
    pub schemas: PortSchemas,
    pub times: TimeAttributes,
    /// The runnable plan; `None` when there are errors.
    pub plan: Option<Arc<Plan>>,
}

impl Validation {
    pub fn has_errors(&self) -> bool {
        super::problem::has_errors(&self.problems)
    }
}

/// The problems that stop a pipeline from running, as one message listing them all.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the pipeline has {} error(s):\n{}", .0.len(), .0.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct PlanErrors(pub Vec<Problem>);

/// Validates `pipeline` and returns its plan, or every error that stops it.
pub fn plan(pipeline: &Pipeline, base_dir: &Path) -> Result<Arc<Plan>, PlanErrors> {
    let validation = validate(pipeline, base_dir);
    match validation.plan {
        Some(plan) => Ok(plan),
        None => Err(PlanErrors(
            validation
                .problems
                .into_iter()
                .filter(Problem::is_error)
                .collect(),
        )),
    }
}

/// Validates `pipeline`, whose relative paths are relative to `base_dir` (the file's folder).
pub fn validate(pipeline: &Pipeline, base_dir: &Path) -> Validation {
    validate_in(pipeline, base_dir, None)
}

/// Validates `pipeline` as the file `pipeline_file` (when it has one), so no sink may write it.
pub fn validate_in(
    pipeline: &Pipeline,
    base_dir: &Path,
    pipeline_file: Option<&Path>,
) -> Validation {
    let ctx = CheckContext { base_dir };
    let mut problems = Vec::new();
    if pipeline.name.trim().is_empty() {
        problems.push(Problem::warning(
            Subject::Document,
            "the pipeline has no name",
        ));
    }
    check_ids(pipeline, &mut problems);
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for node in &pipeline.nodes {
        let occurrence = seen.entry(node.id.as_str()).or_insert(0);
        let mut report = Report::new(&node.id);
        match node.parallelism {
            Some(0) => {
                report.error("parallelism", "parallelism must be at least 1");
            }
            Some(p) if p > MAX_PARALLELISM => {
                report.error(
                    "parallelism",
                    format!(
                        "parallelism {p} is more than {MAX_PARALLELISM} instances; each runs on its own thread"
                    ),
                );
            }
            _ => {}
        }
        node.kind.model().check(&ctx, &mut report);
        super::secrets::check_node(&node.kind, &mut report);
        for mut problem in report.into_problems() {
            problem.occurrence = *occurrence;
            problems.push(problem);
        }
        *occurrence += 1;
    }
    super::files::check_files(pipeline, base_dir, pipeline_file, &mut problems);
    let feeding = EdgeIndex::new(pipeline);
    check_edges(pipeline, &feeding, &mut problems);
    let (order, cycles) = topological_order(pipeline);
    for cycle in cycles {
        let first = cycle.first().cloned().unwrap_or_default();
        problems.push(Problem::node(
            &first,
            None,
            format!(
                "these nodes form a cycle, and rows would go round forever: {}",
                cycle.join(" -> ")
            ),
        ));
    }
    let ids: HashSet<&str> = pipeline.nodes.iter().map(|n| n.id.as_str()).collect();
    for id in pipeline.layout.nodes.keys() {
        if !ids.contains(id.as_str()) {
            problems.push(Problem::warning(
                Subject::Document,
                format!("the layout places a node `{id}` that does not exist"),
            ));
        }
    }
    let mut planning = plan_nodes(pipeline, &order, &feeding, &ctx);
    problems.append(&mut planning.problems);
    let schemas = planning.schemas.clone();
    let times = planning.times.clone();
    let plan = if super::problem::has_errors(&problems) {
        None
    } else {
        let plan = assemble(pipeline, planning, &feeding).map(Arc::new);
        if plan.is_none() {
            problems.push(Problem::error(
                Subject::Document,
                "the pipeline has no errors but could not be planned; this is a bug in Eddy",
            ));
        }
        plan
    };
    Validation {
        problems,
        schemas,
        times,
        plan,
    }
}

/// The edges arriving at each input port, found once (not a scan per port).
struct EdgeIndex<'a> {
    /// node -> input port -> the edges arriving there.
    into: HashMap<&'a str, HashMap<&'a str, Vec<&'a Edge>>>,
}

impl<'a> EdgeIndex<'a> {
    fn new(pipeline: &'a Pipeline) -> Self {
        let mut into: HashMap<&str, HashMap<&str, Vec<&Edge>>> = HashMap::new();
        for edge in &pipeline.edges {
            into.entry(edge.to.node.as_str())
                .or_default()
                .entry(edge.to.port.as_str())
                .or_default()
                .push(edge);
        }
        Self { into }
    }

    fn into(&self, node: &str, port: &str) -> &[&'a Edge] {
        self.into
            .get(node)
            .and_then(|ports| ports.get(port))
            .map_or(&[], Vec::as_slice)
    }
}

fn check_ids(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for node in &pipeline.nodes {
        let occurrence = seen.entry(node.id.as_str()).or_insert(0);
        *occurrence += 1;
        if !is_valid_id(&node.id) {
            problems.push(Problem::node(
                &node.id,
                Some("id"),
                format!(
                    "`{}` is not a valid id: use letters, digits and `_`, starting with a letter (e.g. `clean_trips`)",
                    node.id
                ),
            ));
        }
        if *occurrence > 1 {
            let mut problem = Problem::node(
                &node.id,
                Some("id"),
                format!("two nodes have the id `{}`; ids must be unique", node.id),
            );
            problem.occurrence = *occurrence - 1;
            problems.push(problem);
        }
    }
}

fn check_edges(pipeline: &Pipeline, feeding: &EdgeIndex, problems: &mut Vec<Problem>) {
    let nodes: HashMap<&str, &Node> = pipeline.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut seen = HashSet::new();
    let mut used_outputs: HashSet<(&str, &str)> = HashSet::new();
    for (index, edge) in pipeline.edges.iter().enumerate() {
        used_outputs.insert((edge.from.node.as_str(), edge.from.port.as_str()));
        let subject = Subject::Edge { index };
        if !seen.insert(edge) {
            problems.push(Problem::error(
                subject.clone(),
                format!("`{edge}` is listed twice"),
            ));
        }
        match nodes.get(edge.from.node.as_str()) {
            None => problems.push(Problem::error(
                subject.clone(),
                format!(
                    "`{edge}` starts at `{}`, which is not a node",
                    edge.from.node
                ),
            )),
            Some(node) => {
                let ports = node.kind.output_ports();
                if !ports.contains(&edge.from.port) {
                    problems.push(Problem::error(
                        subject.clone(),
                        format!(
                            "`{edge}`: `{}` has no output port `{}`; its outputs are: {}",
                            edge.from.node,
                            edge.from.port,
                            list_or_none(&ports)
                        ),
                    ));
                }
            }
        }
        match nodes.get(edge.to.node.as_str()) {
            None => problems.push(Problem::error(
                subject,
                format!("`{edge}` ends at `{}`, which is not a node", edge.to.node),
            )),
            Some(node) => {
                let ports = node.kind.input_ports();
                if !ports.contains(&edge.to.port) {
                    problems.push(Problem::error(
                        subject,
                        format!(
                            "`{edge}`: `{}` has no input port `{}`; its inputs are: {}",
                            edge.to.node,
                            edge.to.port,
                            list_or_none(&ports)
                        ),
                    ));
                }
            }
        }
    }
    for node in &pipeline.nodes {
        let ports = node.kind.model().ports();
        for port in &ports.inputs {
            let edges = feeding.into(&node.id, port);
            if edges.is_empty() {
                problems.push(Problem::node(
                    &node.id,
                    None,
                    format!("the input `{port}` is not connected to anything"),
                ));
            } else if edges.len() > 1 {
                problems.push(Problem::node(
                    &node.id,
                    None,
                    format!(
                        "the input `{port}` has {} edges; an input takes one (merge streams with a Union node)",
                        edges.len()
                    ),
                ));
            }
        }
        for port in &ports.outputs {
            if !port.optional && !used_outputs.contains(&(node.id.as_str(), port.name.as_str())) {
                problems.push(
                    Problem::node(
                        &node.id,
                        None,
                        format!(
                            "the output `{}` goes nowhere: its rows are thrown away",
                            port.name
                        ),
                    )
                    .as_warning(),
                );
            }
        }
    }
}

fn list_or_none(ports: &[String]) -> String {
    if ports.is_empty() {
        "none".to_string()
    } else {
        ports.join(", ")
    }
}

/// What planning every node found.
struct Planning {
    planned: HashMap<usize, Planned>,
    schemas: PortSchemas,
    times: TimeAttributes,
    problems: Vec<Problem>,
}

/// Plans every node whose inputs are known, in graph order. Nodes downstream of a node with errors
/// are planned too when that node's outputs are known anyway (see
/// [`super::kind::KindModel::outputs_despite_errors`]), and their problems point upstream.
fn plan_nodes(
    pipeline: &Pipeline,
    order: &[usize],
    feeding: &EdgeIndex,
    ctx: &CheckContext,
) -> Planning {
    let mut planning = Planning {
        planned: HashMap::new(),
        schemas: PortSchemas::default(),
        times: TimeAttributes::new(),
        problems: Vec::new(),
    };
    let mut with_errors: HashSet<&str> = HashSet::new();
    for &index in order {
        let node = &pipeline.nodes[index];
        let inputs: Option<Vec<PortInput>> = node
            .kind
            .input_ports()
            .iter()
            .map(|port| {
                let edge = feeding.into(&node.id, port).first()?;
                Some(PortInput {
                    schema: planning
                        .schemas
                        .output(&edge.from.node, &edge.from.port)?
                        .clone(),
                    time: planning.times.get(&edge.from)?.clone(),
                })
            })
            .collect();
        let Some(inputs) = inputs else { continue };
        let model = node.kind.model();
        let mut report = Report::new(&node.id);
        let planned = model.plan(&inputs, ctx, &mut report);
        let failed = report.has_errors();
        // A node fed by one with errors is checked too; its problems say where to start.
        let upstream: Vec<&str> = node
            .kind
            .input_ports()
            .iter()
            .filter_map(|port| feeding.into(&node.id, port).first())
            .map(|edge| edge.from.node.as_str())
            .filter(|from| with_errors.contains(from))
            .collect();
        for mut problem in report.into_problems() {
            if let Some(first) = upstream.first() {
                problem.message.push_str(&format!(
                    " (its input comes from `{first}`, which has errors of its own: fix those first)"
                ));
            }
            planning.problems.push(problem);
        }
        let outputs = match &planned {
            Some(planned) => planned.outputs.clone(),
            None => match model.outputs_despite_errors(&inputs) {
                Some(outputs) => outputs,
                None => continue,
            },
        };
        if failed || planned.is_none() || !upstream.is_empty() {
            with_errors.insert(node.id.as_str());
        }
        for (port, output) in node.kind.output_ports().iter().zip(&outputs) {
            let at = PortRef::new(&node.id, port);
            planning.schemas.insert(at.clone(), output.schema.clone());
            planning.times.insert(at, output.time.clone());
        }
        if let Some(planned) = planned {
            planning.planned.insert(index, planned);
        }
    }
    planning
}

/// The plan of a pipeline with no errors: every node planned, every edge resolved.
fn assemble(pipeline: &Pipeline, planning: Planning, feeding: &EdgeIndex) -> Option<Plan> {
    let Planning {
        mut planned,
        schemas,
        times,
        ..
    } = planning;
    let mut nodes = Vec::with_capacity(pipeline.nodes.len());
    for (index, node) in pipeline.nodes.iter().enumerate() {
        let planned = planned.remove(&index)?;
        let ports = node.kind.model().ports();
        debug_assert_eq!(
            ports.inputs.len(),
            planned.partitioning.len(),
            "{}",
            node.id
        );
        debug_assert_eq!(ports.outputs.len(), planned.outputs.len(), "{}", node.id);
        let mut inputs = Vec::with_capacity(ports.inputs.len());
        for (name, partitioning) in ports.inputs.iter().zip(planned.partitioning) {
            let edge = feeding.into(&node.id, name).first()?;
            inputs.push(InputPlan {
                name: name.clone(),
                schema: schemas.output(&edge.from.node, &edge.from.port)?.clone(),
                time: times.get(&edge.from)?.clone(),
                partitioning,
            });
        }
        let outputs = ports
            .outputs
            .iter()
            .zip(planned.outputs)
            .map(|(port, out)| OutputPlan {
                name: port.name.clone(),
                schema: out.schema,
                time: out.time,
            })
            .collect();
        nodes.push(NodePlan {
            id: node.id.clone(),
            kind_id: node.kind.kind_id(),
            family: node.kind.family(),
            kind: planned.kind,
            inputs,
            outputs,
            parallelism: node.parallelism,
        });
    }
    let index_of: HashMap<&str, usize> = pipeline
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let mut edges = Vec::with_capacity(pipeline.edges.len());
    for edge in &pipeline.edges {
        let from_node = *index_of.get(edge.from.node.as_str())?;
        let to_node = *index_of.get(edge.to.node.as_str())?;
        let from_port = nodes[from_node]
            .outputs
            .iter()
            .position(|p: &OutputPlan| p.name == edge.from.port)?;
        let to_port = nodes[to_node]
            .inputs
            .iter()
            .position(|p: &InputPlan| p.name == edge.to.port)?;
        edges.push(PlannedEdge {
            edge: edge.clone(),
            from_node,
            from_port,
            to_node,
            to_port,
        });
    }
    Some(Plan {
        name: pipeline.name.clone(),
        nodes,
        edges,
    })
}
