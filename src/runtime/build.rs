//! Turning one validated node into running operators: sources, transforms, windows and sinks.

use std::path::Path;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;

use super::error::RunError;
use super::keys::KeyEncoder;
use super::metrics::InstanceMetrics;
use super::operator::Operator;
use super::operators::{
    filter::FilterOperator, map::MapOperator, route::RouteOperator, union::UnionOperator,
};
use super::source::{Source, SourceTime};
use super::window::accumulate::Aggregates;
use super::window::count::CountWindowOperator;
use super::window::keyed_state::KeyTable;
use super::window::time_windows::{Assigner, RowTime, TimeWindowConfig, TimeWindowOperator};
use crate::connectors::collector::{Collected, CollectedRows, CollectorSink};
use crate::connectors::console::{ConsoleSink, ConsoleWriter};
use crate::connectors::csv_source::CsvSource;
use crate::connectors::file_sink::{FileFormat, FileSink};
use crate::connectors::generator::GeneratorSourceReader;
use crate::connectors::json_source::JsonLinesSource;
use crate::expr::{ProjectionItem, plan_aggregate, plan_predicate};
use crate::model::node::{Node, NodeKind};
use crate::model::sink::SinkKind;
use crate::model::source::{SourceKind, Time};
use crate::model::time::TimeAttr;
use crate::model::transform::TransformKind;
use crate::model::window::{Emit, WindowConfig, WindowShape};

/// What operators need to know about a node's neighbourhood.
pub struct NodeContext<'a> {
    pub node: &'a Node,
    pub base_dir: &'a Path,
    /// Schemas arriving at each input port, in port order.
    pub inputs: Vec<SchemaRef>,
    /// Schemas of each output port, in port order.
    pub outputs: Vec<SchemaRef>,
    /// Time attribute of the rows arriving at the first input.
    pub input_time: Option<TimeAttr>,
    pub console: ConsoleWriter,
    pub collector_max_rows: usize,
    /// The node's event-time trace, for window nodes.
    pub trace: Option<Arc<crate::runtime::trace::EventTrace>>,
}

fn err(node: &Node, message: impl Into<String>) -> RunError {
    RunError::in_node(&node.id, message)
}

/// Builds the reader of a source node and how its rows tell time.
pub fn build_source(ctx: &NodeContext) -> Result<(Box<dyn Source>, SourceTime), RunError> {
    let NodeKind::Source(kind) = &ctx.node.kind else {
        return Err(err(ctx.node, "not a source"));
    };
    let schema = ctx
        .outputs
        .first()
        .cloned()
        .ok_or_else(|| err(ctx.node, "no output schema"))?;
    let (time, time_column) = match kind.time() {
        Time::EventTime(t) => {
            let column = schema
                .index_of(&t.column)
                .map_err(|_| err(ctx.node, format!("no event-time column `{}`", t.column)))?;
            (
                SourceTime::Event {
                    column,
                    max_out_of_orderness_ms: t.max_out_of_orderness.as_millis(),
                    idle_timeout: t
                        .idle_timeout
                        .map(|d| std::time::Duration::from_millis(d.as_millis().max(0) as u64)),
                },
                Some(column),
            )
        }
        Time::ProcessingTime => (SourceTime::Processing, None),
    };
    let source: Box<dyn Source> = match kind {
        SourceKind::Generator(g) => {
            Box::new(GeneratorSourceReader::new(g, schema).map_err(|e| err(ctx.node, e.message))?)
        }
        SourceKind::CsvFile(c) => Box::new(
            CsvSource::open(
                &ctx.base_dir.join(&c.path),
                c.header,
                c.delimiter,
                schema,
                time_column,
            )
            .map_err(|e| err(ctx.node, e.message))?,
        ),
        SourceKind::JsonLinesFile(j) => Box::new(
            JsonLinesSource::open(&ctx.base_dir.join(&j.path), schema, time_column)
                .map_err(|e| err(ctx.node, e.message))?,
        ),
    };
    Ok((source, time))
}

/// The key columns rows are partitioned by when entering this node, if it is keyed.
pub fn partition_keys(node: &Node) -> Option<&[String]> {
    match &node.kind {
        NodeKind::Window(w) if !w.key_by.is_empty() => Some(&w.key_by),
        _ => None,
    }
}

/// Builds one instance of a transform, window or sink node. Sinks that keep rows in memory
/// return their shared rows.
pub fn build_operator(
    ctx: &NodeContext,
    metrics: &Arc<InstanceMetrics>,
) -> Result<(Box<dyn Operator>, Option<CollectedRows>), RunError> {
    let node = ctx.node;
    let input = ctx
        .inputs
        .first()
        .cloned()
        .ok_or_else(|| err(node, "no input schema"))?;
    let output = ctx.outputs.first().cloned();
    let plan_err = |e: crate::expr::ExprError| err(node, e.to_string());
    let op: Box<dyn Operator> = match &node.kind {
        NodeKind::Source(_) => return Err(err(node, "a source is not an operator")),
        NodeKind::Transform(TransformKind::Filter(f)) => Box::new(FilterOperator {
            predicate: plan_predicate(&f.predicate, &input).map_err(plan_err)?,
        }),
        NodeKind::Transform(TransformKind::Map(m)) => {
            let items = m
                .columns
                .iter()
                .map(|c| ProjectionItem::plan(c, &input))
                .collect::<Result<Vec<_>, _>>()
                .map_err(plan_err)?;
            let output = output.ok_or_else(|| err(node, "no output schema"))?;
            Box::new(MapOperator::new(
                items,
                m.keep_input_columns,
                &input,
                output,
            ))
        }
        NodeKind::Transform(TransformKind::Route(r)) => Box::new(RouteOperator {
            predicates: r
                .routes
                .iter()
                .map(|route| plan_predicate(&route.predicate, &input))
                .collect::<Result<Vec<_>, _>>()
                .map_err(plan_err)?,
        }),
        NodeKind::Transform(TransformKind::Union(_)) => Box::new(UnionOperator {
            output_schema: output.ok_or_else(|| err(node, "no output schema"))?,
        }),
        NodeKind::Window(w) => build_window(ctx, w, &input, metrics)?,
        NodeKind::Sink(sink) => return build_sink(ctx, sink),
    };
    Ok((op, None))
}

fn build_window(
    ctx: &NodeContext,
    w: &WindowConfig,
    input: &SchemaRef,
    metrics: &Arc<InstanceMetrics>,
) -> Result<Box<dyn Operator>, RunError> {
    let node = ctx.node;
    let specs = w
        .aggregates
        .iter()
        .map(|a| plan_aggregate(a, input))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(node, e.to_string()))?;
    let aggregates = Aggregates::new(&specs);
    let keys = KeyTable::new(KeyEncoder::new(input, &w.key_by).map_err(|e| err(node, e.message))?);
    let time = match &ctx.input_time {
        Some(TimeAttr::Event { column, shift_ms }) => RowTime::Event {
            column: input
                .index_of(column)
                .map_err(|_| err(node, format!("the time column `{column}` is missing")))?,
            shift_ms: *shift_ms,
        },
        Some(TimeAttr::Processing) => RowTime::Processing,
        Some(TimeAttr::None { why }) => {
            return Err(err(node, format!("the rows have no time: {why}")));
        }
        None => return Err(err(node, "the rows' time is unknown")),
    };
    let output_schema = ctx
        .outputs
        .first()
        .cloned()
        .ok_or_else(|| err(node, "no output schema"))?;
    if let WindowShape::Count(c) = &w.window {
        return Ok(Box::new(CountWindowOperator::new(
            c.size,
            time,
            aggregates,
            output_schema,
            keys,
            Arc::clone(metrics),
        )));
    }
    let assigner = match &w.window {
        WindowShape::Tumbling(t) => Assigner::Tumbling {
            size: t.size.as_millis(),
            offset: t.offset.as_millis(),
        },
        WindowShape::Sliding(s) => Assigner::Sliding {
            size: s.size.as_millis(),
            slide: s.slide.as_millis(),
            offset: s.offset.as_millis(),
        },
        WindowShape::Session(s) => Assigner::Session {
            gap: s.gap.as_millis(),
        },
        WindowShape::Count(_) => unreachable!("handled above"),
    };
    let config = TimeWindowConfig {
        assigner,
        time,
        allowed_lateness_ms: w.allowed_lateness.as_millis(),
        early_every_ms: match w.emit {
            Emit::OnWatermark => None,
            Emit::Early(every) => Some(every.as_millis()),
        },
        aggregates,
        output_schema,
        late_schema: ctx
            .outputs
            .get(1)
            .cloned()
            .ok_or_else(|| err(node, "no late schema"))?,
        trace: ctx.trace.clone(),
    };
    Ok(Box::new(TimeWindowOperator::new(
        config,
        keys,
        Arc::clone(metrics),
    )))
}

fn build_sink(
    ctx: &NodeContext,
    sink: &SinkKind,
) -> Result<(Box<dyn Operator>, Option<CollectedRows>), RunError> {
    let node = ctx.node;
    match sink {
        SinkKind::Chart(_) | SinkKind::Table(_) => {
            let rows: CollectedRows = Arc::new(Mutex::new(Collected::default()));
            let op = CollectorSink {
                rows: Arc::clone(&rows),
                max_rows: ctx.collector_max_rows,
            };
            Ok((Box::new(op), Some(rows)))
        }
        SinkKind::Console(c) => Ok((
            Box::new(ConsoleSink {
                node: node.id.clone(),
                format: c.format,
                max_rows: c.max_rows,
                printed: 0,
                writer: Arc::clone(&ctx.console),
            }),
            None,
        )),
        SinkKind::CsvFile(c) => Ok((
            Box::new(
                FileSink::create(
                    &ctx.base_dir.join(&c.path),
                    FileFormat::Csv { header: c.header },
                )
                .map_err(|e| err(node, e))?,
            ),
            None,
        )),
        SinkKind::JsonLinesFile(j) => Ok((
            Box::new(
                FileSink::create(&ctx.base_dir.join(&j.path), FileFormat::JsonLines)
                    .map_err(|e| err(node, e))?,
            ),
            None,
        )),
    }
}
