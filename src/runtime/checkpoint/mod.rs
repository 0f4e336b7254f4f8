//! Checkpoints (Flink's, in one process): the coordinator triggers them and collects each task's
//! state, the store writes them to a checkpoint directory and reads them back, `compat` decides
//! which nodes can save state and whether a checkpoint fits a (possibly changed) pipeline. Barrier
//! alignment is the task loop's; what each operator saves is its own `save_state`.

pub mod compat;
pub mod coordinator;
pub mod settings;
pub mod store;

pub use coordinator::{CheckpointRecord, CheckpointStatus, Coordinator};
pub use settings::{CheckpointMode, CheckpointSettings};
pub use store::LoadedCheckpoint;
