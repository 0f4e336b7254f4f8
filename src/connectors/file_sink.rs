//! CSV and JSON-lines file sinks. Rows go to a hidden temporary file beside the target, named for
//! the run and the node; when the input ends the file is flushed and handed to the run's commits,
//! which put every file of the run in place together only when the run completes — so a failed or
//! stopped run never leaves a file that looks whole, and never replaces a complete one.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::model::kinds::csv_sink::PlannedCsvSink;
use crate::model::kinds::json_lines_sink::PlannedJsonLinesSink;
use crate::runtime::contract::{Commits, OpResult, Operator, Output, RunError, SendFailure};
use crate::values::cell_text;
use crate::values::json_rows::JsonRows;

/// The sink of a planned CSV file sink node.
pub fn build_csv(
    planned: &PlannedCsvSink,
    schema: &SchemaRef,
    node: &str,
    commits: &Arc<Commits>,
) -> Result<Box<dyn Operator>, RunError> {
    let format = FileFormat::Csv {
        header: planned.header,
    };
    let sink = FileSink::create(&planned.path, format, schema, node, commits)?;
    Ok(Box::new(sink))
}

/// The sink of a planned JSON-lines file sink node.
pub fn build_json_lines(
    planned: &PlannedJsonLinesSink,
    schema: &SchemaRef,
    node: &str,
    commits: &Arc<Commits>,
) -> Result<Box<dyn Operator>, RunError> {
    let sink = FileSink::create(&planned.path, FileFormat::JsonLines, schema, node, commits)?;
    Ok(Box::new(sink))
}

fn io_failure(message: String) -> SendFailure {
    SendFailure::Failed(RunError::io(message))
}

/// The two file formats.
pub enum FileFormat {
    Csv { header: bool },
    JsonLines,
}

pub struct FileSink {
    target: PathBuf,
    temp: PathBuf,
    format: FileFormat,
    writer: Option<BufWriter<File>>,
    commits: Arc<Commits>,
}

impl FileSink {
    /// Opens the temporary file (creating the target's folder if needed) and, for a CSV file with
    /// a header, writes the header: an empty result is a header and no rows, not an empty file.
    pub fn create(
        target: &Path,
        format: FileFormat,
        schema: &SchemaRef,
        node: &str,
        commits: &Arc<Commits>,
    ) -> Result<Self, RunError> {
        let dir = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .map_err(|e| RunError::io(format!("cannot create {}: {e}", dir.display())))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let temp = dir.join(format!(".{name}.{}.{node}.partial", commits.run_tag()));
        let file = File::create(&temp)
            .map_err(|e| RunError::io(format!("cannot create {}: {e}", temp.display())))?;
        let mut sink = Self {
            target: target.to_path_buf(),
            temp,
            format,
            writer: Some(BufWriter::with_capacity(1 << 16, file)),
            commits: Arc::clone(commits),
        };
        if let FileFormat::Csv { header: true } = sink.format {
            sink.write_header(schema)
                .map_err(|e| RunError::io(format!("writing {}: {e}", sink.temp.display())))?;
        }
        Ok(sink)
    }

    fn write_header(&mut self, schema: &SchemaRef) -> std::io::Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(writer);
        csv.write_record(schema.fields().iter().map(|f| f.name().as_str()))?;
        csv.flush()
    }

    fn write_batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        match self.format {
            FileFormat::Csv { .. } => {
                let mut csv = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(writer);
                let mut record = Vec::with_capacity(batch.num_columns());
                for row in 0..batch.num_rows() {
                    record.clear();
                    record.extend(batch.columns().iter().map(|c| cell_text(c.as_ref(), row)));
                    csv.write_record(&record)?;
                }
                csv.flush()?;
            }
            FileFormat::JsonLines => {
                let rows = JsonRows::new(batch);
                let mut line = Vec::new();
                for row in 0..batch.num_rows() {
                    line.clear();
                    rows.write(row, &mut line);
                    line.push(b'\n');
                    writer.write_all(&line)?;
                }
            }
        }
        Ok(())
    }
}

impl Operator for FileSink {
    fn on_batch(&mut self, _port: usize, batch: RecordBatch, _out: &mut Output) -> OpResult {
        self.write_batch(&batch)
            .map_err(|e| io_failure(format!("writing {}: {e}", self.temp.display())))
    }

    /// The input ended: the file is made whole on disk and waits for the run to commit it.
    fn on_end(&mut self, _out: &mut Output) -> OpResult {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let file = writer
            .into_inner()
            .map_err(|e| io_failure(format!("writing {}: {e}", self.temp.display())))?;
        file.sync_all()
            .map_err(|e| io_failure(format!("flushing {}: {e}", self.temp.display())))?;
        self.commits.prepare(self.temp.clone(), self.target.clone());
        Ok(())
    }

    fn on_abort(&mut self) {
        self.writer = None;
        let _ = fs::remove_file(&self.temp);
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // Never leave a partial file behind, whatever stopped the run.
        if self.writer.is_some() {
            self.writer = None;
            let _ = fs::remove_file(&self.temp);
        }
    }
}
