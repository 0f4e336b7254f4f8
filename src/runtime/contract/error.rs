//! Errors that stop a run: what kind of failure (and so whether trying again can help), which node
//! it came from and, when one row is to blame, which row.

use std::fmt;

/// What kind of failure, which says whether trying again can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The pipeline or its settings cannot work as written (a missing file, a bad path).
    Config,
    /// A row's values made an operator fail (division by zero, a value that does not fit).
    Data,
    /// Reading or writing outside Eddy failed (a full disk, a permission).
    Io,
    /// A service said "not now" (throttling, a timeout): the same request can succeed later.
    Transient,
    /// Eddy itself went wrong (a panic, a broken invariant).
    Internal,
}

impl ErrorKind {
    /// Whether retrying the same work can succeed (as the AWS SDKs and Lambda retry throttling).
    pub fn is_retriable(self) -> bool {
        matches!(self, ErrorKind::Transient)
    }
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunError {
    /// The node whose operator failed, if the failure belongs to one.
    pub node: Option<String>,
    pub kind: ErrorKind,
    pub message: String,
    /// The row the failure came from, as `column=value` pairs, when one row is to blame.
    pub row: Option<String>,
}

impl RunError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            node: None,
            kind,
            message: message.into(),
            row: None,
        }
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }

    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// Names the node the error belongs to (keeps a node named earlier).
    pub fn in_node(mut self, node: &str) -> Self {
        self.node.get_or_insert_with(|| node.to_string());
        self
    }

    /// Names the row the error came from.
    pub fn at_row(mut self, row: impl Into<String>) -> Self {
        self.row = Some(row.into());
        self
    }

    pub fn is_retriable(&self) -> bool {
        self.kind.is_retriable()
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.node {
            Some(node) => write!(f, "node `{node}` failed: {}", self.message)?,
            None => f.write_str(&self.message)?,
        }
        if let Some(row) = &self.row {
            write!(f, " (in the row {row})")?;
        }
        Ok(())
    }
}

impl std::error::Error for RunError {}

/// Why an operator hook did not complete.
#[derive(Debug)]
pub enum SendFailure {
    /// A receiver is gone: the run is stopping (or a downstream operator failed).
    Disconnected,
    Failed(RunError),
}

impl From<RunError> for SendFailure {
    fn from(error: RunError) -> Self {
        SendFailure::Failed(error)
    }
}

/// Turns a panic payload into text.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_are_retriable_and_the_row_is_named() {
        assert!(RunError::transient("throttled").is_retriable());
        for kind in [
            ErrorKind::Config,
            ErrorKind::Data,
            ErrorKind::Io,
            ErrorKind::Internal,
        ] {
            assert!(!kind.is_retriable(), "{kind:?}");
        }
        let error = RunError::data("division by zero")
            .in_node("ratio")
            .in_node("other")
            .at_row("a=1, b=0");
        assert_eq!(
            error.to_string(),
            "node `ratio` failed: division by zero (in the row a=1, b=0)"
        );
    }
}
