//! The starter pipeline `eddy new` writes: a generator, a filter, a tumbling window and a console.

use super::document::{Edge, FORMAT_VERSION, Layout, Pipeline, Position};
use super::duration::Duration;
use super::kinds::console::{ConsoleFormat, ConsoleSink};
use super::kinds::filter::FilterTransform;
use super::kinds::generator::{GeneratorSource, Preset, StopAfter};
use super::kinds::source_time::{EventTime, Time};
use super::kinds::window::{Emit, TumblingWindow, WindowConfig, WindowShape};
use super::kinds::{NodeKind, SinkKind, SourceKind, TransformKind};
use super::node::Node;

fn node(id: &str, kind: NodeKind, note: &str) -> Node {
    Node {
        id: id.to_string(),
        kind,
        note: note.to_string(),
        parallelism: None,
    }
}

/// A small, valid pipeline that shows the four families of nodes.
pub fn starter_pipeline(name: &str) -> Pipeline {
    let readings = node(
        "readings",
        NodeKind::Source(SourceKind::Generator(GeneratorSource {
            preset: Preset::IotSensors,
            events_per_sec: 200,
            keys: 20,
            key_skew: 0.0,
            disorder: Duration::from_secs(2),
            late_share: 0.0,
            late_by: Duration::ZERO,
            duplicate_share: 0.0,
            idle_keys: 0,
            seed: 42,
            start_time: "2024-01-15T08:00:00Z".to_string(),
            stop_after: StopAfter::EventTime(Duration::from_secs(600)),
            time: Time::EventTime(EventTime {
                column: "event_time".to_string(),
                max_out_of_orderness: Duration::from_secs(2),
                idle_timeout: None,
            }),
        })),
        "Synthetic sensor readings, up to 2s out of order.",
    );
    let warm = node(
        "warm",
        NodeKind::Transform(TransformKind::Filter(FilterTransform {
            predicate: "temperature > 25".to_string(),
        })),
        "",
    );
    let per_minute = node(
        "per_minute",
        NodeKind::Window(WindowConfig {
            window: WindowShape::Tumbling(TumblingWindow {
                size: Duration::from_secs(60),
                offset: Duration::ZERO,
            }),
            key_by: vec!["sensor_id".to_string()],
            aggregates: vec![
                "count(*) AS readings".to_string(),
                "max(temperature) AS max_temperature".to_string(),
            ],
            allowed_lateness: Duration::ZERO,
            emit: Emit::OnWatermark,
        }),
        "",
    );
    let print = node(
        "print",
        NodeKind::Sink(SinkKind::Console(ConsoleSink {
            format: ConsoleFormat::Table,
            max_rows: Some(50),
        })),
        "",
    );
    let mut layout = Layout::default();
    for (i, id) in ["readings", "warm", "per_minute", "print"]
        .iter()
        .enumerate()
    {
        layout
            .nodes
            .insert(id.to_string(), Position(40.0 + 260.0 * i as f32, 120.0));
    }
    Pipeline {
        format_version: FORMAT_VERSION,
        name: name.to_string(),
        description:
            "A starter pipeline: sensor readings, filtered, counted per minute and printed."
                .to_string(),
        nodes: vec![readings, warm, per_minute, print],
        edges: vec![
            Edge::new(("readings", "out"), ("warm", "in")),
            Edge::new(("warm", "out"), ("per_minute", "in")),
            Edge::new(("per_minute", "out"), ("print", "in")),
        ],
        layout,
    }
}
