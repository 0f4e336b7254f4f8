//! Enforces the layer rules of DESIGN.md by reading the paths the code names:
//! `ui -> runtime -> connectors -> runtime::contract -> model -> expr`, and `export -> model`,
//! with `values` (plain Arrow value formatting) below them all; only the runtime's builder names
//! connectors. Every folder a rule names must exist, so a rule cannot pass by checking nothing.

use std::fs;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    let Ok(entries) = fs::read_dir(path) else {
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

/// The code of every line of a layer (comments cut off), with where it is.
fn code_lines(layer: &str) -> Vec<(String, String)> {
    let root = src().join(layer);
    let files = rust_files(&root);
    assert!(
        !files.is_empty(),
        "the layer `{layer}` has no Rust files at {}: a rule about it would check nothing",
        root.display()
    );
    let mut lines = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap_or_default();
        let name = file
            .strip_prefix(src())
            .unwrap_or(&file)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("").to_string();
            lines.push((format!("src/{name}:{}", n + 1), code));
        }
    }
    lines
}

/// Lines of `layer` (files under `except` left out) naming any of `forbidden`.
fn violations(layer: &str, forbidden: &[&str], except: &[&str]) -> Vec<String> {
    code_lines(layer)
        .into_iter()
        .filter(|(at, _)| !except.iter().any(|e| at.starts_with(&format!("src/{e}"))))
        .filter(|(_, code)| forbidden.iter().any(|bad| code.contains(bad)))
        .map(|(at, code)| format!("{at}: {}", code.trim()))
        .collect()
}

/// Lines of `layer` naming `crate::runtime::` anything but its contract.
fn runtime_beyond_contract(layer: &str) -> Vec<String> {
    code_lines(layer)
        .into_iter()
        .filter(|(_, code)| {
            code.match_indices("crate::runtime::")
                .any(|(i, m)| !code[i + m.len()..].starts_with("contract"))
                || code.contains("crate::runtime::{")
        })
        .map(|(at, code)| format!("{at}: {}", code.trim()))
        .collect()
}

const UI: &[&str] = &["crate::ui", "egui", "eframe"];

fn assert_clean(rule: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{rule}:\n{}", found.join("\n"));
}

#[test]
fn values_and_expressions_know_only_arrow_and_datafusion() {
    assert_clean(
        "values knows only Arrow",
        violations("values.rs", &["crate::"], &[]),
    );
    assert_clean(
        "expr must not depend on other layers",
        violations("expr", &["crate::"], &[]),
    );
}

#[test]
fn the_model_is_pure_data() {
    let mut forbidden = vec![
        "crate::runtime",
        "crate::connectors",
        "crate::cli",
        "std::thread",
        "crossbeam",
    ];
    forbidden.extend(UI);
    assert_clean(
        "the model must stay pure data",
        violations("model", &forbidden, &[]),
    );
}

#[test]
fn the_contract_stands_alone_and_connectors_know_only_the_contract() {
    let mut forbidden = vec!["crate::connectors", "crate::cli", "super::super"];
    forbidden.extend(UI);
    assert_clean(
        "the runtime's contract names nothing above it",
        violations("runtime/contract", &forbidden, &[]),
    );
    assert_clean(
        "the contract names no other part of the runtime",
        runtime_beyond_contract("runtime/contract"),
    );
    let mut forbidden = vec!["crate::cli"];
    forbidden.extend(UI);
    assert_clean(
        "connectors must not know the UI",
        violations("connectors", &forbidden, &[]),
    );
    assert_clean(
        "connectors depend on the runtime's contract only",
        runtime_beyond_contract("connectors"),
    );
}

#[test]
fn only_the_builder_names_connectors_and_the_engine_knows_no_ui() {
    assert_clean(
        "only runtime/build.rs names connectors",
        violations("runtime", &["crate::connectors"], &["runtime/build.rs"]),
    );
    let mut forbidden = vec!["crate::cli"];
    forbidden.extend(UI);
    assert_clean(
        "the engine must not know the UI",
        violations("runtime", &forbidden, &[]),
    );
}

#[test]
fn the_exporter_reads_the_plan_and_knows_no_engine() {
    let mut forbidden = vec![
        "crate::runtime",
        "crate::connectors",
        "crate::cli",
        "std::thread",
    ];
    forbidden.extend(UI);
    assert_clean(
        "the exporter reads the model and expressions only",
        violations("export", &forbidden, &[]),
    );
}

#[test]
fn the_checker_itself_finds_a_violation_and_refuses_a_missing_folder() {
    // Guards against rules that can never fire: the model does use serde, the builder does name
    // connectors, the UI does name the engine beyond its contract, and a folder that does not
    // exist is refused.
    assert!(!violations("model", &["serde::"], &[]).is_empty());
    assert!(!violations("runtime", &["crate::connectors"], &[]).is_empty());
    assert!(!runtime_beyond_contract("ui").is_empty());
    let missing = std::panic::catch_unwind(|| code_lines("no_such_layer"));
    assert!(missing.is_err(), "a missing folder must fail the check");
}
