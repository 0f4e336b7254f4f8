//! A pattern node as Flink SQL's MATCH_RECOGNIZE: the same partition, order (the event-time
//! column), measures, after-match strategy, pattern, WITHIN and DEFINE, each expression re-printed
//! from its parsed form. The `timeout` port has no Flink SQL form (FlinkCEP's DataStream API has
//! one), and is reported when it is connected.

use super::flink_sql::{Export, Exporter, dependency};
use super::flink_time::interval;
use super::report::ReportEntry;
use crate::expr::navigation::NavFunction;
use crate::expr::{flink_pattern_expr, quote_name};
use crate::model::kinds::pattern::{AfterMatch, PlannedPattern};
use crate::model::time::TimeAttr;

pub fn pattern(ex: &mut Exporter, index: usize, p: &PlannedPattern) -> Export {
    let node = ex.plan.nodes[index].clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let schema = &node.inputs[0].schema;
    let time_column = match &node.inputs[0].time {
        TimeAttr::Event {
            column,
            shift_ms: 0,
        } => column.clone(),
        _ => {
            return Err((
                "a pattern is exported only over rows with an event-time column of their own"
                    .into(),
                "a Map that names the time column, before the pattern",
            ));
        }
    };
    let order = quote_name(&time_column);
    let numbered = p.measures.iter().any(|(_, m)| {
        m.navigations
            .iter()
            .any(|n| n.function == NavFunction::MatchNumber)
    });
    if numbered {
        return Err((
            "MATCH_NUMBER() has no Flink SQL form (Flink 2.3 knows no such function)".into(),
            "ROW_NUMBER() OVER (PARTITION BY the key ORDER BY MATCH_ROWTIME()) after the pattern",
        ));
    }
    let untranslatable = |why: String| (why, "rewrite the expression with functions Flink SQL has");
    let mut measures = Vec::new();
    for text in &p.config.measures {
        let (expr, alias) =
            flink_pattern_expr(text, schema, true, &time_column).map_err(untranslatable)?;
        let alias = alias.unwrap_or_default();
        measures.push(format!("{expr} AS {}", quote_name(&alias)));
    }
    let mut define = Vec::new();
    for d in &p.config.define {
        let (condition, _) = flink_pattern_expr(&d.condition, schema, false, &time_column)
            .map_err(untranslatable)?;
        define.push(format!("{} AS {condition}", quote_name(&d.step)));
    }
    if define.is_empty()
        && let Some(first) = p.steps.first()
    {
        // MATCH_RECOGNIZE needs a DEFINE clause; a step without a condition takes any row.
        define.push(format!("{} AS TRUE", quote_name(&first.step.name)));
    }
    let steps: Vec<String> = p
        .steps
        .iter()
        .map(|s| format!("{}{}", quote_name(&s.step.name), s.step.quantifier()))
        .collect();
    let partition = if p.partition_by.is_empty() {
        String::new()
    } else {
        format!(
            "  PARTITION BY {}\n",
            p.partition_by
                .iter()
                .map(|k| quote_name(k))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let within = p
        .within_ms
        .map(|ms| format!(" WITHIN {}", interval(ms)))
        .unwrap_or_default();
    let query = format!(
        "SELECT * FROM {}\nMATCH_RECOGNIZE (\n{partition}  ORDER BY {order}\n  MEASURES\n    {}\n  ONE ROW PER MATCH\n  AFTER MATCH {}\n  PATTERN ({}){within}\n  DEFINE\n    {}\n) AS `__match`",
        quote_name(&input),
        measures.join(",\n    "),
        after_match(&p.after_match),
        steps.join(" "),
        define.join(",\n    "),
    );
    let name = Exporter::view_name(&node, 0);
    ex.view(&name, &query);
    ex.provide(index, 0, name);
    let timeout_connected = ex
        .plan
        .edges
        .iter()
        .any(|e| e.from_node == index && e.from_port == 1);
    if timeout_connected {
        ex.report.push(ReportEntry::differs(
            &node.id,
            "its `timeout` port is not exported: Flink SQL's MATCH_RECOGNIZE drops partial matches \
             that time out",
            "FlinkCEP's DataStream API with a TimedOutPartialMatchHandler",
        ));
    }
    Ok(())
}

/// AFTER MATCH with the step's name quoted (a step may be called `START` or `LARGE`, words SQL
/// keeps for itself).
fn after_match(after: &AfterMatch) -> String {
    match after {
        AfterMatch::ToFirst(s) => format!("SKIP TO FIRST {}", quote_name(s)),
        AfterMatch::ToLast(s) => format!("SKIP TO LAST {}", quote_name(s)),
        other => other.sql(),
    }
}
