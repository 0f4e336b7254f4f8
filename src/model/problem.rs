//! Problems found in a pipeline: errors and warnings, tied to a node, a field and a place in the file.

use std::fmt;

/// Errors stop a pipeline from running; warnings point at something probably unintended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

/// A 1-based line and column in a pipeline file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FilePosition {
    pub line: usize,
    pub column: usize,
}

/// What a problem is about, so the app can badge it and the CLI can find it in the file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// The document as a whole (name, version, syntax).
    Document,
    /// A node, optionally one of its fields (the last part of the field path, e.g. `size`).
    Node { id: String, field: Option<String> },
    /// An edge, by its index in the document.
    Edge { index: usize },
}

/// One problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub subject: Subject,
    pub message: String,
    /// Which element of a list field (e.g. the second Map column), if the field is a list.
    pub item: Option<usize>,
    /// Which of several nodes sharing this id (0 for the first), so duplicates are told apart.
    pub occurrence: usize,
    /// Where inside the field's text (an expression) the mistake is, 1-based.
    pub text_position: Option<(usize, usize)>,
    /// Where in the file; filled in from the text when the document came from a file.
    pub position: Option<FilePosition>,
}

impl Problem {
    pub fn error(subject: Subject, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            subject,
            message: message.into(),
            item: None,
            occurrence: 0,
            text_position: None,
            position: None,
        }
    }

    pub fn warning(subject: Subject, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(subject, message)
        }
    }

    pub fn node(id: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        Self::error(
            Subject::Node {
                id: id.to_string(),
                field: field.map(str::to_string),
            },
            message,
        )
    }

    /// Points at element `item` of a list field.
    pub fn at_item(mut self, item: usize) -> Self {
        self.item = Some(item);
        self
    }

    /// Points inside the field's text, e.g. at the column an expression error names.
    pub fn at_text(mut self, line: usize, column: usize) -> Self {
        self.text_position = Some((line, column));
        self
    }

    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The node this problem is about, if any.
    pub fn node_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::Node { id, .. } => Some(id),
            _ => None,
        }
    }

    /// `file:line:col: node: error: message`, the form editors and CI logs understand.
    pub fn display_in<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        DisplayIn {
            problem: self,
            file,
        }
    }
}

struct DisplayIn<'a> {
    problem: &'a Problem,
    file: &'a str,
}

impl fmt::Display for DisplayIn<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.problem;
        let pos = p.position.unwrap_or(FilePosition { line: 1, column: 1 });
        write!(f, "{}:{}:{}: ", self.file, pos.line, pos.column)?;
        match &p.subject {
            Subject::Document => {}
            Subject::Node { id, .. } => write!(f, "{id}: ")?,
            Subject::Edge { index } => write!(f, "edge {}: ", index + 1)?,
        }
        let severity = match p.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", p.message)
    }
}

/// Without a file to place it in: `node.field: error: message`.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.subject {
            Subject::Document => {}
            Subject::Node {
                id,
                field: Some(field),
            } => write!(f, "{id}.{field}: ")?,
            Subject::Node { id, field: None } => write!(f, "{id}: ")?,
            Subject::Edge { index } => write!(f, "edge {}: ", index + 1)?,
        }
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{severity}: {}", self.message)
    }
}

/// Whether any problem in the list is an error.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(Problem::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_without_a_file_names_its_node_and_field_only() {
        let problem = Problem::node("clean", Some("condition"), "unknown column `fare`");
        assert_eq!(
            problem.to_string(),
            "clean.condition: error: unknown column `fare`"
        );
        assert_eq!(
            problem.display_in("p.ron").to_string(),
            "p.ron:1:1: clean: error: unknown column `fare`"
        );
    }
}
