//! Validation: every problem in a pipeline at once, errors apart from warnings. Reads, never runs.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

use super::document::Pipeline;
use super::graph::{edges_into, topological_order};
use super::node::{Node, NodeKind, is_valid_id};
use super::problem::{Problem, Subject};
use super::schema::{PortSchemas, infer_schemas};
use super::sink::{SinkKind, TableView};
use super::source::{SourceKind, StopAfter, Time};
use super::time::{TimeAttributes, time_attributes};
use super::transform::{TransformKind, UNMATCHED_PORT};
use super::window::{Emit, WindowConfig, WindowShape};

/// The result of validating a pipeline: its problems and the schemas that could be derived.
#[derive(Debug, Clone)]
pub struct Validation {
    pub problems: Vec<Problem>,
    pub schemas: PortSchemas,
    pub times: TimeAttributes,
}

impl Validation {
    pub fn has_errors(&self) -> bool {
        super::problem::has_errors(&self.problems)
    }
}

/// Validates `pipeline`, whose relative paths are relative to `base_dir` (the file's folder).
pub fn validate(pipeline: &Pipeline, base_dir: &Path) -> Validation {
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
        let first_new = problems.len();
        check_node(node, base_dir, &mut problems);
        for problem in &mut problems[first_new..] {
            problem.occurrence = *occurrence;
        }
        *occurrence += 1;
    }
    check_edges(pipeline, &mut problems);
    let (_, cycles) = topological_order(pipeline);
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
    for id in pipeline.layout.nodes.keys() {
        if pipeline.node(id).is_none() {
            problems.push(Problem::warning(
                Subject::Document,
                format!("the layout places a node `{id}` that does not exist"),
            ));
        }
    }
    let (schemas, type_problems) = infer_schemas(pipeline, base_dir);
    problems.extend(type_problems);
    let (times, time_problems) = time_attributes(pipeline, &schemas);
    problems.extend(time_problems);
    Validation {
        problems,
        schemas,
        times,
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

fn check_edges(pipeline: &Pipeline, problems: &mut Vec<Problem>) {
    let nodes: HashMap<&str, &Node> = pipeline.nodes.iter().map(|n| (n.id.as_str(), n)).collect();
    let mut seen = HashSet::new();
    for (index, edge) in pipeline.edges.iter().enumerate() {
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
        for port in node.kind.input_ports() {
            let feeding = edges_into(pipeline, &node.id, &port);
            if feeding.is_empty() {
                problems.push(Problem::node(
                    &node.id,
                    None,
                    format!("the input `{port}` is not connected to anything"),
                ));
            } else if feeding.len() > 1 {
                problems.push(Problem::node(
                    &node.id,
                    None,
                    format!(
                        "the input `{port}` has {} edges; an input takes one (merge streams with a Union node)",
                        feeding.len()
                    ),
                ));
            }
        }
        for port in node.kind.output_ports() {
            let used = pipeline
                .edges
                .iter()
                .any(|e| e.from.node == node.id && e.from.port == port);
            if !used && !node.kind.is_optional_output(&port) {
                problems.push(
                    Problem::node(
                        &node.id,
                        None,
                        format!("the output `{port}` goes nowhere: its rows are thrown away"),
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

fn check_node(node: &Node, base_dir: &Path, problems: &mut Vec<Problem>) {
    let mut report = |field: &str, message: String| {
        problems.push(Problem::node(&node.id, Some(field), message));
    };
    if node.parallelism == Some(0) {
        report("parallelism", "parallelism must be at least 1".into());
    }
    match &node.kind {
        NodeKind::Source(source) => check_source(source, base_dir, &mut report),
        NodeKind::Transform(TransformKind::Union(u)) if u.inputs < 2 => {
            report(
                "inputs",
                format!("a Union needs at least 2 inputs, not {}", u.inputs),
            );
        }
        NodeKind::Transform(TransformKind::Union(u)) if u.inputs > 64 => {
            report(
                "inputs",
                format!("a Union takes at most 64 inputs, not {}", u.inputs),
            );
        }
        NodeKind::Transform(TransformKind::Route(r)) => {
            if r.routes.is_empty() {
                report("routes", "a Route needs at least one route".into());
            }
            let mut names = HashSet::new();
            for route in &r.routes {
                if !is_valid_id(&route.name) {
                    report(
                        "name",
                        format!(
                            "`{}` is not a valid port name: use letters, digits and `_`",
                            route.name
                        ),
                    );
                } else if route.name == UNMATCHED_PORT {
                    report(
                        "name",
                        format!(
                            "`{UNMATCHED_PORT}` is the name of the port for rows no route takes"
                        ),
                    );
                } else if !names.insert(route.name.as_str()) {
                    report("name", format!("two routes are named `{}`", route.name));
                }
            }
        }
        NodeKind::Transform(_) => {}
        NodeKind::Window(w) => check_window(w, &mut report),
        NodeKind::Sink(sink) => check_sink(sink, base_dir, &mut report),
    }
}

fn check_source(source: &SourceKind, base_dir: &Path, report: &mut impl FnMut(&str, String)) {
    if let Time::EventTime(t) = source.time() {
        if t.max_out_of_orderness.as_millis() < 0 {
            report(
                "max_out_of_orderness",
                "max_out_of_orderness cannot be negative".into(),
            );
        }
        if let Some(idle) = t.idle_timeout
            && idle.as_millis() <= 0
        {
            report("idle_timeout", "idle_timeout must be longer than 0s".into());
        }
    }
    match source {
        SourceKind::Generator(g) => {
            if g.events_per_sec == 0 {
                report("events_per_sec", "events_per_sec must be at least 1".into());
            }
            if g.keys == 0 {
                report("keys", "keys must be at least 1".into());
            }
            if !(g.key_skew.is_finite() && g.key_skew >= 0.0) {
                report(
                    "key_skew",
                    format!("key_skew must be 0 or more, not {}", g.key_skew),
                );
            }
            for (field, share) in [
                ("late_share", g.late_share),
                ("duplicate_share", g.duplicate_share),
            ] {
                if !(0.0..=1.0).contains(&share) {
                    report(
                        field,
                        format!("{field} is a share between 0 and 1, not {share}"),
                    );
                }
            }
            if g.disorder.as_millis() < 0 {
                report("disorder", "disorder cannot be negative".into());
            }
            if g.late_share > 0.0 && g.late_by.as_millis() <= 0 {
                report(
                    "late_by",
                    "late_by must be longer than 0s when late_share is set".into(),
                );
            }
            if g.idle_keys > g.keys {
                report(
                    "idle_keys",
                    format!(
                        "idle_keys ({}) cannot exceed keys ({})",
                        g.idle_keys, g.keys
                    ),
                );
            }
            if super::infer::parse_timestamp_millis(&g.start_time).is_none() {
                report(
                    "start_time",
                    format!(
                        "`{}` is not an ISO-8601 time such as 2024-01-15T08:00:00Z",
                        g.start_time
                    ),
                );
            }
            match g.stop_after {
                StopAfter::Events(0) => {
                    report("stop_after", "Events(0) would produce nothing".into())
                }
                StopAfter::EventTime(d) if d.as_millis() <= 0 => report(
                    "stop_after",
                    "the event-time span must be longer than 0s".into(),
                ),
                _ => {}
            }
        }
        SourceKind::CsvFile(c) => {
            if !c.delimiter.is_ascii() {
                report(
                    "delimiter",
                    format!(
                        "the delimiter `{}` must be a single ASCII character",
                        c.delimiter
                    ),
                );
            }
            check_input_file(&c.path, base_dir, report);
        }
        SourceKind::JsonLinesFile(j) => check_input_file(&j.path, base_dir, report),
    }
}

fn check_input_file(path: &str, base_dir: &Path, report: &mut impl FnMut(&str, String)) {
    let full = base_dir.join(path);
    if !full.is_file() {
        report(
            "path",
            format!(
                "the file `{path}` does not exist (looked for {})",
                full.display()
            ),
        );
    }
}

fn check_window(w: &WindowConfig, report: &mut impl FnMut(&str, String)) {
    let positive = |d: super::duration::Duration| d.as_millis() > 0;
    match &w.window {
        WindowShape::Tumbling(t) => {
            if !positive(t.size) {
                report(
                    "size",
                    format!("a window size must be longer than 0s, not {}", t.size),
                );
            } else if t.offset.as_millis().abs() >= t.size.as_millis() {
                report(
                    "offset",
                    format!(
                        "the offset ({}) must be smaller than the size ({})",
                        t.offset, t.size
                    ),
                );
            }
        }
        WindowShape::Sliding(s) => {
            if !positive(s.size) {
                report(
                    "size",
                    format!("a window size must be longer than 0s, not {}", s.size),
                );
            }
            if !positive(s.slide) {
                report(
                    "slide",
                    format!("the slide must be longer than 0s, not {}", s.slide),
                );
            } else if s.slide > s.size && positive(s.size) {
                report(
                    "slide",
                    format!(
                        "the slide ({}) is longer than the size ({}): rows between windows would be lost; use a Tumbling window or a shorter slide",
                        s.slide, s.size
                    ),
                );
            } else if s.offset.as_millis().abs() >= s.slide.as_millis() {
                report(
                    "offset",
                    format!(
                        "the offset ({}) must be smaller than the slide ({})",
                        s.offset, s.slide
                    ),
                );
            }
        }
        WindowShape::Session(s) => {
            if !positive(s.gap) {
                report(
                    "gap",
                    format!("a session gap must be longer than 0s, not {}", s.gap),
                );
            }
        }
        WindowShape::Count(c) => {
            if c.size == 0 {
                report("size", "a count window needs a size of at least 1".into());
            }
        }
    }
    if w.allowed_lateness.as_millis() < 0 {
        report(
            "allowed_lateness",
            "allowed_lateness cannot be negative".into(),
        );
    }
    if let Emit::Early(every) = w.emit
        && every.as_millis() <= 0
    {
        report(
            "emit",
            "early results need an interval longer than 0s".into(),
        );
    }
    let mut keys = HashSet::new();
    for key in &w.key_by {
        if !keys.insert(key) {
            report("key_by", format!("the key `{key}` is listed twice"));
        }
    }
}

fn check_sink(sink: &SinkKind, base_dir: &Path, report: &mut impl FnMut(&str, String)) {
    if let Some((path, allow_outside)) = sink.output_file() {
        if path.trim().is_empty() {
            report("path", "the output path is empty".into());
        } else if !allow_outside && !is_inside(base_dir, path) {
            report(
                "path",
                format!(
                    "`{path}` is outside the pipeline's folder; set `allow_outside: true` if that is intended"
                ),
            );
        }
    }
    match sink {
        SinkKind::Table(t) => match &t.view {
            TableView::Latest(0) => report("view", "a table needs to show at least 1 row".into()),
            TableView::Top(top) if top.n == 0 => {
                report("n", "a leaderboard needs at least 1 row".into())
            }
            _ => {}
        },
        SinkKind::Chart(c) if c.top_series == 0 => report(
            "top_series",
            "a chart needs to draw at least 1 series".into(),
        ),
        _ => {}
    }
}

/// Whether `path` (relative to `base`, or absolute) stays inside `base`, judged on the text alone.
fn is_inside(base: &Path, path: &str) -> bool {
    let candidate = Path::new(path);
    if candidate.is_absolute() {
        let base = normalize(&std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf()));
        return normalize(candidate).starts_with(base);
    }
    let mut depth: i64 = 0;
    for component in candidate.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_out_are_outside() {
        let base = Path::new("/work/p");
        assert!(is_inside(base, "out/results.csv"));
        assert!(is_inside(base, "out/../results.csv"));
        assert!(!is_inside(base, "../results.csv"));
        assert!(!is_inside(base, "out/../../x.csv"));
        assert!(!is_inside(base, "/tmp/x.csv"));
        assert!(is_inside(base, "/work/p/x.csv"));
    }
}
