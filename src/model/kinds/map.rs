//! Map: computes new columns with SQL expressions, keeping the input columns or not.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::{DataType, Field as ArrowField, Schema};
use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::expr::ProjectionItem;
use crate::model::form::{Field, FieldValue, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report, short,
};
use crate::model::node::{Family, IN, OUT};
use crate::model::time::TimeAttr;

/// Computes new columns with SQL expressions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapTransform {
    /// Items like `round(total_amount / trip_distance, 2) AS price_per_mile`.
    pub columns: Vec<String>,
    /// Keep the input columns too (a computed column of the same name replaces one in place).
    #[serde(default)]
    pub keep_input_columns: bool,
}

/// Where each output column of a Map comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnSource {
    /// The input column at this index.
    Input(usize),
    /// The computed item at this index.
    Computed(usize),
}

/// The runnable form of a Map.
#[derive(Debug, Clone)]
pub struct PlannedMap {
    pub items: Vec<ProjectionItem>,
    /// One per output column, in order.
    pub columns: Vec<ColumnSource>,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Map",
    family: Family::Transform,
    id_stem: "map",
    explanation: "Computes new columns with SQL expressions.\nExample: `round(total_amount / trip_distance, 2) AS price_per_mile`",
    keywords: "select project compute column expression sql enrich derive rename cast",
    default: || {
        NodeKind::Transform(TransformKind::Map(MapTransform {
            columns: Vec::new(),
            keep_input_columns: true,
        }))
    },
};

impl KindModel for MapTransform {
    fn kind_id(&self) -> KindId {
        KindId::Map
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
        if self.columns.is_empty() && !self.keep_input_columns {
            report.error("columns", "a Map needs at least one column");
            return None;
        }
        let mut fields: Vec<ArrowField> = Vec::new();
        let mut columns: Vec<ColumnSource> = Vec::new();
        if self.keep_input_columns {
            for (i, field) in input.schema.fields().iter().enumerate() {
                fields.push(field.as_ref().clone());
                columns.push(ColumnSource::Input(i));
            }
        }
        let mut items = Vec::new();
        let mut computed = HashSet::new();
        let mut ok = true;
        for (i, text) in self.columns.iter().enumerate() {
            match ProjectionItem::plan(text, &input.schema) {
                Ok(item) => {
                    if !computed.insert(item.name.clone()) {
                        report
                            .error("columns", format!("two columns are named `{}`", item.name))
                            .item = Some(i);
                        ok = false;
                        continue;
                    }
                    let field = ArrowField::new(
                        &item.name,
                        item.expr.data_type.clone(),
                        item.expr.nullable,
                    );
                    // A computed column of an input column's name replaces it in place.
                    let source = ColumnSource::Computed(items.len());
                    match fields.iter().position(|f| f.name() == &item.name) {
                        Some(at) => {
                            fields[at] = field;
                            columns[at] = source;
                        }
                        None => {
                            fields.push(field);
                            columns.push(source);
                        }
                    }
                    items.push(item);
                }
                Err(e) => {
                    report.expr("columns", Some(i), text, e);
                    ok = false;
                }
            }
        }
        if !ok {
            return None;
        }
        let schema = Arc::new(Schema::new(fields));
        let time = match &input.time {
            TimeAttr::Event { column, shift_ms } => {
                match schema.field_with_name(column).map(|f| f.data_type()) {
                    Ok(DataType::Timestamp(..)) => TimeAttr::Event {
                        column: column.clone(),
                        shift_ms: *shift_ms,
                    },
                    _ => TimeAttr::None {
                        why: format!(
                            "the Map `{}` drops the event-time column `{column}`; add `{column}` to its columns or keep the input columns",
                            report.node()
                        ),
                    },
                }
            }
            other => other.clone(),
        };
        Some(Planned::new(
            PlannedKind::Map(PlannedMap { items, columns }),
            1,
            vec![PortOutput::new(schema, time)],
        ))
    }

    /// The columns that plan, so the nodes downstream are checked while some do not.
    fn outputs_despite_errors(&self, inputs: &[PortInput]) -> Option<Vec<PortOutput>> {
        let input = inputs.first()?;
        let mut fields: Vec<ArrowField> = if self.keep_input_columns {
            input
                .schema
                .fields()
                .iter()
                .map(|f| f.as_ref().clone())
                .collect()
        } else {
            Vec::new()
        };
        for text in &self.columns {
            let Ok(item) = ProjectionItem::plan(text, &input.schema) else {
                continue;
            };
            let field =
                ArrowField::new(&item.name, item.expr.data_type.clone(), item.expr.nullable);
            match fields.iter().position(|f| f.name() == &item.name) {
                Some(at) => fields[at] = field,
                None => fields.push(field),
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let time = match &input.time {
            TimeAttr::Event { column, .. } if schema.field_with_name(column).is_err() => {
                TimeAttr::None {
                    why: format!("a Map drops the event-time column `{column}`"),
                }
            }
            other => other.clone(),
        };
        Some(vec![PortOutput::new(schema, time)])
    }

    fn summary(&self) -> String {
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                c.rsplit_once(" AS ")
                    .map_or(c.as_str(), |(_, n)| n)
                    .trim()
                    .to_string()
            })
            .collect();
        let keep = if self.keep_input_columns {
            "all + "
        } else {
            ""
        };
        short(&format!("{keep}{}", names.join(", ")), 60)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "columns",
                "Each item is `expression AS name`",
                FieldValue::SqlList(&mut self.columns, SqlRole::Projection),
            ),
            Field::new(
                "keep input columns",
                "Also pass on every input column",
                FieldValue::Bool(&mut self.keep_input_columns),
            ),
        ]
    }
}
