//! Reads a lookup join's reference table — a CSV or JSON-lines file — whole into memory, with the
//! file sources' readers, so its rows are read exactly as a source would read them. Unlike a
//! source, a table with a row that cannot be read is refused, naming the file, the line and why:
//! half a table would enrich some rows and silently not others.

use std::path::Path;

use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use super::csv_source::CsvSource;
use super::json_source::JsonLinesSource;
use crate::model::kinds::join::lookup::{MAX_TABLE_ROWS, TableFormat};
use crate::runtime::contract::{RunError, Source};
use crate::values::cell_text;

/// Every row of the table at `path`, in file order, in one batch.
pub fn load(
    path: &Path,
    name: &str,
    format: TableFormat,
    schema: &SchemaRef,
) -> Result<RecordBatch, RunError> {
    let mut source: Box<dyn Source> = match format {
        TableFormat::Csv => Box::new(CsvSource::open(path, true, ',', schema.clone(), None)?),
        TableFormat::JsonLines => Box::new(JsonLinesSource::open(path, schema.clone(), None)?),
    };
    let mut batches = Vec::new();
    let mut rows = 0usize;
    while let Some(chunk) = source.next_chunk()? {
        if let Some(errors) = chunk.errors.filter(|e| e.num_rows() > 0) {
            let line = cell_text(errors.column(0).as_ref(), 0);
            let reason = cell_text(errors.column(2).as_ref(), 0);
            return Err(RunError::data(format!(
                "the reference table {name}, line {line}: {reason}"
            )));
        }
        rows += chunk.rows.num_rows();
        if rows > MAX_TABLE_ROWS {
            return Err(RunError::data(format!(
                "the reference table {name} has more than {MAX_TABLE_ROWS} rows; a lookup join holds its table in memory"
            )));
        }
        batches.push(chunk.rows);
    }
    concat_batches(schema, &batches).map_err(|e| RunError::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("location_id", DataType::Int64, true),
            Field::new("zone", DataType::Utf8, true),
        ]))
    }

    #[test]
    fn a_table_is_read_whole_and_a_bad_row_refuses_it_naming_its_line() {
        let dir = std::env::temp_dir().join(format!("eddy-reference-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("zones.csv");
        std::fs::write(&good, "location_id,zone\n1,Newark\n2,Jamaica Bay\n").unwrap();
        let table = load(&good, "zones.csv", TableFormat::Csv, &schema()).unwrap();
        assert_eq!(table.num_rows(), 2);
        assert_eq!(cell_text(table.column(1).as_ref(), 1), "Jamaica Bay");

        let bad = dir.join("bad.csv");
        std::fs::write(&bad, "location_id,zone\n1,Newark\nseven,Oops\n").unwrap();
        let error = load(&bad, "bad.csv", TableFormat::Csv, &schema())
            .unwrap_err()
            .to_string();
        assert!(error.contains("bad.csv, line 3"), "{error}");
        assert!(error.contains("location_id"), "{error}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
