//! Sources as Flink filesystem tables. A CSV file is read with every column as text (Flink's csv
//! format has no header option and fails a whole job on one bad field) and typed in a view the way
//! Eddy reads it: text trimmed, empty as NULL, rows that do not parse left out (Eddy routes them to
//! `errors`), the header line left out. The event-time column is computed in the table so the
//! watermark can be declared on it, with Eddy's formula; times are ISO-8601 or epoch milliseconds,
//! as the file's first row shows. A JSON-lines file is read with Flink's json format, its times as
//! text parsed the same way. A generator is exported over the CSV file its rows were written to
//! (`--materialize-generators`).

use std::path::Path;

use arrow::datatypes::{DataType, SchemaRef};

use super::flink_sql::{Export, Exporter};
use super::flink_time::watermark_delay;
use super::flink_types::flink_type;
use super::report::ReportEntry;
use crate::expr::quote_name;
use crate::model::kinds::csv_source::PlannedCsvSource;
use crate::model::kinds::generator::PlannedGenerator;
use crate::model::kinds::json_lines_source::PlannedJsonLinesSource;
use crate::model::kinds::source_time::Time;

/// How a file writes its times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeText {
    Iso,
    EpochMillis,
}

/// The SQL that reads `raw` (text) as a TIMESTAMP(3), NULL when it is not a time.
fn parse_time(raw: &str, form: TimeText) -> String {
    match form {
        TimeText::Iso => format!("TO_TIMESTAMP(REPLACE(REPLACE(TRIM({raw}), 'T', ' '), 'Z', ''))"),
        TimeText::EpochMillis => {
            format!("CAST(TO_TIMESTAMP_LTZ(TRY_CAST(TRIM({raw}) AS BIGINT), 3) AS TIMESTAMP(3))")
        }
    }
}

/// The SQL that reads `raw` (text) as `data_type` as Eddy does, NULL when it does not parse.
fn parse_value(raw: &str, data_type: &DataType, form: TimeText) -> Option<String> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => raw.to_string(),
        DataType::Boolean => format!(
            "CASE LOWER(TRIM({raw})) WHEN 'true' THEN TRUE WHEN 't' THEN TRUE WHEN '1' THEN TRUE \
             WHEN 'yes' THEN TRUE WHEN 'false' THEN FALSE WHEN 'f' THEN FALSE WHEN '0' THEN FALSE \
             WHEN 'no' THEN FALSE END"
        ),
        DataType::Timestamp(..) => parse_time(raw, form),
        other => format!("TRY_CAST(TRIM({raw}) AS {})", flink_type(other)?),
    })
}

/// The header (when it has one) and the first data row of a CSV file, split on `delimiter`.
pub(super) fn first_rows(
    path: &Path,
    header: bool,
    delimiter: u8,
) -> Option<(Option<Vec<String>>, Vec<String>)> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(header)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(std::io::BufReader::new(file));
    let names = if header {
        Some(reader.headers().ok()?.iter().map(str::to_string).collect())
    } else {
        None
    };
    let first = reader
        .records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(str::to_string).collect())
        .unwrap_or_default();
    Some((names, first))
}

fn time_form(sample: Option<&str>) -> TimeText {
    match sample.map(str::trim) {
        Some(t)
            if !t.is_empty()
                && t.trim_start_matches('-')
                    .bytes()
                    .all(|b| b.is_ascii_digit()) =>
        {
            TimeText::EpochMillis
        }
        _ => TimeText::Iso,
    }
}

/// The WITH options of a filesystem table.
pub(super) fn with_options(path: &Path, format: &str, extra: &[(&str, String)]) -> String {
    let mut options = vec![
        ("connector", "filesystem".to_string()),
        ("path", path.display().to_string()),
        ("format", format.to_string()),
    ];
    options.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    options
        .iter()
        .map(|(k, v)| format!("'{k}' = '{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A CSV file's columns as Flink reads them: every physical column as text (`NAME__raw`), the
/// typed selects, and the conditions that leave out rows Eddy would not read (and the header).
#[derive(Default)]
pub(super) struct CsvColumns {
    pub table_columns: Vec<String>,
    pub selects: Vec<String>,
    pub conditions: Vec<String>,
    /// The header and first row, to tell how times are written.
    file_columns: Vec<String>,
    first: Vec<String>,
}

impl CsvColumns {
    /// How the file writes the times of `column`.
    fn time_forms(&self, column: &str) -> TimeText {
        time_form(
            self.file_columns
                .iter()
                .position(|c| c == column)
                .and_then(|i| self.first.get(i))
                .map(String::as_str),
        )
    }
}

/// Types the text columns of a CSV file (its header and first row in `sample`) as `schema` says;
/// `time_column` is left to the table, where its watermark is declared.
pub(super) fn typed_csv(
    schema: &SchemaRef,
    sample: Option<(Option<Vec<String>>, Vec<String>)>,
    time_column: Option<&str>,
) -> Result<CsvColumns, (String, &'static str)> {
    let (names, first) = sample.unwrap_or_default();
    // The file's columns in its own order (the schema's when it has no header).
    let file_columns: Vec<String> = names
        .clone()
        .unwrap_or_else(|| schema.fields().iter().map(|f| f.name().clone()).collect());
    let raw = |name: &str| format!("{name}__raw");
    let sample_of = |column: &str| {
        file_columns
            .iter()
            .position(|c| c == column)
            .and_then(|i| first.get(i))
            .map(String::as_str)
    };
    let table_columns: Vec<String> = file_columns
        .iter()
        .map(|c| format!("{} STRING", quote_name(&raw(c))))
        .collect();
    let mut conditions = Vec::new();
    let mut selects = Vec::new();
    for field in schema.fields() {
        let name = field.name();
        let raw_name = quote_name(&raw(name));
        if !file_columns.iter().any(|c| c == name) {
            return Err((
                format!("the column `{name}` is not in the file's header"),
                "a header that names every column",
            ));
        }
        let form = time_form(sample_of(name));
        if Some(name.as_str()) == time_column {
            selects.push(quote_name(name));
            conditions.push(format!("{} IS NOT NULL", parse_time(&raw_name, form)));
            continue;
        }
        let Some(value) = parse_value(&raw_name, field.data_type(), form) else {
            return Err((
                format!("the column `{name}` has a type the exporter cannot give Flink"),
                "a column of text, number, boolean or time",
            ));
        };
        if !matches!(
            field.data_type(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
        ) {
            conditions.push(format!(
                "({raw_name} IS NULL OR TRIM({raw_name}) = '' OR {value} IS NOT NULL)"
            ));
        }
        selects.push(format!("{value} AS {}", quote_name(name)));
    }
    if let Some(names) = &names {
        let header_row: Vec<String> = names
            .iter()
            .map(|n| format!("{} = '{}'", quote_name(&raw(n)), n.replace('\'', "''")))
            .collect();
        conditions.push(format!("({}) IS NOT TRUE", header_row.join(" AND ")));
    }
    Ok(CsvColumns {
        table_columns,
        selects,
        conditions,
        file_columns,
        first,
    })
}

/// A CSV file read as Eddy reads it: its physical columns as text, then a typed view.
fn csv_file(
    ex: &mut Exporter,
    index: usize,
    path: &Path,
    header: bool,
    delimiter: u8,
    time: &Time,
) -> Export {
    let node = ex.plan.nodes[index].clone();
    let schema: SchemaRef = node.outputs[0].schema.clone();
    let sample = first_rows(path, header, delimiter);
    let unwritten = ex
        .options
        .unwritten_generators
        .as_ref()
        .is_some_and(|dir| path.starts_with(dir));
    if sample.is_none() && !unwritten {
        ex.report.push(ReportEntry::differs(
            &node.id,
            format!(
                "{} could not be read while exporting: its columns are taken in the schema's \
                 order and its times as ISO-8601",
                path.display()
            ),
            "export again where the file can be read",
        ));
    }
    let time_column = match time {
        Time::EventTime(e) => Some(e.column.clone()),
        Time::ProcessingTime => None,
    };
    let mut typed = typed_csv(&schema, sample, time_column.as_deref())?;
    let raw = |name: &str| format!("{name}__raw");
    if let (Time::EventTime(event), Some(column)) = (time, &time_column) {
        let form = typed.time_forms(column);
        // Never NULL, or Flink's watermark assigner fails the job: rows whose time does not
        // parse get the epoch here and are left out by the view.
        typed.table_columns.push(format!(
            "{} AS COALESCE({}, TIMESTAMP '1970-01-01 00:00:00.000')",
            quote_name(column),
            parse_time(&quote_name(&raw(column)), form)
        ));
        typed.table_columns.push(format!(
            "WATERMARK FOR {} AS {} - {}",
            quote_name(column),
            quote_name(column),
            watermark_delay(event.max_out_of_orderness.as_millis())
        ));
        if event.idle_timeout.is_some() {
            ex.report.push(ReportEntry::differs(
                &node.id,
                "its idle timeout is not exported",
                "the table option 'scan.watermark.idle-timeout'",
            ));
        }
    }
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let table = format!("{}__file", node.id);
    let options = with_options(
        &absolute,
        "csv",
        &[
            ("csv.field-delimiter", (delimiter as char).to_string()),
            ("csv.ignore-parse-errors", "true".to_string()),
        ],
    );
    let view = Exporter::view_name(&ex.plan.nodes[index], 0);
    table_and_view(
        ex,
        &table,
        &typed.table_columns,
        &options,
        (&typed.selects, &typed.conditions),
        &view,
    );
    ex.provide(index, 0, view);
    let errors_connected = ex
        .plan
        .edges
        .iter()
        .any(|e| e.from_node == index && e.from_port == 1);
    if errors_connected {
        ex.report.push(ReportEntry::differs(
            &node.id,
            "its `errors` port is not exported: Flink leaves out the rows Eddy routes there",
            "a view of the rows whose fields do not parse",
        ));
    }
    if matches!(time, Time::ProcessingTime) {
        ex.report.push(ReportEntry::differs(
            &node.id,
            "processing time: results depend on when rows arrive, in Eddy and in Flink alike",
            "an event-time column with a watermark",
        ));
    }
    Ok(())
}

pub fn csv(ex: &mut Exporter, index: usize, c: &PlannedCsvSource) -> Export {
    csv_file(ex, index, &c.path, c.header, c.delimiter, &c.time)
}

pub fn generator(ex: &mut Exporter, index: usize, g: &PlannedGenerator) -> Export {
    let id = ex.plan.nodes[index].id.clone();
    let written = ex.options.materialized.get(&id).cloned();
    let unwritten = ex
        .options
        .unwritten_generators
        .as_ref()
        .map(|dir| dir.join(format!("{id}.csv")));
    if let (None, Some(path)) = (&written, &unwritten) {
        ex.report.push(ReportEntry::differs(
            &id,
            format!(
                "its rows are read from {}, which `eddy export FILE --materialize-generators DIR` \
                 writes (exactly the rows Eddy produces)",
                path.display()
            ),
            "a `datagen` table, with other rows",
        ));
    }
    let Some(path) = written.or(unwritten) else {
        return Err((
            "a generator's rows exist only in Eddy: without --materialize-generators Flink would \
             read other data"
                .into(),
            "--materialize-generators DIR writes its rows to a CSV file and exports a table over it",
        ));
    };
    csv_file(ex, index, &path, true, b',', &g.config.time)
}

/// The first line of a JSON-lines file, as an object.
fn first_object(path: &Path) -> Option<serde_json::Map<String, serde_json::Value>> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(file), &mut line).ok()?;
    match serde_json::from_str(&line).ok()? {
        serde_json::Value::Object(object) => Some(object),
        _ => None,
    }
}

/// A JSON-lines file: Flink's json format types the fields by name, except times, which are read
/// as text (a number or a string) and parsed as Eddy parses them; the event time is a computed
/// column `NAME__time`, renamed back in the view.
pub fn json_lines(ex: &mut Exporter, index: usize, j: &PlannedJsonLinesSource) -> Export {
    let first = first_object(&j.path).unwrap_or_default();
    let absolute = std::path::absolute(&j.path).unwrap_or_else(|_| j.path.clone());
    let options = with_options(
        &absolute,
        "json",
        &[("json.ignore-parse-errors", "true".into())],
    );
    let id = ex.plan.nodes[index].id.clone();
    json_table(ex, index, &j.time, &first, &options, &[])?;
    ex.report.push(ReportEntry::differs(
        &id,
        "a line whose fields do not fit is left out or read with NULLs by Flink's json format \
         ('json.ignore-parse-errors'); Eddy routes it to `errors`",
        "a table over the raw lines ('format' = 'raw') parsed with JSON_VALUE",
    ));
    Ok(())
}

/// A table of JSON records (`options` its WITH clause) and the typed view over it. `sample` is a
/// record that shows how times are written; `metadata` are `(column, definition)` pairs of
/// connector metadata the table reads for some of the node's columns.
pub(super) fn json_table(
    ex: &mut Exporter,
    index: usize,
    time: &Time,
    sample: &serde_json::Map<String, serde_json::Value>,
    options: &str,
    metadata: &[(&str, String)],
) -> Export {
    let node = ex.plan.nodes[index].clone();
    let schema: SchemaRef = node.outputs[0].schema.clone();
    let time_column = match time {
        Time::EventTime(e) => Some(e.column.clone()),
        Time::ProcessingTime => None,
    };
    let form_of = |name: &str| match sample.get(name) {
        Some(serde_json::Value::Number(_)) => TimeText::EpochMillis,
        _ => TimeText::Iso,
    };
    let computed = |name: &str| quote_name(&format!("{name}__time"));
    let (mut table_columns, mut selects, mut conditions) = (Vec::new(), Vec::new(), Vec::new());
    for field in schema.fields() {
        let name = field.name();
        if let Some((_, definition)) = metadata.iter().find(|(column, _)| column == name) {
            table_columns.push(format!("{} {definition}", quote_name(name)));
            selects.push(quote_name(name));
            continue;
        }
        if let DataType::Timestamp(..) = field.data_type() {
            table_columns.push(format!("{} STRING", quote_name(name)));
            let parsed = parse_time(&quote_name(name), form_of(name));
            if Some(name) == time_column.as_ref() {
                selects.push(format!("{} AS {}", computed(name), quote_name(name)));
                conditions.push(format!("{parsed} IS NOT NULL"));
            } else {
                selects.push(format!("{parsed} AS {}", quote_name(name)));
            }
            continue;
        }
        let Some(sql_type) = flink_type(field.data_type()) else {
            return Err((
                format!("the field `{name}` has a type the exporter cannot give Flink"),
                "a field of text, number, boolean or time",
            ));
        };
        table_columns.push(format!("{} {sql_type}", quote_name(name)));
        selects.push(quote_name(name));
    }
    if let (Time::EventTime(event), Some(column)) = (time, &time_column) {
        table_columns.push(format!(
            "{} AS COALESCE({}, TIMESTAMP '1970-01-01 00:00:00.000')",
            computed(column),
            parse_time(&quote_name(column), form_of(column))
        ));
        table_columns.push(format!(
            "WATERMARK FOR {} AS {} - {}",
            computed(column),
            computed(column),
            watermark_delay(event.max_out_of_orderness.as_millis())
        ));
    }
    let table = format!("{}__table", node.id);
    let view = Exporter::view_name(&ex.plan.nodes[index], 0);
    table_and_view(
        ex,
        &table,
        &table_columns,
        options,
        (&selects, &conditions),
        &view,
    );
    ex.provide(index, 0, view);
    Ok(())
}

/// The source's table (`columns`, `options` its WITH clause) and the view of its typed rows
/// that the rest of the pipeline reads (`selects` where all `conditions` hold).
pub(super) fn table_and_view(
    ex: &mut Exporter,
    table: &str,
    columns: &[String],
    options: &str,
    (selects, conditions): (&[String], &[String]),
    view: &str,
) {
    ex.statements.push(format!(
        "CREATE TEMPORARY TABLE {} (\n  {}\n) WITH ({options})",
        quote_name(table),
        columns.join(",\n  ")
    ));
    let filter = if conditions.is_empty() {
        "TRUE".to_string()
    } else {
        conditions.join("\n  AND ")
    };
    ex.view(
        view,
        &format!(
            "SELECT {}\nFROM {}\nWHERE {filter}",
            selects.join(", "),
            quote_name(table)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_column_of_digits_is_epoch_milliseconds() {
        assert_eq!(time_form(Some("1700000000000")), TimeText::EpochMillis);
        assert_eq!(time_form(Some("2024-01-15T09:00:00.000Z")), TimeText::Iso);
        assert_eq!(time_form(None), TimeText::Iso);
    }
}
