//! Sink node configurations: charts and tables in the app, the console, and files.

use serde::{Deserialize, Serialize};

/// How a chart draws its series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChartStyle {
    Lines,
    Bars,
}

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

/// How the console prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsoleFormat {
    Table,
    JsonLines,
}

/// Prints rows on the terminal (headless runs) or the app's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleSink {
    pub format: ConsoleFormat,
    /// Stop printing after this many rows (the run goes on).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rows: Option<u64>,
}

/// Writes rows to a CSV file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvFileSink {
    /// Relative to the pipeline file.
    pub path: String,
    #[serde(default = "yes")]
    pub header: bool,
    /// Must be set to write outside the pipeline's folder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_outside: bool,
}

/// Writes rows to a file, one JSON object per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesFileSink {
    /// Relative to the pipeline file.
    pub path: String,
    /// Must be set to write outside the pipeline's folder.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_outside: bool,
}

/// Every kind of sink.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SinkKind {
    Chart(ChartSink),
    Table(TableSink),
    Console(ConsoleSink),
    CsvFile(CsvFileSink),
    JsonLinesFile(JsonLinesFileSink),
}

impl SinkKind {
    /// The file this sink writes and whether it may lie outside the pipeline's folder.
    pub fn output_file(&self) -> Option<(&str, bool)> {
        match self {
            SinkKind::CsvFile(c) => Some((&c.path, c.allow_outside)),
            SinkKind::JsonLinesFile(j) => Some((&j.path, j.allow_outside)),
            _ => None,
        }
    }
}

fn yes() -> bool {
    true
}

fn is_false(value: &bool) -> bool {
    !*value
}
