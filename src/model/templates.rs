//! Starting configurations for every node kind the palette offers, each valid once connected.

use super::duration::Duration;
use super::node::NodeKind;
use super::sink::{
    ChartSink, ChartStyle, ConsoleFormat, ConsoleSink, CsvFileSink, JsonLinesFileSink, SinkKind,
    TableSink, TableView, TopN,
};
use super::source::{
    CsvFileSource, EventTime, GeneratorSource, JsonLinesFileSource, Preset, SourceKind, StopAfter,
    Time,
};
use super::transform::{
    FilterTransform, MapTransform, RouteOutput, RouteTransform, TransformKind, UnionTransform,
};
use super::window::{
    CountWindow, Emit, SessionWindow, SlidingWindow, TumblingWindow, WindowConfig, WindowShape,
};

/// One entry of the palette: a name, the id stem new nodes get, and the starting configuration.
pub struct Template {
    pub name: &'static str,
    pub id_stem: &'static str,
    pub kind: NodeKind,
}

fn event_time(column: &str) -> Time {
    Time::EventTime(EventTime {
        column: column.to_string(),
        max_out_of_orderness: Duration::from_secs(2),
        idle_timeout: None,
    })
}

/// A generator of `preset`, five minutes of event time at a gentle rate.
pub fn generator(preset: Preset) -> NodeKind {
    let info = preset.info();
    NodeKind::Source(SourceKind::Generator(GeneratorSource {
        preset,
        events_per_sec: 100,
        keys: 20,
        key_skew: 0.0,
        disorder: Duration::from_secs(1),
        late_share: 0.0,
        late_by: Duration::ZERO,
        duplicate_share: 0.0,
        idle_keys: 0,
        seed: 1,
        start_time: "2024-01-15T08:00:00Z".to_string(),
        stop_after: StopAfter::EventTime(Duration::from_secs(300)),
        time: event_time(info.time_column),
    }))
}

fn window(shape: WindowShape) -> NodeKind {
    NodeKind::Window(WindowConfig {
        window: shape,
        key_by: Vec::new(),
        aggregates: vec!["count(*) AS events".to_string()],
        allowed_lateness: Duration::ZERO,
        emit: Emit::OnWatermark,
    })
}

/// Every template, in palette order.
pub fn templates() -> Vec<Template> {
    let t = |name, id_stem, kind| Template {
        name,
        id_stem,
        kind,
    };
    vec![
        t("Generator", "events", generator(Preset::IotSensors)),
        t(
            "CSV file source",
            "csv_in",
            NodeKind::Source(SourceKind::CsvFile(CsvFileSource {
                path: "data/events.csv".into(),
                header: true,
                delimiter: ',',
                schema: None,
                time: event_time("event_time"),
            })),
        ),
        t(
            "JSON-lines file source",
            "json_in",
            NodeKind::Source(SourceKind::JsonLinesFile(JsonLinesFileSource {
                path: "data/events.jsonl".into(),
                schema: None,
                time: event_time("event_time"),
            })),
        ),
        t(
            "Filter",
            "filter",
            NodeKind::Transform(TransformKind::Filter(FilterTransform {
                predicate: "true".into(),
            })),
        ),
        t(
            "Map",
            "map",
            NodeKind::Transform(TransformKind::Map(MapTransform {
                columns: Vec::new(),
                keep_input_columns: true,
            })),
        ),
        t(
            "Union",
            "union",
            NodeKind::Transform(TransformKind::Union(UnionTransform { inputs: 2 })),
        ),
        t(
            "Route",
            "route",
            NodeKind::Transform(TransformKind::Route(RouteTransform {
                routes: vec![RouteOutput {
                    name: "matched".into(),
                    predicate: "true".into(),
                }],
            })),
        ),
        t(
            "Tumbling window",
            "tumbling",
            window(WindowShape::Tumbling(TumblingWindow {
                size: Duration::from_secs(60),
                offset: Duration::ZERO,
            })),
        ),
        t(
            "Sliding window",
            "sliding",
            window(WindowShape::Sliding(SlidingWindow {
                size: Duration::from_secs(60),
                slide: Duration::from_secs(10),
                offset: Duration::ZERO,
            })),
        ),
        t(
            "Session window",
            "sessions",
            window(WindowShape::Session(SessionWindow {
                gap: Duration::from_secs(300),
            })),
        ),
        t(
            "Count window",
            "count_window",
            window(WindowShape::Count(CountWindow { size: 100 })),
        ),
        t(
            "Chart",
            "chart",
            NodeKind::Sink(SinkKind::Chart(ChartSink {
                x: "window_end".into(),
                y: vec!["events".into()],
                series_by: None,
                top_series: 5,
                style: ChartStyle::Lines,
            })),
        ),
        t(
            "Table",
            "table",
            NodeKind::Sink(SinkKind::Table(TableSink {
                view: TableView::Latest(50),
            })),
        ),
        t(
            "Leaderboard",
            "leaderboard",
            NodeKind::Sink(SinkKind::Table(TableSink {
                view: TableView::Top(TopN {
                    n: 10,
                    order_by: "events".into(),
                    descending: true,
                    unique_by: Vec::new(),
                }),
            })),
        ),
        t(
            "Console",
            "console",
            NodeKind::Sink(SinkKind::Console(ConsoleSink {
                format: ConsoleFormat::Table,
                max_rows: Some(100),
            })),
        ),
        t(
            "CSV file sink",
            "csv_out",
            NodeKind::Sink(SinkKind::CsvFile(CsvFileSink {
                path: "out/results.csv".into(),
                header: true,
                allow_outside: false,
            })),
        ),
        t(
            "JSON-lines file sink",
            "json_out",
            NodeKind::Sink(SinkKind::JsonLinesFile(JsonLinesFileSink {
                path: "out/results.jsonl".into(),
                allow_outside: false,
            })),
        ),
    ]
}

/// An id starting with `stem` that no node in `taken` has: `filter`, `filter_2`, ...
pub fn fresh_id<'a>(stem: &str, taken: impl Iterator<Item = &'a str> + Clone) -> String {
    if !taken.clone().any(|t| t == stem) {
        return stem.to_string();
    }
    (2..)
        .map(|n| format!("{stem}_{n}"))
        .find(|candidate| !taken.clone().any(|t| t == candidate))
        .unwrap_or_else(|| stem.to_string())
}
