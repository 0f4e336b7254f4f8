//! A simulated Firehose delivery stream as what a Flink job writing to S3 does: a filesystem table
//! partitioned by the date and hour of each record's arrival (Firehose's `YYYY/MM/dd/HH/` prefix,
//! as Hive-style `dt=…/hr=…` folders) and by its dynamic partitioning keys, rolling files at the
//! buffering hints. A transformation becomes a view: its columns, its dropped and failed records
//! left out (failed ones are reported: there is no error-output prefix).

use super::flink_sql::{Export, Exporter, dependency, untranslatable};
use super::flink_types::flink_type;
use super::report::ReportEntry;
use crate::expr::{flink_item, quote_name};
use crate::model::kinds::firehose::{
    Compression, PlannedDestination, PlannedFirehose, RecordFormat,
};
use crate::model::kinds::map::ColumnSource;
use crate::model::time::TimeAttr;

pub fn firehose(ex: &mut Exporter, index: usize, f: &PlannedFirehose) -> Export {
    let node = ex.plan.nodes[index].clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let schema = node.inputs[0].schema.clone();
    let format = match f.format {
        RecordFormat::JsonLines => "json",
        RecordFormat::Csv => "csv",
        RecordFormat::Parquet => "parquet",
    };
    let path = match &f.destination {
        PlannedDestination::Folder(folder) => {
            let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.clone());
            folder
                .join(format!("{}.flink", f.name))
                .display()
                .to_string()
        }
        PlannedDestination::S3 { bucket, .. } => format!("s3://{bucket}/{}/", f.name),
    };
    // The arrival time: the stream's when the records come from one, else the event time.
    let arrival = match (f.arrival_column, &node.inputs[0].time) {
        (Some(column), _) => quote_name(schema.field(column).name()),
        (None, TimeAttr::Event { column, .. }) => quote_name(column),
        _ => {
            return Err((
                "a Firehose without an event time or an arrival column has no hour to partition by"
                    .into(),
                "a filesystem table partitioned by PROCTIME()",
            ));
        }
    };
    // The records as delivered: the transformation's columns, or the input's.
    let mut delivered = Vec::new();
    let mut conditions = Vec::new();
    match &f.transformation {
        Some(t) => {
            for column in &t.map.columns {
                match column {
                    ColumnSource::Input(i) => delivered.push(quote_name(schema.field(*i).name())),
                    ColumnSource::Computed(i) => {
                        let item = &t.map.items[*i];
                        let (expr, _) =
                            flink_item(&item.expr.text, &schema).map_err(untranslatable)?;
                        delivered.push(format!("{expr} AS {}", quote_name(&item.name)));
                    }
                }
            }
            for condition in [&t.dropped_when, &t.failed_when].into_iter().flatten() {
                let (expr, _) = flink_item(&condition.text, &schema).map_err(untranslatable)?;
                conditions.push(format!("({expr}) IS NOT TRUE"));
            }
        }
        None => delivered.extend(schema.fields().iter().map(|c| quote_name(c.name()))),
    }
    let mut keys = Vec::new();
    for (name, expr) in &f.partition_keys {
        let (expr, _) = flink_item(&expr.text, &schema).map_err(untranslatable)?;
        keys.push((name.clone(), expr));
    }
    let mut table_columns = Vec::new();
    for field in f.delivered.fields() {
        let Some(sql_type) = flink_type(field.data_type()) else {
            return Err((
                format!(
                    "the column `{}` has a type Flink is not given",
                    field.name()
                ),
                "a transformation that casts it to text or a number",
            ));
        };
        table_columns.push(format!("{} {sql_type}", quote_name(field.name())));
    }
    let mut partitions = vec!["`dt`".to_string(), "`hr`".to_string()];
    table_columns.push("`dt` STRING".into());
    table_columns.push("`hr` STRING".into());
    for (name, _) in &keys {
        table_columns.push(format!("{} STRING", quote_name(&format!("pk_{name}"))));
        partitions.push(quote_name(&format!("pk_{name}")));
    }
    let options = [
        ("connector", "filesystem".to_string()),
        ("path", path.clone()),
        ("format", format.to_string()),
        (
            "sink.rolling-policy.file-size",
            format!("{}b", f.size_bytes.max(1)),
        ),
        (
            "sink.rolling-policy.rollover-interval",
            format!("{} ms", f.interval_ms.max(1)),
        ),
        ("partition.default-name", "unknown".to_string()),
    ];
    let with: Vec<String> = options
        .iter()
        .map(|(k, v)| format!("'{k}' = '{}'", v.replace('\'', "''")))
        .collect();
    ex.statements.push(format!(
        "CREATE TEMPORARY TABLE {} (\n  {}\n) PARTITIONED BY ({}) WITH ({})",
        quote_name(&node.id),
        table_columns.join(",\n  "),
        partitions.join(", "),
        with.join(", ")
    ));
    let mut selects = delivered;
    selects.push(format!("DATE_FORMAT({arrival}, 'yyyy-MM-dd') AS `dt`"));
    selects.push(format!("DATE_FORMAT({arrival}, 'HH') AS `hr`"));
    for (name, expr) in &keys {
        selects.push(format!(
            "CAST({expr} AS STRING) AS {}",
            quote_name(&format!("pk_{name}"))
        ));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    ex.inserts.push(format!(
        "INSERT INTO {} SELECT {} FROM {}{filter}",
        quote_name(&node.id),
        selects.join(", "),
        quote_name(&input)
    ));
    let mut notes = vec![format!(
        "delivered by Flink's filesystem sink into {path}: Hive-style `dt=…/hr=…` folders instead \
         of YYYY/MM/dd/HH/, part files instead of Firehose's object names, files rolled at the \
         buffering hints and made visible at checkpoints"
    )];
    if f.transformation
        .as_ref()
        .is_some_and(|t| t.failed_when.is_some())
    {
        notes.push(
            "records the transformation fails are left out (no error-output prefix in Flink)"
                .into(),
        );
    }
    if f.compression != Compression::Uncompressed {
        notes.push(format!(
            "{:?} compression is not exported (Flink's json and csv formats write plain files)",
            f.compression
        ));
    }
    if f.format == RecordFormat::Parquet {
        notes.push(
            "Parquet needs the flink-parquet format jar (not in the PyPI package; Managed Flink has it)"
                .into(),
        );
    }
    if let PlannedDestination::S3 { .. } = f.destination {
        notes.push("s3:// paths need Flink's S3 filesystem plugin and its credentials".into());
    }
    ex.report.push(ReportEntry::differs(
        &node.id,
        notes.join("; "),
        "a filesystem table PARTITIONED BY the date and hour, as exported",
    ));
    Ok(())
}
