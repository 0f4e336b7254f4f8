//! Finds where nodes, fields and edges sit in a pipeline file's text, to give problems a line and column.

use std::collections::HashMap;

use super::problem::{FilePosition, Problem, Subject};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Punct(char),
}

/// Positions of the parts of one pipeline file.
#[derive(Debug, Default)]
pub struct SourceMap {
    tokens: Vec<(Token, FilePosition)>,
    /// Node id -> index of its `id` token, and the token index where its block ends.
    nodes: HashMap<String, Vec<(usize, usize)>>,
    edges: Vec<FilePosition>,
}

impl SourceMap {
    pub fn new(text: &str) -> Self {
        let tokens = tokenize(text);
        let mut map = SourceMap {
            tokens,
            ..Default::default()
        };
        map.index_nodes();
        map.index_edges();
        map
    }

    /// Fills in `problem.position` from what the problem is about.
    pub fn locate(&self, problem: &mut Problem) {
        if problem.position.is_some() {
            return;
        }
        problem.position = match &problem.subject {
            Subject::Document => None,
            Subject::Edge { index } => self.edges.get(*index).copied(),
            Subject::Node { id, field } => {
                let place = self
                    .nodes
                    .get(id)
                    .and_then(|all| all.get(problem.occurrence));
                place.and_then(|&(start, end)| {
                    self.node_position(
                        start,
                        end,
                        field.as_deref(),
                        problem.item,
                        problem.text_position,
                    )
                })
            }
        };
    }

    fn node_position(
        &self,
        start: usize,
        end: usize,
        field: Option<&str>,
        item: Option<usize>,
        text_position: Option<(usize, usize)>,
    ) -> Option<FilePosition> {
        let node_pos = self.tokens[start].1;
        let Some(field) = field else {
            return Some(node_pos);
        };
        // The node's block opens a little before its `id` token; search the whole block.
        let block_start = start.saturating_sub(2);
        let Some(key) = (block_start..end).find(|&i| self.is_key(i, field)) else {
            return Some(node_pos);
        };
        let value = match item {
            Some(n) => (key + 2..end)
                .filter(|&i| matches!(self.tokens[i].0, Token::Str(_)))
                .nth(n),
            None => {
                Some(key + 2).filter(|&i| matches!(self.tokens.get(i), Some((Token::Str(_), _))))
            }
        };
        let Some(value) = value else {
            return Some(self.tokens[key].1);
        };
        let quote = self.tokens[value].1;
        Some(match text_position {
            // Inside the string: one column for the opening quote, then the expression's column.
            Some((1, column)) => FilePosition {
                line: quote.line,
                column: quote.column + column,
            },
            Some((line, column)) => FilePosition {
                line: quote.line + line - 1,
                column,
            },
            None => quote,
        })
    }

    fn is_key(&self, i: usize, name: &str) -> bool {
        matches!(&self.tokens[i].0, Token::Ident(n) if n == name)
            && matches!(self.tokens.get(i + 1), Some((Token::Punct(':'), _)))
    }

    fn index_nodes(&mut self) {
        let mut starts = Vec::new();
        for i in 0..self.tokens.len() {
            if self.is_key(i, "id")
                && let Some((Token::Str(id), _)) = self.tokens.get(i + 2)
            {
                starts.push((id.clone(), i));
            }
        }
        let ends: Vec<usize> = starts
            .iter()
            .skip(1)
            .map(|(_, i)| *i)
            .chain(std::iter::once(self.tokens.len()))
            .collect();
        for ((id, start), end) in starts.into_iter().zip(ends) {
            self.nodes.entry(id).or_default().push((start, end));
        }
    }

    fn index_edges(&mut self) {
        let Some(key) = (0..self.tokens.len()).find(|&i| self.is_key(i, "edges")) else {
            return;
        };
        for (token, pos) in self.tokens.iter().skip(key + 2) {
            match token {
                Token::Str(_) => self.edges.push(*pos),
                Token::Punct(']') => break,
                _ => {}
            }
        }
    }
}

/// Walks text a character at a time, keeping the line and column.
struct Cursor {
    chars: Vec<char>,
    at: usize,
    position: FilePosition,
}

impl Cursor {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.at + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.at += 1;
        if c == '\n' {
            self.position.line += 1;
            self.position.column = 1;
        } else {
            self.position.column += 1;
        }
        Some(c)
    }
}

/// A forgiving tokenizer for RON text: identifiers, strings and punctuation, skipping comments.
fn tokenize(text: &str) -> Vec<(Token, FilePosition)> {
    let mut cursor = Cursor {
        chars: text.chars().collect(),
        at: 0,
        position: FilePosition { line: 1, column: 1 },
    };
    let mut tokens = Vec::new();
    while let Some(c) = cursor.peek(0) {
        let here = cursor.position;
        if c == '/' && cursor.peek(1) == Some('/') {
            while cursor.peek(0).is_some_and(|c| c != '\n') {
                cursor.bump();
            }
        } else if c == '/' && cursor.peek(1) == Some('*') {
            cursor.bump();
            cursor.bump();
            while cursor.peek(0).is_some()
                && !(cursor.peek(0) == Some('*') && cursor.peek(1) == Some('/'))
            {
                cursor.bump();
            }
            cursor.bump();
            cursor.bump();
        } else if c == '"' {
            cursor.bump();
            let mut value = String::new();
            while let Some(c) = cursor.bump() {
                match c {
                    '"' => break,
                    '\\' => value.extend(cursor.bump()),
                    other => value.push(other),
                }
            }
            tokens.push((Token::Str(value), here));
        } else if c.is_alphabetic() || c == '_' {
            let mut name = String::new();
            while let Some(c) = cursor.peek(0).filter(|c| c.is_alphanumeric() || *c == '_') {
                name.push(c);
                cursor.bump();
            }
            tokens.push((Token::Ident(name), here));
        } else {
            if !c.is_whitespace() {
                tokens.push((Token::Punct(c), here));
            }
            cursor.bump();
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"(
    nodes: [
        (
            id: "a", // a comment with id: "fake"
            kind: Window((window: Tumbling((size: "0s")))),
        ),
        (
            id: "b",
        ),
    ],
    edges: [
        "a.out -> b.in",
        "b.out -> a.in",
    ],
)"#;

    #[test]
    fn finds_nodes_fields_and_edges() {
        let map = SourceMap::new(TEXT);
        let mut p = Problem::node("a", Some("size"), "x");
        map.locate(&mut p);
        assert_eq!(
            p.position,
            Some(FilePosition {
                line: 5,
                column: 51
            })
        );
        let mut p = Problem::node("a", Some("kind"), "x");
        map.locate(&mut p);
        assert_eq!(
            p.position,
            Some(FilePosition {
                line: 5,
                column: 13
            })
        );
        let mut p = Problem::node("b", None, "x");
        map.locate(&mut p);
        assert_eq!(
            p.position,
            Some(FilePosition {
                line: 8,
                column: 13
            })
        );
        let mut p = Problem::error(Subject::Edge { index: 1 }, "x");
        map.locate(&mut p);
        assert_eq!(
            p.position,
            Some(FilePosition {
                line: 13,
                column: 9
            })
        );
    }
}
