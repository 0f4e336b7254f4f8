//! CSV and JSON-lines file sinks. Rows go to a hidden temporary file beside the target, named for
//! the run and the node; when the input ends the file is flushed and handed to the run's commits,
//! which put every file of the run in place together only when the run completes — so a failed or
//! stopped run never leaves a file that looks whole, and never replaces a complete one.
//!
//! With checkpoints the temporary file is the job's in-progress file: each checkpoint records its
//! synced length (the pre-commit), a restore truncates it back to that length (exactly-once) or
//! keeps and counts what was written after it (at-least-once), and it is put in place when the run
//! completes, resumed or not. It outlives a crash or a stop, for `--resume`.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::model::kinds::csv_sink::PlannedCsvSink;
use crate::model::kinds::json_lines_sink::PlannedJsonLinesSink;
use crate::runtime::contract::{
    CheckpointMode, Checkpointing, Commits, InstanceOf, OpResult, Operator, Output, RunError,
    SendFailure, StateReader, StateWriter,
};
use crate::values::cell_text;
use crate::values::json_rows::JsonRows;

/// The sink of a planned CSV file sink node.
pub fn build_csv(
    planned: &PlannedCsvSink,
    schema: &SchemaRef,
    node: &str,
    commits: &Arc<Commits>,
    checkpointing: Option<Checkpointing>,
) -> Result<Box<dyn Operator>, RunError> {
    let format = FileFormat::Csv {
        header: planned.header,
    };
    let sink = FileSink::create(&planned.path, format, schema, node, commits, checkpointing)?;
    Ok(Box::new(sink))
}

/// The sink of a planned JSON-lines file sink node.
pub fn build_json_lines(
    planned: &PlannedJsonLinesSink,
    schema: &SchemaRef,
    node: &str,
    commits: &Arc<Commits>,
    checkpointing: Option<Checkpointing>,
) -> Result<Box<dyn Operator>, RunError> {
    let sink = FileSink::create(
        &planned.path,
        FileFormat::JsonLines,
        schema,
        node,
        commits,
        checkpointing,
    )?;
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
    schema: SchemaRef,
    writer: Option<BufWriter<File>>,
    commits: Arc<Commits>,
    checkpointing: Option<Checkpointing>,
    rows_written: u64,
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
        checkpointing: Option<Checkpointing>,
    ) -> Result<Self, RunError> {
        let dir = target.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir)
            .map_err(|e| RunError::io(format!("cannot create {}: {e}", dir.display())))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "output".into());
        let temp = dir.join(format!(".{name}.{}.{node}.partial", commits.run_tag()));
        let restoring = checkpointing.as_ref().is_some_and(|c| c.restoring);
        let mut sink = Self {
            target: target.to_path_buf(),
            temp,
            format,
            schema: Arc::clone(schema),
            writer: None,
            commits: Arc::clone(commits),
            checkpointing,
            rows_written: 0,
        };
        // A restored sink opens the in-progress file its checkpoint names instead.
        if !restoring {
            sink.open_fresh()?;
        }
        Ok(sink)
    }

    fn open_fresh(&mut self) -> Result<(), RunError> {
        let file = File::create(&self.temp)
            .map_err(|e| RunError::io(format!("cannot create {}: {e}", self.temp.display())))?;
        self.writer = Some(BufWriter::with_capacity(1 << 16, file));
        if let FileFormat::Csv { header: true } = self.format {
            let schema = Arc::clone(&self.schema);
            self.write_header(&schema)
                .map_err(|e| RunError::io(format!("writing {}: {e}", self.temp.display())))?;
        }
        Ok(())
    }

    /// The in-progress file's length once everything written is on disk (the pre-commit).
    fn synced_length(&mut self) -> std::io::Result<u64> {
        match self.writer.as_mut() {
            Some(writer) => {
                writer.flush()?;
                writer.get_ref().sync_data()?;
                Ok(writer.get_ref().metadata()?.len())
            }
            None => Ok(fs::metadata(&self.temp)?.len()),
        }
    }

    /// Reopens the in-progress file at the saved length. At-least-once keeps the whole rows
    /// written after the checkpoint (they are written again) and says how many.
    fn reopen(&mut self, length: u64, rows: u64) -> Result<(), RunError> {
        let io = |e: std::io::Error| RunError::io(format!("resuming {}: {e}", self.temp.display()));
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.temp)
            .map_err(|e| {
                RunError::io(format!(
                    "cannot resume: the in-progress file {} of the checkpoint: {e}",
                    self.temp.display()
                ))
            })?;
        let on_disk = file.metadata().map_err(io)?.len();
        if on_disk < length {
            return Err(RunError::data(format!(
                "cannot resume: {} has {on_disk} bytes, fewer than the {length} its checkpoint \
                 recorded",
                self.temp.display()
            )));
        }
        let mode = self.checkpointing.as_ref().map(|c| c.mode);
        let mut keep = length;
        self.rows_written = rows;
        if mode == Some(CheckpointMode::AtLeastOnce) {
            use std::io::{Read, Seek, SeekFrom};
            let mut after = Vec::new();
            file.seek(SeekFrom::Start(length)).map_err(io)?;
            file.read_to_end(&mut after).map_err(io)?;
            // Whole lines only: a line cut by the crash is dropped.
            let whole = after.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            let again = after[..whole].iter().filter(|&&b| b == b'\n').count() as u64;
            keep = length + whole as u64;
            self.rows_written += again;
            if let Some(c) = &self.checkpointing {
                c.note(format!(
                    "{}: {again} rows written after the checkpoint stay in the file and are \
                     written again (at-least-once)",
                    self.target.display()
                ));
            }
        }
        file.set_len(keep).map_err(io)?;
        use std::io::{Seek, SeekFrom};
        file.seek(SeekFrom::End(0)).map_err(io)?;
        self.writer = Some(BufWriter::with_capacity(1 << 16, file));
        Ok(())
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
        self.rows_written += batch.num_rows() as u64;
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

    /// Version 1: `u8(1) str(in-progress file name) u64(synced length) u64(rows written)`.
    fn save_state(&mut self) -> Result<Option<Vec<u8>>, SendFailure> {
        let length = self
            .synced_length()
            .map_err(|e| io_failure(format!("flushing {}: {e}", self.temp.display())))?;
        let mut w = StateWriter::new();
        w.u8(1);
        let name = self
            .temp
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        w.str(&name.unwrap_or_default());
        w.u64(length);
        w.u64(self.rows_written);
        Ok(Some(w.finish()))
    }

    fn restore_state(&mut self, saved: &[Vec<u8>], _me: InstanceOf) -> Result<(), RunError> {
        let Some(blob) = saved.first() else {
            // New in the pipeline since the checkpoint: it starts its file now.
            return self.open_fresh();
        };
        let mut r = StateReader::new(blob);
        if r.u8()? != 1 {
            return Err(RunError::data(
                "the saved file sink state has an unknown version",
            ));
        }
        let name = r.str()?.to_string();
        let length = r.u64()?;
        let rows = r.u64()?;
        r.end()?;
        let expected = self
            .temp
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        if expected.as_deref() != Some(name.as_str()) {
            return Err(RunError::data(format!(
                "the checkpoint's in-progress file `{name}` is not this job's ({})",
                self.temp.display()
            )));
        }
        self.reopen(length, rows)
    }

    fn on_abort(&mut self) {
        self.writer = None;
        // With checkpoints the in-progress file belongs to the checkpoints (`--resume`).
        if self.checkpointing.is_none() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        if self.checkpointing.is_some() {
            return;
        }
        // Never leave a partial file behind, whatever stopped the run.
        if self.writer.is_some() {
            self.writer = None;
            let _ = fs::remove_file(&self.temp);
        }
    }
}
