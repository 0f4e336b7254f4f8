//! Lookup join: each row of the stream is enriched from a reference table — a CSV or JSON-lines
//! file read into memory and keyed — as the workshop's "enrich" step adds zone names to taxi trips.
//! The table can be read again when its file changes; a reload that fails keeps the table before.

use std::path::PathBuf;
use std::sync::Arc;

use arrow::datatypes::{DataType, Schema, SchemaRef};
use serde::{Deserialize, Serialize};

use super::{JoinType, KeyTypes, check_key_list, check_key_pairs, joined_schema};
use crate::model::columns::ColumnDecl;
use crate::model::form::{Field, FieldValue};
use crate::model::infer::{check_input_file, infer_csv, infer_json_lines};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, OutputPort, Partitioning, Planned, PortInput,
    PortOutput, Ports, Report,
};
use crate::model::kinds::{JoinKind, KindId, NodeKind, PlannedKind};
use crate::model::node::{Family, IN, OUT};

/// The most rows a reference table may hold: it lives in memory, once per instance.
pub const MAX_TABLE_ROWS: usize = 10_000_000;

/// How the reference file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum TableFormat {
    /// Comma-separated with a header row.
    #[default]
    Csv,
    JsonLines,
}

crate::plain_choice!(TableFormat { Csv, JsonLines });

/// What happens when two rows of the table have the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum DuplicateKeys {
    /// The row further down the file replaces the one above (an upsert, as a versioned table).
    #[default]
    LastWins,
    /// The table is refused, naming the key and both lines.
    Refuse,
}

crate::plain_choice!(DuplicateKeys { LastWins, Refuse });

/// A stream enriched from a reference table held in memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupJoin {
    /// The reference file, relative to the pipeline file.
    pub table: String,
    #[serde(default, skip_serializing_if = "is_csv")]
    pub format: TableFormat,
    /// The table's columns; when absent they are inferred from the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnDecl>>,
    /// The stream's columns to look up by, e.g. `["pickup_location_id"]`.
    pub key: Vec<String>,
    /// The table's key columns, in the same order and of the same types.
    pub table_key: Vec<String>,
    #[serde(default, skip_serializing_if = "is_inner")]
    pub join: JoinType,
    #[serde(default, skip_serializing_if = "is_last_wins")]
    pub duplicates: DuplicateKeys,
    /// Read the table again when its file changes (checked about once a second).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reload: bool,
    /// Put in front of the table's column names, e.g. `zone_`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
}

fn is_csv(format: &TableFormat) -> bool {
    *format == TableFormat::Csv
}

fn is_inner(join: &JoinType) -> bool {
    join.is_inner()
}

fn is_last_wins(duplicates: &DuplicateKeys) -> bool {
    *duplicates == DuplicateKeys::LastWins
}

/// The runnable form of a lookup join.
#[derive(Debug, Clone)]
pub struct PlannedLookupJoin {
    /// The reference file, resolved against the pipeline's folder.
    pub path: PathBuf,
    /// As written in the pipeline, for messages.
    pub table_name: String,
    pub format: TableFormat,
    pub table_schema: SchemaRef,
    pub key: Vec<String>,
    pub table_key: Vec<String>,
    pub join: JoinType,
    pub duplicates: DuplicateKeys,
    pub reload: bool,
    /// The table columns that come out (all but its keys), by index.
    pub table_columns: Vec<usize>,
    /// Each table column kept, and its name in the output.
    pub table_names: Vec<(String, String)>,
    /// The stream's key types, which the table's keys are read as.
    pub key_types: Vec<DataType>,
    pub output: SchemaRef,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Lookup join",
    family: Family::Join,
    id_stem: "enrich",
    explanation: "Enriches each row from a reference table: a CSV or JSON-lines file read into memory and keyed. A row whose key is in the table gets the table's columns; one whose key is not is dropped (Inner) or kept with NULLs (Left). The table can be read again when its file changes.\nExample: taxi trips by `pickup_location_id` against `taxi_zones.csv` by `location_id`, adding zone and borough.",
    keywords: "join lookup enrich reference table dimension csv zones temporal static file",
    default: || {
        NodeKind::Join(JoinKind::Lookup(LookupJoin {
            table: "data/reference.csv".into(),
            format: TableFormat::Csv,
            schema: None,
            key: Vec::new(),
            table_key: Vec::new(),
            join: JoinType::Left,
            duplicates: DuplicateKeys::LastWins,
            reload: false,
            prefix: String::new(),
        }))
    },
};

impl LookupJoin {
    /// The table's columns: declared, or inferred from the file.
    fn table_schema(&self, ctx: &CheckContext) -> Result<Schema, String> {
        if let Some(columns) = &self.schema {
            return Ok(Schema::new(
                columns.iter().map(ColumnDecl::field).collect::<Vec<_>>(),
            ));
        }
        let path = ctx.base_dir.join(&self.table);
        match self.format {
            TableFormat::Csv => infer_csv(&path, true, ','),
            TableFormat::JsonLines => infer_json_lines(&path),
        }
    }
}

impl KindModel for LookupJoin {
    fn kind_id(&self) -> KindId {
        KindId::LookupJoin
    }

    fn ports(&self) -> Ports {
        Ports {
            inputs: vec![IN.into()],
            outputs: vec![OutputPort::new(OUT)],
        }
    }

    fn check(&self, ctx: &CheckContext, report: &mut Report) {
        check_key_list(&self.key, "key", "stream's", report);
        check_key_list(&self.table_key, "table_key", "table's", report);
        let mut file = Report::new(report.node());
        check_input_file(&self.table, ctx.base_dir, &mut file);
        for problem in file.into_problems() {
            report.error("table", problem.message);
        }
    }

    fn plan(
        &self,
        inputs: &[PortInput],
        ctx: &CheckContext,
        report: &mut Report,
    ) -> Option<Planned> {
        let input = inputs.first()?;
        let table_schema = match self.table_schema(ctx) {
            Ok(schema) => schema,
            Err(message) => {
                if ctx.base_dir.join(&self.table).is_file() {
                    report.error("table", format!("{}: {message}", self.table));
                }
                return None;
            }
        };
        let keys_ok = check_key_pairs(
            (&input.schema, &self.key, "key"),
            (&table_schema, &self.table_key, "table_key"),
            KeyTypes::IntegersWiden,
            report,
        );
        let (output, table_columns) = joined_schema(
            &input.schema,
            &table_schema,
            &self.table_key,
            &self.prefix,
            !self.join.is_inner(),
            report,
        )?;
        if !keys_ok {
            return None;
        }
        let table_names = table_columns
            .iter()
            .map(|&i| {
                let name = table_schema.field(i).name().clone();
                (name.clone(), format!("{}{name}", self.prefix))
            })
            .collect();
        let key_types = self
            .key
            .iter()
            .filter_map(|k| input.schema.field_with_name(k).ok())
            .map(|f| f.data_type().clone())
            .collect();
        let planned = PlannedLookupJoin {
            path: ctx.base_dir.join(&self.table),
            table_name: self.table.clone(),
            format: self.format,
            table_schema: Arc::new(table_schema),
            key: self.key.clone(),
            table_key: self.table_key.clone(),
            join: self.join,
            duplicates: self.duplicates,
            reload: self.reload,
            table_columns,
            table_names,
            key_types,
            output: Arc::clone(&output),
        };
        Some(
            Planned::new(
                PlannedKind::LookupJoin(Box::new(planned)),
                1,
                vec![PortOutput::new(output, input.time.clone())],
            )
            .partitioned(vec![Partitioning::Hash(self.key.clone())]),
        )
    }

    fn summary(&self) -> String {
        let join = match self.join {
            JoinType::Inner => "",
            JoinType::Left => "left ",
        };
        format!(
            "{join}{} = {}.{}{}",
            self.key.join(", "),
            self.table,
            self.table_key.join(", "),
            if self.reload { ", reloaded" } else { "" }
        )
    }

    fn files(&self) -> Vec<FileUse> {
        vec![FileUse::Reads(self.table.clone())]
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "table",
                "The reference file, relative to the pipeline file",
                FieldValue::Path(&mut self.table),
            ),
            Field::new(
                "format",
                "CSV with a header row, or one JSON object per line",
                FieldValue::Choice(&mut self.format),
            ),
            Field::new(
                "columns",
                "The table's columns; none listed means inferred from the file",
                FieldValue::List(&mut self.schema),
            ),
            Field::new(
                "key",
                "The stream's columns to look up by",
                FieldValue::Columns(&mut self.key),
            ),
            Field::new(
                "table key",
                "The table's columns, in the same order and of the same types",
                FieldValue::Columns(&mut self.table_key),
            ),
            Field::new(
                "join",
                "Inner: rows whose key is not in the table are dropped. Left: they are kept, with NULLs",
                FieldValue::Choice(&mut self.join),
            ),
            Field::new(
                "duplicate keys",
                "Two table rows with one key: the lower one wins, or the table is refused",
                FieldValue::Choice(&mut self.duplicates),
            ),
            Field::new(
                "reload",
                "Read the table again when its file changes; a failed read keeps the table before",
                FieldValue::Bool(&mut self.reload),
            ),
            Field::new(
                "prefix",
                "Put in front of the table's column names, so no name is taken twice",
                FieldValue::Text(&mut self.prefix),
            ),
        ]
    }
}
