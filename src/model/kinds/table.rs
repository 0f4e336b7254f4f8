//! Table sink: the newest result rows live in the app, or a leaderboard that re-ranks them.

use serde::{Deserialize, Serialize};

use super::output_file::sink_ports;
use super::{KindId, NodeKind, PlannedKind, SinkKind};
use crate::model::form::{Choice, Field, FieldValue};
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

/// What a table sink shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableView {
    /// The newest rows.
    Latest(u32),
    /// A leaderboard: the best `n` rows by a column, one per key, re-ranked as results arrive.
    Top(TopN),
}

/// A leaderboard definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopN {
    pub n: u32,
    pub order_by: String,
    #[serde(default = "yes")]
    pub descending: bool,
    /// Keep one row per value of these columns (the newest).
    #[serde(default)]
    pub unique_by: Vec<String>,
}

/// Shows result rows as a live table in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSink {
    pub view: TableView,
}

fn yes() -> bool {
    true
}

pub const TABLE_ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Table",
    family: Family::Sink,
    id_stem: "table",
    explanation: "Shows the newest result rows live in the app.",
    keywords: "rows results live view grid",
    default: || {
        NodeKind::Sink(SinkKind::Table(TableSink {
            view: TableView::Latest(50),
        }))
    },
};

pub const LEADERBOARD_ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Leaderboard",
    family: Family::Sink,
    id_stem: "leaderboard",
    explanation: "A live top-N table that re-ranks as results arrive, one row per key.",
    keywords: "top n ranking leaderboard best hot keys gaming scores",
    default: || {
        NodeKind::Sink(SinkKind::Table(TableSink {
            view: TableView::Top(TopN {
                n: 10,
                order_by: "events".into(),
                descending: true,
                unique_by: Vec::new(),
            }),
        }))
    },
};

impl KindModel for TableSink {
    fn kind_id(&self) -> KindId {
        match self.view {
            TableView::Latest(_) => KindId::Table,
            TableView::Top(_) => KindId::Leaderboard,
        }
    }

    fn ports(&self) -> Ports {
        sink_ports()
    }

    fn check(&self, _: &CheckContext, report: &mut Report) {
        match &self.view {
            TableView::Latest(0) => {
                report.error("view", "a table needs to show at least 1 row");
            }
            TableView::Top(top) if top.n == 0 => {
                report.error("n", "a leaderboard needs at least 1 row");
            }
            _ => {}
        }
    }

    fn plan(&self, inputs: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let input = &inputs.first()?.schema;
        if let TableView::Top(top) = &self.view {
            report.require_column(input, "order_by", &top.order_by, None);
            for (i, column) in top.unique_by.iter().enumerate() {
                report.require_column(input, "unique_by", column, Some(i));
            }
        }
        Some(Planned::new(
            PlannedKind::Table(self.clone()),
            1,
            Vec::new(),
        ))
    }

    fn summary(&self) -> String {
        match &self.view {
            TableView::Latest(n) => format!("latest {n} rows"),
            TableView::Top(top) => format!("top {} by {}", top.n, top.order_by),
        }
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![Field::new(
            "view",
            "The newest rows, or a leaderboard of the best rows per key",
            FieldValue::Choice(&mut self.view),
        )]
    }
}

impl Choice for TableView {
    fn options(&self) -> Vec<&'static str> {
        vec!["Latest", "Top"]
    }

    fn selected(&self) -> usize {
        match self {
            TableView::Latest(_) => 0,
            TableView::Top(_) => 1,
        }
    }

    fn select(&mut self, index: usize) {
        match (index, &*self) {
            (0, TableView::Top(top)) => *self = TableView::Latest(top.n.max(1)),
            (1, TableView::Latest(n)) => {
                *self = TableView::Top(TopN {
                    n: (*n).clamp(1, 10),
                    order_by: String::new(),
                    descending: true,
                    unique_by: Vec::new(),
                })
            }
            _ => {}
        }
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            TableView::Latest(n) => vec![Field::new(
                "newest rows",
                "How many of the newest rows to show",
                FieldValue::Count(n),
            )],
            TableView::Top(top) => vec![
                Field::new(
                    "top",
                    "How many rows the leaderboard shows",
                    FieldValue::Count(&mut top.n),
                ),
                Field::new(
                    "ranked by",
                    "The column rows are ranked by",
                    FieldValue::Column(&mut top.order_by),
                ),
                Field::new(
                    "highest first",
                    "Rank the largest values first",
                    FieldValue::Bool(&mut top.descending),
                ),
                Field::new(
                    "one row per",
                    "Keep only the newest row per value of these columns (the key)",
                    FieldValue::Columns(&mut top.unique_by),
                ),
            ],
        }
    }
}
