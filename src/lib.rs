//! Eddy: design, run and watch streaming pipelines on your own machine.
//!
//! Layers, each depending only on those after it: `ui -> runtime -> connectors -> model -> expr`.
//! - [`expr`]: SQL expressions planned against Arrow schemas and evaluated on batches.
//! - [`model`]: the pipeline document, its file format, validation and schema inference.
//! - [`runtime`]: the engine: operators on threads, channels, watermarks, windows, metrics, taps.
//! - [`connectors`]: generators, files, the console and in-memory collectors.
//! - [`cli`]: the `eddy` command's subcommands (the binary is a thin wrapper).
//!
//! The model knows no engine; the engine knows no egui. `tests/layers.rs` enforces it.

pub mod cli;
pub mod connectors;
pub mod expr;
pub mod model;
pub mod runtime;
#[cfg(feature = "gui")]
pub mod ui;
