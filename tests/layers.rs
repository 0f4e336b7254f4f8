//! Enforces the layer rules of DESIGN.md by reading `use` lines: model knows no engine or UI,
//! the engine knows no UI, expressions know only Arrow and DataFusion.

use std::fs;
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every `use`/path mention of a forbidden module in the layer's files.
fn violations(layer: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src")
        .join(layer);
    let mut found = Vec::new();
    for file in rust_files(&root) {
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in forbidden {
                if code.contains(bad) {
                    found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn model_knows_no_engine_and_no_ui() {
    let bad = violations(
        "model",
        &[
            "crate::runtime",
            "crate::connectors",
            "crate::ui",
            "crate::cli",
            "egui",
            "eframe",
            "std::thread",
            "crossbeam",
        ],
    );
    assert!(
        bad.is_empty(),
        "the model must stay pure data:\n{}",
        bad.join("\n")
    );
}

#[test]
fn expressions_know_only_arrow_and_datafusion() {
    let bad = violations(
        "expr",
        &[
            "crate::model",
            "crate::runtime",
            "crate::connectors",
            "crate::ui",
            "crate::cli",
            "egui",
        ],
    );
    assert!(
        bad.is_empty(),
        "expr must not depend on other layers:\n{}",
        bad.join("\n")
    );
}

#[test]
fn engine_and_connectors_know_no_ui() {
    for layer in ["runtime", "connectors", "export"] {
        let bad = violations(layer, &["crate::ui", "crate::cli", "egui", "eframe"]);
        assert!(
            bad.is_empty(),
            "{layer} must not know the UI:\n{}",
            bad.join("\n")
        );
    }
}

#[test]
fn the_checker_itself_finds_a_violation() {
    // Guards against a rule that can never fire: the model does use serde, so asking for it finds it.
    assert!(!violations("model", &["serde::"]).is_empty());
}
