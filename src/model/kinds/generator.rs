//! Generator source: deterministic synthetic events for one of the course's data sets, with the
//! disorder real streams have (out-of-order and late events, duplicates, hot and idle keys).

use serde::{Deserialize, Serialize};

use super::source_time::{Time, source_outputs, source_ports, time_field};
use super::{KindId, NodeKind, PlannedKind, SourceKind};
use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue};
use crate::model::infer::parse_timestamp_millis;
use crate::model::kind::{
    CatalogueEntry, CheckContext, FileUse, KindModel, Planned, PortInput, Ports, Report,
};
use crate::model::node::Family;

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

crate::plain_choice!(Preset {
    TaxiTrips,
    IotSensors,
    Clickstream,
    Payments,
    AppLogs
});

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

/// The most keys a generator may draw from: its key table is allocated up front.
pub const MAX_KEYS: u32 = 1_000_000;

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

/// The runnable form of a generator: its settings, checked.
#[derive(Debug, Clone)]
pub struct PlannedGenerator {
    pub config: GeneratorSource,
    pub start_ms: i64,
}

/// A generator of `preset`, five minutes of event time at a gentle rate.
pub fn generator(preset: Preset) -> GeneratorSource {
    GeneratorSource {
        preset,
        events_per_sec: 100,
        keys: 20,
        key_skew: 0.0,
        disorder: Duration::from_secs(1),
        late_share: 0.0,
        late_by: Duration::ZERO,
        duplicate_share: 0.0,
        idle_keys: 0,
        seed: 1,
        start_time: "2024-01-15T08:00:00Z".to_string(),
        stop_after: StopAfter::EventTime(Duration::from_secs(300)),
        time: Time::event(preset.info().time_column),
    }
}

pub const ENTRY: CatalogueEntry = CatalogueEntry {
    name: "Generator",
    family: Family::Source,
    id_stem: "events",
    explanation: "Makes synthetic events: taxi trips, sensor readings, clicks, payments or log lines. You choose the rate, how many keys, how skewed they are, and how out of order, late or duplicated events arrive — the mess real streams have. Same seed, same events.",
    keywords: "synthetic data producer taxi trips sensors iot clickstream payments logs duplicates late out of order skew hot keys",
    default: || NodeKind::Source(SourceKind::Generator(generator(Preset::IotSensors))),
};

impl KindModel for GeneratorSource {
    fn kind_id(&self) -> KindId {
        KindId::Generator
    }

    fn ports(&self) -> Ports {
        source_ports()
    }

    fn check(&self, _ctx: &CheckContext, report: &mut Report) {
        self.time.check(report);
        if self.events_per_sec == 0 {
            report.error("events_per_sec", "events_per_sec must be at least 1");
        }
        if self.keys == 0 {
            report.error("keys", "keys must be at least 1");
        } else if self.keys > MAX_KEYS {
            report.error(
                "keys",
                format!(
                    "keys is {}; a generator draws from at most {MAX_KEYS} keys",
                    self.keys
                ),
            );
        }
        if !(self.key_skew.is_finite() && self.key_skew >= 0.0) {
            report.error(
                "key_skew",
                format!("key_skew must be 0 or more, not {}", self.key_skew),
            );
        }
        for (field, share) in [
            ("late_share", self.late_share),
            ("duplicate_share", self.duplicate_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                report.error(
                    field,
                    format!("{field} is a share between 0 and 1, not {share}"),
                );
            }
        }
        if self.disorder.as_millis() < 0 {
            report.error("disorder", "disorder cannot be negative");
        }
        if self.late_share > 0.0 && self.late_by.as_millis() <= 0 {
            report.error(
                "late_by",
                "late_by must be longer than 0s when late_share is set",
            );
        }
        if self.idle_keys > self.keys {
            report.error(
                "idle_keys",
                format!(
                    "idle_keys ({}) cannot exceed keys ({})",
                    self.idle_keys, self.keys
                ),
            );
        }
        if parse_timestamp_millis(&self.start_time).is_none() {
            report.error(
                "start_time",
                format!(
                    "`{}` is not an ISO-8601 time such as 2024-01-15T08:00:00Z",
                    self.start_time
                ),
            );
        }
        match self.stop_after {
            StopAfter::Events(0) => {
                report.error("stop_after", "Events(0) would produce nothing");
            }
            StopAfter::EventTime(d) if d.as_millis() <= 0 => {
                report.error("stop_after", "the event-time span must be longer than 0s");
            }
            _ => {}
        }
    }

    fn plan(&self, _: &[PortInput], _: &CheckContext, report: &mut Report) -> Option<Planned> {
        let outputs = source_outputs(self.preset.info().schema, &self.time, report)?;
        let start_ms = parse_timestamp_millis(&self.start_time)?;
        let planned = PlannedGenerator {
            config: self.clone(),
            start_ms,
        };
        Some(Planned::new(PlannedKind::Generator(planned), 0, outputs))
    }

    fn summary(&self) -> String {
        let stop = match &self.stop_after {
            StopAfter::Events(n) => format!("{n} events"),
            StopAfter::EventTime(d) => format!("{d}"),
            StopAfter::Never => "endless".into(),
        };
        format!(
            "{:?} {}/s, {stop}; {}",
            self.preset,
            self.events_per_sec,
            self.time.summary()
        )
    }

    fn files(&self) -> Vec<FileUse> {
        Vec::new()
    }

    fn form(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::new(
                "preset",
                "Which data set: taxi trips, sensors, clicks, payments or logs",
                FieldValue::Choice(&mut self.preset),
            ),
            Field::new(
                "events per second",
                "Events per second of event time",
                FieldValue::Count(&mut self.events_per_sec),
            ),
            Field::new(
                "keys",
                "How many distinct keys (sensors, users, zones…)",
                FieldValue::Count(&mut self.keys),
            ),
            Field::new(
                "key skew",
                "0 = every key equally busy; 1 or more = a few hot keys (like a hot Kinesis shard)",
                FieldValue::Number(&mut self.key_skew, 0.0, 3.0),
            ),
            Field::new(
                "disorder",
                "Events arrive up to this much out of order",
                FieldValue::Duration(&mut self.disorder),
            ),
            Field::new(
                "late share",
                "Share of events that arrive much later",
                FieldValue::Number(&mut self.late_share, 0.0, 1.0),
            ),
            Field::new(
                "late by",
                "How late those events are",
                FieldValue::Duration(&mut self.late_by),
            ),
            Field::new(
                "duplicate share",
                "Share of events sent twice (at-least-once delivery)",
                FieldValue::Number(&mut self.duplicate_share, 0.0, 1.0),
            ),
            Field::new(
                "idle keys",
                "How many keys fall silent after their first minute (idle partitions)",
                FieldValue::Count(&mut self.idle_keys),
            ),
            Field::new(
                "seed",
                "The same seed gives the same events",
                FieldValue::BigCount(&mut self.seed),
            ),
            Field::new(
                "start time",
                "Event time of the first event, ISO-8601 (2024-01-15T08:00:00Z)",
                FieldValue::Text(&mut self.start_time),
            ),
            Field::new(
                "stop after",
                "When the generator ends",
                FieldValue::Choice(&mut self.stop_after),
            ),
            time_field(&mut self.time),
        ]
    }
}

impl Choice for StopAfter {
    fn options(&self) -> Vec<&'static str> {
        vec!["Events", "EventTime", "Never"]
    }

    fn selected(&self) -> usize {
        match self {
            StopAfter::Events(_) => 0,
            StopAfter::EventTime(_) => 1,
            StopAfter::Never => 2,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match index {
            0 => StopAfter::Events(10_000),
            1 => StopAfter::EventTime(Duration::from_secs(300)),
            _ => StopAfter::Never,
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            StopAfter::Events(n) => vec![Field::new(
                "events",
                "How many events to generate",
                FieldValue::BigCount(n),
            )],
            StopAfter::EventTime(d) => vec![Field::new(
                "event time",
                "How much event time to generate",
                FieldValue::Duration(d),
            )],
            StopAfter::Never => Vec::new(),
        }
    }
}
