//! Which column carries event time on each port, derived through the graph, so windows know how to
//! read time and a Map that drops the time column is caught before a run.

use std::collections::BTreeMap;

use arrow::datatypes::DataType;

use super::document::{Pipeline, PortRef};
use super::graph::{edges_into, topological_order};
use super::node::{ERRORS, LATE, NodeKind, OUT};
use super::problem::Problem;
use super::schema::PortSchemas;
use super::source::Time;
use super::transform::TransformKind;
use super::window::WINDOW_END;

/// How rows on a port tell time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeAttr {
    /// Event time, read from `column` (TIMESTAMP(3)) plus `shift_ms`. A window's results carry
    /// `window_end` with a shift of -1 ms, so they fall in the window they came from (as Flink's
    /// `window_time` does).
    Event { column: String, shift_ms: i64 },
    /// The wall clock when a row reaches an operator.
    Processing,
    /// The rows have no time (a source's `errors` port, or a Map that dropped the time column).
    None { why: String },
}

/// The time attribute of every typed output port.
pub type TimeAttributes = BTreeMap<PortRef, TimeAttr>;

/// Derives each port's time attribute; windows fed by rows without time are errors.
pub fn time_attributes(
    pipeline: &Pipeline,
    schemas: &PortSchemas,
) -> (TimeAttributes, Vec<Problem>) {
    let (order, _) = topological_order(pipeline);
    let mut times = TimeAttributes::new();
    let mut problems = Vec::new();
    for index in order {
        let node = &pipeline.nodes[index];
        let input_time = |port: &str| -> Option<TimeAttr> {
            let edge = edges_into(pipeline, &node.id, port).into_iter().next()?;
            times.get(&edge.from).cloned()
        };
        let mut outputs: Vec<(String, TimeAttr)> = Vec::new();
        match &node.kind {
            NodeKind::Source(source) => {
                let attr = match source.time() {
                    Time::EventTime(t) => TimeAttr::Event {
                        column: t.column.clone(),
                        shift_ms: 0,
                    },
                    Time::ProcessingTime => TimeAttr::Processing,
                };
                outputs.push((OUT.into(), attr));
                outputs.push((
                    ERRORS.into(),
                    TimeAttr::None {
                        why: format!(
                            "rows from `{}.errors` could not be read, so they have no time",
                            node.id
                        ),
                    },
                ));
            }
            NodeKind::Transform(TransformKind::Union(_)) => {
                let attrs: Option<Vec<TimeAttr>> = node
                    .kind
                    .input_ports()
                    .iter()
                    .map(|p| input_time(p))
                    .collect();
                let Some(attrs) = attrs else { continue };
                let first = attrs[0].clone();
                if attrs.iter().any(|a| *a != first) {
                    problems.push(Problem::node(
                        &node.id,
                        None,
                        "the inputs of this Union tell time differently (event time from different columns, or event and processing time); windows after it could not decide which to use",
                    ));
                }
                outputs.push((OUT.into(), first));
            }
            NodeKind::Transform(TransformKind::Map(_)) => {
                let Some(attr) = input_time("in") else {
                    continue;
                };
                let Some(schema) = schemas.output(&node.id, OUT) else {
                    continue;
                };
                let attr = match attr {
                    TimeAttr::Event { column, shift_ms } => {
                        match schema
                            .field_with_name(&column)
                            .map(|f| f.data_type().clone())
                        {
                            Ok(DataType::Timestamp(..)) => TimeAttr::Event { column, shift_ms },
                            _ => TimeAttr::None {
                                why: format!(
                                    "the Map `{}` drops the event-time column `{column}`; add `{column}` to its columns or keep the input columns",
                                    node.id
                                ),
                            },
                        }
                    }
                    other => other,
                };
                outputs.push((OUT.into(), attr));
            }
            NodeKind::Transform(_) => {
                let Some(attr) = input_time("in") else {
                    continue;
                };
                for port in node.kind.output_ports() {
                    outputs.push((port, attr.clone()));
                }
            }
            NodeKind::Window(_) => {
                let Some(attr) = input_time("in") else {
                    continue;
                };
                if let TimeAttr::None { why } = &attr {
                    problems.push(Problem::node(
                        &node.id,
                        None,
                        format!("a window needs time, but its rows have none: {why}"),
                    ));
                }
                let out = match &attr {
                    TimeAttr::Event { .. } => TimeAttr::Event {
                        column: WINDOW_END.to_string(),
                        shift_ms: -1,
                    },
                    other => other.clone(),
                };
                outputs.push((OUT.into(), out));
                outputs.push((LATE.into(), attr));
            }
            NodeKind::Sink(_) => {}
        }
        for (port, attr) in outputs {
            times.insert(PortRef::new(&node.id, &port), attr);
        }
    }
    (times, problems)
}
