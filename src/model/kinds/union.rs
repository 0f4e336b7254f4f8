//! Union: merges several streams with the same columns into one; its watermark follows the slowest.

use std::sync::Arc;

use arrow::datatypes::{Field as ArrowField, Schema};
use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::expr::sql_type_name;
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report, column_names,
};
use crate::model::node::{Family, OUT};

/// The most inputs a Union takes.
pub const MAX_INPUTS: u32 = 64;

/// Merges several streams with the same columns into one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnionTransform {
    /// How many input ports (`in1`, `in2`, ...), at least 2.
    pub inputs: u32,
}

/// The runnable form of a Union: nothing to plan beyond its output schema.
#[derive(Debug, Clone)]
pub struct PlannedUnion;

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Union",
    family: Family::Transform,
    id_stem: "union",
    explanation: "Merges several streams with the same columns into one. Its watermark follows the slowest input.",
    keywords: "merge combine streams union all inputs watermark slowest",
    default: || NodeKind::Transform(TransformKind::Union(UnionTransform { inputs: 2 })),
};

impl KindModel for UnionTransform {
    fn kind_id(&self) -> KindId {
        KindId::Union
    }

    fn ports(&self) -> Ports {
        // Never more ports than a Union may have, whatever the file says (the check says why).
        Ports {
            inputs: (1..=self.inputs.min(MAX_INPUTS))
                .map(|i| format!("in{i}"))
                .collect(),
            outputs: vec![OutputPort::new(OUT)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if self.inputs < 2 {
            report.error(
                "inputs",
                format!("a Union needs at least 2 inputs, not {}", self.inputs),
            );
        } else if self.inputs > MAX_INPUTS {
            report.error(
                "inputs",
                format!(
                    "a Union takes at most {MAX_INPUTS} inputs, not {}",
                    self.inputs
                ),
            );
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let first = inputs.first()?;
        let mut ok = true;
        for (i, other) in inputs.iter().enumerate().skip(1) {
            if let Some(difference) = schema_difference(&first.schema, &other.schema) {
                report.error(
                    "inputs",
                    format!("input in{} does not match in1: {difference}", i + 1),
                );
                ok = false;
            }
        }
        if inputs.iter().any(|input| input.time != first.time) {
            report.node_error(
                "the inputs of this Union tell time differently (event time from different columns, or event and processing time); windows after it could not decide which to use",
            );
        }
        if !ok {
            return None;
        }
        let fields: Vec<ArrowField> = first
            .schema
            .fields()
            .iter()
            .enumerate()
            .map(|(c, f)| {
                let nullable = inputs.iter().any(|s| s.schema.field(c).is_nullable());
                f.as_ref().clone().with_nullable(nullable)
            })
            .collect();
        Some(Planned::new(
            PlannedKind::Union(PlannedUnion),
            inputs.len(),
            vec![PortOutput::new(
                Arc::new(Schema::new(fields)),
                first.time.clone(),
            )],
        ))
    }

    fn summary(&self) -> String {
        format!("{} inputs", self.inputs)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "inputs",
            "How many streams to merge (2 to 64)",
            FieldValue::Count(&mut self.inputs),
        )]
    }
}

/// How two schemas differ, in words, or `None` when names and types agree.
fn schema_difference(a: &Schema, b: &Schema) -> Option<String> {
    if a.fields().len() != b.fields().len() {
        return Some(format!(
            "they have different columns ({} vs {})",
            column_names(a),
            column_names(b)
        ));
    }
    for (fa, fb) in a.fields().iter().zip(b.fields()) {
        if fa.name() != fb.name() {
            return Some(format!("column `{}` vs `{}`", fa.name(), fb.name()));
        }
        if fa.data_type() != fb.data_type() {
            return Some(format!(
                "column `{}` is {} vs {}",
                fa.name(),
                sql_type_name(fa.data_type()),
                sql_type_name(fb.data_type())
            ));
        }
    }
    None
}
