//! Errors from planning an expression, with the position inside the expression text.

use std::fmt;

/// A 1-based line and column inside an expression's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPosition {
    pub line: usize,
    pub column: usize,
}

/// What is wrong with an expression, and where in its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    pub message: String,
    pub position: Option<TextPosition>,
}

impl ExprError {
    pub fn new(message: impl Into<String>, position: Option<TextPosition>) -> Self {
        Self {
            message: message.into(),
            position,
        }
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) if p.line > 1 => write!(
                f,
                "{} (at line {}, column {})",
                self.message, p.line, p.column
            ),
            Some(p) => write!(f, "{} (at column {})", self.message, p.column),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ExprError {}
