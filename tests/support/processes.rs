//! Eddy as a process, the way the checkpoint tests run it: start, kill -9 at a moment, run to the
//! end; and a seeded generator of kill moments.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub fn eddy() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
}

pub fn run(file: &Path, args: &[&str]) -> Output {
    eddy().arg("run").arg(file).args(args).output().unwrap()
}

pub fn spawn(file: &Path, args: &[&str]) -> Child {
    eddy()
        .arg("run")
        .arg(file)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Kills `child` with SIGKILL after `after` (or lets it end first); its standard error.
pub fn kill_9_after(mut child: Child, after: Duration) -> String {
    std::thread::sleep(after);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A tiny deterministic generator of kill moments (the test's seed).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_in(&mut self, low_ms: u64, high_ms: u64) -> Duration {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Duration::from_millis(low_ms + (self.0 >> 33) % (high_ms - low_ms))
    }
}
