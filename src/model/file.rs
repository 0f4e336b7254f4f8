//! Reading and writing pipeline files: canonical pretty RON, version checks, atomic saves.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ron::extensions::Extensions;
use ron::ser::PrettyConfig;
use serde::Deserialize;

use super::document::{FORMAT_VERSION, Pipeline};
use super::node::NodeKind;
use super::problem::{FilePosition, Problem, Subject};

/// Why a pipeline file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", .problem.display_in(&.path.display().to_string()))]
    Invalid {
        path: PathBuf,
        problem: Box<Problem>,
    },
}

/// Files name their node kinds without double parentheses: `Generator(preset: TaxiTrips, ...)`.
fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES)
        .with_default_extension(Extensions::IMPLICIT_SOME)
}

#[derive(Deserialize)]
struct VersionProbe {
    format_version: u32,
}

/// Parses a pipeline from RON text. Only reads; nothing in the text is ever run. A UTF-8 byte
/// order mark at the start (some Windows editors write one) is accepted.
pub fn parse(text: &str) -> Result<Pipeline, Box<Problem>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let options = ron_options();
    if let Ok(probe) = options.from_str::<VersionProbe>(text) {
        if probe.format_version > FORMAT_VERSION {
            let mut problem = Problem::error(
                Subject::Document,
                format!(
                    "this file has format_version {}, written by a newer Eddy; this Eddy ({}) reads up to format_version {FORMAT_VERSION}: please update Eddy",
                    probe.format_version,
                    env!("CARGO_PKG_VERSION")
                ),
            );
            problem.position = position_of(text, "format_version");
            return Err(Box::new(problem));
        }
        if probe.format_version == 0 {
            return Err(Box::new(Problem::error(
                Subject::Document,
                "format_version 0 does not exist; the first version is 1",
            )));
        }
    }
    options.from_str::<Pipeline>(text).map_err(|e| {
        let mut problem = Problem::error(Subject::Document, tidy_ron_message(&e.code.to_string()));
        problem.position = Some(FilePosition {
            line: e.span.start.line.max(1),
            column: e.span.start.col.max(1),
        });
        Box::new(problem)
    })
}

/// The line and column of the first occurrence of `needle` in `text`.
fn position_of(text: &str, needle: &str) -> Option<FilePosition> {
    let offset = text.find(needle)?;
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some(FilePosition { line, column })
}

/// RON names our Rust types; say it in the file's own words.
fn tidy_ron_message(message: &str) -> String {
    let mut chars = message.chars();
    let message: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    message
        .replace("`Node`", "a node")
        .replace(" instead", "")
        .replace("in enum `NodeKind`", "for a node family")
        .replace("in enum `SourceKind`", "for a source")
        .replace("in enum `TransformKind`", "for a transform")
        .replace("in enum `SinkKind`", "for a sink")
        .replace("in enum `WindowShape`", "for a window shape")
        .replace("`WindowConfig`", "Window")
        .replace("`Pipeline`", "the pipeline")
}

/// The configuration of one node as canonical RON text (the inspector's text editor).
pub fn kind_to_ron(kind: &NodeKind) -> Result<String, ron::Error> {
    let config = PrettyConfig::new().indentor("    ").struct_names(false);
    ron_options().to_string_pretty(kind, config)
}

/// Parses one node's configuration, with the position of the first mistake.
pub fn parse_kind(text: &str) -> Result<NodeKind, Box<Problem>> {
    ron_options().from_str::<NodeKind>(text).map_err(|e| {
        let mut problem = Problem::error(Subject::Document, tidy_ron_message(&e.code.to_string()));
        problem.position = Some(FilePosition {
            line: e.span.start.line.max(1),
            column: e.span.start.col.max(1),
        });
        Box::new(problem)
    })
}

/// Reads and parses a pipeline file.
pub fn load(path: &Path) -> Result<Pipeline, LoadError> {
    let text = read_text(path)?;
    parse(&text).map_err(|problem| LoadError::Invalid {
        path: path.to_path_buf(),
        problem,
    })
}

/// Reads a pipeline file's text.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The canonical text of a pipeline: the same document always gives the same bytes.
pub fn to_ron_string(pipeline: &Pipeline) -> Result<String, ron::Error> {
    let config = PrettyConfig::new()
        .indentor("    ")
        .struct_names(false)
        .separate_tuple_members(false)
        .enumerate_arrays(false);
    let mut text = ron_options().to_string_pretty(pipeline, config)?;
    text.push('\n');
    Ok(text)
}

/// Saves atomically: the text goes to a temporary file beside the target, which then replaces it.
/// A crash or a full disk leaves the previous file as it was.
pub fn save(path: &Path, pipeline: &Pipeline) -> anyhow::Result<()> {
    let text = to_ron_string(pipeline)?;
    write_atomically(path, text.as_bytes())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline.ron".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut file =
            fs::File::create(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        file.write_all(bytes)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot flush {}", temp.display()))?;
        fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_format_is_refused_plainly() {
        let err =
            parse("(format_version: 99, name: \"x\", nodes: [], future_field: 1)").unwrap_err();
        assert!(err.message.contains("newer Eddy"), "{}", err.message);
        assert!(err.message.contains("99"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse("(\n  format_version: 1,\n  name: \"x\"\n  nodes: [],\n)").unwrap_err();
        let pos = err.position.unwrap();
        assert_eq!(pos.line, 4, "{err:?}");
    }

    #[test]
    fn save_replaces_atomically_and_keeps_no_temp_files() {
        let dir = std::env::temp_dir().join(format!("eddy-save-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.ron");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let leftovers: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
        // A target in a folder that does not exist fails and leaves nothing behind.
        assert!(write_atomically(&dir.join("missing/p.ron"), b"x").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }
}
