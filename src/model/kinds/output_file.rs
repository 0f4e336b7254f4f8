//! What sinks share: the one input port every sink has, and the check of an output path.

use crate::model::kind::{Ports, Report};
use crate::model::node::IN;

/// The ports of a sink: one input, no outputs.
pub fn sink_ports() -> Ports {
    Ports {
        inputs: vec![IN.into()],
        outputs: Vec::new(),
    }
}

/// Reports an empty output path. Where the path leads (outside the folder, onto an input) is
/// judged for the whole pipeline at once, on real paths (`model/files.rs`).
pub fn check_output_path(path: &str, report: &mut Report) {
    if path.trim().is_empty() {
        report.error("path", "the output path is empty");
    }
}
