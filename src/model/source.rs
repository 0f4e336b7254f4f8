//! Source node configurations: the generator presets, CSV and JSON-lines files, and event time.

use serde::{Deserialize, Serialize};

use super::columns::ColumnDecl;
use super::duration::Duration;

/// How a source tells time: from a column of its rows, or from the clock when rows arrive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Time {
    /// Windows and watermarks follow a timestamp column in the data.
    EventTime(EventTime),
    /// Rows are stamped with the wall clock when they are read.
    ProcessingTime,
}

/// The event-time column and the watermark rules of a source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventTime {
    /// A TIMESTAMP column, or an integer column of epoch milliseconds, or ISO-8601 text.
    pub column: String,
    /// The watermark trails the newest event time by this much (Flink's bounded out-of-orderness).
    pub max_out_of_orderness: Duration,
    /// A source with no rows for this long stops holding back the watermark downstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<Duration>,
}

/// The synthetic data sets the generator can produce, each matching a use case of the course.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Preset {
    /// NYC taxi trips in the Kinesis workshop's snake_case schema.
    TaxiTrips,
    /// Temperature and humidity readings from sensors, for threshold alerts.
    IotSensors,
    /// Page views and clicks on a web shop, for leaderboards and sessions.
    Clickstream,
    /// Card payments, for fraud detection.
    Payments,
    /// Application log lines, for log analytics.
    AppLogs,
}

impl Preset {
    pub const ALL: [Preset; 5] = [
        Preset::TaxiTrips,
        Preset::IotSensors,
        Preset::Clickstream,
        Preset::Payments,
        Preset::AppLogs,
    ];
}

/// When a generator stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StopAfter {
    /// After this many events.
    Events(u64),
    /// After this much event time.
    EventTime(Duration),
    /// Never: the run goes on until stopped.
    Never,
}

/// A deterministic source of synthetic events, with knobs for the disorder real streams have.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratorSource {
    pub preset: Preset,
    /// Events per second of event time.
    pub events_per_sec: u32,
    /// How many distinct keys (sensors, users, zones, cards, services).
    pub keys: u32,
    /// Zipf exponent of key popularity: 0 is uniform, 1 or more makes a few keys hot.
    #[serde(default)]
    pub key_skew: f64,
    /// Events arrive up to this much out of event-time order.
    #[serde(default)]
    pub disorder: Duration,
    /// Share of events (0 to 1) that arrive much later than the rest.
    #[serde(default)]
    pub late_share: f64,
    /// How late those late events are.
    #[serde(default)]
    pub late_by: Duration,
    /// Share of events (0 to 1) sent twice, as at-least-once producers do.
    #[serde(default)]
    pub duplicate_share: f64,
    /// How many keys fall silent after their first burst of events.
    #[serde(default)]
    pub idle_keys: u32,
    /// The same seed gives the same events, every run.
    pub seed: u64,
    /// Event time of the first event, ISO-8601.
    pub start_time: String,
    pub stop_after: StopAfter,
    pub time: Time,
}

/// A CSV file read as a stream, row by row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvFileSource {
    /// Relative to the pipeline file.
    pub path: String,
    #[serde(default = "yes")]
    pub header: bool,
    #[serde(default = "comma")]
    pub delimiter: char,
    /// The columns; when absent they are inferred from the first rows of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnDecl>>,
    pub time: Time,
}

/// A file with one JSON object per line, read as a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLinesFileSource {
    /// Relative to the pipeline file.
    pub path: String,
    /// The fields; when absent they are inferred from the first lines of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnDecl>>,
    pub time: Time,
}

/// Every kind of source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum SourceKind {
    Generator(GeneratorSource),
    CsvFile(CsvFileSource),
    JsonLinesFile(JsonLinesFileSource),
}

impl SourceKind {
    pub fn time(&self) -> &Time {
        match self {
            SourceKind::Generator(g) => &g.time,
            SourceKind::CsvFile(c) => &c.time,
            SourceKind::JsonLinesFile(j) => &j.time,
        }
    }

    /// The file this source reads, if any (relative to the pipeline file).
    pub fn path(&self) -> Option<&str> {
        match self {
            SourceKind::Generator(_) => None,
            SourceKind::CsvFile(c) => Some(&c.path),
            SourceKind::JsonLinesFile(j) => Some(&j.path),
        }
    }
}

fn yes() -> bool {
    true
}

fn comma() -> char {
    ','
}
