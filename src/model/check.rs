//! Checking a pipeline file end to end: read, parse, validate, and place each problem in the file.

use std::path::{Path, PathBuf};

use super::document::Pipeline;
use super::file::{parse, read_text};
use super::problem::Problem;
use super::source_map::SourceMap;
use super::validate::{Validation, validate_in};

/// What checking one file found.
pub struct CheckedFile {
    pub path: PathBuf,
    /// The document, when it could be parsed.
    pub pipeline: Option<Pipeline>,
    pub validation: Option<Validation>,
    /// Every problem, with its line and column, in file order.
    pub problems: Vec<Problem>,
}

impl CheckedFile {
    pub fn has_errors(&self) -> bool {
        super::problem::has_errors(&self.problems)
    }
}

/// The folder relative paths in a pipeline file are resolved against.
pub fn base_dir_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Reads, parses and validates the pipeline file at `path`.
pub fn check_file(path: &Path) -> CheckedFile {
    let text = match read_text(path) {
        Ok(text) => text,
        Err(e) => {
            return CheckedFile {
                path: path.to_path_buf(),
                pipeline: None,
                validation: None,
                problems: vec![Problem::error(
                    super::problem::Subject::Document,
                    e.to_string(),
                )],
            };
        }
    };
    check_text(path, &text)
}

/// Parses and validates `text` as if it were the file at `path`.
pub fn check_text(path: &Path, text: &str) -> CheckedFile {
    let pipeline = match parse(text) {
        Ok(p) => p,
        Err(problem) => {
            return CheckedFile {
                path: path.to_path_buf(),
                pipeline: None,
                validation: None,
                problems: vec![*problem],
            };
        }
    };
    let validation = validate_in(&pipeline, &base_dir_of(path), Some(path));
    let map = SourceMap::new(text);
    let mut problems = validation.problems.clone();
    for problem in &mut problems {
        map.locate(problem);
    }
    problems.sort_by_key(|p| p.position);
    CheckedFile {
        path: path.to_path_buf(),
        pipeline: Some(pipeline),
        validation: Some(validation),
        problems,
    }
}
