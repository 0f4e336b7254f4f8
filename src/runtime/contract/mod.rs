//! The contract between the engine and everything that plugs into it: messages on edges, the
//! operator and source traits, the output an operator emits through, its counters, typed run
//! errors, evaluating planned expressions on batches, what sinks share with the run's owner, key
//! groups and the encoding of saved state. Connectors depend on this module and on nothing else of
//! the runtime.

pub mod bucket;
pub mod checkpointing;
pub mod error;
pub mod evaluate;
pub mod key_groups;
pub mod message;
pub mod metrics;
pub mod operator;
pub mod output;
pub mod shared;
pub mod source;
pub mod state;

pub use bucket::ObjectBucket;
pub use checkpointing::{CheckpointMode, Checkpointing};
pub use error::{ErrorKind, RunError, SendFailure};
pub use key_groups::InstanceOf;
pub use message::{BarrierId, MAX_WATERMARK, MIN_WATERMARK, Message, Timestamp};
pub use metrics::InstanceMetrics;
pub use operator::{OpResult, Operator, fail};
pub use output::{Captured, EdgeSink, Output};
pub use shared::{Collected, CollectedRows, Commits, ConsoleWriter, PreparedFile};
pub use source::{ShardPosition, Source, SourceChunk, SourcePosition};
pub use state::{StateReader, StateWriter};
