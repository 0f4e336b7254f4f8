//! `eddy new`: write a starter pipeline, never over an existing file.

use super::output::out;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use crate::model::file::to_ron_string;
use crate::model::starter::starter_pipeline;

pub fn run(name: &str) -> anyhow::Result<ExitCode> {
    let path = if name.ends_with(".ron") {
        PathBuf::from(name)
    } else {
        PathBuf::from(format!("{name}.ron"))
    };
    let title = path
        .file_stem()
        .map(|s| s.to_string_lossy().replace('_', " "))
        .unwrap_or_else(|| name.to_string());
    if path.exists() {
        bail!("{} already exists; choose another name", path.display());
    }
    let text = to_ron_string(&starter_pipeline(&title))?;
    // `create_new` refuses to replace a file that appeared since the check above.
    use std::io::Write;
    let mut file = std::fs::File::create_new(&path)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    out!(
        "wrote {}: check it with `eddy check {}`",
        path.display(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
