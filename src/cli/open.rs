//! `eddy open`: the desktop designer.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(feature = "gui")]
pub fn run(file: Option<PathBuf>, run_now: bool) -> anyhow::Result<ExitCode> {
    crate::ui::run(file, run_now)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "gui"))]
pub fn run(file: Option<PathBuf>, _run_now: bool) -> anyhow::Result<ExitCode> {
    use crate::model::check::check_file;
    eprintln!(
        "This eddy was built without the designer (feature `gui`). Build it with default features to open the window.\n\
         Meanwhile: `eddy check FILE` finds mistakes, `eddy schema FILE` shows columns, `eddy run FILE` runs a pipeline."
    );
    if let Some(file) = file {
        let checked = check_file(&file);
        let name = file.display().to_string();
        for problem in &checked.problems {
            eprintln!("{}", problem.display_in(&name));
        }
    }
    Ok(ExitCode::from(2))
}
