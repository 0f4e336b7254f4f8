//! A simulated Kinesis stream in the middle of a pipeline, exported as what Flink would read from
//! the real stream: the same rows, passed through. Its limits, throttling, shards and consumers are
//! AWS's and are reported; the columns the stream adds come out as Flink's Kinesis connector would
//! give them where a local run can (the partition key, the arrival time as the event time) and
//! NULL otherwise (shard ids and sequence numbers). Every consumer port reads the same rows. The
//! applications reading it (KCL, Lambda) become the Flink job that replaces them.

use super::flink_sql::{Export, Exporter, dependency, untranslatable};
use super::flink_types::flink_type;
use super::report::ReportEntry;
use crate::expr::{flink_expr, flink_item, quote_name};
use crate::model::kinds::kinesis::{ARRIVAL, PARTITION_KEY, PlannedKinesisStream};
use crate::model::kinds::lambda::PlannedLambda;
use crate::model::kinds::map::ColumnSource;
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

/// A simulated KCL application, exported as what replaces it in Flink: the job reading the stream,
/// each record once (Flink's own checkpoints stand for the lease table's).
pub fn kcl(ex: &mut Exporter, index: usize) -> Export {
    let node = ex.plan.nodes[index].clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let view = Exporter::view_name(&node, 0);
    ex.view(
        &view,
        &format!(
            "SELECT {}, CAST(NULL AS STRING) AS `worker`, CAST(1 AS BIGINT) AS `attempt` FROM {}",
            super::flink_sql::columns(&node.inputs[0].schema),
            quote_name(&input)
        ),
    );
    ex.provide(index, 0, view);
    ex.report.push(ReportEntry::differs(
        &node.id,
        "a simulated KCL application, exported as the Flink job reading the stream: every record \
         once (no leases, workers or failover, so no duplicates: `worker` is NULL and `attempt` \
         1); the `leases` port is not exported",
        "Flink's checkpoints and restarts do what KCL's leases and checkpoints do",
    ));
    Ok(())
}

/// A simulated Lambda consumer, exported as its function applied to each record by a Flink job:
/// the handler's columns, the records it outputs; a record it fails on is left out (in AWS it
/// blocks its shard and is retried; a Flink job would fail and restart).
pub fn lambda(ex: &mut Exporter, index: usize, l: &PlannedLambda) -> Export {
    let node = ex.plan.nodes[index].clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let schema = &node.inputs[0].schema;
    let mut items = Vec::new();
    for column in &l.handler.columns {
        match column {
            ColumnSource::Input(i) => items.push(quote_name(schema.field(*i).name())),
            ColumnSource::Computed(i) => {
                let item = &l.handler.items[*i];
                let (expr, _) = flink_item(&item.expr.text, schema).map_err(untranslatable)?;
                items.push(format!("{expr} AS {}", quote_name(&item.name)));
            }
        }
    }
    items.push("CAST(1 AS BIGINT) AS `attempt`".into());
    items.push("CAST(NULL AS BIGINT) AS `invocation`".into());
    let mut conditions = Vec::new();
    if let Some(keep) = &l.output_when {
        conditions.push(format!(
            "({}) IS TRUE",
            flink_expr(&keep.text, schema).map_err(untranslatable)?
        ));
    }
    if let Some(fails) = &l.fails_when {
        conditions.push(format!(
            "({}) IS NOT TRUE",
            flink_expr(&fails.text, schema).map_err(untranslatable)?
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    let view = Exporter::view_name(&node, 0);
    ex.view(
        &view,
        &format!(
            "SELECT {} FROM {}{filter}",
            items.join(", "),
            quote_name(&input)
        ),
    );
    ex.provide(index, 0, view);
    ex.report.push(ReportEntry::differs(
        &node.id,
        "a simulated Lambda consumer, exported as its function applied to each record by the \
         Flink job: no batches, retries or bisecting (`attempt` 1, `invocation` NULL); records the \
         function fails on are left out; its tumbling windows and the on_failure and invocations \
         ports are not exported",
        "a window node after the function for its tumbling windows",
    ));
    Ok(())
}
