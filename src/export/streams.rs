//! A simulated Kinesis stream in the middle of a pipeline, exported as what Flink would read from
//! the real stream: the same rows, passed through. Its limits, throttling, shards and consumers are
//! AWS's and are reported; the columns the stream adds come out as Flink's Kinesis connector would
//! give them where a local run can (the partition key, the arrival time as the event time) and
//! NULL otherwise (shard ids and sequence numbers). Every consumer port reads the same rows.

use super::flink_sql::{Export, Exporter, dependency, untranslatable};
use super::flink_types::flink_type;
use super::report::ReportEntry;
use crate::expr::{flink_expr, quote_name};
use crate::model::kinds::kinesis::{ARRIVAL, PARTITION_KEY, PlannedKinesisStream};
use crate::model::time::TimeAttr;

pub fn kinesis_stream(ex: &mut Exporter, index: usize, k: &PlannedKinesisStream) -> Export {
    let node = ex.plan.nodes[index].clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let input_schema = &node.inputs[0].schema;
    let key = flink_expr(&k.partition_key.text, input_schema).map_err(untranslatable)?;
    let time = match &node.inputs[0].time {
        TimeAttr::Event {
            column,
            shift_ms: 0,
        } => Some(column.clone()),
        _ => None,
    };
    let mut items = Vec::new();
    for field in node.outputs[0].schema.fields() {
        let name = field.name();
        if input_schema.field_with_name(name).is_ok() {
            items.push(quote_name(name));
            continue;
        }
        let value = if name == PARTITION_KEY {
            format!("CAST({key} AS STRING)")
        } else if let (true, Some(column)) = (name == ARRIVAL, &time) {
            format!("CAST({} AS TIMESTAMP(3))", quote_name(column))
        } else {
            let Some(sql_type) = flink_type(field.data_type()) else {
                return Err((
                    format!("the stream's column `{name}` has no Flink type"),
                    "a table with the `kinesis` connector on a real stream",
                ));
            };
            format!("CAST(NULL AS {sql_type})")
        };
        items.push(format!("{value} AS {}", quote_name(name)));
    }
    let view = Exporter::view_name(&node, 0);
    ex.view(
        &view,
        &format!("SELECT {} FROM {}", items.join(", "), quote_name(&input)),
    );
    ex.provide(index, 0, view.clone());
    // Consumers' ports (after `out`, `throttled` and `errors`) read the same records.
    for port in 3..node.outputs.len() {
        ex.provide(index, port, view.clone());
    }
    ex.report.push(ReportEntry::differs(
        &node.id,
        "a simulated Kinesis stream, exported as the rows passing through: no shard limits or \
         throttling (rows Eddy throttles reach Flink), shard ids and sequence numbers are NULL, \
         consumers read the same rows at once",
        "a table with the `kinesis` connector on a real stream (shard-id and sequence-number \
         metadata columns)",
    ));
    Ok(())
}
