//! `eddy check`: validate files and print every problem as `file:line:col: node: message`.

use super::output::out;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::model::Severity;
use crate::model::check::check_file;

pub fn run(files: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (mut errors, mut warnings, mut failed_files) = (0, 0, 0);
    for path in files {
        let checked = check_file(path);
        let name = path.display().to_string();
        for problem in &checked.problems {
            out!("{}", problem.display_in(&name));
            match problem.severity {
                Severity::Error => errors += 1,
                Severity::Warning => warnings += 1,
            }
        }
        if checked.has_errors() {
            failed_files += 1;
        }
    }
    let files_word = if files.len() == 1 { "file" } else { "files" };
    eprintln!(
        "checked {} {files_word}: {errors} error(s), {warnings} warning(s){}",
        files.len(),
        if failed_files > 0 {
            format!(" in {failed_files} file(s)")
        } else {
            String::new()
        }
    );
    Ok(if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
