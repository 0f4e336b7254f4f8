//! The Python with PyFlink the Flink tests run exported pipelines on: `EDDY_FLINK_PYTHON`, or a
//! venv in `~/.cache/eddy-flink` that this helper makes (`pip install apache-flink==2.3.0`) the
//! first time, as the Kinesis test installs kinesis-local, so `cargo test` sets up what it needs.

use std::path::PathBuf;
use std::process::Command;

/// The Flink version the tests and `.ci/run` use.
pub const APACHE_FLINK: &str = "apache-flink==2.3.0";

fn has_pyflink(python: &PathBuf) -> bool {
    Command::new(python)
        .args(["-c", "import pyflink"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A Python that can `import pyflink`, installing it into the cached venv when needed; `None`
/// when that is not possible here (no venv module, no network).
pub fn flink_python() -> Option<PathBuf> {
    if let Some(python) = std::env::var_os("EDDY_FLINK_PYTHON").map(PathBuf::from) {
        return has_pyflink(&python).then_some(python);
    }
    let venv = PathBuf::from(std::env::var_os("HOME")?).join(".cache/eddy-flink/venv");
    let python = venv.join("bin/python");
    if has_pyflink(&python) {
        return Some(python);
    }
    eprintln!("installing {APACHE_FLINK} into {} (once)", venv.display());
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    let installed = made
        && Command::new(venv.join("bin/pip"))
            .args(["install", "-q", APACHE_FLINK])
            .status()
            .is_ok_and(|s| s.success());
    (installed && has_pyflink(&python)).then_some(python)
}

/// [`flink_python`], or `None` after saying the test skips; where `EDDY_REQUIRE_FLINK` is set
/// (CI) a missing PyFlink fails the test instead.
pub fn flink_python_or_skip() -> Option<PathBuf> {
    let python = flink_python();
    if python.is_none() {
        assert!(
            std::env::var_os("EDDY_REQUIRE_FLINK").is_none(),
            "PyFlink is not installed, and EDDY_REQUIRE_FLINK says this test must run"
        );
        eprintln!("SKIPPED: no Python with apache-flink, and it could not be installed here");
    }
    python
}
