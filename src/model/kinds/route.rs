//! Route: sends each row to the first route whose condition holds, the rest to `unmatched`.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::expr::{PlannedExpr, plan_predicate};
use crate::model::form::{Field, FieldValue, ListField, SqlRole};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Planned, PortInput, PortOutput,
    Ports, Report,
};
use crate::model::node::{Family, IN, is_valid_id};

/// The name of the Route output that takes rows no condition matched.
pub const UNMATCHED_PORT: &str = "unmatched";

/// One named output of a Route node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteOutput {
    /// The output port's name.
    pub name: String,
    pub predicate: String,
}

/// Sends each row to the first output whose condition holds, or to `unmatched`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteTransform {
    pub routes: Vec<RouteOutput>,
}

/// The runnable form of a Route.
#[derive(Debug, Clone)]
pub struct PlannedRoute {
    /// One predicate per route, in order; the port after the last route is `unmatched`.
    pub predicates: Vec<PlannedExpr>,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Route",
    family: Family::Transform,
    id_stem: "route",
    explanation: "Sends each row to the first route whose condition holds, the rest to `unmatched`.\nExample: route `hot` when `temperature > 30`.",
    keywords: "split branch case when condition sql alerts dead letter",
    default: || {
        NodeKind::Transform(TransformKind::Route(RouteTransform {
            routes: vec![RouteOutput {
                name: "matched".into(),
                predicate: "true".into(),
            }],
        }))
    },
};

impl KindModel for RouteTransform {
    fn kind_id(&self) -> KindId {
        KindId::Route
    }

    fn ports(&self) -> Ports {
        let mut outputs: Vec<OutputPort> = self
            .routes
            .iter()
            .map(|route| OutputPort::new(&route.name))
            .collect();
        outputs.push(OutputPort::optional(UNMATCHED_PORT));
        Ports {
            inputs: vec![IN.into()],
            outputs,
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if self.routes.is_empty() {
            report.error("routes", "a Route needs at least one route");
        }
        let mut names = HashSet::new();
        for route in &self.routes {
            if !is_valid_id(&route.name) {
                report.error(
                    "name",
                    format!(
                        "`{}` is not a valid port name: use letters, digits and `_`",
                        route.name
                    ),
                );
            } else if route.name == UNMATCHED_PORT {
                report.error(
                    "name",
                    format!("`{UNMATCHED_PORT}` is the name of the port for rows no route takes"),
                );
            } else if !names.insert(route.name.as_str()) {
                report.error("name", format!("two routes are named `{}`", route.name));
            }
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let mut predicates = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            match plan_predicate(&route.predicate, &input.schema) {
                Ok(p) => predicates.push(p),
                Err(e) => report.expr("predicate", Some(i), &route.predicate, e),
            }
        }
        if predicates.len() != self.routes.len() {
            return None;
        }
        let outputs = (0..=self.routes.len())
            .map(|_| PortOutput::new(input.schema.clone(), input.time.clone()))
            .collect();
        Some(Planned::new(
            PlannedKind::Route(PlannedRoute { predicates }),
            1,
            outputs,
        ))
    }

    fn outputs_despite_errors(&self, inputs: &[PortInput]) -> Option<Vec<PortOutput>> {
        let input = inputs.first()?;
        let output = PortOutput::new(input.schema.clone(), input.time.clone());
        Some(vec![output; self.routes.len() + 1])
    }

    fn summary(&self) -> String {
        let names: Vec<&str> = self.routes.iter().map(|x| x.name.as_str()).collect();
        format!("to {} or unmatched", names.join(", "))
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "routes",
            "Each row goes to the first route whose condition holds",
            FieldValue::List(&mut self.routes),
        )]
    }
}

impl ListField for Vec<RouteOutput> {
    fn item_name(&self) -> &'static str {
        "route"
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn item(&mut self, index: usize) -> Vec<Field<'_>> {
        let Some(route) = self.get_mut(index) else {
            return Vec::new();
        };
        vec![
            Field::new(
                "name",
                "The output port's name",
                FieldValue::Text(&mut route.name),
            ),
            Field::new(
                "when",
                "A SQL condition over the input columns",
                FieldValue::Sql(&mut route.predicate, SqlRole::Predicate),
            ),
        ]
    }

    fn add(&mut self) {
        let name = (1..)
            .map(|n| format!("route_{n}"))
            .find(|n| !self.iter().any(|r| &r.name == n))
            .unwrap_or_else(|| "route".into());
        self.push(RouteOutput {
            name,
            predicate: "true".into(),
        });
    }

    fn remove(&mut self, index: usize) {
        if index < Vec::len(self) {
            Vec::remove(self, index);
        }
    }
}
