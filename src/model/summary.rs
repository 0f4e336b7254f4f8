//! One-line summaries of a node's configuration, as the canvas cards show them.

use super::node::NodeKind;
use super::sink::{SinkKind, TableView};
use super::source::{SourceKind, StopAfter, Time};
use super::transform::TransformKind;
use super::window::{Emit, WindowShape};

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// e.g. `tumbling 1m by pickup_location_id: count, sum(total_amount)`.
pub fn summary(kind: &NodeKind) -> String {
    match kind {
        NodeKind::Source(source) => {
            let time = match source.time() {
                Time::EventTime(t) => {
                    format!("event time {} (+{})", t.column, t.max_out_of_orderness)
                }
                Time::ProcessingTime => "processing time".into(),
            };
            match source {
                SourceKind::Generator(g) => {
                    let stop = match &g.stop_after {
                        StopAfter::Events(n) => format!("{n} events"),
                        StopAfter::EventTime(d) => format!("{d}"),
                        StopAfter::Never => "endless".into(),
                    };
                    format!("{:?} {}/s, {stop}; {time}", g.preset, g.events_per_sec)
                }
                SourceKind::CsvFile(c) => format!("{}; {time}", c.path),
                SourceKind::JsonLinesFile(j) => format!("{}; {time}", j.path),
            }
        }
        NodeKind::Transform(TransformKind::Filter(f)) => {
            format!("where {}", short(&f.predicate, 60))
        }
        NodeKind::Transform(TransformKind::Map(m)) => {
            let names: Vec<String> = m
                .columns
                .iter()
                .map(|c| {
                    c.rsplit_once(" AS ")
                        .map_or(c.as_str(), |(_, n)| n)
                        .trim()
                        .to_string()
                })
                .collect();
            let keep = if m.keep_input_columns { "all + " } else { "" };
            short(&format!("{keep}{}", names.join(", ")), 60)
        }
        NodeKind::Transform(TransformKind::Union(u)) => format!("{} inputs", u.inputs),
        NodeKind::Transform(TransformKind::Route(r)) => {
            let names: Vec<&str> = r.routes.iter().map(|x| x.name.as_str()).collect();
            format!("to {} or unmatched", names.join(", "))
        }
        NodeKind::Window(w) => {
            let shape = match &w.window {
                WindowShape::Tumbling(t) => format!("tumbling {}", t.size),
                WindowShape::Sliding(s) => format!("sliding {} every {}", s.size, s.slide),
                WindowShape::Session(s) => format!("session gap {}", s.gap),
                WindowShape::Count(c) => format!("every {} rows", c.size),
            };
            let keys = if w.key_by.is_empty() {
                String::new()
            } else {
                format!(" by {}", w.key_by.join(", "))
            };
            let aggs: Vec<String> = w
                .aggregates
                .iter()
                .map(|a| {
                    a.split(" AS ")
                        .next()
                        .unwrap_or(a)
                        .trim()
                        .replace("(*)", "")
                })
                .collect();
            let early = match w.emit {
                Emit::Early(d) => format!(", early every {d}"),
                Emit::OnWatermark => String::new(),
            };
            short(&format!("{shape}{keys}: {}{early}", aggs.join(", ")), 90)
        }
        NodeKind::Sink(SinkKind::Chart(c)) => format!("{} over {}", c.y.join(", "), c.x),
        NodeKind::Sink(SinkKind::Table(t)) => match &t.view {
            TableView::Latest(n) => format!("latest {n} rows"),
            TableView::Top(top) => format!("top {} by {}", top.n, top.order_by),
        },
        NodeKind::Sink(SinkKind::Console(c)) => format!("{:?}", c.format),
        NodeKind::Sink(SinkKind::CsvFile(c)) => c.path.clone(),
        NodeKind::Sink(SinkKind::JsonLinesFile(j)) => j.path.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::templates::templates;

    #[test]
    fn every_template_has_a_summary_and_windows_read_like_the_design() {
        for t in templates() {
            assert!(!summary(&t.kind).is_empty(), "{}", t.name);
        }
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/pipelines/taxi_workshop.ron"
        ))
        .unwrap();
        let pipeline = crate::model::file::parse(&text).unwrap();
        let window = pipeline.node("revenue_per_zone").unwrap();
        assert_eq!(
            summary(&window.kind),
            "tumbling 1m by pickup_location_id: count, sum(total_amount), avg(price_per_mile)"
        );
    }
}
