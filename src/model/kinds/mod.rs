//! The kind registry: every node kind, as the file format writes it, mapped to its model side with
//! one exhaustive match, its catalogue entry by typed id, and its planned (runnable) form. Adding a
//! kind is its own file here, a variant in the file-format enum, one arm in `each_kind!`, one line
//! in `catalogue!` and one `PlannedKind` variant; the compiler lists whatever else must change.

pub mod chart;
pub mod console;
pub mod csv_sink;
pub mod csv_source;
pub mod deduplicate;
pub mod filter;
pub mod firehose;
pub mod generator;
pub mod join;
pub mod json_lines_sink;
pub mod json_lines_source;
pub mod kcl;
pub mod kinesis;
pub mod lambda;
pub mod map;
pub mod output_file;
pub mod pattern;
pub mod route;
pub mod source_time;
pub mod table;
pub mod union;
pub mod window;

use serde::{Deserialize, Serialize};

use super::kind::{CatalogueEntry, KindModel, OutputPort};
use super::node::Family;

/// What a node does, as written in files: `Source(CsvFile(...))`, `Window(...)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum NodeKind {
    Source(SourceKind),
    Transform(TransformKind),
    Window(window::WindowConfig),
    Stream(StreamKind),
    Join(JoinKind),
    /// Sequences of rows per key (CEP, MATCH_RECOGNIZE).
    Pattern(pattern::PatternMatch),
    Sink(SinkKind),
}

/// Every kind of source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SourceKind {
    Generator(generator::GeneratorSource),
    CsvFile(csv_source::CsvFileSource),
    JsonLinesFile(json_lines_source::JsonLinesFileSource),
    /// A real Kinesis data stream (AWS or an emulator).
    Kinesis(kinesis::source::KinesisSource),
}

/// Every kind of transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TransformKind {
    Filter(filter::FilterTransform),
    Map(map::MapTransform),
    Union(union::UnionTransform),
    Route(route::RouteTransform),
    Deduplicate(deduplicate::DeduplicateTransform),
    /// A Lambda function behind an event source mapping on a Kinesis stream.
    Lambda(lambda::LambdaConsumer),
    /// An application on the Kinesis Client Library.
    Kcl(kcl::KclConsumer),
}

/// Every kind of stream: systems records are written into and read out of (Kinesis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StreamKind {
    Kinesis(kinesis::KinesisStream),
    /// An Amazon Data Firehose delivery stream to S3.
    Firehose(firehose::FirehoseDelivery),
}

/// Every kind of join: rows of one stream matched with rows of another, or with a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JoinKind {
    /// Two streams matched on keys within a span of event time.
    Interval(join::interval::IntervalJoin),
    /// A stream enriched from a reference table read from a file.
    Lookup(join::lookup::LookupJoin),
    /// Two streams matched on keys in the same tumbling or sliding window.
    Window(join::window::WindowJoin),
}

/// Every kind of sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SinkKind {
    Chart(chart::ChartSink),
    Table(table::TableSink),
    Console(console::ConsoleSink),
    CsvFile(csv_sink::CsvFileSink),
    JsonLinesFile(json_lines_sink::JsonLinesFileSink),
    /// A real Kinesis data stream (AWS or an emulator).
    Kinesis(kinesis::sink::KinesisSink),
}

/// Binds `$k` to the configuration inside any `NodeKind` and evaluates `$body`: the one place that
/// lists every kind's configuration type.
macro_rules! each_kind {
    ($value:expr, $k:ident => $body:expr) => {
        match $value {
            NodeKind::Source(SourceKind::Generator($k)) => $body,
            NodeKind::Source(SourceKind::CsvFile($k)) => $body,
            NodeKind::Source(SourceKind::JsonLinesFile($k)) => $body,
            NodeKind::Source(SourceKind::Kinesis($k)) => $body,
            NodeKind::Transform(TransformKind::Filter($k)) => $body,
            NodeKind::Transform(TransformKind::Map($k)) => $body,
            NodeKind::Transform(TransformKind::Union($k)) => $body,
            NodeKind::Transform(TransformKind::Route($k)) => $body,
            NodeKind::Transform(TransformKind::Deduplicate($k)) => $body,
            NodeKind::Transform(TransformKind::Lambda($k)) => $body,
            NodeKind::Transform(TransformKind::Kcl($k)) => $body,
            NodeKind::Window($k) => $body,
            NodeKind::Stream(StreamKind::Kinesis($k)) => $body,
            NodeKind::Stream(StreamKind::Firehose($k)) => $body,
            NodeKind::Join(JoinKind::Interval($k)) => $body,
            NodeKind::Join(JoinKind::Lookup($k)) => $body,
            NodeKind::Join(JoinKind::Window($k)) => $body,
            NodeKind::Pattern($k) => $body,
            NodeKind::Sink(SinkKind::Chart($k)) => $body,
            NodeKind::Sink(SinkKind::Table($k)) => $body,
            NodeKind::Sink(SinkKind::Console($k)) => $body,
            NodeKind::Sink(SinkKind::CsvFile($k)) => $body,
            NodeKind::Sink(SinkKind::JsonLinesFile($k)) => $body,
            NodeKind::Sink(SinkKind::Kinesis($k)) => $body,
        }
    };
}

/// Declares `KindId` (one per palette entry, in palette order) with its catalogue entries.
macro_rules! catalogue {
    ($($id:ident => $entry:expr),+ $(,)?) => {
        /// A typed name for each entry of the catalogue (what the palette offers).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum KindId {
            $($id),+
        }

        impl KindId {
            /// Every kind, in palette order.
            pub const ALL: &'static [KindId] = &[$(KindId::$id),+];

            /// What the palette and the inspector say about this kind.
            pub fn entry(self) -> &'static CatalogueEntry {
                match self {
                    $(KindId::$id => &$entry),+
                }
            }
        }
    };
}

catalogue! {
    Generator => generator::ENTRY,
    CsvFileSource => csv_source::ENTRY,
    JsonLinesFileSource => json_lines_source::ENTRY,
    KinesisSource => kinesis::source::ENTRY,
    Filter => filter::ENTRY,
    Map => map::ENTRY,
    Union => union::ENTRY,
    Route => route::ENTRY,
    Deduplicate => deduplicate::ENTRY,
    Lambda => lambda::ENTRY,
    Kcl => kcl::ENTRY,
    TumblingWindow => window::TUMBLING_ENTRY,
    SlidingWindow => window::SLIDING_ENTRY,
    SessionWindow => window::SESSION_ENTRY,
    CountWindow => window::COUNT_ENTRY,
    KinesisStream => kinesis::ENTRY,
    Firehose => firehose::ENTRY,
    IntervalJoin => join::interval::ENTRY,
    LookupJoin => join::lookup::ENTRY,
    WindowJoin => join::window::ENTRY,
    Pattern => pattern::ENTRY,
    Chart => chart::ENTRY,
    Table => table::TABLE_ENTRY,
    Leaderboard => table::LEADERBOARD_ENTRY,
    Console => console::ENTRY,
    CsvFileSink => csv_sink::ENTRY,
    JsonLinesFileSink => json_lines_sink::ENTRY,
    KinesisSink => kinesis::sink::ENTRY,
}

/// A node planned against its inputs, ready for the engine to build: expressions planned, paths
/// resolved, time columns found.
#[derive(Debug, Clone)]
pub enum PlannedKind {
    Generator(generator::PlannedGenerator),
    CsvSource(csv_source::PlannedCsvSource),
    JsonLinesSource(json_lines_source::PlannedJsonLinesSource),
    KinesisSource(Box<kinesis::source::PlannedKinesisSource>),
    Filter(filter::PlannedFilter),
    Map(map::PlannedMap),
    Union(union::PlannedUnion),
    Route(route::PlannedRoute),
    Deduplicate(deduplicate::PlannedDeduplicate),
    Lambda(Box<lambda::PlannedLambda>),
    Kcl(Box<kcl::PlannedKcl>),
    Window(window::PlannedWindow),
    KinesisStream(Box<kinesis::PlannedKinesisStream>),
    Firehose(Box<firehose::PlannedFirehose>),
    IntervalJoin(Box<join::interval::PlannedIntervalJoin>),
    LookupJoin(Box<join::lookup::PlannedLookupJoin>),
    WindowJoin(Box<join::window::PlannedWindowJoin>),
    Pattern(Box<pattern::PlannedPattern>),
    Chart(chart::ChartSink),
    Table(table::TableSink),
    Console(console::ConsoleSink),
    CsvSink(csv_sink::PlannedCsvSink),
    JsonLinesSink(json_lines_sink::PlannedJsonLinesSink),
    KinesisSink(Box<kinesis::sink::PlannedKinesisSink>),
}

impl NodeKind {
    /// The kind's model side: ports, checks, planning, summary, form.
    pub fn model(&self) -> &dyn KindModel {
        each_kind!(self, k => k)
    }

    /// The kind's model side, to edit its settings through its form.
    pub fn model_mut(&mut self) -> &mut dyn KindModel {
        each_kind!(self, k => k)
    }

    pub fn kind_id(&self) -> KindId {
        self.model().kind_id()
    }

    pub fn entry(&self) -> &'static CatalogueEntry {
        self.kind_id().entry()
    }

    pub fn family(&self) -> Family {
        match self {
            NodeKind::Source(_) => Family::Source,
            NodeKind::Transform(_) => Family::Transform,
            NodeKind::Window(_) => Family::Window,
            NodeKind::Stream(_) => Family::Stream,
            NodeKind::Join(_) => Family::Join,
            NodeKind::Pattern(_) => Family::Pattern,
            NodeKind::Sink(_) => Family::Sink,
        }
    }

    /// The kind's name, as the palette, the cards and the summaries show it.
    pub fn kind_name(&self) -> &'static str {
        self.entry().name
    }

    /// Input port names, in order.
    pub fn input_ports(&self) -> Vec<String> {
        self.model().ports().inputs
    }

    /// Output port names, in order.
    pub fn output_ports(&self) -> Vec<String> {
        self.model()
            .ports()
            .outputs
            .into_iter()
            .map(|p| p.name)
            .collect()
    }

    /// Ports whose rows may go nowhere without a warning: rejects are counted instead.
    pub fn is_optional_output(&self, port: &str) -> bool {
        self.model()
            .ports()
            .outputs
            .iter()
            .any(|p: &OutputPort| p.optional && p.name == port)
    }

    /// One line for the canvas card.
    pub fn summary(&self) -> String {
        self.model().summary()
    }
}

#[cfg(test)]
mod tests;
