//! The engine: a validated pipeline becomes operator instances on named threads, joined by bounded
//! channels carrying Arrow batches and in-band control (watermarks, idleness, end). No egui here.

pub mod build;
pub mod clock;
pub mod error;
pub mod keys;
pub mod message;
pub mod metrics;
pub mod operator;
pub mod operators;
pub mod outputs;
pub mod run;
pub mod source;
pub mod tap;
pub mod task;
pub mod trace;
pub mod window;

pub use clock::Speed;
pub use error::RunError;
pub use run::{RunHandle, RunOptions, RunReport, RunStatus, start};
