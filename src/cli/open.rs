//! `eddy open`: the desktop designer.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::model::check::check_file;

pub fn run(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    eprintln!(
        "The Eddy designer (the desktop window) is not built yet: it is the next milestone.\n\
         Until then, use `eddy check FILE` to find mistakes and `eddy schema FILE` to see the columns of every node."
    );
    if let Some(file) = file {
        let checked = check_file(&file);
        let name = file.display().to_string();
        for problem in &checked.problems {
            eprintln!("{}", problem.display_in(&name));
        }
        if checked.has_errors() {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::from(2))
}
