//! The model side of a node kind, as every kind implements it: its ports, the checks of its
//! configuration, how it types its outputs and plans its expressions from its inputs, its one-line
//! summary, the fields of its form, and its catalogue entry. The registry (`kinds/mod.rs`) maps each
//! configuration to its implementation with one exhaustive match.

use std::path::Path;

use arrow::datatypes::{Field, Schema, SchemaRef};

use super::form::Field as FormField;
use super::kinds::{KindId, NodeKind, PlannedKind};
use super::node::Family;
use super::problem::Problem;
use super::time::TimeAttr;
use crate::expr::{ExprError, did_you_mean_text};

/// An output port: its name, and whether its rows may go nowhere without a warning (rejects such as
/// `errors` and `late` are counted instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputPort {
    pub name: String,
    pub optional: bool,
}

impl OutputPort {
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            optional: false,
        }
    }

    pub fn optional(name: &str) -> Self {
        Self {
            name: name.to_string(),
            optional: true,
        }
    }
}

/// A kind's ports, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ports {
    pub inputs: Vec<String>,
    pub outputs: Vec<OutputPort>,
}

/// What checking and planning may look at besides the configuration.
pub struct CheckContext<'a> {
    /// The folder relative paths are resolved against (the pipeline file's folder).
    pub base_dir: &'a Path,
}

/// What arrives at one input port: its columns and how its rows tell time.
#[derive(Debug, Clone)]
pub struct PortInput {
    pub schema: SchemaRef,
    pub time: TimeAttr,
}

/// What leaves one output port.
#[derive(Debug, Clone)]
pub struct PortOutput {
    pub schema: SchemaRef,
    pub time: TimeAttr,
}

impl PortOutput {
    pub fn new(schema: SchemaRef, time: TimeAttr) -> Self {
        Self { schema, time }
    }
}

/// How the rows arriving at an input port are spread over the node's parallel instances.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioning {
    /// The node runs one instance; rows go straight to it.
    Forward,
    /// Rows with the same values in these columns go to the same instance (keyed state).
    Hash(Vec<String>),
    /// Rows go to the instance that owns the shard named in this column (shard id modulo the
    /// instances), as a consumer's workers own shards.
    ByShard(String),
    /// Every row goes to every instance (reference data every instance needs).
    Broadcast,
}

impl Partitioning {
    /// Whether this partitioning lets the node run several instances.
    pub fn allows_parallel(&self) -> bool {
        !matches!(self, Partitioning::Forward)
    }
}

/// A node planned from its inputs: its runnable form, and what leaves each output port.
#[derive(Debug, Clone)]
pub struct Planned {
    pub kind: PlannedKind,
    /// One per output port, in order.
    pub outputs: Vec<PortOutput>,
    /// One per input port, in order.
    pub partitioning: Vec<Partitioning>,
}

impl Planned {
    /// A node whose inputs are all forwarded to one instance.
    pub fn new(kind: PlannedKind, inputs: usize, outputs: Vec<PortOutput>) -> Self {
        Self {
            kind,
            outputs,
            partitioning: vec![Partitioning::Forward; inputs],
        }
    }

    pub fn partitioned(mut self, partitioning: Vec<Partitioning>) -> Self {
        self.partitioning = partitioning;
        self
    }
}

/// The problems of one node, gathered while checking and planning it.
pub struct Report<'a> {
    node: &'a str,
    problems: Vec<Problem>,
}

impl<'a> Report<'a> {
    pub fn new(node: &'a str) -> Self {
        Self {
            node,
            problems: Vec::new(),
        }
    }

    /// The node being reported on.
    pub fn node(&self) -> &str {
        self.node
    }

    /// An error about `field` (the last part of its path in the file, e.g. `size`).
    pub fn error(&mut self, field: &str, message: impl Into<String>) -> &mut Problem {
        self.problems
            .push(Problem::node(self.node, Some(field), message));
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// A warning about `field`: the node runs, but probably not as meant.
    pub fn warning(&mut self, field: &str, message: impl Into<String>) -> &mut Problem {
        let problem = Problem::node(self.node, Some(field), message).as_warning();
        self.problems.push(problem);
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// An error about the node as a whole.
    pub fn node_error(&mut self, message: impl Into<String>) -> &mut Problem {
        self.problems.push(Problem::node(self.node, None, message));
        let last = self.problems.len() - 1;
        &mut self.problems[last]
    }

    /// A mistake in the SQL of `field` (element `item` of a list field), placed in the text.
    pub fn expr(&mut self, field: &str, item: Option<usize>, text: &str, error: ExprError) {
        let problem = self.error(field, format!("in `{text}`: {}", error.message));
        problem.item = item;
        if let Some(p) = error.position {
            problem.text_position = Some((p.line, p.column));
        }
    }

    /// The column `column` of `schema`, or an error naming the columns there are.
    pub fn require_column<'s>(
        &mut self,
        schema: &'s Schema,
        field: &str,
        column: &str,
        item: Option<usize>,
    ) -> Option<&'s Field> {
        match schema.field_with_name(column) {
            Ok(f) => Some(f),
            Err(_) => {
                let names = column_names(schema);
                let hint =
                    did_you_mean_text(column, schema.fields().iter().map(|f| f.name().as_str()));
                self.error(
                    field,
                    format!("the column `{column}` does not exist{hint}; the input has: {names}"),
                )
                .item = item;
                None
            }
        }
    }

    /// The key column `column` of `schema`, or an error naming the columns there are.
    pub fn require_key<'s>(
        &mut self,
        schema: &'s Schema,
        field: &str,
        column: &str,
        item: Option<usize>,
    ) -> Option<&'s Field> {
        let found = schema.field_with_name(column).ok();
        if found.is_none() {
            let names = column_names(schema);
            let hint = did_you_mean_text(column, schema.fields().iter().map(|f| f.name().as_str()));
            self.error(
                field,
                format!("the key column `{column}` does not exist{hint}; the input has: {names}"),
            )
            .item = item;
        }
        found
    }

    pub fn has_errors(&self) -> bool {
        super::problem::has_errors(&self.problems)
    }

    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }
}

/// The column names of a schema, for messages.
pub fn column_names(schema: &Schema) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A file a node touches, as written in the pipeline (relative to the pipeline's folder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileUse {
    Reads(String),
    /// Writes the file; `allow_outside` lets it lie outside the pipeline's folder.
    Writes {
        path: String,
        allow_outside: bool,
    },
    /// Writes files of its own naming into the folder (a local folder playing an S3 bucket).
    WritesInto {
        folder: String,
        allow_outside: bool,
    },
}

/// What the palette and the inspector say about a kind.
pub struct CatalogueEntry {
    /// The kind's name in the palette, on cards and in summaries.
    pub name: &'static str,
    pub family: Family,
    /// New nodes get ids starting with this: `filter`, `filter_2`.
    pub id_stem: &'static str,
    /// What the kind does, with a tiny example, for learners.
    pub explanation: &'static str,
    /// Words a search should find the kind by, besides its name.
    pub keywords: &'static str,
    /// A starting configuration, valid once connected.
    pub default: fn() -> NodeKind,
}

impl CatalogueEntry {
    /// Whether a palette search finds this kind: every word of `query` appears in its name, its
    /// keywords or its explanation (case aside), so "late" finds the windows and "sql" the
    /// kinds that take SQL.
    pub fn matches(&self, query: &str) -> bool {
        let text = format!("{} {} {}", self.name, self.keywords, self.explanation).to_lowercase();
        query
            .to_lowercase()
            .split_whitespace()
            .all(|word| text.contains(word))
    }
}

/// The model side of one node kind.
pub trait KindModel {
    /// The catalogue entry this configuration belongs to (a Table with a `Top` view is a
    /// Leaderboard).
    fn kind_id(&self) -> KindId;

    /// Input and output ports, in order.
    fn ports(&self) -> Ports;

    /// Checks of the configuration alone: ranges, names, files. Planning comes after.
    fn check(&self, ctx: &CheckContext, report: &mut Report);

    /// Types the outputs from the inputs and plans every expression; `None` (with the reasons in
    /// `report`) when the node cannot be planned. Called only once every input is known.
    fn plan(
        &self,
        inputs: &[PortInput],
        ctx: &CheckContext,
        report: &mut Report,
    ) -> Option<Planned>;

    /// The outputs when planning failed but they are known anyway (a Filter passes its input's
    /// columns on, whatever its condition), so the nodes downstream are checked too and their
    /// own mistakes reported at once. `None` (the default) leaves them unchecked.
    fn outputs_despite_errors(&self, _inputs: &[PortInput]) -> Option<Vec<PortOutput>> {
        None
    }

    /// One line for the canvas card, e.g. `tumbling 1m by pickup_location_id: count`.
    fn summary(&self) -> String;

    /// The files the node reads or writes, so no run overwrites its own input or the pipeline.
    fn files(&self) -> Vec<FileUse>;

    /// Every setting as a form field the designer can draw.
    fn form(&mut self) -> Vec<FormField<'_>>;
}

/// Shortens `text` to `max` characters with an ellipsis.
pub fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}
