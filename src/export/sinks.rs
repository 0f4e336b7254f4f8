//! Sinks as Flink tables fed by `INSERT`s: file sinks as filesystem tables (Flink writes a folder of
//! part files, not one file, and no CSV header), the app's charts and tables and the console as
//! `print` tables.

use std::path::Path;

use super::flink_sql::{Export, Exporter, columns, dependency};
use super::flink_types::flink_type;
use super::report::ReportEntry;
use crate::expr::quote_name;

/// The columns of the sink's input as a table schema.
fn table_schema(ex: &Exporter, index: usize) -> Result<String, (String, &'static str)> {
    let schema = &ex.plan.nodes[index].inputs[0].schema;
    schema
        .fields()
        .iter()
        .map(|f| {
            flink_type(f.data_type())
                .map(|t| format!("{} {t}", quote_name(f.name())))
                .ok_or_else(|| {
                    (
                        format!("the column `{}` has a type Flink is not given", f.name()),
                        "a Map that casts it to text or a number",
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|c| c.join(",\n  "))
}

/// The folder a file sink's Flink rows go to: beside its file, named after it.
pub fn flink_folder(path: &Path) -> std::path::PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!("{stem}.flink"))
}

/// The `INSERT` feeding the sink `table` from its input.
fn insert(ex: &mut Exporter, index: usize, table: &str, input: &str) {
    let schema = ex.plan.nodes[index].inputs[0].schema.clone();
    ex.inserts.push(format!(
        "INSERT INTO {} SELECT {} FROM {}",
        quote_name(table),
        columns(&schema),
        quote_name(input)
    ));
}

pub fn file(ex: &mut Exporter, index: usize, path: &Path, format: &str, header: bool) -> Export {
    let id = ex.plan.nodes[index].id.clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let schema = table_schema(ex, index)?;
    let folder = flink_folder(&std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let options = format!(
        "'connector' = 'filesystem', 'path' = '{}', 'format' = '{format}'",
        folder.display().to_string().replace('\'', "''")
    );
    ex.statements.push(format!(
        "CREATE TEMPORARY TABLE {} (\n  {schema}\n) WITH ({options})",
        quote_name(&id)
    ));
    insert(ex, index, &id, &input);
    ex.report.push(ReportEntry::differs(
        &id,
        format!(
            "Flink writes the rows as part files into the folder {}{}",
            folder.display(),
            if header {
                ", without a header line"
            } else {
                ""
            }
        ),
        "the filesystem connector's rolling policy and part-file options",
    ));
    ex.sink_folders.push((id, folder));
    Ok(())
}

pub fn print(ex: &mut Exporter, index: usize) -> Export {
    let id = ex.plan.nodes[index].id.clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let schema = table_schema(ex, index)?;
    ex.statements.push(format!(
        "CREATE TEMPORARY TABLE {} (\n  {schema}\n) WITH ('connector' = 'print')",
        quote_name(&id)
    ));
    insert(ex, index, &id, &input);
    ex.report.push(ReportEntry::differs(
        &id,
        "the app's chart, table or console view",
        "a `print` table: the rows go to the TaskManager's standard output",
    ));
    Ok(())
}
