//! The engine: a plan becomes operator instances on named threads, joined by bounded channels
//! carrying Arrow batches and in-band control (watermarks, the run's clock, barriers, idleness,
//! end). `contract` is what plugs into it; `build` is the one place that names connectors. No egui.

pub mod build;
pub mod checkpoint;
pub mod clock;
pub mod contract;
pub mod edges;
pub mod firehose_stats;
pub mod handle;
pub mod inject;
pub mod kcl_stats;
pub mod keys;
pub mod lambda_stats;
pub mod metrics;
pub mod operators;
pub mod pattern_stats;
pub mod preview;
pub mod row_times;
pub mod run;
pub mod shard_stats;
pub mod source_loop;
pub mod tap;
pub mod task;
pub mod trace;
pub mod window;
pub mod wiring;

pub use clock::Speed;
pub use contract::RunError;
pub use handle::{Outputs, RunHandle, RunReport, RunStatus};
pub use run::{RunOptions, start, start_pipeline};
