//! Filter: keeps the rows for which a SQL condition is true.

use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::expr::{PlannedExpr, plan_predicate};
use crate::model::form::{Field, FieldValue, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report, short,
};
use crate::model::node::{Family, IN, OUT};

/// Keeps the rows for which a SQL condition is true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterTransform {
    /// e.g. `trip_distance > 0 AND passenger_count >= 1`
    pub predicate: String,
}

/// The runnable form of a Filter.
#[derive(Debug, Clone)]
pub struct PlannedFilter {
    pub predicate: PlannedExpr,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Filter",
    family: Family::Transform,
    id_stem: "filter",
    explanation: "Keeps only the rows for which a SQL condition is true.\nExample: `trip_distance > 0 AND passenger_count >= 1`",
    keywords: "where condition sql predicate clean drop rows keep",
    default: || {
        NodeKind::Transform(TransformKind::Filter(FilterTransform {
            predicate: "true".into(),
        }))
    },
};

impl KindModel for FilterTransform {
    fn kind_id(&self) -> KindId {
        KindId::Filter
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::new(OUT)],
        }
    }

    fn check(&self, _: &CheckContext, _: &mut Report) {}

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        match plan_predicate(&self.predicate, &input.schema) {
            Ok(predicate) => Some(Planned::new(
                PlannedKind::Filter(PlannedFilter { predicate }),
                1,
                vec![PortOutput::new(input.schema.clone(), input.time.clone())],
            )),
            Err(e) => {
                report.expr("predicate", None, &self.predicate, e);
                None
            }
        }
    }

    fn outputs_despite_errors(&self, inputs: &[PortInput]) -> Option<Vec<PortOutput>> {
        let input = inputs.first()?;
        Some(vec![PortOutput::new(
            input.schema.clone(),
            input.time.clone(),
        )])
    }

    fn summary(&self) -> String {
        format!("where {}", short(&self.predicate, 60))
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "keep rows where",
            "A SQL condition over the input columns",
            FieldValue::Sql(&mut self.predicate, SqlRole::Predicate),
        )]
    }
}
