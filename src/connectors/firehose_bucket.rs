//! A Firehose delivery stream's bucket: a local folder that plays it (each key a path under it,
//! each object written whole: a temporary file, then a rename) or a real S3 bucket (or an
//! S3-compatible server such as s3rver) through the AWS SDK for S3. Objects are JSON lines, CSV
//! (a header per object) or Parquet (Snappy inside, as Firehose's record format conversion writes
//! it), GZIP- or Snappy-compressed on request.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use arrow::record_batch::RecordBatch;
use aws_sdk_s3::primitives::ByteStream;

use super::aws::Aws;
use crate::model::kinds::firehose::{
    Compression, PlannedDestination, PlannedFirehose, RecordFormat,
};
use crate::runtime::contract::{ObjectBucket, RunError};
use crate::values::cell_text;
use crate::values::json_rows::JsonRows;

/// The bucket of a planned delivery stream.
pub fn build(planned: &PlannedFirehose) -> Result<Box<dyn ObjectBucket>, RunError> {
    let encoding = Encoding {
        format: planned.format,
        compression: planned.compression,
    };
    Ok(match &planned.destination {
        PlannedDestination::Folder(root) => Box::new(FolderBucket {
            root: root.clone(),
            encoding,
        }),
        PlannedDestination::S3 {
            bucket,
            region,
            endpoint,
        } => {
            let aws = Aws::new(region, endpoint.as_deref())?;
            // A local server takes paths, not bucket names as host names.
            let config = aws_sdk_s3::config::Builder::from(&aws.config)
                .force_path_style(endpoint.is_some())
                .build();
            Box::new(S3Bucket {
                client: aws_sdk_s3::Client::from_conf(config),
                aws,
                bucket: bucket.clone(),
                encoding,
            })
        }
    })
}

/// A bucket that keeps nothing (a preview): objects are named and counted, not written.
pub fn nowhere() -> Box<dyn ObjectBucket> {
    Box::new(Nowhere)
}

struct Nowhere;

impl ObjectBucket for Nowhere {
    fn put_rows(&mut self, _: &str, rows: &[RecordBatch]) -> Result<u64, RunError> {
        Ok(rows.iter().map(|b| b.get_array_memory_size() as u64).sum())
    }

    fn put_bytes(&mut self, _: &str, bytes: Vec<u8>) -> Result<u64, RunError> {
        Ok(bytes.len() as u64)
    }

    fn extension(&self) -> &str {
        ""
    }
}

/// How rows become an object's bytes.
#[derive(Debug, Clone, Copy)]
pub struct Encoding {
    pub format: RecordFormat,
    pub compression: Compression,
}

impl Encoding {
    pub fn extension(&self) -> &'static str {
        match (self.format, self.compression) {
            (RecordFormat::Parquet, _) => "",
            (_, Compression::Gzip) => ".gz",
            (_, Compression::Snappy) => ".snappy",
            (_, Compression::Uncompressed) => "",
        }
    }

    /// The object's bytes.
    pub fn encode(&self, rows: &[RecordBatch]) -> Result<Vec<u8>, RunError> {
        let plain = match self.format {
            RecordFormat::JsonLines => json_lines(rows)?,
            RecordFormat::Csv => csv_lines(rows)?,
            RecordFormat::Parquet => return parquet(rows),
        };
        match self.compression {
            Compression::Uncompressed => Ok(plain),
            Compression::Gzip => {
                // The fast level: a delivery stream keeps up with its records before it squeezes
                // the last bytes out of them.
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder
                    .write_all(&plain)
                    .and_then(|()| encoder.finish())
                    .map_err(|e| RunError::internal(format!("compressing an object: {e}")))
            }
            Compression::Snappy => {
                // The framing format (stream identifier, checksummed chunks): what Firehose's
                // `Snappy` writes and `snappy`-aware readers take as a file.
                let mut encoder = snap::write::FrameEncoder::new(Vec::new());
                encoder
                    .write_all(&plain)
                    .map_err(|e| RunError::internal(format!("compressing an object: {e}")))?;
                encoder
                    .into_inner()
                    .map_err(|e| RunError::internal(format!("compressing an object: {e}")))
            }
        }
    }
}

fn json_lines(rows: &[RecordBatch]) -> Result<Vec<u8>, RunError> {
    let mut out = Vec::new();
    for batch in rows {
        let json = JsonRows::new(batch);
        for row in 0..batch.num_rows() {
            json.write(row, &mut out);
            out.push(b'\n');
        }
    }
    Ok(out)
}

fn csv_lines(rows: &[RecordBatch]) -> Result<Vec<u8>, RunError> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let fail = |e: csv::Error| RunError::internal(format!("writing CSV: {e}"));
    if let Some(first) = rows.first() {
        writer
            .write_record(first.schema().fields().iter().map(|f| f.name().as_str()))
            .map_err(fail)?;
    }
    let mut record = Vec::new();
    for batch in rows {
        for row in 0..batch.num_rows() {
            record.clear();
            record.extend(batch.columns().iter().map(|c| cell_text(c.as_ref(), row)));
            writer.write_record(&record).map_err(fail)?;
        }
    }
    writer
        .into_inner()
        .map_err(|e| RunError::internal(format!("writing CSV: {e}")))
}

fn parquet(rows: &[RecordBatch]) -> Result<Vec<u8>, RunError> {
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression as Codec;
    use parquet::file::properties::WriterProperties;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let fail = |e: parquet::errors::ParquetError| {
        RunError::internal(format!("converting records to Parquet: {e}"))
    };
    let properties = WriterProperties::builder()
        .set_compression(Codec::SNAPPY)
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, first.schema(), Some(properties)).map_err(fail)?;
    for batch in rows {
        writer.write(batch).map_err(fail)?;
    }
    writer.close().map_err(fail)?;
    Ok(out)
}

/// A folder playing the bucket.
struct FolderBucket {
    root: PathBuf,
    encoding: Encoding,
}

impl FolderBucket {
    /// Writes `bytes` at `key` under the folder: a temporary file first, then a rename, so an
    /// object is there whole or not at all.
    fn write(&self, key: &str, bytes: &[u8]) -> Result<u64, RunError> {
        let relative = Path::new(key);
        if !relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        {
            return Err(RunError::data(format!(
                "the object key `{key}` is not a plain path under the bucket folder"
            )));
        }
        let path = self.root.join(relative);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)
            .map_err(|e| RunError::io(format!("cannot create {}: {e}", dir.display())))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.partial"));
        std::fs::write(&temp, bytes)
            .and_then(|()| std::fs::rename(&temp, &path))
            .map_err(|e| RunError::io(format!("writing {}: {e}", path.display())))?;
        Ok(bytes.len() as u64)
    }
}

impl ObjectBucket for FolderBucket {
    fn put_rows(&mut self, key: &str, rows: &[RecordBatch]) -> Result<u64, RunError> {
        let bytes = self.encoding.encode(rows)?;
        self.write(key, &bytes)
    }

    fn put_bytes(&mut self, key: &str, bytes: Vec<u8>) -> Result<u64, RunError> {
        self.write(key, &bytes)
    }

    fn extension(&self) -> &str {
        self.encoding.extension()
    }
}

/// A real S3 bucket.
struct S3Bucket {
    aws: Aws,
    client: aws_sdk_s3::Client,
    bucket: String,
    encoding: Encoding,
}

impl S3Bucket {
    fn put(&self, key: &str, bytes: Vec<u8>) -> Result<u64, RunError> {
        let size = bytes.len() as u64;
        let call = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/octet-stream")
            .body(ByteStream::from(bytes))
            .send();
        self.aws.call(call).map_err(|e| {
            self.aws
                .explain("writing", &format!("s3://{}/{key}", self.bucket), &e)
        })?;
        Ok(size)
    }
}

impl ObjectBucket for S3Bucket {
    fn put_rows(&mut self, key: &str, rows: &[RecordBatch]) -> Result<u64, RunError> {
        let bytes = self.encoding.encode(rows)?;
        self.put(key, bytes)
    }

    fn put_bytes(&mut self, key: &str, bytes: Vec<u8>) -> Result<u64, RunError> {
        self.put(key, bytes)
    }

    fn extension(&self) -> &str {
        self.encoding.extension()
    }
}

/// An object of a folder bucket read back as text rows (the first is the header), at most
/// `limit` rows: GZIP and Snappy are undone, Parquet read with its schema, JSON lines by their
/// keys.
pub fn read_object(path: &Path, limit: usize) -> Result<Vec<Vec<String>>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if bytes.starts_with(b"PAR1") {
        let file =
            std::fs::File::open(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        return read_parquet(file, limit);
    }
    let text = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain)
            .map_err(|e| format!("not GZIP text: {e}"))?;
        plain
    } else if bytes.starts_with(SNAPPY_STREAM_IDENTIFIER) {
        let mut plain = String::new();
        std::io::Read::read_to_string(&mut snap::read::FrameDecoder::new(&bytes[..]), &mut plain)
            .map_err(|e| format!("not Snappy text: {e}"))?;
        plain
    } else {
        String::from_utf8(bytes).map_err(|_| "not text".to_string())?
    };
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut header: Vec<String> = Vec::new();
    for line in text.lines().take(limit + 1) {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(object)) => {
                if header.is_empty() {
                    header = object.keys().cloned().collect();
                }
                rows.push(
                    header
                        .iter()
                        .map(|k| match object.get(k) {
                            Some(serde_json::Value::String(s)) => s.clone(),
                            Some(other) => other.to_string(),
                            None => String::new(),
                        })
                        .collect(),
                );
            }
            _ => {
                // CSV: the first line is the header.
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(false)
                    .from_reader(line.as_bytes());
                if let Some(Ok(record)) = reader.records().next() {
                    rows.push(record.iter().map(str::to_string).collect());
                }
            }
        }
    }
    if !header.is_empty() {
        rows.insert(0, header);
    }
    rows.truncate(limit + 1);
    Ok(rows)
}

/// The chunk every Snappy framed stream starts with: type 0xff, length 6, "sNaPpY".
const SNAPPY_STREAM_IDENTIFIER: &[u8] = b"\xff\x06\x00\x00sNaPpY";

fn read_parquet(file: std::fs::File, limit: usize) -> Result<Vec<Vec<String>>, String> {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|b| b.build())
        .map_err(|e| format!("not Parquet: {e}"))?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        if rows.is_empty() {
            rows.push(
                batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect(),
            );
        }
        for row in 0..batch.num_rows() {
            if rows.len() > limit {
                return Ok(rows);
            }
            rows.push(
                batch
                    .columns()
                    .iter()
                    .map(|c| cell_text(c.as_ref(), row))
                    .collect(),
            );
        }
    }
    Ok(rows)
}
