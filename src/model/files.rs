//! What a pipeline's files may be, judged on their real paths (`./`, `..` and symlinked folders
//! resolved): no sink writes a source's input, the pipeline file itself, another sink's file, a
//! folder or a special file (FIFO, device, socket); and none writes outside the pipeline's folder
//! unless it says `allow_outside: true`.

use std::path::{Component, Path, PathBuf};

use super::document::Pipeline;
use super::kind::FileUse;
use super::problem::Problem;

/// The real path of `path`: the longest part that exists with its symlinks resolved, the rest
/// (which does not exist yet) added without `.` and with `..` applied.
pub fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let components: Vec<Component> = absolute.components().collect();
    // The longest prefix that exists can be canonicalized; what follows is only text.
    for split in (0..=components.len()).rev() {
        let prefix: PathBuf = components[..split].iter().collect();
        let Ok(mut real) = prefix.canonicalize() else {
            continue;
        };
        for component in &components[split..] {
            match component {
                Component::ParentDir => {
                    real.pop();
                }
                Component::CurDir => {}
                other => real.push(other),
            }
        }
        return real;
    }
    absolute
}

/// Every problem with where the pipeline's sinks write.
pub fn check_files(
    pipeline: &Pipeline,
    base_dir: &Path,
    pipeline_file: Option<&Path>,
    problems: &mut Vec<Problem>,
) {
    let base = real_path(base_dir);
    let own_file = pipeline_file.map(real_path);
    let mut reads: Vec<(&str, String, PathBuf)> = Vec::new();
    let mut writes: Vec<(&str, String, bool, PathBuf)> = Vec::new();
    let mut folders: Vec<(&str, String, bool, PathBuf)> = Vec::new();
    for node in &pipeline.nodes {
        for file in node.kind.model().files() {
            match file {
                FileUse::Reads(path) => {
                    let real = real_path(&base_dir.join(&path));
                    reads.push((&node.id, path, real));
                }
                FileUse::Writes {
                    path,
                    allow_outside,
                } if !path.trim().is_empty() => {
                    let real = real_path(&base_dir.join(&path));
                    writes.push((&node.id, path, allow_outside, real));
                }
                FileUse::Writes { .. } => {}
                FileUse::WritesInto {
                    folder,
                    allow_outside,
                } if !folder.trim().is_empty() => {
                    let real = real_path(&base_dir.join(&folder));
                    folders.push((&node.id, folder, allow_outside, real));
                }
                FileUse::WritesInto { .. } => {}
            }
        }
    }
    check_folders(
        &folders,
        &reads,
        &writes,
        &base,
        own_file.as_deref(),
        problems,
    );
    for (i, (id, path, allow_outside, real)) in writes.iter().enumerate() {
        let mut refuse = |message: String| problems.push(Problem::node(id, Some("path"), message));
        if let Ok(meta) = std::fs::metadata(real) {
            if meta.is_dir() {
                refuse(format!("`{path}` is a folder; a sink writes a file"));
                continue;
            }
            if !meta.is_file() {
                refuse(format!(
                    "`{path}` is not a regular file (a FIFO, a device or a socket); a sink writes a regular file"
                ));
                continue;
            }
        }
        if own_file.as_ref() == Some(real) {
            refuse(format!(
                "`{path}` is this pipeline's own file; writing it would destroy the pipeline"
            ));
        }
        for (source, input, read) in &reads {
            if read == real {
                refuse(format!(
                    "`{path}` is `{input}`, the input of `{source}`; the run would overwrite what it reads"
                ));
            }
        }
        if let Some((other, ..)) = writes[..i].iter().find(|(.., r)| r == real) {
            refuse(format!(
                "`{path}` is also written by `{other}`; two sinks on one file would mix their rows"
            ));
        }
        if !allow_outside && !real.starts_with(&base) {
            refuse(format!(
                "`{path}` is outside the pipeline's folder (it is really {}); set `allow_outside: true` if that is intended",
                real.display()
            ));
        }
    }
}

/// Folders that nodes write files into: each must be a folder (or not exist yet), hold no
/// source's input, not the pipeline file, no sink's file and no other node's folder, and lie
/// inside the pipeline's folder unless `allow_outside` says otherwise.
fn check_folders(
    folders: &[(&str, String, bool, PathBuf)],
    reads: &[(&str, String, PathBuf)],
    writes: &[(&str, String, bool, PathBuf)],
    base: &Path,
    own_file: Option<&Path>,
    problems: &mut Vec<Problem>,
) {
    for (i, (id, folder, allow_outside, real)) in folders.iter().enumerate() {
        let mut refuse =
            |message: String| problems.push(Problem::node(id, Some("destination"), message));
        if let Ok(meta) = std::fs::metadata(real)
            && !meta.is_dir()
        {
            refuse(format!("`{folder}` is a file; the bucket is a folder"));
            continue;
        }
        if real == base {
            refuse(format!(
                "`{folder}` is the pipeline's own folder; give the bucket a folder of its own"
            ));
        }
        if own_file.is_some_and(|f| f.starts_with(real)) {
            refuse(format!("`{folder}` holds this pipeline's file"));
        }
        for (source, input, read) in reads {
            if read.starts_with(real) {
                refuse(format!(
                    "`{folder}` holds `{input}`, the input of `{source}`; write the objects elsewhere"
                ));
            }
        }
        for (sink, path, _, written) in writes {
            if written.starts_with(real) {
                refuse(format!(
                    "`{folder}` holds `{path}`, which `{sink}` writes; keep the bucket apart"
                ));
            }
        }
        if let Some((other, ..)) = folders[..i]
            .iter()
            .find(|(.., r)| r.starts_with(real) || real.starts_with(r))
        {
            refuse(format!(
                "`{folder}` overlaps the folder `{other}` writes into"
            ));
        }
        if !allow_outside && !real.starts_with(base) {
            refuse(format!(
                "`{folder}` is outside the pipeline's folder (it is really {}); set `allow_outside: true` if that is intended",
                real.display()
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_paths_resolve_dot_dot_and_symlinked_folders() {
        let dir = std::env::temp_dir().join(format!("eddy-real-{}", std::process::id()));
        let inside = dir.join("p");
        let elsewhere = dir.join("elsewhere");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(&elsewhere).unwrap();
        let inside = inside.canonicalize().unwrap();
        let elsewhere = elsewhere.canonicalize().unwrap();
        assert_eq!(
            real_path(&inside.join("out/../x.csv")),
            inside.join("x.csv")
        );
        assert_eq!(real_path(&inside.join("./a/b.csv")), inside.join("a/b.csv"));
        assert!(!real_path(&inside.join("../x.csv")).starts_with(&inside));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&elsewhere, inside.join("link")).unwrap();
            assert_eq!(
                real_path(&inside.join("link/out.csv")),
                elsewhere.join("out.csv")
            );
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
