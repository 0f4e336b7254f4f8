//! `eddy export FILE --to flink-sql|pyflink`: the pipeline as a Flink SQL script (or a PyFlink
//! program running it) and, beside it, the report of what does not translate. Generators can be
//! materialised first: their rows, exactly as Eddy produces them, written to CSV files the export
//! reads.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::export::flink_sql::{ExportOptions, export};
use crate::export::kinesis::KinesisConnector;
use crate::export::{pyflink, report};
use crate::model::check::check_file;
use crate::model::kinds::csv_sink::CsvFileSink;
use crate::model::kinds::generator::StopAfter;
use crate::model::kinds::{NodeKind, PlannedKind, SinkKind, SourceKind};
use crate::model::plan::Plan;
use crate::model::{Edge, Node, Pipeline};
use crate::runtime::{RunOptions, RunStatus, start_pipeline};

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    FlinkSql,
    PyFlink,
}

impl Target {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "flink-sql" => Some(Self::FlinkSql),
            "pyflink" => Some(Self::PyFlink),
            _ => None,
        }
    }
}

pub fn run(
    file: &Path,
    target: Target,
    out: Option<PathBuf>,
    materialize: Option<PathBuf>,
    kinesis_connector: KinesisConnector,
) -> anyhow::Result<ExitCode> {
    let checked = check_file(file);
    let name = file.display().to_string();
    for problem in &checked.problems {
        eprintln!("{}", problem.display_in(&name));
    }
    let Some(plan) = checked.validation.and_then(|v| v.plan) else {
        eprintln!("eddy: {name} has errors; fix them before exporting it");
        return Ok(ExitCode::FAILURE);
    };
    let mut options = ExportOptions {
        kinesis_connector,
        ..ExportOptions::default()
    };
    if let Some(dir) = &materialize {
        options.materialized = materialize_generators(&plan, dir)?;
    }
    let exported = export(&plan, &options);
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    let folder = out.unwrap_or_else(|| {
        let parent = file.parent().unwrap_or(Path::new("."));
        match target {
            Target::FlinkSql => parent.to_path_buf(),
            Target::PyFlink => parent.join(format!("{stem}-pyflink")),
        }
    });
    std::fs::create_dir_all(&folder)?;
    let report_text = report::render(&plan.name, &exported.report);
    let header = format!(
        "Flink SQL of the pipeline \"{}\", exported by Eddy from {name}.\nWhat does not translate: {stem}.flink-report.txt",
        plan.name
    );
    let written = match target {
        Target::FlinkSql => {
            let path = folder.join(format!("{stem}.flink.sql"));
            write_whole(&path, &exported.script(&header))?;
            path
        }
        Target::PyFlink => {
            let path = folder.join("main.py");
            write_whole(&path, &pyflink::main_py(&exported, &plan.name, &name))?;
            path
        }
    };
    let report_path = folder.join(format!("{stem}.flink-report.txt"));
    write_whole(&report_path, &report_text)?;
    print!("{report_text}");
    if !exported.has_inserts() {
        eprintln!(
            "eddy: nothing in {name} could be exported to a Flink sink; see the report above"
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "\nwrote {} and {}",
        written.display(),
        report_path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `text` to `path` through a temporary file beside it, so an earlier export stays whole
/// until the new one is.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.writing"));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}

/// Runs each generator of `plan` into `dir/<node>.csv` (a header, ISO-8601 times): the rows Eddy
/// produces for its seed and stop condition.
fn materialize_generators(plan: &Plan, dir: &Path) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let dir = std::path::absolute(dir)?;
    let mut written = BTreeMap::new();
    for node in &plan.nodes {
        let PlannedKind::Generator(g) = &node.kind else {
            continue;
        };
        if g.config.stop_after == StopAfter::Never {
            anyhow::bail!(
                "the generator `{}` never stops (stop_after: Never): give it a stop_after to \
                 materialise its rows",
                node.id
            );
        }
        let path = dir.join(format!("{}.csv", node.id));
        let pipeline = Pipeline {
            format_version: 1,
            name: format!("{} rows", node.id),
            description: String::new(),
            nodes: vec![
                Node {
                    id: node.id.clone(),
                    kind: NodeKind::Source(SourceKind::Generator(g.config.clone())),
                    note: String::new(),
                    parallelism: None,
                },
                Node {
                    id: "rows".into(),
                    kind: NodeKind::Sink(SinkKind::CsvFile(CsvFileSink {
                        path: path.display().to_string(),
                        header: true,
                        allow_outside: true,
                    })),
                    note: String::new(),
                    parallelism: None,
                },
            ],
            edges: vec![Edge::new((&node.id, "out"), ("rows", "in"))],
            layout: Default::default(),
        };
        let handle = start_pipeline(&pipeline, &dir, RunOptions::default())
            .map_err(|e| anyhow::anyhow!("materialising `{}`: {e}", node.id))?;
        let report = handle.wait();
        if let RunStatus::Failed(e) = report.status {
            anyhow::bail!("materialising `{}`: {e}", node.id);
        }
        eprintln!(
            "eddy: wrote the rows of `{}` to {}",
            node.id,
            path.display()
        );
        written.insert(node.id.clone(), path);
    }
    Ok(written)
}
