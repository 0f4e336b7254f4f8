//! A Flink run on the canvas: under each card the job's state, and under the cards of the nodes a
//! Flink vertex names (sources, and sinks other than files) the records that vertex read and
//! wrote, as the JobManager counts them.

use egui::{Color32, Ui};

use super::Canvas;
use super::draw::compact;
use super::geometry::Geometry;
use crate::export::flink_progress::{FlinkProgress, VertexCounts};

const RUNNING: Color32 = Color32::from_rgb(0x6f, 0xb8, 0x6f);
const FAILED: Color32 = Color32::from_rgb(0xe0, 0x4b, 0x4b);

impl Canvas {
    pub(super) fn draw_flink_strip(
        &self,
        ui: &Ui,
        painter: &egui::Painter,
        g: &Geometry,
        job: &FlinkProgress,
        counts: Option<&VertexCounts>,
    ) {
        if self.zoom < 0.35 {
            return;
        }
        let state = match counts {
            Some(c) if !c.status.is_empty() && job.state == "RUNNING" => c.status.as_str(),
            _ => job.state.as_str(),
        };
        let colour = match state {
            "FAILED" | "CANCELED" => FAILED,
            "RUNNING" | "FINISHED" => RUNNING,
            _ => ui.visuals().weak_text_color(),
        };
        let mut lines = vec![(format!("Flink {state}"), colour)];
        if let Some(counts) = counts {
            lines.push((
                format!(
                    "vertex read {}  wrote {}",
                    compact(counts.read as f64),
                    compact(counts.written as f64)
                ),
                ui.visuals().text_color(),
            ));
        }
        self.paint_strip(ui, painter, g, lines);
    }
}
