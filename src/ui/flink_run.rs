//! "Run on Flink" from the Flink SQL tab: the pipeline as it is in the app is written beside its
//! file (a hidden copy, so relative paths still resolve) and run by `eddy flink run` in a child
//! process — the same path as the command line, on an in-process Flink mini-cluster — whose
//! messages (the report, the job's progress, what its print sinks print) the tab shows as they
//! come. Cancel sends it Ctrl-C, which cancels the job.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::model::Pipeline;
use crate::model::file::save;

/// Lines kept from the run's output.
const KEPT_LINES: usize = 500;

/// One run of the pipeline on Flink.
pub struct FlinkRun {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    pub started: Instant,
    /// Whether it ended well, once it ended.
    pub outcome: Option<bool>,
}

impl FlinkRun {
    /// Writes `pipeline` to a hidden copy in `base_dir` and starts `eddy flink run` on it.
    pub fn start(pipeline: &Pipeline, base_dir: &Path) -> Result<Self, String> {
        let stem: String = pipeline
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let copy: PathBuf = base_dir.join(format!(".{stem}.flink-run.ron"));
        save(&copy, pipeline).map_err(|e| format!("writing {}: {e:#}", copy.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("finding eddy: {e}"))?;
        let mut child = Command::new(exe)
            .args(["flink", "run"])
            .arg(&copy)
            .current_dir(base_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting eddy flink run: {e}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let pipes: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ];
        for pipe in pipes.into_iter().flatten() {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Ok(mut kept) = lines.lock() {
                        kept.push(line);
                        let excess = kept.len().saturating_sub(KEPT_LINES);
                        kept.drain(..excess);
                    }
                }
            });
        }
        Ok(Self {
            child,
            lines,
            started: Instant::now(),
            outcome: None,
        })
    }

    /// Notes whether the run ended; its lines so far.
    pub fn poll(&mut self) -> Vec<String> {
        if self.outcome.is_none()
            && let Ok(Some(status)) = self.child.try_wait()
        {
            self.outcome = Some(status.success());
        }
        self.lines.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// Ctrl-C to the run: it cancels the job and stops.
    pub fn cancel(&mut self) {
        if self.outcome.is_none() {
            let _ = Command::new("kill")
                .args(["-INT", &self.child.id().to_string()])
                .status();
        }
    }
}

impl Drop for FlinkRun {
    fn drop(&mut self) {
        self.cancel();
    }
}
