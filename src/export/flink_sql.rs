//! A checked pipeline as Flink SQL: one `CREATE TABLE` per source (its schema, watermark and
//! connector), a temporary view per transform output, window table functions for windows, one
//! table per sink and all `INSERT`s in one statement set. Each kind is handled in one arm of
//! [`Exporter::node`]; what does not translate goes to the report with the reason.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use arrow::datatypes::SchemaRef;

use super::kinesis::KinesisConnector;
use super::report::ReportEntry;
use super::{firehose, joins, kinesis, patterns, sinks, sources, streams, windows};
use crate::expr::{flink_expr, flink_item, quote_name};
use crate::model::kinds::PlannedKind;
use crate::model::plan::{NodePlan, Plan};

/// How to export.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Generators whose rows were written to a CSV file (with a header and ISO-8601 times), by
    /// node id: each is exported as a filesystem table over its file.
    pub materialized: BTreeMap<String, PathBuf>,
    /// Where the rows of generators not materialised would be (`DIR/<node>.csv`): with it, such a
    /// generator is exported over that file (the app's view, to show the whole pipeline), and the
    /// report says how to write it; without it, the generator is left out.
    pub unwritten_generators: Option<PathBuf>,
    /// The Kinesis connector version the Kinesis source and sink tables are written for.
    pub kinesis_connector: KinesisConnector,
}

/// The export: statements in order (the last is the statement set of every `INSERT`, when there
/// is one), the report, and the folder each file sink's rows go to.
#[derive(Debug, Clone)]
pub struct FlinkExport {
    pub statements: Vec<String>,
    pub report: Vec<ReportEntry>,
    pub sink_folders: Vec<(String, PathBuf)>,
    /// Each node's own statements (its tables and views, and its `INSERT`), by node id in export
    /// order: what the app shows beside a selected node.
    pub by_node: Vec<(String, Vec<String>)>,
}

impl FlinkExport {
    /// Whether anything runs: at least one sink is fed.
    pub fn has_inserts(&self) -> bool {
        self.statements
            .last()
            .is_some_and(|s| s.starts_with("EXECUTE STATEMENT SET"))
    }

    /// The statements as one script, each ending with `;`.
    pub fn script(&self, header: &str) -> String {
        let mut text = String::new();
        for line in header.lines() {
            text.push_str("-- ");
            text.push_str(line);
            text.push('\n');
        }
        for statement in &self.statements {
            text.push('\n');
            text.push_str(statement);
            text.push_str(";\n");
        }
        text
    }
}

/// Exports `plan`.
pub fn export(plan: &Plan, options: &ExportOptions) -> FlinkExport {
    let mut exporter = Exporter {
        plan,
        options,
        statements: vec![
            "SET 'table.local-time-zone' = 'UTC'".to_string(),
            "SET 'execution.runtime-mode' = 'streaming'".to_string(),
        ],
        inserts: Vec::new(),
        report: Vec::new(),
        relations: HashMap::new(),
        sink_folders: Vec::new(),
        by_node: Vec::new(),
    };
    for index in topological_order(plan) {
        exporter.node(index);
    }
    let Exporter {
        mut statements,
        inserts,
        report,
        sink_folders,
        by_node,
        ..
    } = exporter;
    if !inserts.is_empty() {
        statements.push(format!(
            "EXECUTE STATEMENT SET\nBEGIN\n{};\nEND",
            inserts.join(";\n")
        ));
    }
    FlinkExport {
        statements,
        report,
        sink_folders,
        by_node,
    }
}

/// Nodes in an order where every node comes after those feeding it (the pipeline's order where
/// it allows).
fn topological_order(plan: &Plan) -> Vec<usize> {
    let n = plan.nodes.len();
    let mut waiting: Vec<usize> = (0..n).map(|i| plan.edges_into(i).count()).collect();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while order.len() < n {
        let Some(next) = (0..n).find(|&i| !done[i] && waiting[i] == 0) else {
            // A cycle cannot pass validation; keep whatever is left in file order.
            order.extend((0..n).filter(|&i| !done[i]));
            break;
        };
        done[next] = true;
        order.push(next);
        for edge in plan.edges.iter().filter(|e| e.from_node == next) {
            waiting[edge.to_node] = waiting[edge.to_node].saturating_sub(1);
        }
    }
    order
}

/// The export as it is being built.
pub(super) struct Exporter<'p> {
    pub plan: &'p Plan,
    pub options: &'p ExportOptions,
    pub statements: Vec<String>,
    pub inserts: Vec<String>,
    pub report: Vec<ReportEntry>,
    /// The view (or table) holding each exported node's output port.
    relations: HashMap<(usize, usize), String>,
    pub sink_folders: Vec<(String, PathBuf)>,
    by_node: Vec<(String, Vec<String>)>,
}

impl Exporter<'_> {
    /// The view name of output `port` of `node`: the node's id for its first port.
    pub fn view_name(node: &NodePlan, port: usize) -> String {
        match port {
            0 => node.id.clone(),
            _ => format!(
                "{}__{}",
                node.id,
                node.outputs.get(port).map_or("port", |o| o.name.as_str())
            ),
        }
    }

    /// Records that output `port` of node `index` is the relation `name`.
    pub fn provide(&mut self, index: usize, port: usize, name: String) {
        self.relations.insert((index, port), name);
    }

    /// The relation arriving at input `port` of node `index` (a view of the union of its edges
    /// when several feed it), or the reason there is none.
    pub fn input(&mut self, index: usize, port: usize) -> Result<String, String> {
        let node = &self.plan.nodes[index];
        let edges: Vec<_> = self
            .plan
            .edges_into(index)
            .filter(|e| e.to_port == port)
            .collect();
        let mut names = Vec::new();
        for edge in &edges {
            match self.relations.get(&(edge.from_node, edge.from_port)) {
                Some(name) => names.push(name.clone()),
                None => {
                    return Err(format!(
                        "it reads `{}`, which is not exported",
                        edge.edge.from
                    ));
                }
            }
        }
        match names.len() {
            0 => Err("nothing feeds it".into()),
            1 => Ok(names.remove(0)),
            _ => {
                let schema = &node.inputs[port].schema;
                let view = format!(
                    "{}__{}",
                    node.id,
                    node.inputs.get(port).map_or("in", |p| p.name.as_str())
                );
                let selects: Vec<String> = names
                    .iter()
                    .map(|n| format!("SELECT {} FROM {}", columns(schema), quote_name(n)))
                    .collect();
                self.view(&view, &selects.join("\nUNION ALL\n"));
                Ok(view)
            }
        }
    }

    /// Adds `CREATE TEMPORARY VIEW name AS query`.
    pub fn view(&mut self, name: &str, query: &str) {
        self.statements.push(format!(
            "CREATE TEMPORARY VIEW {} AS\n{query}",
            quote_name(name)
        ));
    }

    fn left_out(&mut self, node: &NodePlan, what: String, closest: &str) {
        self.report
            .push(ReportEntry::left_out(&node.id, what, closest));
    }

    /// Exports node `index` (keeping which statements are its own), or reports why not.
    fn node(&mut self, index: usize) {
        let (statements, inserts) = (self.statements.len(), self.inserts.len());
        self.node_statements(index);
        let own: Vec<String> = self.statements[statements..]
            .iter()
            .chain(&self.inserts[inserts..])
            .cloned()
            .collect();
        self.by_node.push((self.plan.nodes[index].id.clone(), own));
    }

    fn node_statements(&mut self, index: usize) {
        let node = &self.plan.nodes[index];
        let result = match &node.kind {
            PlannedKind::CsvSource(c) => sources::csv(self, index, c),
            PlannedKind::JsonLinesSource(j) => sources::json_lines(self, index, j),
            PlannedKind::Generator(g) => sources::generator(self, index, g),
            PlannedKind::Filter(f) => self.filter(index, &f.predicate.text),
            PlannedKind::Map(_) => self.map(index),
            PlannedKind::Route(r) => {
                let texts: Vec<String> = r.predicates.iter().map(|p| p.text.clone()).collect();
                self.route(index, &texts)
            }
            PlannedKind::Union(_) => self.union(index),
            PlannedKind::Window(w) => windows::window(self, index, w),
            PlannedKind::CsvSink(c) => sinks::file(self, index, &c.path, "csv", c.header),
            PlannedKind::JsonLinesSink(j) => sinks::file(self, index, &j.path, "json", false),
            PlannedKind::Chart(_) | PlannedKind::Table(_) | PlannedKind::Console(_) => {
                sinks::print(self, index)
            }
            PlannedKind::Deduplicate(d) => self.deduplicate(index, &d.key_by, d.within_ms),
            PlannedKind::KinesisStream(k) => streams::kinesis_stream(self, index, k),
            PlannedKind::Lambda(l) => streams::lambda(self, index, l),
            PlannedKind::Kcl(_) => streams::kcl(self, index),
            PlannedKind::Firehose(f) => firehose::firehose(self, index, f),
            PlannedKind::KinesisSource(k) => kinesis::source(self, index, k),
            PlannedKind::KinesisSink(k) => kinesis::sink(self, index, k),
            PlannedKind::IntervalJoin(j) => joins::interval_join(self, index, j),
            PlannedKind::LookupJoin(l) => joins::lookup_join(self, index, l),
            PlannedKind::WindowJoin(w) => joins::window_join(self, index, w),
            PlannedKind::Pattern(p) => patterns::pattern(self, index, p),
        };
        if let Err((what, closest)) = result {
            self.left_out(&self.plan.nodes[index].clone(), what, closest);
        }
    }

    fn filter(&mut self, index: usize, predicate: &str) -> Export {
        let node = &self.plan.nodes[index];
        let input = self.input(index, 0).map_err(dependency)?;
        let condition = flink_expr(predicate, &node.inputs[0].schema).map_err(untranslatable)?;
        let name = Self::view_name(node, 0);
        let query = format!(
            "SELECT * FROM {} WHERE ({condition}) IS TRUE",
            quote_name(&input)
        );
        self.view(&name, &query);
        self.provide(index, 0, name);
        Ok(())
    }

    fn map(&mut self, index: usize) -> Export {
        let node = self.plan.nodes[index].clone();
        let PlannedKind::Map(map) = &node.kind else {
            return Err(("not a Map".into(), ""));
        };
        let input = self.input(index, 0).map_err(dependency)?;
        let mut items = Vec::new();
        for column in &map.columns {
            match column {
                crate::model::kinds::map::ColumnSource::Input(i) => {
                    let name = node.inputs[0].schema.field(*i).name();
                    items.push(quote_name(name));
                }
                crate::model::kinds::map::ColumnSource::Computed(i) => {
                    let item = &map.items[*i];
                    // The item's text is the whole `expression AS name`.
                    let (expr, _) = flink_item(&item.expr.text, &node.inputs[0].schema)
                        .map_err(untranslatable)?;
                    items.push(format!("{expr} AS {}", quote_name(&item.name)));
                }
            }
        }
        let name = Self::view_name(&node, 0);
        let query = format!("SELECT {} FROM {}", items.join(", "), quote_name(&input));
        self.view(&name, &query);
        self.provide(index, 0, name);
        Ok(())
    }

    /// A row goes to the first route whose condition is true, the rest to `unmatched` (the last
    /// port): each port's view keeps its condition and excludes every earlier one.
    fn route(&mut self, index: usize, predicates: &[String]) -> Export {
        let node = self.plan.nodes[index].clone();
        let input = self.input(index, 0).map_err(dependency)?;
        let conditions: Vec<String> = predicates
            .iter()
            .map(|p| flink_expr(p, &node.inputs[0].schema).map_err(untranslatable))
            .collect::<Result<_, _>>()?;
        for port in 0..node.outputs.len() {
            let mut parts: Vec<String> = conditions
                .iter()
                .take(port.min(conditions.len()))
                .map(|c| format!("({c}) IS NOT TRUE"))
                .collect();
            if let Some(own) = conditions.get(port) {
                parts.push(format!("({own}) IS TRUE"));
            }
            let name = Self::view_name(&node, port);
            let filter = if parts.is_empty() {
                String::new()
            } else {
                format!(" WHERE {}", parts.join(" AND "))
            };
            self.view(
                &name,
                &format!("SELECT * FROM {}{filter}", quote_name(&input)),
            );
            self.provide(index, port, name);
        }
        Ok(())
    }

    /// Flink SQL's deduplication: the first row per key in event time, kept for as long as the
    /// key's state lives; Eddy forgets a key `within` after a kept row.
    fn deduplicate(&mut self, index: usize, key_by: &[String], within_ms: i64) -> Export {
        let node = self.plan.nodes[index].clone();
        let input = self.input(index, 0).map_err(dependency)?;
        let order = match &node.inputs[0].time {
            crate::model::time::TimeAttr::Event {
                column,
                shift_ms: 0,
            } => quote_name(column),
            _ => {
                return Err((
                    "a Deduplicate without an event-time column of its own is not exported".into(),
                    "ROW_NUMBER() OVER (PARTITION BY keys ORDER BY PROCTIME())",
                ));
            }
        };
        let keys: Vec<String> = key_by.iter().map(|k| quote_name(k)).collect();
        let schema = &node.outputs[0].schema;
        let name = Self::view_name(&node, 0);
        self.view(
            &name,
            &format!(
                "SELECT {}\nFROM (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {order} ASC) \
                 AS `__row`\n  FROM {}\n)\nWHERE `__row` = 1",
                columns(schema),
                keys.join(", "),
                quote_name(&input)
            ),
        );
        self.provide(index, 0, name);
        self.report.push(ReportEntry::differs(
            &node.id,
            format!(
                "Flink keeps the first row per key (earliest in event time, once the watermark \
                 passes it) for as long as the key's state lives; Eddy forgets a key {} after a \
                 kept row, so a key that comes back later passes again in Eddy only; the \
                 `duplicates` port is not exported",
                crate::model::Duration::from_millis(within_ms)
            ),
            "'table.exec.state.ttl' bounds the state (in processing time)",
        ));
        Ok(())
    }

    fn union(&mut self, index: usize) -> Export {
        let node = self.plan.nodes[index].clone();
        let schema = &node.outputs[0].schema;
        let mut selects = Vec::new();
        for port in 0..node.inputs.len() {
            let input = self.input(index, port).map_err(dependency)?;
            selects.push(format!(
                "SELECT {} FROM {}",
                columns(schema),
                quote_name(&input)
            ));
        }
        let name = Self::view_name(&node, 0);
        self.view(&name, &selects.join("\nUNION ALL\n"));
        self.provide(index, 0, name);
        Ok(())
    }
}

/// What one node's export gives: nothing, or why it is left out and the closest Flink form.
pub(super) type Export = Result<(), (String, &'static str)>;

/// A missing input, as a report entry.
pub(super) fn dependency(why: String) -> (String, &'static str) {
    (why, "export the node it reads first")
}

/// An expression without a Flink form, as a report entry.
pub(super) fn untranslatable(why: String) -> (String, &'static str) {
    (why, "rewrite the expression with functions Flink SQL has")
}

/// Every column of `schema`, quoted, in order.
pub(super) fn columns(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| quote_name(f.name()))
        .collect::<Vec<_>>()
        .join(", ")
}
