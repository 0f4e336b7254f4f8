//! What an export could not carry over: per node, what differs or is missing, and the closest form
//! the target engine has. The exporter never drops a node silently: it exports it, or says here why
//! not.

use std::fmt::Write;

/// One thing the export could not carry over as Eddy runs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportEntry {
    pub node: String,
    /// Whether the node is in the export at all (`false`: left out, with what depends on it).
    pub exported: bool,
    pub what: String,
    /// The closest thing the target engine has, or what the user can do.
    pub closest: String,
}

impl ReportEntry {
    pub fn left_out(node: &str, what: impl Into<String>, closest: impl Into<String>) -> Self {
        Self {
            node: node.to_string(),
            exported: false,
            what: what.into(),
            closest: closest.into(),
        }
    }

    pub fn differs(node: &str, what: impl Into<String>, closest: impl Into<String>) -> Self {
        Self {
            node: node.to_string(),
            exported: true,
            what: what.into(),
            closest: closest.into(),
        }
    }
}

/// The report as text, one block per entry, nodes in the pipeline's order.
pub fn render(pipeline: &str, entries: &[ReportEntry]) -> String {
    let mut text = format!("What the Flink SQL export of `{pipeline}` does not carry over\n");
    if entries.is_empty() {
        text.push_str("\nNothing: every node translates as Eddy runs it.\n");
        return text;
    }
    for entry in entries {
        let state = if entry.exported {
            "exported, differs"
        } else {
            "not exported"
        };
        let _ = write!(
            text,
            "\n{} ({state}): {}\n    closest in Flink: {}\n",
            entry.node, entry.what, entry.closest
        );
    }
    text
}
