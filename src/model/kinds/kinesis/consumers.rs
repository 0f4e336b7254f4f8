//! A Kinesis stream's consumers: the applications that read its shards (streaming-facts §1.1,
//! §1.5, §1.6). Each has an output port of its own on the stream node, where the records leave as
//! that consumer reads them: polling with `GetRecords` (sharing each shard's 5 calls and 2 MiB a
//! second with the other polling consumers) or pushed by enhanced fan-out (2 MiB a second per
//! shard for this consumer alone), from its starting position, parents before children, and
//! never a record older than the stream's retention.

use serde::{Deserialize, Serialize};

use crate::model::duration::Duration;
use crate::model::form::{Choice, Field, FieldValue, ListField};
use crate::model::infer::parse_timestamp_millis;
use crate::model::kind::Report;
use crate::model::node::{ERRORS, OUT, is_valid_id};

/// Consumers per stream: enhanced fan-out allows 20 (streaming-facts §1.1); polling consumers
/// share 5 calls a second per shard, so a few dozen already starve each other.
pub const MAX_CONSUMERS: usize = 32;
pub const MAX_ENHANCED_FAN_OUT: usize = 20;
/// `GetRecords` returns at most 10,000 records a call.
pub const GET_RECORDS_MAX: u32 = 10_000;
/// The shortest wait between polls of a shard a consumer may ask for.
pub const MIN_POLL_MS: i64 = 10;

/// One application reading the stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consumer {
    /// Its name, which is also its output port on the stream node.
    pub name: String,
    #[serde(default)]
    pub reads: ReadMode,
    #[serde(default)]
    pub start: StartingPosition,
    /// When it starts reading, after the stream's first record arrived (an application deployed
    /// later, or restarted).
    #[serde(default = "at_once", skip_serializing_if = "is_at_once")]
    pub starts_after: Duration,
}

/// How a consumer gets its records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReadMode {
    /// Shared throughput: it calls `GetRecords` on each shard every `poll_every` (the KCL and
    /// Lambda poll once a second), for up to `max_records` records; every polling consumer of the
    /// stream shares each shard's 5 calls and 2 MiB a second.
    Polling {
        #[serde(default = "default_poll_every")]
        poll_every: Duration,
        #[serde(default = "default_max_records")]
        max_records: u32,
    },
    /// Enhanced fan-out (`SubscribeToShard`): records are pushed as they arrive, at up to 2 MiB a
    /// second per shard for this consumer alone.
    EnhancedFanOut,
}

fn at_once() -> Duration {
    Duration::from_millis(0)
}

fn is_at_once(wait: &Duration) -> bool {
    wait.is_zero()
}

fn default_poll_every() -> Duration {
    Duration::from_secs(1)
}

fn default_max_records() -> u32 {
    GET_RECORDS_MAX
}

impl Default for ReadMode {
    fn default() -> Self {
        ReadMode::Polling {
            poll_every: default_poll_every(),
            max_records: default_max_records(),
        }
    }
}

/// Where a consumer starts in each shard (the shard iterator types of streaming-facts §1.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum StartingPosition {
    /// The oldest record still retained.
    #[default]
    TrimHorizon,
    /// Just after the newest record when it starts: what arrived before is skipped.
    Latest,
    /// The first record that arrived at or after this time (ISO 8601, e.g.
    /// `2024-01-15T08:10:00Z`); an older time means the trim horizon.
    AtTimestamp(String),
}

/// A consumer in runnable form.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedConsumer {
    pub name: String,
    /// `(poll every ms, max records)` when it polls; `None` for enhanced fan-out.
    pub polling: Option<(i64, u32)>,
    pub start: PlannedStart,
    pub starts_after_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlannedStart {
    TrimHorizon,
    Latest,
    /// Epoch milliseconds.
    AtTimestamp(i64),
}

impl Consumer {
    pub fn plan(&self) -> Option<PlannedConsumer> {
        Some(PlannedConsumer {
            name: self.name.clone(),
            polling: match &self.reads {
                ReadMode::Polling {
                    poll_every,
                    max_records,
                } => Some((poll_every.as_millis(), *max_records)),
                ReadMode::EnhancedFanOut => None,
            },
            start: match &self.start {
                StartingPosition::TrimHorizon => PlannedStart::TrimHorizon,
                StartingPosition::Latest => PlannedStart::Latest,
                StartingPosition::AtTimestamp(text) => {
                    PlannedStart::AtTimestamp(parse_timestamp_millis(text)?)
                }
            },
            starts_after_ms: self.starts_after.as_millis(),
        })
    }
}

/// Checks the consumers of a stream whose other ports are `taken`.
pub fn check_consumers(consumers: &[Consumer], taken: &[&str], report: &mut Report) {
    if consumers.len() > MAX_CONSUMERS {
        report.error(
            "consumers",
            format!(
                "a stream here has at most {MAX_CONSUMERS} consumers, not {}",
                consumers.len()
            ),
        );
    }
    let fan_out = consumers
        .iter()
        .filter(|c| c.reads == ReadMode::EnhancedFanOut)
        .count();
    if fan_out > MAX_ENHANCED_FAN_OUT {
        report.error(
            "consumers",
            format!(
                "Kinesis registers at most {MAX_ENHANCED_FAN_OUT} enhanced fan-out consumers per stream, not {fan_out}"
            ),
        );
    }
    for (i, consumer) in consumers.iter().enumerate() {
        let name = consumer.name.as_str();
        if !is_valid_id(name) {
            report
                .error(
                    "consumers",
                    format!(
                        "a consumer's name is its port: letters, digits and `_`, starting with a letter or `_`, at most 64 characters, not `{name}`"
                    ),
                )
                .item = Some(i);
        } else if taken.contains(&name) {
            report
                .error(
                    "consumers",
                    format!(
                        "`{name}` is a port of the stream already; name the consumer otherwise"
                    ),
                )
                .item = Some(i);
        } else if consumers[..i].iter().any(|c| c.name == name) {
            report
                .error("consumers", format!("two consumers are named `{name}`"))
                .item = Some(i);
        }
        if let ReadMode::Polling {
            poll_every,
            max_records,
        } = &consumer.reads
        {
            if poll_every.as_millis() < MIN_POLL_MS {
                report
                    .error(
                        "consumers",
                        format!(
                            "`{name}` polls every {poll_every}; the shortest wait here is {MIN_POLL_MS}ms"
                        ),
                    )
                    .item = Some(i);
            }
            if !(1..=GET_RECORDS_MAX).contains(max_records) {
                report
                    .error(
                        "consumers",
                        format!(
                            "GetRecords returns 1 to {GET_RECORDS_MAX} records a call, not {max_records} (`{name}`)"
                        ),
                    )
                    .item = Some(i);
            }
        }
        if let StartingPosition::AtTimestamp(text) = &consumer.start
            && parse_timestamp_millis(text).is_none()
        {
            report
                .error(
                    "consumers",
                    format!(
                        "`{name}` starts at `{text}`, which is not a time; write e.g. 2024-01-15T08:10:00Z"
                    ),
                )
                .item = Some(i);
        }
        if consumer.starts_after.as_millis() < 0 {
            report
                .error(
                    "consumers",
                    format!("`{name}` cannot start before the stream's first record"),
                )
                .item = Some(i);
        }
    }
}

/// The ports a stream has besides its consumers.
pub fn fixed_ports() -> [&'static str; 4] {
    [OUT, super::THROTTLED_PORT, ERRORS, crate::model::node::IN]
}

impl Choice for ReadMode {
    fn options(&self) -> Vec<&'static str> {
        vec!["Polling", "EnhancedFanOut"]
    }

    fn selected(&self) -> usize {
        match self {
            ReadMode::Polling { .. } => 0,
            ReadMode::EnhancedFanOut => 1,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match index {
            0 => ReadMode::default(),
            _ => ReadMode::EnhancedFanOut,
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            ReadMode::Polling {
                poll_every,
                max_records,
            } => vec![
                Field::new(
                    "poll every",
                    "The wait between two GetRecords calls on a shard (the KCL and Lambda: 1s)",
                    FieldValue::Duration(poll_every),
                ),
                Field::new(
                    "max records",
                    "Records per GetRecords call (at most 10,000)",
                    FieldValue::Count(max_records),
                ),
            ],
            ReadMode::EnhancedFanOut => Vec::new(),
        }
    }
}

impl Choice for StartingPosition {
    fn options(&self) -> Vec<&'static str> {
        vec!["TrimHorizon", "Latest", "AtTimestamp"]
    }

    fn selected(&self) -> usize {
        match self {
            StartingPosition::TrimHorizon => 0,
            StartingPosition::Latest => 1,
            StartingPosition::AtTimestamp(_) => 2,
        }
    }

    fn select(&mut self, index: usize) {
        if index == self.selected() {
            return;
        }
        *self = match index {
            0 => StartingPosition::TrimHorizon,
            1 => StartingPosition::Latest,
            _ => StartingPosition::AtTimestamp("2024-01-15T08:00:00Z".into()),
        };
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        match self {
            StartingPosition::AtTimestamp(text) => vec![Field::new(
                "timestamp",
                "Start at the first record that arrived at or after this time (UTC)",
                FieldValue::Text(text),
            )],
            _ => Vec::new(),
        }
    }
}

impl ListField for Vec<Consumer> {
    fn item_name(&self) -> &'static str {
        "consumer"
    }

    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn item(&mut self, index: usize) -> Vec<Field<'_>> {
        match self.get_mut(index) {
            Some(consumer) => vec![
                Field::new(
                    "name",
                    "The consumer's name: its port on the stream node",
                    FieldValue::Text(&mut consumer.name),
                ),
                Field::new(
                    "reads",
                    "Polling: GetRecords calls sharing each shard's 5 calls and 2 MiB a second with the other polling consumers. Enhanced fan-out: records pushed at 2 MiB a second per shard for this consumer alone.",
                    FieldValue::Choice(&mut consumer.reads),
                ),
                Field::new(
                    "start",
                    "TrimHorizon: the oldest record retained. Latest: only what arrives after it starts. AtTimestamp: from a time on.",
                    FieldValue::Choice(&mut consumer.start),
                ),
                Field::new(
                    "starts after",
                    "When it starts reading, after the stream's first record (0s: at once)",
                    FieldValue::Duration(&mut consumer.starts_after),
                ),
            ],
            None => Vec::new(),
        }
    }

    fn add(&mut self) {
        let mut n = Vec::len(self) + 1;
        while self.iter().any(|c| c.name == format!("consumer_{n}")) {
            n += 1;
        }
        self.push(Consumer {
            name: format!("consumer_{n}"),
            reads: ReadMode::default(),
            start: StartingPosition::TrimHorizon,
            starts_after: Duration::from_millis(0),
        });
    }

    fn remove(&mut self, index: usize) {
        if index < Vec::len(self) {
            Vec::remove(self, index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consumer(name: &str, reads: ReadMode) -> Consumer {
        Consumer {
            name: name.into(),
            reads,
            start: StartingPosition::TrimHorizon,
            starts_after: Duration::from_millis(0),
        }
    }

    fn problems(consumers: &[Consumer]) -> Vec<String> {
        let mut report = Report::new("trips");
        check_consumers(consumers, &fixed_ports(), &mut report);
        report
            .into_problems()
            .into_iter()
            .map(|p| p.message)
            .collect()
    }

    #[test]
    fn names_are_ports_so_they_must_be_free_and_well_formed() {
        let found = problems(&[
            consumer("out", ReadMode::default()),
            consumer("app", ReadMode::default()),
            consumer("app", ReadMode::EnhancedFanOut),
            consumer("my app", ReadMode::default()),
        ]);
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("`out` is a port of the stream already"));
        assert!(found[1].contains("two consumers are named `app`"));
        assert!(found[2].contains("not `my app`"));
    }

    #[test]
    fn limits_of_kinesis_are_refused_with_the_rule() {
        let fast = ReadMode::Polling {
            poll_every: Duration::from_millis(1),
            max_records: 10_001,
        };
        let found = problems(&[consumer("fast", fast)]);
        assert!(
            found
                .iter()
                .any(|m| m.contains("shortest wait here is 10ms"))
        );
        assert!(
            found
                .iter()
                .any(|m| m.contains("1 to 10000 records a call"))
        );
        let many: Vec<Consumer> = (0..21)
            .map(|i| consumer(&format!("efo_{i}"), ReadMode::EnhancedFanOut))
            .collect();
        assert!(
            problems(&many)
                .iter()
                .any(|m| m.contains("at most 20 enhanced fan-out consumers"))
        );
        let mut late = consumer("late", ReadMode::default());
        late.start = StartingPosition::AtTimestamp("yesterday".into());
        assert!(problems(&[late])[0].contains("not a time"));
    }
}
