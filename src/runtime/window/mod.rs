//! Window operators with Flink's semantics, along Flink's lines: assignment (`assign`), merging
//! sessions (`sessions`), timers (`timers`), firing results (`emit`), lateness (`late`), checkpointed state
//! (`saved`), the event-time trace (`tracing`) and the operators themselves (`time_windows`,
//! `sliced` for sliding windows, `count`); `build`
//! turns a planned window node into one.

pub mod accumulate;
pub mod assign;
pub mod count;
pub mod emit;
#[cfg(test)]
mod flink_rules;
pub mod keyed_state;
pub mod late;
pub mod saved;
pub mod sessions;
pub mod sliced;
#[cfg(test)]
mod sliced_tests;
pub mod time_windows;
pub mod timers;
pub mod tracing;

use std::sync::Arc;

use self::accumulate::Aggregates;
use self::assign::Assigner;
use self::count::CountWindowOperator;
use self::keyed_state::KeyTable;
use self::sliced::{SliceShape, SlicedWindowOperator};
use self::time_windows::{TimeWindowConfig, TimeWindowOperator};
use super::contract::{InstanceMetrics, Operator, RunError};
use super::keys::KeyEncoder;
use super::trace::EventTrace;
use crate::model::kinds::window::{Emit, PlannedWindow, WindowShape};
use crate::model::plan::NodePlan;

/// One instance of a planned window node.
pub fn build(
    planned: &PlannedWindow,
    node: &NodePlan,
    metrics: &Arc<InstanceMetrics>,
    trace: Option<Arc<EventTrace>>,
) -> Result<Box<dyn Operator>, RunError> {
    let input = &node
        .inputs
        .first()
        .ok_or_else(|| RunError::internal("a window without input"))?
        .schema;
    let output_schema = |port: usize| {
        node.outputs
            .get(port)
            .map(|p| Arc::clone(&p.schema))
            .ok_or_else(|| RunError::internal("a window without its output ports"))
    };
    let config = &planned.config;
    let aggregates = Aggregates::new(&planned.aggregates);
    let keys = KeyTable::new(KeyEncoder::new(input, &config.key_by)?);
    let assigner = match &config.window {
        WindowShape::Count(c) => {
            return Ok(Box::new(CountWindowOperator::new(
                c.size,
                planned.time,
                aggregates,
                output_schema(0)?,
                keys,
                Arc::clone(metrics),
            )));
        }
        WindowShape::Tumbling(t) => Assigner::Tumbling {
            size: t.size.as_millis(),
            offset: t.offset.as_millis(),
        },
        WindowShape::Sliding(s) => Assigner::Sliding {
            size: s.size.as_millis(),
            slide: s.slide.as_millis(),
            offset: s.offset.as_millis(),
        },
        WindowShape::Session(s) => Assigner::Session {
            gap: s.gap.as_millis(),
        },
    };
    let config = TimeWindowConfig {
        assigner,
        time: planned.time,
        allowed_lateness_ms: config.allowed_lateness.as_millis(),
        early_every_ms: match config.emit {
            Emit::OnWatermark => None,
            Emit::Early(every) => Some(every.as_millis()),
        },
        aggregates,
        output_schema: output_schema(0)?,
        late_schema: output_schema(1)?,
        trace,
    };
    // Sliding windows keep slices, as Flink SQL's HOP windows do; with early results each window
    // keeps its own state (its early timers are its own).
    if let Assigner::Sliding {
        size,
        slide,
        offset,
    } = assigner
        && config.early_every_ms.is_none()
    {
        return Ok(Box::new(SlicedWindowOperator::new(
            config,
            SliceShape::new(size, slide, offset),
            keys,
            Arc::clone(metrics),
        )));
    }
    Ok(Box::new(TimeWindowOperator::new(
        config,
        keys,
        Arc::clone(metrics),
    )))
}
