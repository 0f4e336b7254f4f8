//! `eddy fmt`: rewrite pipeline files in canonical form, or with `--check` only report.

use super::output::out;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::model::file::{parse, read_text, to_ron_string, write_atomically};

pub fn run(files: &[PathBuf], check_only: bool) -> anyhow::Result<ExitCode> {
    let mut failed = false;
    for path in files {
        let name = path.display().to_string();
        let text = match read_text(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                failed = true;
                continue;
            }
        };
        let pipeline = match parse(&text) {
            Ok(p) => p,
            Err(problem) => {
                eprintln!("{}", problem.display_in(&name));
                failed = true;
                continue;
            }
        };
        let canonical = to_ron_string(&pipeline)?;
        if canonical == text {
            continue;
        }
        if check_only {
            out!("{name}: not in canonical form (run `eddy fmt {name}`)");
            failed = true;
        } else {
            write_atomically(path, canonical.as_bytes())?;
            out!("{name}: formatted");
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
