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
    /// Keeps state that checkpoints do not cover yet: a run with checkpoints refuses it.
    NotYet,
}

/// The one place that decides, per kind, what a checkpoint holds.
pub fn state_support(kind: &PlannedKind) -> StateSupport {
    use StateSupport::{NotYet, Saved, Stateless};
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
                f.delivered
                    .fields()
                    .iter()
                    .map(|c| format!("{} {}", c.name(), c.data_type()))
                    .collect::<Vec<_>>()
                    .join(", "),
                f.partition_keys.iter().map(|(k, _)| k).collect::<Vec<_>>(),
                if f.transformation.is_some() {
                    " after a transformation"
                } else {
                    ""
                }
            ),
        },
        PlannedKind::Filter(_)
        | PlannedKind::Map(_)
        | PlannedKind::Union(_)
        | PlannedKind::Route(_)
        | PlannedKind::Chart(_)
        | PlannedKind::Table(_)
        | PlannedKind::Console(_) => Stateless,
        PlannedKind::KinesisSource(_)
        | PlannedKind::KinesisSink(_)
        | PlannedKind::KinesisStream(_)
        | PlannedKind::Lambda(_)
        | PlannedKind::Kcl(_) => NotYet,
    }
}

/// The kind's name as checkpoints record it.
pub fn kind_name(node: &NodePlan) -> String {
    format!("{:?}", node.kind_id)
}

/// The signature a checkpoint records for a node (empty when stateless).
pub fn signature(node: &NodePlan) -> String {
    match state_support(&node.kind) {
        StateSupport::Saved { signature } => signature,
        StateSupport::Stateless | StateSupport::NotYet => String::new(),
    }
}

/// Every node whose state checkpoints do not cover yet, with the reason.
pub fn unsupported(plan: &Plan) -> Vec<String> {
    plan.nodes
        .iter()
        .filter(|n| state_support(&n.kind) == StateSupport::NotYet)
        .map(|n| {
            format!(
                "node `{}` ({}): checkpoints do not save the state of Kinesis streams, the \
                 Kinesis source and sink, Lambda and KCL nodes yet",
                n.id,
                kind_name(n)
            )
        })
        .collect()
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
