//! `eddy run`'s checkpoint options: where checkpoints go, starting a job or resuming one, and
//! what to say about them at the end.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::model::Duration as ModelDuration;
use crate::runtime::checkpoint::CheckpointStatus;
use crate::runtime::checkpoint::store::{
    self, FORMAT_VERSION, JobFile, complete_interrupted_commit, load_latest, read_job, start_job,
};
use crate::runtime::checkpoint::{CheckpointMode, CheckpointRecord, CheckpointSettings};

/// The checkpoint flags of `eddy run`.
#[derive(Debug, Clone, Default)]
pub struct CheckpointArgs {
    pub every: Option<ModelDuration>,
    pub dir: Option<PathBuf>,
    pub mode: Option<String>,
    pub retain: usize,
    /// `--resume` (with its directory, if given).
    pub resume: Option<Option<PathBuf>>,
}

/// What the flags ask for.
pub enum Plan {
    /// No checkpoints.
    None,
    /// Run with these settings.
    Run(CheckpointSettings),
    /// Nothing to run: the job completed (or its interrupted commit was just completed).
    AlreadyDone(String),
}

/// `.eddy-checkpoints/<file stem>` beside the pipeline file.
pub fn default_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pipeline".into());
    file.parent()
        .unwrap_or(Path::new("."))
        .join(".eddy-checkpoints")
        .join(stem)
}

fn mode_of(text: Option<&str>) -> anyhow::Result<Option<CheckpointMode>> {
    match text {
        None => Ok(None),
        Some(t) => CheckpointMode::parse(t).map(Some).ok_or_else(|| {
            anyhow::anyhow!("--checkpoint-mode {t}: use exactly-once or at-least-once")
        }),
    }
}

fn every_of(d: ModelDuration) -> anyhow::Result<Duration> {
    let ms = d.as_millis();
    if ms < 10 {
        anyhow::bail!("--checkpoint-every must be at least 10ms");
    }
    Ok(Duration::from_millis(ms as u64))
}

/// Turns the flags into checkpoint settings: a fresh job, a resumed one, or none.
pub fn plan(file: &Path, pipeline: &str, args: &CheckpointArgs) -> anyhow::Result<Plan> {
    let mode = mode_of(args.mode.as_deref())?;
    let resume_dir = args
        .resume
        .as_ref()
        .map(|d| d.clone().or_else(|| args.dir.clone()));
    let settings =
        |dir: PathBuf, every: Duration, mode: CheckpointMode, job: String| CheckpointSettings {
            every,
            dir,
            mode,
            retain: args.retain.max(1),
            job,
            restore: None,
            notes: Arc::new(Mutex::new(Vec::new())),
        };
    if let Some(dir) = resume_dir {
        let dir = dir.unwrap_or_else(|| default_dir(file));
        if store::finished(&dir) {
            return Ok(Plan::AlreadyDone(format!(
                "the run checkpointed in {} completed; its outputs are in place, nothing to resume",
                dir.display()
            )));
        }
        if let Some(files) = complete_interrupted_commit(&dir)? {
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            return Ok(Plan::AlreadyDone(format!(
                "the run had completed and was putting its outputs in place when it stopped; \
                 done now: {}",
                names.join(", ")
            )));
        }
        let Some(job) = read_job(&dir)? else {
            anyhow::bail!(
                "{} holds no checkpoints of a run to resume (start one with --checkpoint-every)",
                dir.display()
            );
        };
        let mode = mode
            .or_else(|| CheckpointMode::parse(&job.mode))
            .unwrap_or(CheckpointMode::ExactlyOnce);
        let every = match args.every {
            Some(d) => every_of(d)?,
            None => Duration::from_millis(job.every_ms.max(10)),
        };
        let (loaded, warnings) = load_latest(&dir)?;
        for warning in &warnings {
            eprintln!("eddy: warning: {warning}");
        }
        let mut s = settings(dir, every, mode, job.job);
        match loaded {
            Some(loaded) => {
                eprintln!(
                    "eddy: resuming from checkpoint {} ({}), {}",
                    loaded.id,
                    loaded.path.display(),
                    mode.name()
                );
                s.restore = Some(Arc::new(loaded));
            }
            None => eprintln!(
                "eddy: no complete checkpoint in {}; starting from the beginning",
                s.dir.display()
            ),
        }
        return Ok(Plan::Run(s));
    }
    let Some(every) = args.every else {
        if args.dir.is_some() || args.mode.is_some() {
            anyhow::bail!("--checkpoint-dir and --checkpoint-mode need --checkpoint-every");
        }
        return Ok(Plan::None);
    };
    let every = every_of(every)?;
    let mode = mode.unwrap_or(CheckpointMode::ExactlyOnce);
    let dir = args.dir.clone().unwrap_or_else(|| default_dir(file));
    let job = format!(
        "job{}-{}",
        std::process::id(),
        crate::runtime::clock::Clock::now_millis()
    );
    start_job(
        &dir,
        &JobFile {
            format: "eddy-checkpoints".into(),
            version: FORMAT_VERSION,
            job: job.clone(),
            pipeline: pipeline.into(),
            mode: mode.name().into(),
            every_ms: every.as_millis() as u64,
        },
    )?;
    Ok(Plan::Run(settings(dir, every, mode, job)))
}

/// One line per checkpoint outcome at the end of a run.
pub fn summary(history: &[CheckpointRecord], settings: &CheckpointSettings) -> Vec<String> {
    let completed: Vec<&CheckpointRecord> = history
        .iter()
        .filter(|r| r.status == CheckpointStatus::Completed)
        .collect();
    let failed = history
        .iter()
        .filter(|r| matches!(r.status, CheckpointStatus::Failed(_)))
        .count();
    let mut lines = Vec::new();
    match completed.last() {
        Some(last) => lines.push(format!(
            "checkpoints: {} completed{} ({}), the last {} {}: {} bytes of state, {} ms, alignment {} ms",
            completed.len(),
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            },
            settings.mode.name(),
            if last.savepoint { "a savepoint," } else { "checkpoint" },
            last.id,
            last.size(),
            last.duration.as_millis(),
            last.alignment.as_millis()
        )),
        None => lines.push(format!(
            "checkpoints: none completed ({})",
            settings.mode.name()
        )),
    }
    for record in history {
        if let CheckpointStatus::Failed(reason) = &record.status {
            lines.push(format!("checkpoint {} failed: {reason}", record.id));
        }
    }
    if let Ok(notes) = settings.notes.lock() {
        lines.extend(notes.iter().cloned());
    }
    lines
}
