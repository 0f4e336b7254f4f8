//! The real Kinesis source and sink as tables of Flink's Kinesis connector (streaming-facts §5.6),
//! with the option names of the connector version chosen: 5.x (`kinesis`, the current one: the
//! stream by ARN, `source.init.position`) or 4.x (`kinesis` with `stream` and
//! `scan.stream.initpos`, which Managed Flink 1.15-era examples use, and `kinesis-legacy` in 5.x).
//! Records are JSON, as Eddy's Kinesis sink writes them; credentials come from the AWS chain.

use super::flink_sql::{Export, Exporter, columns, dependency, untranslatable};
use super::flink_types::flink_type;
use super::report::ReportEntry;
use super::sources::json_table;
use crate::expr::{flink_expr, quote_name};
use crate::model::kinds::kinesis::consumers::PlannedStart;
use crate::model::kinds::kinesis::sink::PlannedKinesisSink;
use crate::model::kinds::kinesis::source::PlannedKinesisSource;
use crate::model::kinds::kinesis::{ARRIVAL, SEQUENCE_NUMBER, SHARD_ID};

/// Which Kinesis connector the tables are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KinesisConnector {
    /// flink-connector-aws 5.x: `'connector' = 'kinesis'`, the stream by ARN.
    #[default]
    V5,
    /// 4.x (and `kinesis-legacy` in 5.x): the stream by name.
    V4,
}

impl KinesisConnector {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "5" | "5.x" => Some(Self::V5),
            "4" | "4.x" | "legacy" => Some(Self::V4),
            _ => None,
        }
    }
}

/// The connector options that name the stream, its region and endpoint.
fn stream_options(
    connector: KinesisConnector,
    stream: &str,
    region: &str,
    endpoint: Option<&str>,
) -> Vec<(String, String)> {
    let mut options = vec![("connector".to_string(), "kinesis".to_string())];
    match connector {
        KinesisConnector::V5 => options.push((
            "stream.arn".into(),
            format!("arn:aws:kinesis:{region}:ACCOUNT_ID:stream/{stream}"),
        )),
        KinesisConnector::V4 => options.push(("stream".into(), stream.to_string())),
    }
    options.push(("aws.region".into(), region.to_string()));
    if let Some(endpoint) = endpoint {
        options.push(("aws.endpoint".into(), endpoint.to_string()));
    }
    options
}

fn with_clause(options: &[(String, String)]) -> String {
    options
        .iter()
        .map(|(k, v)| format!("'{k}' = '{}'", v.replace('\'', "''")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

pub(super) fn source(ex: &mut Exporter, index: usize, k: &PlannedKinesisSource) -> Export {
    let id = ex.plan.nodes[index].id.clone();
    let connector = ex.options.kinesis_connector;
    let mut options = stream_options(connector, &k.stream, &k.region, k.endpoint.as_deref());
    let (position_key, timestamp_key) = match connector {
        KinesisConnector::V5 => ("source.init.position", "source.init.timestamp"),
        KinesisConnector::V4 => ("scan.stream.initpos", "scan.stream.initpos-timestamp"),
    };
    match k.start {
        PlannedStart::TrimHorizon => options.push((position_key.into(), "TRIM_HORIZON".into())),
        PlannedStart::Latest => options.push((position_key.into(), "LATEST".into())),
        PlannedStart::AtTimestamp(ms) => {
            options.push((position_key.into(), "AT_TIMESTAMP".into()));
            options.push((timestamp_key.into(), iso(ms)));
        }
    }
    options.push(("format".into(), "json".into()));
    options.push(("json.ignore-parse-errors".into(), "true".into()));
    // The record's shard, sequence number and arrival time as the connector's metadata (4.x;
    // 5.x's metadata columns do not work yet, FLINK-36671, so they read as NULL there).
    let metadata: Vec<(&str, String)> = match connector {
        KinesisConnector::V4 => vec![
            (SHARD_ID, "STRING METADATA FROM 'shard-id' VIRTUAL".into()),
            (
                SEQUENCE_NUMBER,
                "STRING METADATA FROM 'sequence-number' VIRTUAL".into(),
            ),
            (
                ARRIVAL,
                "TIMESTAMP(3) METADATA FROM 'timestamp' VIRTUAL".into(),
            ),
        ],
        KinesisConnector::V5 => Vec::new(),
    };
    json_table(
        ex,
        index,
        &k.time,
        &serde_json::Map::new(),
        &with_clause(&options),
        &metadata,
    )?;
    let mut notes = vec![
        "Flink reads the stream until the job is stopped (Eddy's `until` is not exported)"
            .to_string(),
        "the partition key is not connector metadata: `partition_key` reads as NULL".to_string(),
    ];
    if connector == KinesisConnector::V5 {
        notes.push(
            "the stream is named by ARN: replace ACCOUNT_ID with the account that owns it; shard \
             ids, sequence numbers and arrival times read as NULL (FLINK-36671)"
                .into(),
        );
    }
    ex.report.push(ReportEntry::differs(
        &id,
        notes.join("; "),
        match connector {
            KinesisConnector::V5 => {
                "--kinesis-connector 4 for the metadata columns; the connector's jar \
                 (flink-sql-connector-aws-kinesis-streams) on the job's classpath"
            }
            KinesisConnector::V4 => {
                "the connector's jar (flink-sql-connector-kinesis) on the job's classpath"
            }
        },
    ));
    Ok(())
}

pub(super) fn sink(ex: &mut Exporter, index: usize, k: &PlannedKinesisSink) -> Export {
    let node = ex.plan.nodes[index].clone();
    let input = ex.input(index, 0).map_err(dependency)?;
    let schema = &node.inputs[0].schema;
    let key = flink_expr(&k.partition_key.text, schema).map_err(untranslatable)?;
    let mut table_columns = Vec::new();
    for field in schema.fields() {
        let Some(sql_type) = flink_type(field.data_type()) else {
            return Err((
                format!(
                    "the column `{}` has a type Flink is not given",
                    field.name()
                ),
                "a Map that casts it to text or a number",
            ));
        };
        table_columns.push(format!("{} {sql_type}", quote_name(field.name())));
    }
    const KEY: &str = "__partition_key";
    table_columns.push(format!("{} STRING", quote_name(KEY)));
    let mut options = stream_options(
        ex.options.kinesis_connector,
        &k.stream,
        &k.region,
        k.endpoint.as_deref(),
    );
    options.push(("format".into(), "json".into()));
    options.push(("json.timestamp-format.standard".into(), "ISO-8601".into()));
    ex.statements.push(format!(
        "CREATE TEMPORARY TABLE {} (\n  {}\n) PARTITIONED BY ({}) WITH ({})",
        quote_name(&node.id),
        table_columns.join(",\n  "),
        quote_name(KEY),
        with_clause(&options)
    ));
    ex.inserts.push(format!(
        "INSERT INTO {} SELECT {}, CAST({key} AS STRING) AS {} FROM {}",
        quote_name(&node.id),
        columns(schema),
        quote_name(KEY),
        quote_name(&input)
    ));
    let mut notes = vec![format!(
        "the partition key is the table's partition column `{KEY}` (the connector keys records by \
         their PARTITIONED BY columns), so each record's JSON carries it too"
    )];
    if k.explicit_hash_key.is_some() {
        notes.push("the explicit hash key is not exported".into());
    }
    if ex.options.kinesis_connector == KinesisConnector::V5 {
        notes.push("replace ACCOUNT_ID in 'stream.arn' with the stream's account".into());
    }
    ex.report.push(ReportEntry::differs(
        &node.id,
        notes.join("; "),
        "'sink.partitioner' for another way of choosing shards",
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_connector_version_names_the_stream_its_way() {
        let v5 = with_clause(&stream_options(
            KinesisConnector::V5,
            "trips",
            "eu-west-1",
            Some("http://127.0.0.1:4567"),
        ));
        assert_eq!(
            v5,
            "'connector' = 'kinesis', 'stream.arn' = 'arn:aws:kinesis:eu-west-1:ACCOUNT_ID:stream/trips', \
             'aws.region' = 'eu-west-1', 'aws.endpoint' = 'http://127.0.0.1:4567'"
        );
        let v4 = with_clause(&stream_options(
            KinesisConnector::V4,
            "trips",
            "eu-west-1",
            None,
        ));
        assert_eq!(
            v4,
            "'connector' = 'kinesis', 'stream' = 'trips', 'aws.region' = 'eu-west-1'"
        );
        assert_eq!(iso(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }
}
