//! Which node kinds checkpoints cover, what each one's saved state depends on (its signature),
//! and whether a checkpoint can be restored into a pipeline — Flink's state compatibility by
//! operator uid: a node keeps its state when its id, kind and signature are unchanged.

use super::store::LoadedCheckpoint;
use crate::model::kinds::PlannedKind;
use crate::model::plan::{NodePlan, Plan};

/// How checkpoints treat a node kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateSupport {
    /// Keeps no state between rows; nothing to save.
    Stateless,
    /// Saves its state; restoring needs the same signature.
    Saved { signature: String },
}

/// The one place that decides, per kind, what a checkpoint holds.
pub fn state_support(kind: &PlannedKind) -> StateSupport {
    use StateSupport::{Saved, Stateless};
    match kind {
        PlannedKind::Generator(g) => Saved {
            signature: format!("generator {:?} from {}", g.config, g.start_ms),
        },
        PlannedKind::CsvSource(c) => Saved {
            signature: format!("CSV file {}", c.path.display()),
        },
        PlannedKind::JsonLinesSource(j) => Saved {
            signature: format!("JSON-lines file {}", j.path.display()),
        },
        PlannedKind::Window(w) => Saved {
            signature: format!(
                "window {:?} key_by {:?} aggregates {:?}",
                w.config.window, w.config.key_by, w.config.aggregates
            ),
        },
        PlannedKind::IntervalJoin(j) => Saved {
            signature: format!(
                "interval join {:?} = {:?} from -{} ms to +{} ms, {:?}",
                j.left_key, j.right_key, j.before_ms, j.after_ms, j.join
            ),
        },
        PlannedKind::Pattern(p) => Saved {
            signature: format!(
                "pattern {} by {:?} define {:?} within {:?}",
                p.config.pattern, p.config.partition_by, p.config.define, p.config.within
            ),
        },
        PlannedKind::WindowJoin(j) => Saved {
            signature: format!(
                "window join {:?} = {:?} windows {:?}, {:?}",
                j.left_key, j.right_key, j.window, j.join
            ),
        },
        // The table is read again from its file when a run resumes; nothing else is kept.
        PlannedKind::LookupJoin(_) => Stateless,
        PlannedKind::Deduplicate(d) => Saved {
            signature: format!("deduplicate key_by {:?}", d.key_by),
        },
        PlannedKind::CsvSink(c) => Saved {
            signature: format!("CSV file {}", c.path.display()),
        },
        PlannedKind::JsonLinesSink(j) => Saved {
            signature: format!("JSON-lines file {}", j.path.display()),
        },
        PlannedKind::Firehose(f) => Saved {
            signature: format!(
                "firehose {} delivering [{}] partitioned by {:?}{}",
                f.name,
                fields(&f.delivered),
                f.partition_keys.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                if f.transformation.is_some() {
                    " after a transformation"
                } else {
                    ""
                }
            ),
        },
        // Every shard, sequence number, unread record and consumer cursor depends on all of the
        // stream's settings: change one and the saved shards mean something else.
        PlannedKind::KinesisStream(k) => Saved {
            signature: format!(
                "kinesis stream {} shards{} partition key `{}` explicit hash key {:?} producer \
                 {:?} retries {:?} resharding {:?} retention {} ms consumers {:?}",
                k.shards,
                if k.on_demand { " on demand" } else { "" },
                k.partition_key.text,
                k.explicit_hash_key.as_ref().map(|e| &e.text),
                k.producer,
                k.retries,
                k.resharding,
                k.retention_ms,
                k.consumers,
            ),
        },
        PlannedKind::Lambda(l) => Saved {
            signature: format!(
                "lambda batches of {} within {} ms, parallelization {}, retries {:?}, bisect {}, \
                 tumbling {:?} into [{}]",
                l.batch_size,
                l.batching_window_ms,
                l.parallelization,
                l.maximum_retry_attempts,
                l.bisect,
                l.tumbling.as_ref().map(|(ms, _)| ms),
                fields(&l.windows),
            ),
        },
        PlannedKind::Kcl(k) => Saved {
            signature: format!(
                "kcl {} workers, checkpoint every {} records or {} ms, failover {} ms, poll {} ms",
                k.workers,
                k.checkpoint_every_records,
                k.checkpoint_every_ms,
                k.failover_ms,
                k.poll_ms
            ),
        },
        PlannedKind::KinesisSource(k) => Saved {
            signature: format!(
                "kinesis stream {} in {} at {}",
                k.stream,
                k.region,
                k.endpoint.as_deref().unwrap_or("AWS")
            ),
        },
        // Kinesis has no transactions: the sink keeps nothing and is at-least-once.
        PlannedKind::KinesisSink(_)
        | PlannedKind::Filter(_)
        | PlannedKind::Map(_)
        | PlannedKind::Union(_)
        | PlannedKind::Route(_)
        | PlannedKind::Chart(_)
        | PlannedKind::Table(_)
        | PlannedKind::Console(_) => Stateless,
    }
}

/// A schema's columns as `name type, ...`.
fn fields(schema: &arrow::datatypes::SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|c| format!("{} {}", c.name(), c.data_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The kind's name as checkpoints record it.
pub fn kind_name(node: &NodePlan) -> String {
    format!("{:?}", node.kind_id)
}

/// The signature a checkpoint records for a node (empty when stateless).
pub fn signature(node: &NodePlan) -> String {
    match state_support(&node.kind) {
        StateSupport::Saved { signature } => signature,
        StateSupport::Stateless => String::new(),
    }
}

/// Every reason `loaded` cannot be restored into `plan`, node by node.
pub fn incompatibilities(plan: &Plan, loaded: &LoadedCheckpoint) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, saved) in &loaded.nodes {
        let Some(node) = plan.nodes.iter().find(|n| &n.id == id) else {
            if !saved.blobs.is_empty() {
                problems.push(format!(
                    "node `{id}` has state in checkpoint {} but is no longer in the pipeline",
                    loaded.id
                ));
            }
            continue;
        };
        if saved.blobs.is_empty() {
            continue;
        }
        let kind = kind_name(node);
        if kind != saved.kind {
            problems.push(format!(
                "node `{id}` was a {} when checkpoint {} was taken and is a {kind} now",
                saved.kind, loaded.id
            ));
            continue;
        }
        let now = signature(node);
        if now != saved.signature {
            problems.push(format!(
                "node `{id}`: its state cannot be mapped — it was saved for `{}`, the node is now \
                 `{now}`",
                saved.signature
            ));
        }
    }
    problems
}
