//! The checkpoint directory. Layout (format version 1):
//!
//! ```text
//! DIR/_job.json              the job: its name (in in-progress sink file names), pipeline, mode
//! DIR/chk-000007/            a complete checkpoint; written as chk-000007.inprogress/ and renamed
//!     _metadata.json         id, times, and per node its kind, state signature, instances and
//!                            one state file per instance with its size and CRC-32
//!     task-0003.state        one task's state (see each operator's `save_state`)
//! DIR/_committing.json       the finished run's files being put in place (a crash there is
//!                            completed by `--resume`)
//! DIR/_finished.json         the run completed and its files are in place
//! ```
//!
//! Every file is written to a temporary name, synced and renamed, so a crash leaves either the old
//! file or the new one. Loading checks every state file's size and checksum and falls back to the
//! previous complete checkpoint, saying which one was damaged and why.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::runtime::contract::{Commits, RunError};

pub const FORMAT_VERSION: u32 = 1;
const JOB_FILE: &str = "_job.json";
const METADATA_FILE: &str = "_metadata.json";
const COMMITTING_FILE: &str = "_committing.json";
const FINISHED_FILE: &str = "_finished.json";

/// `_job.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobFile {
    pub format: String,
    pub version: u32,
    pub job: String,
    pub pipeline: String,
    pub mode: String,
    /// The interval between checkpoints, which `--resume` keeps unless told otherwise.
    pub every_ms: u64,
}

/// One state file in `_metadata.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StateFile {
    pub instance: usize,
    pub file: String,
    pub bytes: u64,
    pub crc32: u32,
}

/// One node in `_metadata.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NodeMetadata {
    pub node: String,
    pub kind: String,
    /// What the state's layout depends on (key columns, aggregates, …): restoring into a node
    /// whose signature changed is refused.
    pub signature: String,
    pub instances: usize,
    pub files: Vec<StateFile>,
}

/// `_metadata.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    pub format: String,
    pub version: u32,
    pub id: u64,
    pub job: String,
    pub mode: String,
    pub savepoint: bool,
    /// Wall-clock time the checkpoint was triggered, ms since the epoch.
    pub triggered_at_ms: i64,
    pub duration_ms: u64,
    pub nodes: Vec<NodeMetadata>,
}

/// A node's saved state, read back and checked.
#[derive(Debug, Clone)]
pub struct NodeState {
    pub kind: String,
    pub signature: String,
    /// One blob per saved instance, in instance order.
    pub blobs: Vec<Vec<u8>>,
}

/// A complete checkpoint read back from disk.
#[derive(Debug, Clone)]
pub struct LoadedCheckpoint {
    pub id: u64,
    pub path: PathBuf,
    pub metadata: Metadata,
    pub nodes: BTreeMap<String, NodeState>,
    /// Damaged newer checkpoints that were passed over, with the reason.
    pub warnings: Vec<String>,
}

/// One task's state, ready to be written.
pub struct TaskState {
    pub node: String,
    pub instance: usize,
    pub blob: Option<Vec<u8>>,
}

fn io_error(what: &str, path: &Path, e: std::io::Error) -> RunError {
    RunError::io(format!("{what} {}: {e}", path.display()))
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), RunError> {
    let temp = path.with_extension("tmp");
    let mut file = fs::File::create(&temp).map_err(|e| io_error("cannot create", &temp, e))?;
    file.write_all(bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| io_error("cannot write", &temp, e))?;
    fs::rename(&temp, path).map_err(|e| io_error("cannot rename", &temp, e))
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn checkpoint_dir_name(id: u64) -> String {
    format!("chk-{id:06}")
}

fn parse_checkpoint_dir(name: &str) -> Option<u64> {
    name.strip_prefix("chk-")?.parse().ok()
}

/// Reads `_job.json`, if the directory has one.
pub fn read_job(dir: &Path) -> Result<Option<JobFile>, RunError> {
    let path = dir.join(JOB_FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| RunError::data(format!("{} is not a job file: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("cannot read", &path, e)),
    }
}

/// Starts a fresh job in `dir`: refuses a directory that holds an unfinished run's checkpoints.
pub fn start_job(dir: &Path, job: &JobFile) -> Result<(), RunError> {
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
    let unfinished = !checkpoint_ids(dir)?.is_empty() && !dir.join(FINISHED_FILE).exists();
    if unfinished {
        return Err(RunError::config(format!(
            "{} holds checkpoints of a run that did not finish: continue it with --resume, or \
             delete the directory to start over",
            dir.display()
        )));
    }
    for id in checkpoint_ids(dir)? {
        let _ = fs::remove_dir_all(dir.join(checkpoint_dir_name(id)));
    }
    let _ = fs::remove_file(dir.join(FINISHED_FILE));
    let bytes = serde_json::to_vec_pretty(job).map_err(|e| RunError::internal(e.to_string()))?;
    write_atomically(&dir.join(JOB_FILE), &bytes)
}

/// Starts `job` in `dir` over, whatever was there (the app's Run button: the user asked for a
/// fresh run); its in-progress files have the same names and are started over too.
pub fn reset_job(dir: &Path, job: &JobFile) -> Result<(), RunError> {
    fs::create_dir_all(dir).map_err(|e| io_error("cannot create", dir, e))?;
    for id in checkpoint_ids(dir)? {
        let _ = fs::remove_dir_all(dir.join(checkpoint_dir_name(id)));
    }
    let _ = fs::remove_file(dir.join(FINISHED_FILE));
    let _ = fs::remove_file(dir.join(COMMITTING_FILE));
    let bytes = serde_json::to_vec_pretty(job).map_err(|e| RunError::internal(e.to_string()))?;
    write_atomically(&dir.join(JOB_FILE), &bytes)
}

/// Ids of the complete checkpoints in `dir`, oldest first.
pub fn checkpoint_ids(dir: &Path) -> Result<Vec<u64>, RunError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("cannot list", dir, e)),
    };
    let mut ids: Vec<u64> = entries
        .filter_map(Result::ok)
        .filter_map(|e| parse_checkpoint_dir(&e.file_name().to_string_lossy()))
        .collect();
    ids.sort_unstable();
    Ok(ids)
}

/// Writes a complete checkpoint and deletes the oldest beyond `retain`; returns its size.
pub fn write_checkpoint(
    dir: &Path,
    mut metadata: Metadata,
    tasks: Vec<TaskState>,
    node_info: &BTreeMap<String, (String, String, usize)>,
    retain: usize,
) -> Result<u64, RunError> {
    let final_dir = dir.join(checkpoint_dir_name(metadata.id));
    let temp_dir = dir.join(format!("{}.inprogress", checkpoint_dir_name(metadata.id)));
    let _ = fs::remove_dir_all(&temp_dir);
    fs::create_dir_all(&temp_dir).map_err(|e| io_error("cannot create", &temp_dir, e))?;
    let mut nodes: BTreeMap<String, NodeMetadata> = BTreeMap::new();
    let mut total = 0u64;
    for (index, task) in tasks.into_iter().enumerate() {
        let (kind, signature, instances) = node_info
            .get(&task.node)
            .cloned()
            .unwrap_or_else(|| ("?".into(), String::new(), 1));
        let entry = nodes
            .entry(task.node.clone())
            .or_insert_with(|| NodeMetadata {
                node: task.node.clone(),
                kind,
                signature,
                instances,
                files: Vec::new(),
            });
        let Some(blob) = task.blob else { continue };
        let file = format!("task-{index:04}.state");
        let path = temp_dir.join(&file);
        let mut f = fs::File::create(&path).map_err(|e| io_error("cannot create", &path, e))?;
        f.write_all(&blob)
            .and_then(|_| f.sync_all())
            .map_err(|e| io_error("cannot write", &path, e))?;
        total += blob.len() as u64;
        entry.files.push(StateFile {
            instance: task.instance,
            file,
            bytes: blob.len() as u64,
            crc32: crc32fast::hash(&blob),
        });
    }
    metadata.nodes = nodes.into_values().collect();
    let bytes =
        serde_json::to_vec_pretty(&metadata).map_err(|e| RunError::internal(e.to_string()))?;
    write_atomically(&temp_dir.join(METADATA_FILE), &bytes)?;
    sync_dir(&temp_dir);
    let _ = fs::remove_dir_all(&final_dir);
    fs::rename(&temp_dir, &final_dir).map_err(|e| io_error("cannot rename", &temp_dir, e))?;
    sync_dir(dir);
    let ids = checkpoint_ids(dir)?;
    if ids.len() > retain.max(1) {
        for id in &ids[..ids.len() - retain.max(1)] {
            let _ = fs::remove_dir_all(dir.join(checkpoint_dir_name(*id)));
        }
    }
    Ok(total)
}

/// Reads and checks one checkpoint directory.
fn load_one(path: &Path) -> Result<LoadedCheckpoint, String> {
    let meta_path = path.join(METADATA_FILE);
    let bytes = fs::read(&meta_path).map_err(|e| format!("{METADATA_FILE}: {e}"))?;
    let metadata: Metadata =
        serde_json::from_slice(&bytes).map_err(|e| format!("{METADATA_FILE}: {e}"))?;
    if metadata.version != FORMAT_VERSION {
        return Err(format!(
            "format version {} (this Eddy reads {FORMAT_VERSION})",
            metadata.version
        ));
    }
    let mut nodes = BTreeMap::new();
    for node in &metadata.nodes {
        let mut files = node.files.clone();
        files.sort_by_key(|f| f.instance);
        let mut blobs = Vec::with_capacity(files.len());
        for file in &files {
            if file.file.contains('/') || file.file.contains('\\') || file.file.starts_with('.') {
                return Err(format!("state file name `{}` is not allowed", file.file));
            }
            let file_path = path.join(&file.file);
            let size = fs::metadata(&file_path)
                .map_err(|e| format!("{}: {e}", file.file))?
                .len();
            if size != file.bytes {
                return Err(format!(
                    "{} has {size} bytes, its metadata says {}",
                    file.file, file.bytes
                ));
            }
            let blob = fs::read(&file_path).map_err(|e| format!("{}: {e}", file.file))?;
            if crc32fast::hash(&blob) != file.crc32 {
                return Err(format!("{} fails its CRC-32 check", file.file));
            }
            blobs.push(blob);
        }
        nodes.insert(
            node.node.clone(),
            NodeState {
                kind: node.kind.clone(),
                signature: node.signature.clone(),
                blobs,
            },
        );
    }
    Ok(LoadedCheckpoint {
        id: metadata.id,
        path: path.to_path_buf(),
        metadata,
        nodes,
        warnings: Vec::new(),
    })
}

/// The newest complete checkpoint that reads back whole, or `None` when there is none; damaged
/// newer ones are named in its warnings.
pub fn load_latest(dir: &Path) -> Result<(Option<LoadedCheckpoint>, Vec<String>), RunError> {
    let mut warnings = Vec::new();
    for id in checkpoint_ids(dir)?.into_iter().rev() {
        let path = dir.join(checkpoint_dir_name(id));
        match load_one(&path) {
            Ok(mut loaded) => {
                loaded.warnings = warnings.clone();
                return Ok((Some(loaded), warnings));
            }
            Err(reason) => warnings.push(format!(
                "checkpoint {} is damaged ({reason}); using the one before it",
                path.display()
            )),
        }
    }
    Ok((None, warnings))
}

/// Whether the job in `dir` finished (its files are in place).
pub fn finished(dir: &Path) -> bool {
    dir.join(FINISHED_FILE).exists()
}

/// `_committing.json`: the files a completed run puts in place.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CommitJournal {
    files: Vec<(PathBuf, PathBuf)>,
}

/// Puts a completed checkpointed run's files in place, with a journal so a crash halfway is
/// completed by the next `--resume`; then marks the job finished. Returns the targets.
pub fn commit_with_journal(dir: &Path, commits: &Commits) -> Result<Vec<PathBuf>, RunError> {
    let files: Vec<(PathBuf, PathBuf)> = commits
        .prepared()
        .into_iter()
        .map(|f| (f.temp, f.target))
        .collect();
    let journal = CommitJournal { files };
    let bytes =
        serde_json::to_vec_pretty(&journal).map_err(|e| RunError::internal(e.to_string()))?;
    write_atomically(&dir.join(COMMITTING_FILE), &bytes)?;
    let done = commits.commit()?;
    finish_job(dir)?;
    Ok(done)
}

fn finish_job(dir: &Path) -> Result<(), RunError> {
    write_atomically(&dir.join(FINISHED_FILE), b"{\"finished\": true}\n")?;
    let _ = fs::remove_file(dir.join(COMMITTING_FILE));
    sync_dir(dir);
    Ok(())
}

/// Completes a commit a crash interrupted: renames what is still waiting; returns the targets,
/// or `None` when no commit was under way.
pub fn complete_interrupted_commit(dir: &Path) -> Result<Option<Vec<PathBuf>>, RunError> {
    let path = dir.join(COMMITTING_FILE);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("cannot read", &path, e)),
    };
    let journal: CommitJournal = serde_json::from_slice(&bytes)
        .map_err(|e| RunError::data(format!("{} is damaged: {e}", path.display())))?;
    let mut done = Vec::new();
    for (temp, target) in journal.files {
        if temp.exists() {
            fs::rename(&temp, &target).map_err(|e| io_error("cannot rename", &temp, e))?;
        }
        done.push(target);
    }
    finish_job(dir)?;
    Ok(Some(done))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory of this test's own.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("eddy-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn metadata(id: u64) -> Metadata {
        Metadata {
            format: "eddy-checkpoint".into(),
            version: FORMAT_VERSION,
            id,
            job: "job".into(),
            mode: "exactly-once".into(),
            savepoint: false,
            triggered_at_ms: 0,
            duration_ms: 1,
            nodes: Vec::new(),
        }
    }

    fn write(dir: &Path, id: u64, blob: &[u8], retain: usize) {
        let info = BTreeMap::from([("win".to_string(), ("Window".into(), "sig".into(), 1))]);
        let tasks = vec![TaskState {
            node: "win".into(),
            instance: 0,
            blob: Some(blob.to_vec()),
        }];
        write_checkpoint(dir, metadata(id), tasks, &info, retain).unwrap();
    }

    #[test]
    fn the_newest_whole_checkpoint_is_loaded_and_the_oldest_beyond_retain_deleted() {
        let dir = scratch("chk-retain");
        for id in 1..=4 {
            write(dir.as_path(), id, &[id as u8; 10], 3);
        }
        assert_eq!(checkpoint_ids(dir.as_path()).unwrap(), vec![2, 3, 4]);
        let (loaded, warnings) = load_latest(dir.as_path()).unwrap();
        let loaded = loaded.unwrap();
        assert!(warnings.is_empty());
        assert_eq!(loaded.id, 4);
        assert_eq!(loaded.nodes["win"].blobs, vec![vec![4u8; 10]]);
    }

    #[test]
    fn a_damaged_or_half_written_checkpoint_falls_back_to_the_one_before_with_a_warning() {
        let dir = scratch("chk-damaged");
        write(dir.as_path(), 1, b"first", 3);
        write(dir.as_path(), 2, b"second", 3);
        write(dir.as_path(), 3, b"third", 3);
        // Checkpoint 3: one flipped byte. Checkpoint 2: its metadata cut short.
        let state = dir.as_path().join("chk-000003/task-0000.state");
        fs::write(&state, b"thirD").unwrap();
        let meta = dir.as_path().join("chk-000002/_metadata.json");
        let text = fs::read(&meta).unwrap();
        fs::write(&meta, &text[..text.len() / 2]).unwrap();
        // A checkpoint still being written is not a candidate.
        fs::create_dir_all(dir.as_path().join("chk-000004.inprogress")).unwrap();
        let (loaded, warnings) = load_latest(dir.as_path()).unwrap();
        assert_eq!(loaded.unwrap().id, 1);
        assert_eq!(warnings.len(), 2);
        assert!(warnings[0].contains("chk-000003") && warnings[0].contains("CRC-32"));
        assert!(warnings[1].contains("chk-000002") && warnings[1].contains("_metadata.json"));
    }

    #[test]
    fn a_fresh_job_refuses_a_directory_with_an_unfinished_run() {
        let dir = scratch("chk-fresh-job");
        write(dir.as_path(), 1, b"x", 3);
        let job = JobFile {
            format: "eddy-checkpoints".into(),
            version: FORMAT_VERSION,
            job: "j".into(),
            pipeline: "p".into(),
            mode: "exactly-once".into(),
            every_ms: 1000,
        };
        let error = start_job(dir.as_path(), &job).unwrap_err().to_string();
        assert!(error.contains("--resume"), "{error}");
        finish_job(dir.as_path()).unwrap();
        start_job(dir.as_path(), &job).unwrap();
        assert!(checkpoint_ids(dir.as_path()).unwrap().is_empty());
    }
}
