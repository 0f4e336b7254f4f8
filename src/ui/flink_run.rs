//! "Run on Flink" from the Flink SQL tab: the pipeline as it is in the app is written beside its
//! file (a hidden copy, so relative paths still resolve) and run by `eddy flink run
//! --progress-json` in a child process — the same path as the command line, on an in-process
//! Flink mini-cluster or a session cluster — whose messages (the report, the job's progress, what
//! its print sinks print) the tab shows as they come, and whose progress lines (the job's state,
//! records per node) the canvas draws. Cancel sends it Ctrl-C, which cancels the job.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::export::flink_progress::FlinkProgress;
use crate::model::Pipeline;
use crate::model::file::save;

/// Lines kept from the run's output.
const KEPT_LINES: usize = 500;

/// One run of the pipeline on Flink.
pub struct FlinkRun {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    progress: Arc<Mutex<Option<FlinkProgress>>>,
    pub started: Instant,
    /// Whether it ended well, once it ended.
    pub outcome: Option<bool>,
}

impl FlinkRun {
    /// Writes `pipeline` to a hidden copy in `base_dir` and starts `eddy flink run` on it, on the
    /// session cluster at `jobmanager` if one is given.
    pub fn start(
        pipeline: &Pipeline,
        base_dir: &Path,
        jobmanager: Option<&str>,
    ) -> Result<Self, String> {
        let stem: String = pipeline
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let copy: PathBuf = base_dir.join(format!(".{stem}.flink-run.ron"));
        save(&copy, pipeline).map_err(|e| format!("writing {}: {e:#}", copy.display()))?;
        let exe = std::env::current_exe().map_err(|e| format!("finding eddy: {e}"))?;
        let mut command = Command::new(exe);
        command.args(["flink", "run", "--progress-json"]).arg(&copy);
        if let Some(jm) = jobmanager {
            command.args(["--jobmanager", jm]);
        }
        let mut child = command
            .current_dir(base_dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting eddy flink run: {e}"))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let progress = Arc::new(Mutex::new(None));
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
            let progress = Arc::clone(&progress);
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(now) = FlinkProgress::parse(&line) {
                        if let Ok(mut last) = progress.lock() {
                            *last = Some(now);
                        }
                    } else if let Ok(mut kept) = lines.lock() {
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
            progress,
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

    /// The job's state and records per node, as last reported; once the run is over, its end
    /// (a local mini-cluster goes with the program, before it can say the job finished).
    pub fn progress(&self) -> Option<FlinkProgress> {
        let mut last = self.progress.lock().ok().and_then(|p| p.clone())?;
        let ended = matches!(last.state.as_str(), "FINISHED" | "FAILED" | "CANCELED");
        match self.outcome {
            Some(true) if !ended => last.state = "FINISHED".into(),
            Some(false) if !ended => last.state = "FAILED".into(),
            _ => {}
        }
        Some(last)
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
