//! The pipeline document: nodes, ports, edges and layout; its file format; validation; schemas.
//!
//! Pure data: serde, Arrow types and SQL expression planning. No engine, no threads, no egui.

pub mod check;
pub mod columns;
pub mod document;
pub mod duration;
pub mod file;
pub mod graph;
pub mod infer;
pub mod node;
pub mod presets;
pub mod problem;
pub mod schema;
pub mod sink;
pub mod source;
pub mod source_map;
pub mod starter;
pub mod summary;
pub mod templates;
pub mod time;
pub mod transform;
pub mod validate;
pub mod window;

pub use document::{Edge, FORMAT_VERSION, Layout, Pipeline, PortRef, Position};
pub use duration::Duration;
pub use node::{Family, Node, NodeKind};
pub use problem::{FilePosition, Problem, Severity, Subject};
pub use validate::{Validation, validate};
