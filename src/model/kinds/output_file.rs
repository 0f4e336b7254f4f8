//! What file sinks share: where the output file may be (inside the pipeline's folder unless the
//! node allows otherwise), and the one input port every sink has.

use std::path::{Component, Path, PathBuf};

use crate::model::kind::{Ports, Report};
use crate::model::node::IN;

/// The ports of a sink: one input, no outputs.
pub fn sink_ports() -> Ports {
    Ports {
        inputs: vec![IN.into()],
        outputs: Vec::new(),
    }
}

/// Reports an empty output path, or one outside the pipeline's folder that is not allowed.
pub fn check_output_path(path: &str, allow_outside: bool, base_dir: &Path, report: &mut Report) {
    if path.trim().is_empty() {
        report.error("path", "the output path is empty");
    } else if !allow_outside && !is_inside(base_dir, path) {
        report.error(
            "path",
            format!(
                "`{path}` is outside the pipeline's folder; set `allow_outside: true` if that is intended"
            ),
        );
    }
}

/// Whether `path` (relative to `base`, or absolute) stays inside `base`, judged on the text alone.
fn is_inside(base: &Path, path: &str) -> bool {
    let candidate = Path::new(path);
    if candidate.is_absolute() {
        let base = normalize(&std::path::absolute(base).unwrap_or_else(|_| base.to_path_buf()));
        return normalize(candidate).starts_with(base);
    }
    let mut depth: i64 = 0;
    for component in candidate.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_climb_out_are_outside() {
        let base = Path::new("/work/p");
        assert!(is_inside(base, "out/results.csv"));
        assert!(is_inside(base, "out/../results.csv"));
        assert!(!is_inside(base, "../results.csv"));
        assert!(!is_inside(base, "out/../../x.csv"));
        assert!(!is_inside(base, "/tmp/x.csv"));
        assert!(is_inside(base, "/work/p/x.csv"));
    }
}
