//! Window nodes as Flink SQL window table functions (`TUMBLE`, `HOP` — slide before size —,
//! `SESSION`) grouped by `window_start, window_end` and the keys (a slide that does not divide the
//! size, which `HOP` refuses, as the legacy `GROUP BY HOP(...)`). What window TVFs do not have is
//! reported: allowed lateness and the `late` port (Flink SQL drops late rows), early results, and
//! count windows.

use super::flink_sql::{Export, Exporter, dependency, untranslatable};
use super::flink_time::interval;
use super::report::ReportEntry;
use crate::expr::{AggregateFunction, flink_expr, flink_item, quote_name};
use crate::model::kinds::window::{Emit, PlannedWindow, WindowShape};
use crate::model::time::TimeAttr;

pub fn window(ex: &mut Exporter, index: usize, w: &PlannedWindow) -> Export {
    let node = ex.plan.nodes[index].clone();
    let config = &w.config;
    if let WindowShape::Count(_) = config.window {
        return Err((
            "a count window (every N rows per key) has no window table function".into(),
            "an OVER aggregation with ROWS BETWEEN N-1 PRECEDING AND CURRENT ROW",
        ));
    }
    let time = match &node.inputs[0].time {
        TimeAttr::Event {
            column,
            shift_ms: 0,
        } => column.clone(),
        TimeAttr::Event { .. } => {
            return Err((
                "a window over window results (their time is window_end - 1 ms) is not exported \
                 yet"
                .into(),
                "a window over the first window's `window_time`",
            ));
        }
        TimeAttr::Processing | TimeAttr::None { .. } => {
            return Err((
                "a window on processing time is not exported".into(),
                "a PROCTIME() column in the source table",
            ));
        }
    };
    let input = ex.input(index, 0).map_err(dependency)?;
    let keys: Vec<String> = config.key_by.iter().map(|k| quote_name(k)).collect();
    let table = quote_name(&input);
    let descriptor = format!("DESCRIPTOR({})", quote_name(&time));
    // Set for a sliding window whose slide does not divide its size: the legacy HOP's arguments.
    let mut legacy_hop: Option<String> = None;
    let function = match &config.window {
        WindowShape::Tumbling(t) => {
            let offset = t.offset.as_millis();
            if offset == 0 {
                format!(
                    "TUMBLE(TABLE {table}, {descriptor}, {})",
                    interval(t.size.as_millis())
                )
            } else {
                format!(
                    "TUMBLE(TABLE {table}, {descriptor}, {}, {})",
                    interval(t.size.as_millis()),
                    interval(offset)
                )
            }
        }
        WindowShape::Sliding(s) if s.size.as_millis() % s.slide.as_millis().max(1) != 0 => {
            if s.offset.as_millis() != 0 {
                return Err((
                    "a sliding window with an offset whose slide does not divide its size: the \
                     HOP window function refuses the slide and the legacy HOP has no offset"
                        .into(),
                    "a slide that divides the size",
                ));
            }
            legacy_hop = Some(format!(
                "{}, {}, {}",
                quote_name(&time),
                interval(s.slide.as_millis()),
                interval(s.size.as_millis())
            ));
            String::new()
        }
        WindowShape::Sliding(s) => {
            let offset = s.offset.as_millis();
            let mut call = format!(
                "HOP(TABLE {table}, {descriptor}, {}, {}",
                interval(s.slide.as_millis()),
                interval(s.size.as_millis())
            );
            if offset != 0 {
                call.push_str(&format!(", {}", interval(offset)));
            }
            call.push(')');
            call
        }
        WindowShape::Session(s) => {
            let partition = if keys.is_empty() {
                String::new()
            } else {
                format!(" PARTITION BY ({})", keys.join(", "))
            };
            format!(
                "SESSION(TABLE {table}{partition}, {descriptor}, {})",
                interval(s.gap.as_millis())
            )
        }
        WindowShape::Count(_) => unreachable!("count windows returned above"),
    };
    let mut items = keys.clone();
    items.push("`window_start`".into());
    items.push("`window_end`".into());
    for spec in &w.aggregates {
        if matches!(config.window, WindowShape::Session(_))
            && matches!(
                spec.function,
                AggregateFunction::First | AggregateFunction::Last
            )
        {
            return Err((
                format!(
                    "`{}`: Flink's FIRST_VALUE and LAST_VALUE cannot merge, which session windows \
                     need (Flink refuses the query)",
                    spec.name
                ),
                "MIN or MAX of the column, or a tumbling window",
            ));
        }
        let expr = match (&spec.function, &spec.argument) {
            // Flink's AVG of integers is an integer; Eddy's is a DOUBLE.
            (AggregateFunction::Avg, Some(argument)) if argument.data_type.is_integer() => {
                let argument =
                    flink_expr(&argument.text, &node.inputs[0].schema).map_err(untranslatable)?;
                format!("AVG(CAST({argument} AS DOUBLE))")
            }
            _ => {
                flink_item(&spec.text, &node.inputs[0].schema)
                    .map_err(untranslatable)?
                    .0
            }
        };
        items.push(format!("{expr} AS {}", quote_name(&spec.name)));
        if matches!(
            spec.function,
            AggregateFunction::First | AggregateFunction::Last
        ) {
            ex.report.push(ReportEntry::differs(
                &node.id,
                format!(
                    "`{}`: Flink's FIRST_VALUE and LAST_VALUE take the first and last row to \
                     arrive, Eddy's the earliest and latest in event time; they differ when rows \
                     come out of order",
                    spec.name
                ),
                "rows in event-time order (no disorder) give the same values",
            ));
        }
    }
    let view = Exporter::view_name(&node, 0);
    match legacy_hop {
        None => {
            let mut group = keys;
            group.push("`window_start`".into());
            group.push("`window_end`".into());
            ex.view(
                &view,
                &format!(
                    "SELECT {}\nFROM TABLE({function})\nGROUP BY {}",
                    items.join(", "),
                    group.join(", ")
                ),
            );
        }
        Some(hop) => {
            // The legacy group window takes any slide; its bounds come from HOP_START/HOP_END.
            let at = keys.len();
            items[at] = format!("HOP_START({hop}) AS `window_start`");
            items[at + 1] = format!("HOP_END({hop}) AS `window_end`");
            let mut group = keys;
            group.push(format!("HOP({hop})"));
            ex.view(
                &view,
                &format!(
                    "SELECT {}\nFROM {table}\nGROUP BY {}",
                    items.join(", "),
                    group.join(", ")
                ),
            );
            ex.report.push(ReportEntry::differs(
                &node.id,
                "its slide does not divide its size, which Flink SQL's HOP window function refuses: \
                 exported as the legacy GROUP BY HOP(...) group window (deprecated in Flink)",
                "a slide that divides the size, for the HOP window function",
            ));
        }
    }
    ex.provide(index, 0, view);
    if config.allowed_lateness.as_millis() > 0 {
        ex.report.push(ReportEntry::differs(
            &node.id,
            format!(
                "allowed lateness {}: Flink SQL's window functions drop every late row, so late \
                 firings do not happen",
                config.allowed_lateness
            ),
            "a larger watermark delay (results come later, but late rows count)",
        ));
    }
    if let Emit::Early(every) = &config.emit {
        ex.report.push(ReportEntry::differs(
            &node.id,
            format!("early results every {every} are not exported"),
            "the experimental 'table.exec.emit.early-fire.enabled' options",
        ));
    }
    let late_connected = ex
        .plan
        .edges
        .iter()
        .any(|e| e.from_node == index && e.from_port == 1);
    if late_connected {
        ex.report.push(ReportEntry::left_out(
            &format!("{}.late", node.id),
            "Flink SQL has no side output for late rows",
            "a DataStream job with sideOutputLateData",
        ));
    }
    Ok(())
}
