//! Deduplicate: drops a row whose key was already kept within a span of event time — the
//! duplicates at-least-once delivery makes (a Kinesis producer retrying a put, a consumer
//! re-reading after a failover). A key's state is freed once the watermark passes its span.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{KindId, NodeKind, PlannedKind, TransformKind};
use crate::model::duration::Duration;
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Partitioning, Planned, PortInput,
    PortOutput, Ports, Report,
};
use crate::model::node::{Family, IN, OUT};
use crate::model::time::RowTime;

/// The port that takes the rows recognised as duplicates.
pub const DUPLICATES_PORT: &str = "duplicates";

/// Drops rows whose key columns were already seen within `within` of event time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeduplicateTransform {
    /// The columns that identify a record, e.g. `["trip_id"]`.
    pub key_by: Vec<String>,
    /// A row is a duplicate when a row with its key was kept less than this far from it in event
    /// time, before or after.
    pub within: Duration,
}

/// The runnable form of a Deduplicate.
#[derive(Debug, Clone)]
pub struct PlannedDeduplicate {
    pub key_by: Vec<String>,
    pub within_ms: i64,
    pub time: RowTime,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Deduplicate",
    family: Family::Transform,
    id_stem: "dedup",
    explanation: "Drops a row when a row with the same key was already kept within a span of event time, and sends it to `duplicates`. At-least-once delivery makes such copies: a Kinesis producer that retries a put, a consumer that re-reads after a failover.\nExample: key `payment_id`, within `1m`.",
    keywords: "duplicates dedup distinct at-least-once exactly-once retry kinesis producer consumer unique",
    default: || {
        NodeKind::Transform(TransformKind::Deduplicate(DeduplicateTransform {
            key_by: Vec::new(),
            within: Duration::from_secs(60),
        }))
    },
};

impl KindModel for DeduplicateTransform {
    fn kind_id(&self) -> KindId {
        KindId::Deduplicate
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::new(OUT), OutputPort::optional(DUPLICATES_PORT)],
        }
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if self.key_by.is_empty() {
            report.error(
                "key_by",
                "a Deduplicate needs the columns that identify a record, e.g. `[\"payment_id\"]`",
            );
        }
        let mut seen = HashSet::new();
        for (i, key) in self.key_by.iter().enumerate() {
            if !seen.insert(key) {
                report
                    .error("key_by", format!("the key `{key}` is listed twice"))
                    .item = Some(i);
            }
        }
        if self.within.as_millis() <= 0 {
            report.error(
                "within",
                format!("the span must be longer than 0s, not {}", self.within),
            );
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = inputs.first()?;
        let mut ok = true;
        for (i, key) in self.key_by.iter().enumerate() {
            ok &= report
                .require_key(&input.schema, "key_by", key, Some(i))
                .is_some();
        }
        let time = match input.time.row_time(&input.schema) {
            Ok(time) => Some(time),
            Err(why) => {
                report.node_error(format!(
                    "a Deduplicate judges duplicates in event time, but its rows have none: {why}"
                ));
                None
            }
        };
        let time = time.filter(|_| ok)?;
        let planned = PlannedDeduplicate {
            key_by: self.key_by.clone(),
            within_ms: self.within.as_millis(),
            time,
        };
        let passed = PortOutput::new(input.schema.clone(), input.time.clone());
        Some(
            Planned::new(
                PlannedKind::Deduplicate(planned),
                1,
                vec![passed.clone(), passed],
            )
            .partitioned(vec![Partitioning::Hash(self.key_by.clone())]),
        )
    }

    fn outputs_despite_errors(&self, inputs: &[PortInput]) -> Option<Vec<PortOutput>> {
        let input = inputs.first()?;
        let output = PortOutput::new(input.schema.clone(), input.time.clone());
        Some(vec![output.clone(), output])
    }

    fn summary(&self) -> String {
        format!("by {} within {}", self.key_by.join(", "), self.within)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "key by",
                "The columns that identify a record: rows with the same values are copies",
                FieldValue::Columns(&mut self.key_by),
            ),
            Field::new(
                "within",
                "A copy up to this far from the kept row, in event time, is dropped",
                FieldValue::Duration(&mut self.within),
            ),
        ]
    }
}
