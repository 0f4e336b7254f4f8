//! Joins as Flink SQL. An interval join is Flink's interval join (`r.ts BETWEEN l.ts − before AND
//! l.ts + after` in the ON clause), its right time column cast to a plain TIMESTAMP so only the left
//! one stays a time attribute, as in Eddy. A lookup join is an event-time temporal join
//! (`FOR SYSTEM_TIME AS OF`) against a versioned view of the reference file — its rows
//! deduplicated per key, the later row winning, all valid from the epoch — so the stream keeps its
//! time attribute and windows can follow, as in Eddy.

use super::flink_sql::{Export, Exporter, dependency};
use super::flink_time::interval;
use super::flink_types::flink_type;
use super::report::ReportEntry;
use super::sources::{CsvColumns, first_rows, table_and_view, typed_csv, with_options};
use crate::expr::quote_name;
use crate::model::kinds::join::interval::PlannedIntervalJoin;
use crate::model::kinds::join::lookup::{PlannedLookupJoin, TableFormat};
use crate::model::kinds::join::window::PlannedWindowJoin;
use crate::model::time::TimeAttr;

/// The time column of input `port`, when it is a column of its own (not a window's end shifted).
fn time_column(ex: &Exporter, index: usize, port: usize) -> Result<String, (String, &'static str)> {
    match &ex.plan.nodes[index].inputs[port].time {
        TimeAttr::Event {
            column,
            shift_ms: 0,
        } => Ok(column.clone()),
        _ => Err((
            "a join is exported only when both inputs carry an event-time column of their own"
                .into(),
            "a Map that names the time column, before the join",
        )),
    }
}

/// The left input's columns as (name, output name) pairs.
fn left_columns(node: &crate::model::plan::NodePlan) -> Vec<(String, String)> {
    node.inputs[0]
        .schema
        .fields()
        .iter()
        .map(|f| (f.name().clone(), f.name().clone()))
        .collect()
}

/// `side.column AS name` for each (column, output name); the column `plain_time` cast to a
/// TIMESTAMP, so it is no longer a time attribute.
fn select_items(side: &str, columns: &[(String, String)], plain_time: Option<&str>) -> Vec<String> {
    columns
        .iter()
        .map(|(name, out)| {
            let value = format!("{side}.{}", quote_name(name));
            let value = if Some(name.as_str()) == plain_time {
                format!("CAST({value} AS TIMESTAMP(3))")
            } else {
                value
            };
            format!("{value} AS {}", quote_name(out))
        })
        .collect()
}

/// `l.a = r.b AND …` for the key pairs.
fn key_condition(left: &[String], right: &[String]) -> String {
    left.iter()
        .zip(right)
        .map(|(l, r)| format!("l.{} = r.{}", quote_name(l), quote_name(r)))
        .collect::<Vec<_>>()
        .join(" AND ")
}

pub fn interval_join(ex: &mut Exporter, index: usize, j: &PlannedIntervalJoin) -> Export {
    let node = ex.plan.nodes[index].clone();
    let left = ex.input(index, 0).map_err(dependency)?;
    let right = ex.input(index, 1).map_err(dependency)?;
    let left_time = quote_name(&time_column(ex, index, 0)?);
    let right_time_name = time_column(ex, index, 1)?;
    // Only one time attribute may reach a sink: the right one becomes a plain timestamp.
    let mut items = select_items("l", &left_columns(&node), None);
    items.extend(select_items("r", &j.right_names, Some(&right_time_name)));
    let query = format!(
        "SELECT {}\nFROM {} AS l {} {} AS r\n  ON {}\n  AND r.{} BETWEEN l.{left_time} - {} AND l.{left_time} + {}",
        items.join(", "),
        quote_name(&left),
        j.join.sql(),
        quote_name(&right),
        key_condition(&j.left_key, &j.right_key),
        quote_name(&right_time_name),
        interval(j.before_ms),
        interval(j.after_ms),
    );
    let name = Exporter::view_name(&node, 0);
    ex.view(&name, &query);
    ex.provide(index, 0, name);
    ex.report.push(ReportEntry::differs(
        &node.id,
        "a row that arrives behind the watermark is dropped by Eddy (as Flink's DataStream \
         interval join drops it); Flink SQL may still join it with the rows it holds",
        "rows on time, or a larger watermark delay on the sources",
    ));
    Ok(())
}

pub fn lookup_join(ex: &mut Exporter, index: usize, l: &PlannedLookupJoin) -> Export {
    let node = ex.plan.nodes[index].clone();
    let stream = ex.input(index, 0).map_err(dependency)?;
    let stream_time = quote_name(&time_column(ex, index, 0).map_err(|_| {
        (
            "a lookup join is exported as an event-time temporal join, which needs the stream's \
             own event-time column"
                .to_string(),
            "a regular JOIN against the table (the stream loses its time attribute)",
        )
    })?);
    let versioned = format!("{}__table", node.id);
    let raw_table = format!("{}__table_file", node.id);
    let typed_view = format!("{}__table_rows", node.id);
    let valid_from = "__valid_from";
    let absolute = std::path::absolute(&l.path).unwrap_or_else(|_| l.path.clone());
    let (mut typed, options) = match l.format {
        TableFormat::Csv => (
            typed_csv(&l.table_schema, first_rows(&l.path, true, b','), None)?,
            with_options(
                &absolute,
                "csv",
                &[("csv.ignore-parse-errors", "true".to_string())],
            ),
        ),
        TableFormat::JsonLines => (
            json_columns(l)?,
            with_options(
                &absolute,
                "json",
                &[("json.ignore-parse-errors", "true".to_string())],
            ),
        ),
    };
    // Every row of the table is valid from the epoch: any stream row may meet it.
    typed.table_columns.push(format!(
        "{} AS TIMESTAMP '1970-01-01 00:00:00.000'",
        quote_name(valid_from)
    ));
    typed.table_columns.push(format!(
        "WATERMARK FOR {} AS {}",
        quote_name(valid_from),
        quote_name(valid_from)
    ));
    typed.selects.push(quote_name(valid_from));
    table_and_view(
        ex,
        &raw_table,
        &typed.table_columns,
        &options,
        (&typed.selects, &typed.conditions),
        &typed_view,
    );
    let keys: Vec<String> = l.table_key.iter().map(|k| quote_name(k)).collect();
    let table_columns: Vec<String> = l
        .table_schema
        .fields()
        .iter()
        .map(|f| quote_name(f.name()))
        .chain([quote_name(valid_from)])
        .collect();
    // Flink's versioned view: the last row per key in time, here in file order.
    ex.view(
        &versioned,
        &format!(
            "SELECT {}\nFROM (\n  SELECT *, ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {} DESC) AS `__row`\n  FROM {}\n)\nWHERE `__row` = 1",
            table_columns.join(", "),
            keys.join(", "),
            quote_name(valid_from),
            quote_name(&typed_view)
        ),
    );
    let mut items = select_items("l", &left_columns(&node), None);
    items.extend(select_items("r", &l.table_names, None));
    let name = Exporter::view_name(&node, 0);
    ex.view(
        &name,
        &format!(
            "SELECT {}\nFROM {} AS l {} {} FOR SYSTEM_TIME AS OF l.{stream_time} AS r\n  ON {}",
            items.join(", "),
            quote_name(&stream),
            l.join.sql(),
            quote_name(&versioned),
            key_condition(&l.key, &l.table_key),
        ),
    );
    ex.provide(index, 0, name);
    ex.report.push(ReportEntry::differs(
        &node.id,
        "Flink reads the table once and emits each row when the watermark passes it (an \
         event-time temporal join); Eddy emits it at once",
        "the same rows, later",
    ));
    if l.reload {
        ex.report.push(ReportEntry::differs(
            &node.id,
            "the table is not read again when its file changes: Flink reads the file once",
            "a lookup source with a cache, such as JDBC with 'lookup.cache'",
        ));
    }
    Ok(())
}

/// A JSON-lines reference table's columns as Flink's json format reads them, by name; a time
/// column is refused (Eddy reads ISO text or epoch numbers, the json format neither alike).
fn json_columns(l: &PlannedLookupJoin) -> Result<CsvColumns, (String, &'static str)> {
    let mut columns = CsvColumns::default();
    for f in l.table_schema.fields() {
        let Some(sql_type) = flink_type(f.data_type()).filter(|_| !f.data_type().is_temporal())
        else {
            return Err((
                format!(
                    "the reference table's column `{}` has a type the exporter cannot give Flink's json format",
                    f.name()
                ),
                "a table of text, number and boolean columns",
            ));
        };
        columns
            .table_columns
            .push(format!("{} {sql_type}", quote_name(f.name())));
        columns.selects.push(quote_name(f.name()));
    }
    Ok(columns)
}

/// The window table function over `table` and its time column for a window join's windows.
fn window_function(table: &str, time: &str, w: &PlannedWindowJoin) -> String {
    let descriptor = format!("DESCRIPTOR({})", quote_name(time));
    let offset = if w.offset_ms == 0 {
        String::new()
    } else {
        format!(", {}", interval(w.offset_ms))
    };
    if w.slide_ms == w.size_ms {
        format!(
            "TUMBLE(TABLE {}, {descriptor}, {}{offset})",
            quote_name(table),
            interval(w.size_ms)
        )
    } else {
        format!(
            "HOP(TABLE {}, {descriptor}, {}, {}{offset})",
            quote_name(table),
            interval(w.slide_ms),
            interval(w.size_ms)
        )
    }
}

pub fn window_join(ex: &mut Exporter, index: usize, w: &PlannedWindowJoin) -> Export {
    let node = ex.plan.nodes[index].clone();
    let left = ex.input(index, 0).map_err(dependency)?;
    let right = ex.input(index, 1).map_err(dependency)?;
    let left_time = time_column(ex, index, 0)?;
    let right_time = time_column(ex, index, 1)?;
    if w.slide_ms != w.size_ms && w.size_ms % w.slide_ms != 0 {
        return Err((
            "a sliding window join whose slide does not divide its size: Flink's HOP function \
             refuses the slide"
                .into(),
            "a slide that divides the size",
        ));
    }
    // The window's own time attribute stays; the rows' become plain timestamps.
    let mut items = vec!["l.`window_start`".to_string(), "l.`window_end`".to_string()];
    items.extend(select_items("l", &left_columns(&node), Some(&left_time)));
    items.extend(select_items("r", &w.right_names, Some(&right_time)));
    let query = format!(
        "SELECT {}\nFROM (SELECT * FROM TABLE({})) AS l\n{} (SELECT * FROM TABLE({})) AS r\n  ON {}\n  AND l.`window_start` = r.`window_start` AND l.`window_end` = r.`window_end`",
        items.join(", "),
        window_function(&left, &left_time, w),
        w.join.sql(),
        window_function(&right, &right_time, w),
        key_condition(&w.left_key, &w.right_key),
    );
    let name = Exporter::view_name(&node, 0);
    ex.view(&name, &query);
    ex.provide(index, 0, name);
    Ok(())
}
