//! Schema inference for file sources: the column types of the first rows of a CSV or JSON-lines
//! file, cached by the file's identity and modification time so checking again (on every keystroke
//! in the designer) never re-reads a file that did not change.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use arrow::datatypes::{DataType, Field, Schema};

use super::columns::timestamp_type;

/// How many rows inference looks at.
pub const INFER_ROWS: usize = 1000;
/// How many bytes inference reads at most, so a huge line or a device file cannot stall a check.
pub const INFER_BYTES: u64 = 4 << 20;

fn open_regular_file(path: &Path) -> Result<std::io::Take<File>, String> {
    if !path.is_file() {
        return Err(format!("{} is not a file", path.display()));
    }
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(file.take(INFER_BYTES))
}

/// What the values seen so far in a column could all be, from the narrowest type up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Guess {
    Nothing,
    Boolean,
    Int64,
    Float64,
    Timestamp,
    Text,
}

impl Guess {
    fn of_text(value: &str) -> Guess {
        let v = value.trim();
        if v.is_empty() {
            Guess::Nothing
        } else if v.parse::<i64>().is_ok() {
            Guess::Int64
        } else if v.parse::<f64>().is_ok() {
            Guess::Float64
        } else if v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false") {
            Guess::Boolean
        } else if parse_timestamp_millis(v).is_some() {
            Guess::Timestamp
        } else {
            Guess::Text
        }
    }

    fn join(self, other: Guess) -> Guess {
        use Guess::*;
        match (self, other) {
            (Nothing, x) | (x, Nothing) => x,
            (a, b) if a == b => a,
            (Int64, Float64) | (Float64, Int64) => Float64,
            _ => Text,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Guess::Boolean => DataType::Boolean,
            Guess::Int64 => DataType::Int64,
            Guess::Float64 => DataType::Float64,
            Guess::Timestamp => timestamp_type(),
            Guess::Nothing | Guess::Text => DataType::Utf8,
        }
    }
}

/// Parses ISO-8601 / RFC 3339 text (`2024-01-15T08:05:00Z`, `2024-01-15 08:05:00`) to epoch ms.
pub fn parse_timestamp_millis(text: &str) -> Option<i64> {
    let t = text.trim();
    if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_millis());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(t, format) {
            return Some(naive.and_utc().timestamp_millis());
        }
    }
    None
}

/// What identifies one inference: the file as it is now, and how it is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    path: PathBuf,
    modified: Option<SystemTime>,
    len: u64,
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Format {
    Csv { header: bool, delimiter: char },
    JsonLines,
}

/// How many inferences the cache keeps; past that it starts over (a designer session touches few files).
const CACHE_ENTRIES: usize = 64;

static CACHE: Mutex<Option<HashMap<CacheKey, Result<Schema, String>>>> = Mutex::new(None);
/// How many times each file was actually read, for tests of the cache.
static FILE_READS: Mutex<Option<HashMap<PathBuf, u64>>> = Mutex::new(None);

/// How many times inference has actually read `path` (the other times came from the cache).
pub fn file_reads(path: &Path) -> u64 {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    FILE_READS
        .lock()
        .ok()
        .and_then(|reads| reads.as_ref().and_then(|r| r.get(&path).copied()))
        .unwrap_or(0)
}

fn cached(path: &Path, format: Format) -> Result<Schema, String> {
    let meta = std::fs::metadata(path).ok();
    let key = CacheKey {
        path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        modified: meta.as_ref().and_then(|m| m.modified().ok()),
        len: meta.as_ref().map_or(0, |m| m.len()),
        format,
    };
    if let Ok(cache) = CACHE.lock()
        && let Some(found) = cache.as_ref().and_then(|c| c.get(&key))
    {
        return found.clone();
    }
    if let Ok(mut reads) = FILE_READS.lock() {
        let reads = reads.get_or_insert_with(HashMap::new);
        if reads.len() >= CACHE_ENTRIES * 16 {
            reads.clear();
        }
        *reads.entry(key.path.clone()).or_default() += 1;
    }
    let result = match format {
        Format::Csv { header, delimiter } => read_csv_schema(path, header, delimiter),
        Format::JsonLines => read_json_lines_schema(path),
    };
    // Only a file that exists is worth remembering: a missing one may appear any moment.
    if meta.is_some()
        && let Ok(mut cache) = CACHE.lock()
    {
        let cache = cache.get_or_insert_with(HashMap::new);
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(key, result.clone());
    }
    result
}

/// Reports a source file that is missing, a folder, or not a regular file.
pub fn check_input_file(path: &str, base_dir: &Path, report: &mut super::kind::Report) {
    let full = base_dir.join(path);
    match std::fs::metadata(&full) {
        Ok(meta) if meta.is_file() => {}
        Ok(meta) if meta.is_dir() => {
            report.error(
                "path",
                format!("`{path}` is a folder; a source reads a file"),
            );
        }
        Ok(_) => {
            report.error(
                "path",
                format!(
                    "`{path}` is not a regular file (a FIFO, a device or a socket); a source reads a regular file"
                ),
            );
        }
        Err(_) => {
            report.error(
                "path",
                format!(
                    "the file `{path}` does not exist (looked for {})",
                    full.display()
                ),
            );
        }
    }
}

/// The longest column name inference accepts from a file.
pub const MAX_NAME: usize = 64;

/// Whether text read from a file can be a column name: short and printable. Anything else is
/// data, which messages must not echo (a path pointed at `/proc/self/environ` is not a header).
fn looks_like_a_name(text: &str) -> bool {
    !text.is_empty() && text.chars().count() <= MAX_NAME && !text.chars().any(char::is_control)
}

/// Infers the columns of a CSV file from its header and first rows.
pub fn infer_csv(path: &Path, header: bool, delimiter: char) -> Result<Schema, String> {
    cached(path, Format::Csv { header, delimiter })
}

/// Infers the fields of a JSON-lines file from its first objects; nested values become text.
pub fn infer_json_lines(path: &Path) -> Result<Schema, String> {
    cached(path, Format::JsonLines)
}

fn read_csv_schema(path: &Path, header: bool, delimiter: char) -> Result<Schema, String> {
    let delimiter = u8::try_from(delimiter)
        .map_err(|_| format!("the delimiter `{delimiter}` must be a single-byte character"))?;
    let file = open_regular_file(path)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(header)
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(file);
    let mut names: Vec<String> = if header {
        let names: Vec<String> = reader
            .headers()
            .map_err(|e| format!("cannot read the header of {}: {e}", path.display()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        // What is not a plausible header is data, and data is never echoed in messages.
        if !names.iter().all(|n| looks_like_a_name(n)) {
            return Err(format!(
                "the first line of {} does not look like a header of column names (each at most {MAX_NAME} printable characters); declare `schema`, or set `header: false`",
                path.display()
            ));
        }
        names
    } else {
        Vec::new()
    };
    // With a header, rows are the header's width: a row with more or fewer fields is one to
    // send to `errors`, not a reason to widen the columns. Without one, the first row decides.
    let mut width = header.then_some(names.len());
    let mut guesses = vec![Guess::Nothing; names.len()];
    let mut rows = 0;
    for record in reader.records().take(INFER_ROWS) {
        // Rows that cannot be read are the run's business (they go to `errors`), not inference's.
        let Ok(record) = record else { continue };
        if *width.get_or_insert(record.len()) != record.len() {
            continue;
        }
        rows += 1;
        for (i, value) in record.iter().enumerate() {
            if i >= guesses.len() {
                guesses.push(Guess::Nothing);
                names.push(format!("column_{}", i + 1));
            }
            guesses[i] = guesses[i].join(Guess::of_text(value));
        }
    }
    if names.is_empty() || (!header && rows == 0) {
        return Err(format!(
            "{} has no rows to infer columns from; declare `schema`",
            path.display()
        ));
    }
    Ok(Schema::new(
        names
            .iter()
            .zip(guesses)
            .map(|(name, guess)| Field::new(name, guess.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

fn read_json_lines_schema(path: &Path) -> Result<Schema, String> {
    let file = open_regular_file(path)?;
    let mut names: Vec<String> = Vec::new();
    let mut guesses: Vec<Guess> = Vec::new();
    for line in BufReader::new(file).lines().take(INFER_ROWS) {
        let Ok(line) = line else { continue };
        let Ok(serde_json::Value::Object(object)) = serde_json::from_str(&line) else {
            continue;
        };
        for (key, value) in object {
            if !looks_like_a_name(&key) {
                return Err(format!(
                    "{} has a field name that does not look like one (at most {MAX_NAME} printable characters); declare `schema`",
                    path.display()
                ));
            }
            let guess = match &value {
                serde_json::Value::Null => Guess::Nothing,
                serde_json::Value::Bool(_) => Guess::Boolean,
                serde_json::Value::Number(n) if n.is_i64() => Guess::Int64,
                serde_json::Value::Number(_) => Guess::Float64,
                serde_json::Value::String(s) if parse_timestamp_millis(s).is_some() => {
                    Guess::Timestamp
                }
                _ => Guess::Text,
            };
            match names.iter().position(|n| *n == key) {
                Some(i) => guesses[i] = guesses[i].join(guess),
                None => {
                    names.push(key);
                    guesses.push(guess);
                }
            }
        }
    }
    if names.is_empty() {
        return Err(format!(
            "{} has no JSON objects to infer fields from; declare `schema`",
            path.display()
        ));
    }
    Ok(Schema::new(
        names
            .iter()
            .zip(guesses)
            .map(|(name, guess)| Field::new(name, guess.data_type(), true))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_widen_as_rows_disagree() {
        assert_eq!(Guess::Int64.join(Guess::Float64), Guess::Float64);
        assert_eq!(Guess::Int64.join(Guess::Nothing), Guess::Int64);
        assert_eq!(Guess::Boolean.join(Guess::Int64), Guess::Text);
        assert_eq!(Guess::of_text("2024-01-15T08:05:00Z"), Guess::Timestamp);
        assert_eq!(Guess::of_text("12.5"), Guess::Float64);
    }

    #[test]
    fn inference_reads_a_file_once_until_it_changes() {
        let dir = std::env::temp_dir().join(format!("eddy-infer-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("cached.csv");
        std::fs::write(&path, "ts,k\n1,a\n").unwrap();
        let first = infer_csv(&path, true, ',').unwrap();
        assert_eq!(file_reads(&path), 1);
        for _ in 0..5 {
            assert_eq!(infer_csv(&path, true, ',').unwrap(), first);
        }
        assert_eq!(file_reads(&path), 1, "the unchanged file was read again");
        // A different size is a different file, whatever the clock's resolution.
        std::fs::write(&path, "ts,k,v\n1,a,2.5\n").unwrap();
        let changed = infer_csv(&path, true, ',').unwrap();
        assert_eq!(changed.fields().len(), 3);
        assert_eq!(file_reads(&path), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_malformed_row_does_not_widen_the_columns() {
        let dir = std::env::temp_dir().join(format!("eddy-infer-wide-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("wide.csv");
        std::fs::write(&path, "ts,k,v\n1000,a,1\n2000,b,2,EXTRA\n3000,c,3\n").unwrap();
        let schema = infer_csv(&path, true, ',').unwrap();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, ["ts", "k", "v"]);
        assert_eq!(schema.field(2).data_type(), &DataType::Int64);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn data_that_is_no_header_is_refused_without_being_echoed() {
        let dir = std::env::temp_dir().join(format!("eddy-infer-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret.csv");
        std::fs::write(&path, "PATH=/usr/bin\0SECRET=hunter2\0\n").unwrap();
        let error = infer_csv(&path, true, ',').unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("does not look like a header"), "{error}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn timestamps_in_common_forms() {
        assert_eq!(parse_timestamp_millis("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_timestamp_millis("1970-01-01 00:00:01.5"), Some(1500));
        assert_eq!(parse_timestamp_millis("yesterday"), None);
    }
}
