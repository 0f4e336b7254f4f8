//! The builder: each planned node becomes a running source or operator, through one exhaustive
//! match from planned kind to the `build` function beside its operator. The only part of the engine
//! that names connectors.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;

use super::contract::{
    Checkpointing, CollectedRows, Commits, ConsoleWriter, InstanceMetrics, Operator, RunError,
    Source,
};
use super::firehose_stats::FirehoseStats;
use super::kcl_stats::KclStats;
use super::lambda_stats::LambdaStats;
use super::operators::{
    deduplicate, discard, filter, firehose, interval_join, kcl, kinesis_stream, lambda,
    lookup_join, map, pattern, route, union, window_join,
};
use super::pattern_stats::PatternStats;
use super::shard_stats::ShardStats;
use super::source_loop::SourceTime;
use super::trace::EventTrace;
use super::window;
use crate::connectors::{
    collector, console, csv_source, file_sink, firehose_bucket, generator, json_source, kinesis,
    reference_table,
};
use crate::model::kinds::PlannedKind;
use crate::model::kinds::firehose::PlannedDestination;
use crate::model::kinds::source_time::Time;
use crate::model::plan::NodePlan;

/// What building an instance needs besides the node's plan.
pub struct BuildContext<'a> {
    pub node: &'a NodePlan,
    pub metrics: &'a Arc<InstanceMetrics>,
    pub console: &'a ConsoleWriter,
    /// Rows kept by each Chart and Table sink.
    pub collector_max_rows: usize,
    /// Keep a copy of every sink's rows in memory (tests read results this way).
    pub collect_all_sinks: bool,
    /// The node's event-time trace, for nodes that keep one.
    pub trace: Option<Arc<EventTrace>>,
    /// The run's file commits, which file sinks hand their files to.
    pub commits: &'a Arc<Commits>,
    /// Sinks that write take their rows and write nothing (a preview).
    pub dry_run: bool,
    /// The shard view of a stream node.
    pub shard_stats: Option<Arc<ShardStats>>,
    /// The buffers and objects of a Firehose node.
    pub firehose_stats: Option<Arc<FirehoseStats>>,
    /// The lanes of a Lambda consumer.
    pub lambda_stats: Option<Arc<LambdaStats>>,
    /// The lease table of a KCL application.
    pub kcl_stats: Option<Arc<KclStats>>,
    /// The partial matches of a pattern.
    pub pattern_stats: Option<Arc<PatternStats>>,
    /// Checkpointing, when the run takes checkpoints.
    pub checkpointing: Option<Checkpointing>,
}

/// One running instance of a node.
pub enum Built {
    Source {
        source: Box<dyn Source>,
        time: SourceTime,
    },
    Operator {
        operator: Box<dyn Operator>,
        /// The rows a collecting sink keeps, for the run's owner.
        collected: Option<CollectedRows>,
    },
}

/// The event-time trace a kind keeps for the app, if it keeps one: a window's (with its allowed
/// lateness and how many aggregate columns end its results) or a pattern's (its steps, measures).
pub fn event_trace_of(kind: &PlannedKind) -> Option<EventTrace> {
    match kind {
        PlannedKind::Window(w) => Some(EventTrace::new(
            w.config.allowed_lateness.as_millis(),
            w.aggregates.len(),
        )),
        PlannedKind::Pattern(p) => Some(EventTrace::of_pattern(
            p.steps.iter().map(|s| s.step.name.clone()).collect(),
            p.measures.len(),
        )),
        PlannedKind::Generator(_)
        | PlannedKind::CsvSource(_)
        | PlannedKind::JsonLinesSource(_)
        | PlannedKind::Filter(_)
        | PlannedKind::Map(_)
        | PlannedKind::Union(_)
        | PlannedKind::Route(_)
        | PlannedKind::Deduplicate(_)
        | PlannedKind::Lambda(_)
        | PlannedKind::Kcl(_)
        | PlannedKind::KinesisStream(_)
        | PlannedKind::Chart(_)
        | PlannedKind::Table(_)
        | PlannedKind::Console(_)
        | PlannedKind::CsvSink(_)
        | PlannedKind::JsonLinesSink(_)
        | PlannedKind::KinesisSource(_)
        | PlannedKind::KinesisSink(_)
        | PlannedKind::Firehose(_)
        | PlannedKind::IntervalJoin(_)
        | PlannedKind::LookupJoin(_)
        | PlannedKind::WindowJoin(_) => None,
    }
}

/// The shard view a stream node publishes for the app, made before the run starts.
pub fn shard_stats_of(kind: &PlannedKind) -> Option<Arc<ShardStats>> {
    match kind {
        PlannedKind::KinesisStream(p) => Some(kinesis_stream::shard_stats(p.shards)),
        PlannedKind::Generator(_)
        | PlannedKind::CsvSource(_)
        | PlannedKind::JsonLinesSource(_)
        | PlannedKind::Filter(_)
        | PlannedKind::Map(_)
        | PlannedKind::Union(_)
        | PlannedKind::Route(_)
        | PlannedKind::Deduplicate(_)
        | PlannedKind::Lambda(_)
        | PlannedKind::Kcl(_)
        | PlannedKind::Window(_)
        | PlannedKind::Chart(_)
        | PlannedKind::Table(_)
        | PlannedKind::Console(_)
        | PlannedKind::CsvSink(_)
        | PlannedKind::JsonLinesSink(_)
        | PlannedKind::KinesisSource(_)
        | PlannedKind::KinesisSink(_)
        | PlannedKind::Firehose(_)
        | PlannedKind::IntervalJoin(_)
        | PlannedKind::LookupJoin(_)
        | PlannedKind::Pattern(_)
        | PlannedKind::WindowJoin(_) => None,
    }
}

/// The view a Firehose node publishes for the app, made before the run starts.
pub fn firehose_stats_of(kind: &PlannedKind) -> Option<Arc<FirehoseStats>> {
    match kind {
        PlannedKind::Firehose(p) => {
            let folder = match &p.destination {
                PlannedDestination::Folder(path) => Some(path.clone()),
                PlannedDestination::S3 { .. } => None,
            };
            let format = format!("{:?}/{:?}", p.format, p.compression);
            Some(Arc::new(FirehoseStats::new(folder, format)))
        }
        PlannedKind::Generator(_)
        | PlannedKind::CsvSource(_)
        | PlannedKind::JsonLinesSource(_)
        | PlannedKind::Filter(_)
        | PlannedKind::Map(_)
        | PlannedKind::Union(_)
        | PlannedKind::Route(_)
        | PlannedKind::Deduplicate(_)
        | PlannedKind::Lambda(_)
        | PlannedKind::Kcl(_)
        | PlannedKind::Window(_)
        | PlannedKind::KinesisStream(_)
        | PlannedKind::Chart(_)
        | PlannedKind::Table(_)
        | PlannedKind::Console(_)
        | PlannedKind::CsvSink(_)
        | PlannedKind::JsonLinesSink(_)
        | PlannedKind::KinesisSource(_)
        | PlannedKind::KinesisSink(_)
        | PlannedKind::IntervalJoin(_)
        | PlannedKind::LookupJoin(_)
        | PlannedKind::Pattern(_)
        | PlannedKind::WindowJoin(_) => None,
    }
}

/// Builds one instance of `ctx.node`.
pub fn build(ctx: &BuildContext) -> Result<Built, RunError> {
    build_kind(ctx).map_err(|e| e.in_node(&ctx.node.id))
}

fn build_kind(ctx: &BuildContext) -> Result<Built, RunError> {
    let node = ctx.node;
    let operator = |operator: Box<dyn Operator>| Built::Operator {
        operator,
        collected: None,
    };
    Ok(match &node.kind {
        PlannedKind::Generator(p) => {
            let schema = output_schema(node, 0)?;
            let (time, _) = source_time(&p.config.time, &schema)?;
            Built::Source {
                source: Box::new(generator::build(p, schema)),
                time,
            }
        }
        PlannedKind::CsvSource(p) => {
            let schema = output_schema(node, 0)?;
            let (time, column) = source_time(&p.time, &schema)?;
            Built::Source {
                source: Box::new(csv_source::build(p, schema, column)?),
                time,
            }
        }
        PlannedKind::JsonLinesSource(p) => {
            let schema = output_schema(node, 0)?;
            let (time, column) = source_time(&p.time, &schema)?;
            Built::Source {
                source: Box::new(json_source::build(p, schema, column)?),
                time,
            }
        }
        PlannedKind::KinesisSource(p) => {
            let schema = output_schema(node, 0)?;
            let (time, column) = source_time(&p.time, &schema)?;
            // A dry run (the preview) touches no outside system.
            if ctx.dry_run {
                return Err(RunError::config(
                    "a Kinesis source is not read in a preview; run the pipeline to read it",
                ));
            }
            Built::Source {
                source: Box::new(kinesis::source::build(p, schema, column)?),
                time,
            }
        }
        PlannedKind::Filter(p) => operator(filter::build(p)),
        PlannedKind::Map(p) => operator(map::build(p, output_schema(node, 0)?)),
        PlannedKind::Union(_) => operator(union::build(output_schema(node, 0)?)),
        PlannedKind::Route(p) => operator(route::build(p)),
        PlannedKind::Deduplicate(p) => {
            operator(deduplicate::build(p, &input_schema(node, 0)?, ctx.metrics)?)
        }
        PlannedKind::Window(p) => operator(window::build(p, node, ctx.metrics, ctx.trace.clone())?),
        PlannedKind::IntervalJoin(p) => operator(interval_join::build(
            p,
            &input_schema(node, 0)?,
            &input_schema(node, 1)?,
            ctx.metrics,
        )?),
        PlannedKind::Pattern(p) => {
            let stats = ctx
                .pattern_stats
                .clone()
                .unwrap_or_else(|| Arc::new(PatternStats::default()));
            operator(pattern::build(
                p,
                &input_schema(node, 0)?,
                ctx.metrics,
                stats,
                ctx.trace.clone(),
            )?)
        }
        PlannedKind::WindowJoin(p) => operator(window_join::build(
            p,
            &input_schema(node, 0)?,
            &input_schema(node, 1)?,
            ctx.metrics,
        )?),
        PlannedKind::LookupJoin(p) => {
            let (path, name, format, schema) = (
                p.path.clone(),
                p.table_name.clone(),
                p.format,
                Arc::clone(&p.table_schema),
            );
            let loader: lookup_join::TableLoader =
                Box::new(move || reference_table::load(&path, &name, format, &schema));
            operator(lookup_join::build(
                p,
                &input_schema(node, 0)?,
                loader,
                ctx.metrics,
            )?)
        }
        PlannedKind::KinesisStream(p) => operator(kinesis_stream::build(
            p,
            ctx.metrics,
            ctx.shard_stats.clone(),
        )),
        PlannedKind::Lambda(p) => {
            let stats = ctx
                .lambda_stats
                .clone()
                .unwrap_or_else(|| Arc::new(LambdaStats::default()));
            operator(lambda::build(p, ctx.metrics, stats))
        }
        PlannedKind::Kcl(p) => {
            let stats = ctx
                .kcl_stats
                .clone()
                .unwrap_or_else(|| Arc::new(KclStats::default()));
            operator(kcl::build(p, ctx.metrics, stats))
        }
        PlannedKind::Firehose(p) => {
            // A preview delivers nowhere.
            let bucket = if ctx.dry_run {
                firehose_bucket::nowhere()
            } else {
                firehose_bucket::build(p)?
            };
            let stats = ctx
                .firehose_stats
                .clone()
                .unwrap_or_else(|| Arc::new(FirehoseStats::default()));
            operator(firehose::build(p, bucket, ctx.metrics, stats))
        }
        PlannedKind::Chart(_) | PlannedKind::Table(_) => {
            let (operator, rows) = collector::build(ctx.collector_max_rows);
            Built::Operator {
                operator,
                collected: Some(rows),
            }
        }
        PlannedKind::Console(_)
        | PlannedKind::CsvSink(_)
        | PlannedKind::JsonLinesSink(_)
        | PlannedKind::KinesisSink(_)
            if ctx.dry_run =>
        {
            sink(ctx, discard::build())
        }
        PlannedKind::Console(c) => sink(ctx, console::build(&node.id, c, ctx.console)),
        PlannedKind::CsvSink(p) => {
            let schema = input_schema(node, 0)?;
            sink(
                ctx,
                file_sink::build_csv(p, &schema, &node.id, ctx.commits, ctx.checkpointing.clone())?,
            )
        }
        PlannedKind::JsonLinesSink(p) => {
            let schema = input_schema(node, 0)?;
            let operator = file_sink::build_json_lines(
                p,
                &schema,
                &node.id,
                ctx.commits,
                ctx.checkpointing.clone(),
            )?;
            sink(ctx, operator)
        }
        PlannedKind::KinesisSink(p) => sink(
            ctx,
            kinesis::sink::build(p, ctx.metrics, &node.id, ctx.checkpointing.as_ref())?,
        ),
    })
}

/// A sink; when every sink's rows are wanted, with a copy kept in memory.
fn sink(ctx: &BuildContext, operator: Box<dyn Operator>) -> Built {
    if !ctx.collect_all_sinks {
        return Built::Operator {
            operator,
            collected: None,
        };
    }
    let (operator, rows) = collector::tee(operator);
    Built::Operator {
        operator,
        collected: Some(rows),
    }
}

fn output_schema(node: &NodePlan, port: usize) -> Result<SchemaRef, RunError> {
    node.outputs
        .get(port)
        .map(|p| Arc::clone(&p.schema))
        .ok_or_else(|| RunError::internal(format!("no schema for output {port}")))
}

fn input_schema(node: &NodePlan, port: usize) -> Result<SchemaRef, RunError> {
    node.inputs
        .get(port)
        .map(|p| Arc::clone(&p.schema))
        .ok_or_else(|| RunError::internal(format!("no schema for input {port}")))
}

/// How a source's rows tell time, and the index of its event-time column.
fn source_time(time: &Time, schema: &SchemaRef) -> Result<(SourceTime, Option<usize>), RunError> {
    match time {
        Time::EventTime(t) => {
            let column = schema
                .index_of(&t.column)
                .map_err(|_| RunError::internal(format!("no event-time column `{}`", t.column)))?;
            Ok((
                SourceTime::Event {
                    column,
                    max_out_of_orderness_ms: t.max_out_of_orderness.as_millis(),
                    idle_timeout: t
                        .idle_timeout
                        .map(|d| std::time::Duration::from_millis(d.as_millis().max(0) as u64)),
                },
                Some(column),
            ))
        }
        Time::ProcessingTime => Ok((SourceTime::Processing, None)),
    }
}
