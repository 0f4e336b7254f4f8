//! Schema inference: the Arrow schema of every port, derived through the graph in topological order.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::expr::{ExprError, ProjectionItem, plan_aggregate, plan_predicate, sql_type_name};

use super::columns::timestamp_type;
use super::document::{Pipeline, PortRef};
use super::graph::{edges_into, topological_order};
use super::infer::{infer_csv, infer_json_lines};
use super::node::{ERRORS, LATE, Node, NodeKind, OUT};
use super::problem::Problem;
use super::sink::{SinkKind, TableView};
use super::source::{SourceKind, Time};
use super::transform::{TransformKind, UNMATCHED_PORT};
use super::window::{LATE_REASON, LATE_WATERMARK, WINDOW_END, WINDOW_START, WindowConfig};

/// The schema of every output port whose node could be typed.
#[derive(Debug, Default, Clone)]
pub struct PortSchemas {
    outputs: BTreeMap<PortRef, SchemaRef>,
}

impl PortSchemas {
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

/// Types every node whose inputs are known. Nodes downstream of a problem are skipped silently:
/// the problem upstream is the one to fix.
pub fn infer_schemas(pipeline: &Pipeline, base_dir: &Path) -> (PortSchemas, Vec<Problem>) {
    let (order, _cycles) = topological_order(pipeline);
    let mut schemas = PortSchemas::default();
    let mut problems = Vec::new();
    for index in order {
        let node = &pipeline.nodes[index];
        let inputs: Option<Vec<SchemaRef>> = node
            .kind
            .input_ports()
            .iter()
            .map(|port| schemas.input(pipeline, &node.id, port).cloned())
            .collect();
        let Some(inputs) = inputs else { continue };
        let mut typer = NodeTyper {
            node,
            problems: Vec::new(),
        };
        let outputs = typer.outputs(&inputs, base_dir);
        problems.extend(typer.problems);
        for (port, schema) in outputs {
            schemas
                .outputs
                .insert(PortRef::new(&node.id, &port), schema);
        }
    }
    (schemas, problems)
}

struct NodeTyper<'a> {
    node: &'a Node,
    problems: Vec<Problem>,
}

impl NodeTyper<'_> {
    fn problem(&mut self, field: &str, message: impl Into<String>) -> &mut Problem {
        self.problems
            .push(Problem::node(&self.node.id, Some(field), message));
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    fn expr_problem(&mut self, field: &str, item: Option<usize>, text: &str, error: ExprError) {
        let mut problem = Problem::node(
            &self.node.id,
            Some(field),
            format!("in `{text}`: {}", error.message),
        );
        problem.item = item;
        if let Some(p) = error.position {
            problem.text_position = Some((p.line, p.column));
        }
        self.problems.push(problem);
    }

    fn outputs(&mut self, inputs: &[SchemaRef], base_dir: &Path) -> Vec<(String, SchemaRef)> {
        let first = inputs.first().cloned();
        match (&self.node.kind, first) {
            (NodeKind::Source(source), _) => self.source(source, base_dir),
            (NodeKind::Transform(TransformKind::Union(_)), Some(first)) => {
                self.union(inputs, first)
            }
            (NodeKind::Transform(t), Some(input)) => self.transform(t, input),
            (NodeKind::Window(w), Some(input)) => self.window(w, input),
            (NodeKind::Sink(s), Some(input)) => {
                self.sink(s, &input);
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    fn source(&mut self, source: &SourceKind, base_dir: &Path) -> Vec<(String, SchemaRef)> {
        let raw = match source {
            SourceKind::Generator(g) => Ok(g.preset.info().schema),
            SourceKind::CsvFile(c) => match &c.schema {
                Some(columns) => Ok(Schema::new(
                    columns.iter().map(|c| c.field()).collect::<Vec<_>>(),
                )),
                None => infer_csv(&base_dir.join(&c.path), c.header, c.delimiter),
            },
            SourceKind::JsonLinesFile(j) => match &j.schema {
                Some(columns) => Ok(Schema::new(
                    columns.iter().map(|c| c.field()).collect::<Vec<_>>(),
                )),
                None => infer_json_lines(&base_dir.join(&j.path)),
            },
        };
        let schema = match raw {
            Ok(schema) => schema,
            Err(message) => {
                // A missing file is reported by validation; say only what inference adds.
                if base_dir.join(source.path().unwrap_or_default()).is_file() {
                    self.problem("schema", message);
                }
                return Vec::new();
            }
        };
        let mut seen = std::collections::HashSet::new();
        for field in schema.fields() {
            if !seen.insert(field.name().clone()) {
                self.problem(
                    "schema",
                    format!("the column `{}` appears twice", field.name()),
                );
            }
        }
        let schema = match source.time() {
            Time::ProcessingTime => schema,
            Time::EventTime(event_time) => {
                match self.event_time_column(&schema, &event_time.column) {
                    Some(schema) => schema,
                    None => return Vec::new(),
                }
            }
        };
        vec![
            (OUT.to_string(), Arc::new(schema)),
            (ERRORS.to_string(), errors_schema()),
        ]
    }

    /// The event-time column becomes TIMESTAMP(3), whether the file holds epoch ms or ISO text.
    fn event_time_column(&mut self, schema: &Schema, column: &str) -> Option<Schema> {
        let Ok(index) = schema.index_of(column) else {
            let names = column_names(schema);
            self.problem(
                "column",
                format!("the event-time column `{column}` does not exist; the source has: {names}"),
            );
            return None;
        };
        let field = schema.field(index);
        match field.data_type() {
            DataType::Timestamp(..) | DataType::Int64 | DataType::Int32 | DataType::Utf8 => {}
            other => {
                self.problem(
                    "column",
                    format!(
                        "the event-time column `{column}` is {}; it must be a TIMESTAMP, epoch milliseconds (BIGINT) or ISO-8601 text",
                        sql_type_name(other)
                    ),
                );
                return None;
            }
        }
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[index] = Field::new(column, timestamp_type(), field.is_nullable());
        Some(Schema::new(fields))
    }

    fn transform(&mut self, t: &TransformKind, input: SchemaRef) -> Vec<(String, SchemaRef)> {
        match t {
            TransformKind::Filter(f) => match plan_predicate(&f.predicate, &input) {
                Ok(_) => vec![(OUT.to_string(), input)],
                Err(e) => {
                    self.expr_problem("predicate", None, &f.predicate, e);
                    Vec::new()
                }
            },
            TransformKind::Map(m) => self.map(&m.columns, m.keep_input_columns, input),
            TransformKind::Route(r) => {
                let mut ok = true;
                for (i, route) in r.routes.iter().enumerate() {
                    if let Err(e) = plan_predicate(&route.predicate, &input) {
                        self.expr_problem("predicate", Some(i), &route.predicate, e);
                        ok = false;
                    }
                }
                if !ok {
                    return Vec::new();
                }
                r.routes
                    .iter()
                    .map(|route| route.name.clone())
                    .chain(std::iter::once(UNMATCHED_PORT.to_string()))
                    .map(|port| (port, Arc::clone(&input)))
                    .collect()
            }
            TransformKind::Union(_) => Vec::new(),
        }
    }

    fn map(
        &mut self,
        columns: &[String],
        keep: bool,
        input: SchemaRef,
    ) -> Vec<(String, SchemaRef)> {
        if columns.is_empty() && !keep {
            self.problem("columns", "a Map needs at least one column");
            return Vec::new();
        }
        let mut fields: Vec<Field> = if keep {
            input.fields().iter().map(|f| f.as_ref().clone()).collect()
        } else {
            Vec::new()
        };
        let mut computed = std::collections::HashSet::new();
        let mut ok = true;
        for (i, text) in columns.iter().enumerate() {
            match ProjectionItem::plan(text, &input) {
                Ok(item) => {
                    if !computed.insert(item.name.clone()) {
                        self.problem("columns", format!("two columns are named `{}`", item.name))
                            .item = Some(i);
                        ok = false;
                        continue;
                    }
                    let field =
                        Field::new(&item.name, item.expr.data_type.clone(), item.expr.nullable);
                    match fields.iter().position(|f| f.name() == &item.name) {
                        Some(at) => fields[at] = field,
                        None => fields.push(field),
                    }
                }
                Err(e) => {
                    self.expr_problem("columns", Some(i), text, e);
                    ok = false;
                }
            }
        }
        if !ok {
            return Vec::new();
        }
        vec![(OUT.to_string(), Arc::new(Schema::new(fields)))]
    }

    fn union(&mut self, inputs: &[SchemaRef], first: SchemaRef) -> Vec<(String, SchemaRef)> {
        let mut ok = true;
        for (i, other) in inputs.iter().enumerate().skip(1) {
            if let Some(difference) = schema_difference(&first, other) {
                self.problem(
                    "inputs",
                    format!("input in{} does not match in1: {difference}", i + 1),
                );
                ok = false;
            }
        }
        if !ok {
            return Vec::new();
        }
        let fields: Vec<Field> = first
            .fields()
            .iter()
            .enumerate()
            .map(|(c, f)| {
                let nullable = inputs.iter().any(|s| s.field(c).is_nullable());
                f.as_ref().clone().with_nullable(nullable)
            })
            .collect();
        vec![(OUT.to_string(), Arc::new(Schema::new(fields)))]
    }

    fn window(&mut self, w: &WindowConfig, input: SchemaRef) -> Vec<(String, SchemaRef)> {
        let mut fields = Vec::new();
        let mut ok = true;
        for (i, key) in w.key_by.iter().enumerate() {
            match input.field_with_name(key) {
                Ok(field) => fields.push(field.clone()),
                Err(_) => {
                    let names = column_names(&input);
                    self.problem(
                        "key_by",
                        format!("the key column `{key}` does not exist; the input has: {names}"),
                    )
                    .item = Some(i);
                    ok = false;
                }
            }
        }
        fields.push(Field::new(WINDOW_START, timestamp_type(), false));
        fields.push(Field::new(WINDOW_END, timestamp_type(), false));
        if w.aggregates.is_empty() {
            self.problem(
                "aggregates",
                "a window needs at least one aggregate, e.g. `count(*) AS events`",
            );
            ok = false;
        }
        for (i, text) in w.aggregates.iter().enumerate() {
            match plan_aggregate(text, &input) {
                Ok(spec) => {
                    if fields.iter().any(|f| f.name() == &spec.name) {
                        self.problem(
                            "aggregates",
                            format!("`{}` is already a column of the window's output; choose another name", spec.name),
                        )
                        .item = Some(i);
                        ok = false;
                    }
                    let nullable = !matches!(
                        spec.function,
                        crate::expr::AggregateFunction::Count
                            | crate::expr::AggregateFunction::CountDistinct
                    );
                    fields.push(Field::new(&spec.name, spec.output_type, nullable));
                }
                Err(e) => {
                    self.expr_problem("aggregates", Some(i), text, e);
                    ok = false;
                }
            }
        }
        if !ok {
            return Vec::new();
        }
        let mut late_fields: Vec<Field> =
            input.fields().iter().map(|f| f.as_ref().clone()).collect();
        late_fields.push(Field::new(LATE_REASON, DataType::Utf8, false));
        late_fields.push(Field::new(LATE_WATERMARK, timestamp_type(), false));
        vec![
            (OUT.to_string(), Arc::new(Schema::new(fields))),
            (LATE.to_string(), Arc::new(Schema::new(late_fields))),
        ]
    }

    fn sink(&mut self, sink: &SinkKind, input: &Schema) {
        match sink {
            SinkKind::Chart(chart) => {
                self.require_column(input, "x", &chart.x, None);
                if chart.y.is_empty() {
                    self.problem("y", "a chart needs at least one column to plot");
                }
                for (i, y) in chart.y.iter().enumerate() {
                    if let Some(field) = self.require_column(input, "y", y, Some(i))
                        && !field.data_type().is_numeric()
                    {
                        self.problem(
                            "y",
                            format!(
                                "`{y}` is {}; a chart plots numbers",
                                sql_type_name(field.data_type())
                            ),
                        )
                        .item = Some(i);
                    }
                }
                if let Some(series) = &chart.series_by {
                    self.require_column(input, "series_by", series, None);
                }
            }
            SinkKind::Table(table) => {
                if let TableView::Top(top) = &table.view {
                    self.require_column(input, "order_by", &top.order_by, None);
                    for (i, column) in top.unique_by.iter().enumerate() {
                        self.require_column(input, "unique_by", column, Some(i));
                    }
                }
            }
            SinkKind::Console(_) | SinkKind::CsvFile(_) | SinkKind::JsonLinesFile(_) => {}
        }
    }

    fn require_column<'s>(
        &mut self,
        input: &'s Schema,
        field: &str,
        column: &str,
        item: Option<usize>,
    ) -> Option<&'s Field> {
        match input.field_with_name(column) {
            Ok(f) => Some(f),
            Err(_) => {
                let names = column_names(input);
                self.problem(
                    field,
                    format!("the column `{column}` does not exist; the input has: {names}"),
                )
                .item = item;
                None
            }
        }
    }
}

fn column_names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// How two schemas differ, in words, or `None` when names and types agree.
fn schema_difference(a: &Schema, b: &Schema) -> Option<String> {
    let names = |s: &Schema| column_names(s);
    if a.fields().len() != b.fields().len() {
        return Some(format!(
            "they have different columns ({} vs {})",
            names(a),
            names(b)
        ));
    }
    for (fa, fb) in a.fields().iter().zip(b.fields()) {
        if fa.name() != fb.name() {
            return Some(format!("column `{}` vs `{}`", fa.name(), fb.name()));
        }
        if fa.data_type() != fb.data_type() {
            return Some(format!(
                "column `{}` is {} vs {}",
                fa.name(),
                sql_type_name(fa.data_type()),
                sql_type_name(fb.data_type())
            ));
        }
    }
    None
}
