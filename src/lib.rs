//! Eddy: design, run and watch streaming pipelines on your own machine.
//!
//! Layers, each depending only on those after it:
//! `ui -> runtime -> connectors -> runtime::contract -> model -> expr`, with [`values`] (plain
//! Arrow value formatting) below them all.
//! - [`expr`]: SQL expressions planned against Arrow schemas and evaluated on batches.
//! - [`model`]: the pipeline document, its file format, the kind registry, validation and the plan.
//! - [`runtime`]: the engine: operators on threads, channels, watermarks, windows, metrics, taps;
//!   its `contract` module is what connectors implement.
//! - [`connectors`]: generators, files, the console and in-memory collectors.
//! - [`export`]: the pipeline as Flink SQL or a PyFlink program, with a report of what does not
//!   translate; reads the plan, knows no engine.
//! - [`cli`]: the `eddy` command's subcommands (the binary is a thin wrapper).
//!
//! The model knows no engine; the engine knows no egui. `tests/layers.rs` enforces it.

pub mod cli;
pub mod connectors;
pub mod export;
pub mod expr;
pub mod model;
pub mod runtime;
#[cfg(feature = "gui")]
pub mod ui;
pub mod values;
