//! `eddy schema`: the columns and types flowing out of every node, in graph order.

use super::output::out;
use std::path::Path;
use std::process::ExitCode;

use crate::expr::sql_type_name;
use crate::model::check::check_file;
use crate::model::graph::topological_order;

pub fn run(file: &Path) -> anyhow::Result<ExitCode> {
    let checked = check_file(file);
    let name = file.display().to_string();
    let (Some(pipeline), Some(validation)) = (&checked.pipeline, &checked.validation) else {
        for problem in &checked.problems {
            eprintln!("{}", problem.display_in(&name));
        }
        return Ok(ExitCode::FAILURE);
    };
    out!("{} ({name})", pipeline.name);
    let (order, _) = topological_order(pipeline);
    for index in order {
        let node = &pipeline.nodes[index];
        out!("\n{} [{}]", node.id, node.kind.kind_name());
        for port in node.kind.output_ports() {
            match validation.schemas.output(&node.id, &port) {
                Some(schema) => {
                    out!("  {port}:");
                    let width = schema
                        .fields()
                        .iter()
                        .map(|f| f.name().len())
                        .max()
                        .unwrap_or(0);
                    for field in schema.fields() {
                        let null = if field.is_nullable() { "" } else { " NOT NULL" };
                        out!(
                            "    {:width$}  {}{null}",
                            field.name(),
                            sql_type_name(field.data_type())
                        );
                    }
                }
                None => out!("  {port}: unknown (see the problems below)"),
            }
        }
    }
    if !checked.problems.is_empty() {
        eprintln!();
        for problem in &checked.problems {
            eprintln!("{}", problem.display_in(&name));
        }
    }
    Ok(if checked.has_errors() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
