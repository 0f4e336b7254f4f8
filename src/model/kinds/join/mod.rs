//! Joins: two streams matched on keys within a span of event time (interval join) or in the same
//! window (window join), or a stream enriched from a reference table held in memory (lookup join). What both share lives here: the
//! ports, the key checks, and how the output's columns are named without collisions.

pub mod interval;
pub mod lookup;
pub mod window;

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{Field as ArrowField, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use crate::expr::sql_type_name;
use crate::model::kind::{PortInput, Report};
use crate::model::time::RowTime;

/// The port of the stream whose every row is kept (in a left join) and whose time the output keeps.
pub const LEFT: &str = "left";
/// The port of the stream matched against the left one.
pub const RIGHT: &str = "right";

/// Whether a row without a partner is dropped (inner) or kept with the partner's columns NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum JoinType {
    #[default]
    Inner,
    /// Every left row comes out; one without a partner has NULL in the partner's columns.
    Left,
}

crate::plain_choice!(JoinType { Inner, Left });

impl JoinType {
    pub fn is_inner(self) -> bool {
        self == JoinType::Inner
    }

    pub fn sql(self) -> &'static str {
        match self {
            JoinType::Inner => "JOIN",
            JoinType::Left => "LEFT JOIN",
        }
    }
}

/// Checks a list of key columns on its own: not empty, no column twice.
pub fn check_key_list(keys: &[String], field: &str, side: &str, report: &mut Report) {
    if keys.is_empty() {
        report.error(
            field,
            format!(
                "a join needs the {side} columns to match on, e.g. `[\"card_id\"]`: without keys every row would meet every other, and its state would grow without bound"
            ),
        );
    }
    let mut seen = HashSet::new();
    for (i, key) in keys.iter().enumerate() {
        if !seen.insert(key) {
            report
                .error(field, format!("the key `{key}` is listed twice"))
                .item = Some(i);
        }
    }
}

/// How far the types of a key pair may differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyTypes {
    /// Exactly the same type on both sides: the two streams are spread over instances by the
    /// key's bytes, which must agree.
    Same,
    /// Integers of any width pair up (a table's BIGINT id with a stream's INT one): the table's
    /// keys are read as the stream's type.
    IntegersWiden,
}

fn is_integer(data_type: &arrow::datatypes::DataType) -> bool {
    use arrow::datatypes::DataType::*;
    matches!(
        data_type,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64
    )
}

/// Checks that both sides' keys exist and pair up with types `rule` allows (a CAST in a Map makes
/// other types agree first). `true` when they do.
pub fn check_key_pairs(
    left: (&Schema, &[String], &str),
    right: (&Schema, &[String], &str),
    rule: KeyTypes,
    report: &mut Report,
) -> bool {
    let (left_schema, left_keys, left_field) = left;
    let (right_schema, right_keys, right_field) = right;
    let mut ok = true;
    if left_keys.len() != right_keys.len() {
        report.error(
            right_field,
            format!(
                "{} key columns on one side and {} on the other: they are matched in pairs",
                left_keys.len(),
                right_keys.len()
            ),
        );
        ok = false;
    }
    for (i, (l, r)) in left_keys.iter().zip(right_keys).enumerate() {
        let lf = report
            .require_key(left_schema, left_field, l, Some(i))
            .cloned();
        let rf = report
            .require_key(right_schema, right_field, r, Some(i))
            .cloned();
        match (lf, rf) {
            (Some(lf), Some(rf))
                if lf.data_type() != rf.data_type()
                    && !(rule == KeyTypes::IntegersWiden
                        && is_integer(lf.data_type())
                        && is_integer(rf.data_type())) =>
            {
                report
                    .error(
                        right_field,
                        format!(
                            "the key `{r}` is {} but `{l}` on the other side is {}: CAST one of them in a Map first",
                            sql_type_name(rf.data_type()),
                            sql_type_name(lf.data_type())
                        ),
                    )
                    .item = Some(i);
                ok = false;
            }
            (Some(_), Some(_)) => {}
            _ => ok = false,
        }
    }
    ok
}

/// Where each input (left, right) reads event time; a side without it is reported, `what` saying
/// why the join needs it ("an interval join matches rows by event time").
pub fn event_times(
    inputs: [&PortInput; 2],
    what: &str,
    report: &mut Report,
) -> [Option<RowTime>; 2] {
    let mut times = [None, None];
    for (slot, (input, side)) in times
        .iter_mut()
        .zip(inputs.into_iter().zip(["left", "right"]))
    {
        *slot = match input.time.row_time(&input.schema) {
            Ok(time @ RowTime::Event { .. }) => Some(time),
            Ok(RowTime::Processing) => {
                report.node_error(format!("{what}, but the {side} rows tell processing time"));
                None
            }
            Err(why) => {
                report.node_error(format!("{what}, but the {side} rows have none: {why}"));
                None
            }
        };
    }
    times
}

/// The output of a join: every left column as it is, then the right columns but its keys (they
/// equal the left keys), each with `prefix` in front. A name both sides would have is refused with
/// the advice to set a prefix. In a left join the right columns may be NULL. Also returns the
/// indices of the right columns kept.
pub fn joined_schema(
    left: &Schema,
    right: &Schema,
    right_keys: &[String],
    prefix: &str,
    nullable_right: bool,
    report: &mut Report,
) -> Option<(SchemaRef, Vec<usize>)> {
    let mut names: HashSet<String> = left.fields().iter().map(|f| f.name().clone()).collect();
    let mut fields: Vec<ArrowField> = left.fields().iter().map(|f| f.as_ref().clone()).collect();
    let mut kept = Vec::new();
    let mut clashes = Vec::new();
    for (i, f) in right.fields().iter().enumerate() {
        if right_keys.contains(f.name()) {
            continue;
        }
        let name = format!("{prefix}{}", f.name());
        if !names.insert(name.clone()) {
            clashes.push(name);
            continue;
        }
        let nullable = f.is_nullable() || nullable_right;
        fields.push(ArrowField::new(name, f.data_type().clone(), nullable));
        kept.push(i);
    }
    if !clashes.is_empty() {
        let advice = if prefix.is_empty() {
            "set a prefix for the right side's columns, e.g. `zone_`".to_string()
        } else {
            format!("choose another prefix than `{prefix}`")
        };
        report.error(
            "prefix",
            format!(
                "both sides would have a column named {}: {advice}",
                clashes
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        return None;
    }
    Some((Arc::new(Schema::new(fields)), kept))
}
