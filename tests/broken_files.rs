//! A corpus of broken pipeline files, each refused with the expected messages at the expected
//! positions. Expectations sit at the end of each file as `// expect: LINE:COL: text` comments.

use std::fs;
use std::path::{Path, PathBuf};

use eddy::model::check::check_file;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/broken");
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}

struct Expectation {
    line: usize,
    column: usize,
    text: String,
}

fn expectations(text: &str) -> Vec<Expectation> {
    text.lines()
        .filter_map(|l| l.strip_prefix("// expect: "))
        .map(|rest| {
            let mut parts = rest.splitn(3, ':');
            let line = parts.next().unwrap().trim().parse().unwrap();
            let column = parts.next().unwrap().trim().parse().unwrap();
            let text = parts.next().unwrap().trim().to_string();
            Expectation { line, column, text }
        })
        .collect()
}

#[test]
fn the_corpus_covers_the_kinds_of_mistakes() {
    let names: Vec<String> = corpus()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for kind in [
        "syntax_error",
        "unknown_kind",
        "unknown_field",
        "missing_port",
        "cycle",
        "type_error",
        "bad_expression",
        "newer_version",
        "many_problems",
        "downstream_errors",
    ] {
        assert!(names.iter().any(|n| n == kind), "no broken file for {kind}");
    }
}

#[test]
fn every_broken_file_is_refused_with_the_expected_problems() {
    for path in corpus() {
        let text = fs::read_to_string(&path).unwrap();
        let expected = expectations(&text);
        assert!(
            !expected.is_empty(),
            "{} has no expectations",
            path.display()
        );
        let checked = check_file(&path);
        let errors: Vec<_> = checked.problems.iter().filter(|p| p.is_error()).collect();
        let shown: Vec<String> = errors
            .iter()
            .map(|p| p.display_in(&path.display().to_string()).to_string())
            .collect();
        for e in &expected {
            let found = errors.iter().any(|p| {
                p.position
                    .is_some_and(|pos| pos.line == e.line && pos.column == e.column)
                    && p.message.contains(&e.text)
            });
            assert!(
                found,
                "{}: expected `{}` at {}:{}, got:\n{}",
                path.display(),
                e.text,
                e.line,
                e.column,
                shown.join("\n")
            );
        }
        assert_eq!(
            errors.len(),
            expected.len(),
            "{}: unexpected extra errors:\n{}",
            path.display(),
            shown.join("\n")
        );
    }
}
