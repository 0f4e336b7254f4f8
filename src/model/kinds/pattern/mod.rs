//! Pattern: complex event processing with the semantics of Flink SQL's MATCH_RECOGNIZE. Rows are
//! partitioned by key and matched in event-time order (rows that arrive out of order wait until the
//! watermark passes them) against a pattern of named steps with quantifiers; each step's condition
//! is SQL that may read the row tried and the rows of earlier steps. Each match gives one row of
//! measures; a partial match that runs out of its `within` goes to `timeout`.

pub mod syntax;

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind};
use crate::expr::navigation::{
    PatternExpr, PatternScope, plan_pattern_condition, plan_pattern_measure,
};
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue, ListField, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Partitioning, Planned, PortInput,
    PortOutput, Ports, Report, short,
};
use crate::model::node::{Family, IN, OUT};
use crate::model::time::{RowTime, TimeAttr};
use syntax::{Step, parse_pattern};

/// The port partial matches that ran out of time go to.
pub const TIMEOUT_PORT: &str = "timeout";
/// The column of `timeout` rows naming the last step the partial match reached.
pub const REACHED_COLUMN: &str = "reached_step";

/// The most measures and step conditions a pattern may have.
pub const MAX_ITEMS: usize = 64;

/// Where matching goes on after a match (MATCH_RECOGNIZE's AFTER MATCH SKIP).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum AfterMatch {
    /// At the row after the match's first row: matches may overlap (Flink's default).
    #[default]
    ToNextRow,
    /// At the row after the match's last row: a row belongs to one match at most.
    PastLastRow,
    /// At the first row mapped to this step.
    ToFirst(String),
    /// At the last row mapped to this step.
    ToLast(String),
}

impl AfterMatch {
    /// As MATCH_RECOGNIZE writes it.
    pub fn sql(&self) -> String {
        match self {
            AfterMatch::ToNextRow => "SKIP TO NEXT ROW".into(),
            AfterMatch::PastLastRow => "SKIP PAST LAST ROW".into(),
            AfterMatch::ToFirst(s) => format!("SKIP TO FIRST {s}"),
            AfterMatch::ToLast(s) => format!("SKIP TO LAST {s}"),
        }
    }
}

/// One step's condition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepCondition {
    pub step: String,
    pub condition: String,
}

/// A pattern matched per key in event-time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternMatch {
    /// The key columns: each key is matched on its own, e.g. `["card_id"]`.
    #[serde(default)]
    pub partition_by: Vec<String>,
    /// The steps in order with their quantifiers, e.g. `SMALL{3} LARGE`.
    pub pattern: String,
    /// The condition of each step; a step without one takes any row.
    #[serde(default)]
    pub define: Vec<StepCondition>,
    /// What each match gives: `FIRST(SMALL.event_time) AS started`.
    pub measures: Vec<String>,
    #[serde(default, skip_serializing_if = "is_to_next_row")]
    pub after_match: AfterMatch,
    /// A match's first and last rows lie less than this apart; a partial match that cannot meet
    /// it any more times out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Duration>,
}

fn is_to_next_row(after: &AfterMatch) -> bool {
    *after == AfterMatch::ToNextRow
}

/// A step planned: its quantifier and its condition (none: any row).
#[derive(Debug, Clone)]
pub struct PlannedStep {
    pub step: Step,
    pub condition: Option<PatternExpr>,
}

/// The runnable form of a pattern.
#[derive(Debug, Clone)]
pub struct PlannedPattern {
    pub partition_by: Vec<String>,
    pub steps: Vec<PlannedStep>,
    pub measures: Vec<(String, PatternExpr)>,
    pub after_match: AfterMatch,
    /// The step `after_match` skips to, by index.
    pub skip_step: Option<usize>,
    pub within_ms: Option<i64>,
    pub time: RowTime,
    pub output: SchemaRef,
    pub timeout: SchemaRef,
    /// As written, for the export.
    pub config: PatternMatch,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Pattern",
    family: Family::Pattern,
    id_stem: "pattern",
    explanation: "Finds sequences of rows per key, in event-time order, as Flink's MATCH_RECOGNIZE (CEP) does: a pattern of named steps with quantifiers (`A B+ C?`, `{3}`), each step's condition in SQL that can read earlier steps (`B.amount > A.amount`, `LAST(B.price, 1)`, `SUM(B.amount)`), within a span of time. Each match gives one row of measures; partial matches that run out of time go to `timeout`.\nExample: per card, `SMALL{3} LARGE` within `10m` where SMALL is `amount < 5` and LARGE `amount > 500`.",
    keywords: "cep pattern match_recognize sequence fraud alert complex event processing within measures define flink",
    default: || {
        NodeKind::Pattern(PatternMatch {
            partition_by: Vec::new(),
            pattern: "A B+ C".into(),
            define: vec![
                StepCondition {
                    step: "B".into(),
                    condition: "true".into(),
                },
                StepCondition {
                    step: "C".into(),
                    condition: "true".into(),
                },
            ],
            measures: vec!["COUNT(B.*) AS steps".into()],
            after_match: AfterMatch::PastLastRow,
            within: Some(Duration::from_secs(600)),
        })
    },
};

impl PatternMatch {
    fn steps(&self, report: &mut Report) -> Option<Vec<Step>> {
        match parse_pattern(&self.pattern) {
            Ok(steps) => Some(steps),
            Err(why) => {
                report.error("pattern", why);
                None
            }
        }
    }
}

impl KindModel for PatternMatch {
    fn kind_id(&self) -> KindId {
        KindId::Pattern
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::new(OUT), OutputPort::optional(TIMEOUT_PORT)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        let steps = self.steps(report);
        if self.measures.is_empty() {
            report.error(
                "measures",
                "a pattern needs at least one measure, e.g. `LAST(B.amount) AS final_amount`",
            );
        }
        if self.measures.len() > MAX_ITEMS || self.define.len() > MAX_ITEMS {
            report.node_error(format!(
                "a pattern takes at most {MAX_ITEMS} measures and {MAX_ITEMS} step conditions"
            ));
        }
        let mut seen = HashSet::new();
        for (i, d) in self.define.iter().enumerate() {
            if !seen.insert(d.step.to_uppercase()) {
                report
                    .error(
                        "define",
                        format!("the step `{}` has two conditions", d.step),
                    )
                    .item = Some(i);
            }
            if let Some(steps) = &steps
                && !steps.iter().any(|s| s.name.eq_ignore_ascii_case(&d.step))
            {
                report
                    .error(
                        "define",
                        format!(
                            "`{}` is not a step of the pattern `{}`",
                            d.step, self.pattern
                        ),
                    )
                    .item = Some(i);
            }
        }
        match &self.within {
            None => {
                report.warning(
                    "within",
                    "without `within`, a partial match is kept until it completes or fails: its state is bounded only by each key's history",
                );
            }
            Some(w) if w.as_millis() <= 0 => {
                report.error(
                    "within",
                    format!("`within` must be longer than 0s, not {w}"),
                );
            }
            Some(_) => {}
        }
        if let (Some(steps), AfterMatch::ToFirst(s) | AfterMatch::ToLast(s)) =
            (&steps, &self.after_match)
        {
            match steps.iter().position(|x| x.name.eq_ignore_ascii_case(s)) {
                None => {
                    report.error(
                        "after_match",
                        format!("`{s}` is not a step of the pattern `{}`", self.pattern),
                    );
                }
                Some(0) if matches!(self.after_match, AfterMatch::ToFirst(_)) => {
                    report.error(
                        "after_match",
                        format!(
                            "skipping to the first row of `{s}` would start the next match where this one started, forever (Flink refuses it too); skip to next row instead"
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let steps = self.steps(report)?;
        let names: Vec<String> = steps.iter().map(|s| s.name.clone()).collect();
        let mut ok = true;
        for (i, key) in self.partition_by.iter().enumerate() {
            ok &= report
                .require_key(&input.schema, "partition_by", key, Some(i))
                .is_some();
        }
        let time = match input.time.row_time(&input.schema) {
            Ok(time @ RowTime::Event { .. }) => Some(time),
            Ok(RowTime::Processing) => {
                report.node_error(
                    "a pattern orders rows by event time, but its rows tell processing time",
                );
                None
            }
            Err(why) => {
                report.node_error(format!(
                    "a pattern orders rows by event time, but its rows have none: {why}"
                ));
                None
            }
        };
        let mut planned_steps = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            let written = self
                .define
                .iter()
                .enumerate()
                .find(|(_, d)| d.step.eq_ignore_ascii_case(&step.name));
            let condition = match written {
                None => None,
                Some((item, d)) => {
                    let scope = PatternScope {
                        input: &input.schema,
                        steps: &names,
                        defining: Some(index),
                    };
                    match plan_pattern_condition(&d.condition, scope) {
                        Ok(c) => Some(c),
                        Err(e) => {
                            report.expr("define", Some(item), &d.condition, e);
                            ok = false;
                            None
                        }
                    }
                }
            };
            planned_steps.push(PlannedStep {
                step: step.clone(),
                condition,
            });
        }
        let mut measures = Vec::new();
        let mut names_out: HashSet<String> = self.partition_by.iter().cloned().collect();
        let scope = PatternScope {
            input: &input.schema,
            steps: &names,
            defining: None,
        };
        for (i, text) in self.measures.iter().enumerate() {
            match plan_pattern_measure(text, scope) {
                Ok((name, expr)) => {
                    if !names_out.insert(name.clone()) {
                        report
                            .error("measures", format!("two output columns are named `{name}`"))
                            .item = Some(i);
                        ok = false;
                    }
                    measures.push((name, expr));
                }
                Err(e) => {
                    report.expr("measures", Some(i), text, e);
                    ok = false;
                }
            }
        }
        let time = time?;
        if !ok {
            return None;
        }
        let mut fields: Vec<ArrowField> = self
            .partition_by
            .iter()
            .filter_map(|k| input.schema.field_with_name(k).ok())
            .map(|f| f.clone().with_nullable(true))
            .collect();
        for (name, expr) in &measures {
            fields.push(ArrowField::new(name, expr.planned.data_type.clone(), true));
        }
        let output: SchemaRef = Arc::new(Schema::new(fields.clone()));
        fields.push(ArrowField::new(REACHED_COLUMN, DataType::Utf8, false));
        let timeout: SchemaRef = Arc::new(Schema::new(fields));
        // A measure that is MATCH_ROWTIME() keeps the results in event time.
        let rowtime = measures.iter().find(|(_, e)| {
            e.navigations.len() == 1
                && e.navigations[0].function == crate::expr::navigation::NavFunction::MatchRowtime
                && e.planned.data_type.is_temporal()
        });
        let out_time = match rowtime {
            Some((name, _)) => TimeAttr::Event {
                column: name.clone(),
                shift_ms: 0,
            },
            None => TimeAttr::None {
                why: "a pattern's results carry event time only through a `MATCH_ROWTIME() AS name` measure".into(),
            },
        };
        let skip_step = match &self.after_match {
            AfterMatch::ToFirst(s) | AfterMatch::ToLast(s) => {
                names.iter().position(|n| n.eq_ignore_ascii_case(s))
            }
            _ => None,
        };
        let planned = PlannedPattern {
            partition_by: self.partition_by.clone(),
            steps: planned_steps,
            measures,
            after_match: self.after_match.clone(),
            skip_step,
            within_ms: self.within.map(Duration::as_millis),
            time,
            output: Arc::clone(&output),
            timeout: Arc::clone(&timeout),
            config: self.clone(),
        };
        let partitioning = if self.partition_by.is_empty() {
            Partitioning::Forward
        } else {
            Partitioning::Hash(self.partition_by.clone())
        };
        Some(
            Planned::new(
                PlannedKind::Pattern(Box::new(planned)),
                1,
                vec![
                    PortOutput::new(output, out_time),
                    PortOutput::new(
                        timeout,
                        TimeAttr::None {
                            why: "timed-out partial matches carry no event time".into(),
                        },
                    ),
                ],
            )
            .partitioned(vec![partitioning]),
        )
    }

    fn summary(&self) -> String {
        let key = if self.partition_by.is_empty() {
            String::new()
        } else {
            format!(" by {}", self.partition_by.join(", "))
        };
        let within = self
            .within
            .map(|w| format!(" within {w}"))
            .unwrap_or_default();
        short(&format!("{}{key}{within}", self.pattern), 60)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "partition by",
                "Each key is matched on its own (a card, a sensor)",
                FieldValue::Columns(&mut self.partition_by),
            ),
            Field::new(
                "pattern",
                "Steps in order with quantifiers: `A B+ C?`, `SMALL{3} LARGE`, reluctant `B*?`",
                FieldValue::Text(&mut self.pattern),
            ),
            Field::new(
                "define",
                "Each step's condition; `B.amount > A.amount`, `LAST(B.price, 1)`, `SUM(B.amount)` read earlier rows",
                FieldValue::List(&mut self.define),
            ),
            Field::new(
                "measures",
                "What each match gives: `FIRST(A.ts) AS started`, `LAST(C.amount) AS final_amount`, `MATCH_NUMBER() AS n`",
                FieldValue::SqlList(&mut self.measures, SqlRole::Pattern),
            ),
            Field::new(
                "after match",
                "Where the next match may start",
                FieldValue::Choice(&mut self.after_match),
            ),
            Field::new(
                "within",
                "A match's first and last rows lie less than this apart",
                FieldValue::OptionalDuration(&mut self.within),
            ),
        ]
    }
}

impl Choice for AfterMatch {
    fn options(&self) -> Vec<&'static str> {
        vec!["ToNextRow", "PastLastRow", "ToFirst", "ToLast"]
    }

    fn selected(&self) -> usize {
        match self {
            AfterMatch::ToNextRow => 0,
            AfterMatch::PastLastRow => 1,
            AfterMatch::ToFirst(_) => 2,
            AfterMatch::ToLast(_) => 3,
        }
    }

    fn select(&mut self, index: usize) {
        let step = match self {
            AfterMatch::ToFirst(s) | AfterMatch::ToLast(s) => s.clone(),
            _ => String::new(),
        };
        *self = match index {
            1 => AfterMatch::PastLastRow,
            2 => AfterMatch::ToFirst(step),
            3 => AfterMatch::ToLast(step),
            _ => AfterMatch::ToNextRow,
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            AfterMatch::ToFirst(s) | AfterMatch::ToLast(s) => vec![Field::new(
                "step",
                "The step whose row the next match starts at",
                FieldValue::Text(s),
            )],
            _ => Vec::new(),
        }
    }
}

impl ListField for Vec<StepCondition> {
    fn item_name(&self) -> &'static str {
        "condition"
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn item(&mut self, index: usize) -> Vec<Field<'_>> {
        let Some(d) = self.get_mut(index) else {
            return Vec::new();
        };
        vec![
            Field::new("step", "The step's name", FieldValue::Text(&mut d.step)),
            Field::new(
                "condition",
                "A SQL condition over the row tried and earlier steps' rows",
                FieldValue::Sql(&mut d.condition, SqlRole::Pattern),
            ),
        ]
    }

    fn add(&mut self) {
        self.push(StepCondition {
            step: "A".into(),
            condition: "true".into(),
        });
    }

    fn remove(&mut self, index: usize) {
        if index < Vec::len(self) {
            Vec::remove(self, index);
        }
    }
}
