//! Chart sink: plots result rows live in the app, a line per busiest series or bars.

use serde::{Deserialize, Serialize};

use super::output_file::sink_ports;
use super::{KindId, NodeKind, PlannedKind, SinkKind};
use crate::expr::sql_type_name;
use crate::model::form::{Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// How a chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChartStyle {
    Lines,
    Bars,
}

crate::plain_choice!(ChartStyle { Lines, Bars });

/// Plots result rows live in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartSink {
    /// The horizontal axis, usually `window_end`.
    pub x: String,
    /// One or more numeric columns to plot.
    pub y: Vec<String>,
    /// Draw one line per value of this column (e.g. the key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series_by: Option<String>,
    /// Only the busiest series are drawn.
    pub top_series: u32,
    pub style: ChartStyle,
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Chart",
    family: Family::Sink,
    id_stem: "chart",
    explanation: "Plots results live in the app, e.g. revenue per zone over window_end.",
    keywords: "plot graph line bars visualise live results dashboard",
    default: || {
        NodeKind::Sink(SinkKind::Chart(ChartSink {
            x: "window_end".into(),
            y: vec!["events".into()],
            series_by: None,
            top_series: 5,
            style: ChartStyle::Lines,
        }))
    },
};

impl KindModel for ChartSink {
    fn kind_id(&self) -> KindId {
        KindId::Chart
    }

    fn ports(&self) -> Ports {
        sink_ports()
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        if self.top_series == 0 {
            report.error("top_series", "a chart needs to draw at least 1 series");
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = &inputs.first()?.schema;
        report.require_column(input, "x", &self.x, None);
        if self.y.is_empty() {
            report.error("y", "a chart needs at least one column to plot");
        }
        for (i, y) in self.y.iter().enumerate() {
            if let Some(field) = report.require_column(input, "y", y, Some(i))
                && !field.data_type().is_numeric()
            {
                let kind = sql_type_name(field.data_type());
                report
                    .error("y", format!("`{y}` is {kind}; a chart plots numbers"))
                    .item = Some(i);
            }
        }
        if let Some(series) = &self.series_by {
            report.require_column(input, "series_by", series, None);
        }
        Some(Planned::new(
            PlannedKind::Chart(self.clone()),
            1,
            Vec::new(),
        ))
    }

    fn summary(&self) -> String {
        format!("{} over {}", self.y.join(", "), self.x)
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "x axis",
                "The horizontal axis, usually window_end",
                FieldValue::Column(&mut self.x),
            ),
            Field::new(
                "y (numbers)",
                "The numeric columns to plot",
                FieldValue::Columns(&mut self.y),
            ),
            Field::new(
                "one line per",
                "Draw a line per value of this column (e.g. the key); none draws one line",
                FieldValue::OptionalColumn(&mut self.series_by),
            ),
            Field::new(
                "top series",
                "Only the busiest series are drawn",
                FieldValue::Count(&mut self.top_series),
            ),
            Field::new(
                "style",
                "Lines over time, or bars of the latest window",
                FieldValue::Choice(&mut self.style),
            ),
        ]
    }
}
