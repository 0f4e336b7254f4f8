//! The pipeline document: nodes, ports, edges and layout; its file format; validation; the kind
//! registry; and the checked plan the engine runs.
//!
//! Pure data: serde, Arrow types and SQL expression planning. No engine, no threads, no egui.

pub mod check;
pub mod columns;
pub mod document;
pub mod duration;
pub mod file;
pub mod files;
pub mod form;
pub mod graph;
pub mod infer;
pub mod kind;
pub mod kinds;
pub mod node;
pub mod plan;
pub mod presets;
pub mod problem;
pub mod schema;
pub mod secrets;
pub mod source_map;
pub mod starter;
pub mod time;
pub mod validate;

pub use document::{Edge, FORMAT_VERSION, Layout, Pipeline, PortRef, Position};
pub use duration::Duration;
pub use kinds::{KindId, NodeKind};
pub use node::{Family, Node};
pub use plan::Plan;
pub use problem::{FilePosition, Problem, Severity, Subject};
pub use validate::{PlanErrors, Validation, plan, validate, validate_in};
